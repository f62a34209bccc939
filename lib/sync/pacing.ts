// Pacing per token: as fast as the client's concurrency allows, until a server answers 429; from
// then on at the rate the server accepted, probing upward again after each quiet minute. An
// optional cap (maxEventsPerMinute) holds whatever the server says.

// The server counts arrivals, not sends; a little slack keeps a send that is fast at the start
// of a window and slow at its end from landing in the next window twice.
const WINDOW_MS = 61_000
const MINUTE_MS = 60_000
// After a quiet minute the paced rate grows by this factor; past UNPACED_RATE pacing ends.
const PROBE_FACTOR = 1.5
const UNPACED_RATE = 1_000_000

/**
 * A sliding-window log of send times. Unlike a token bucket, which can let twice its rate
 * through in one window, it holds at most `limit` sends in every window, whatever the server's
 * window alignment. Memory is one number per send within the last window.
 */
export class WindowLimit {
  private readonly sent: number[] = []
  private head = 0

  constructor(private readonly limit: number) {}

  /** Milliseconds until the next send is allowed; 0 = now. */
  wait(now: number): number {
    this.forget(now)
    const inWindow = this.sent.length - this.head
    return inWindow < this.limit ? 0 : this.sent[this.head] + WINDOW_MS - now
  }

  take(now: number): void {
    this.sent.push(now)
  }

  private forget(now: number): void {
    while (this.head < this.sent.length && this.sent[this.head] <= now - WINDOW_MS) this.head++
    // Compact now and then so the log does not grow with the sends of earlier windows.
    if (this.head > 1024 && this.head * 2 > this.sent.length) {
      this.sent.splice(0, this.head)
      this.head = 0
    }
  }
}

/**
 * Events accepted within the last minute, in 60 one-second buckets. The count, not a rate
 * extrapolated from a short burst: a server with a window of N per minute took N, whether it
 * took them in a second or in the whole minute.
 */
class AcceptedCount {
  private readonly buckets = new Float64Array(60)
  private readonly seconds = new Float64Array(60)

  add(now: number): void {
    const second = Math.floor(now / 1000)
    const at = second % 60
    if (this.seconds[at] !== second) {
      this.seconds[at] = second
      this.buckets[at] = 0
    }
    this.buckets[at]++
  }

  inLastMinute(now: number): number {
    const second = Math.floor(now / 1000)
    let total = 0
    for (let at = 0; at < 60; at++) if (second - this.seconds[at] < 60) total += this.buckets[at]
    return total
  }
}

export class TokenPacer {
  readonly #cap: WindowLimit | undefined
  readonly #accepted = new AcceptedCount()
  /** Events per minute the server is thought to take; undefined = unpaced. */
  #rate: number | undefined
  #lastLimitedAt = 0
  #lastSendAt = -Infinity

  /** `cap` events per minute at most; 0 = no cap. */
  constructor(cap: number) {
    this.#cap = cap > 0 ? new WindowLimit(cap) : undefined
  }

  /** Events per minute this token is paced at after a 429; undefined when it is not. */
  get rate(): number | undefined {
    return this.#rate
  }

  /**
   * Milliseconds until the next send is allowed; 0 = now. `adaptive: false` (stop's flush, racing
   * its deadline) leaves out the learned rate, a guess, and keeps the cap; the server's own 429s
   * and Retry-After still hold it back.
   */
  wait(now: number, adaptive = true): number {
    this.#probe(now)
    const spaced = this.#rate === undefined || !adaptive ? 0 : this.#lastSendAt + MINUTE_MS / this.#rate - now
    return Math.max(0, spaced, this.#cap?.wait(now) ?? 0)
  }

  /** Records a send at `now`; call it only when wait(now) is 0. */
  take(now: number): void {
    this.#lastSendAt = now
    this.#cap?.take(now)
  }

  accepted(now: number): void {
    this.#accepted.add(now)
  }

  /** A 429: from now on, the rate the server accepted: what it took within the last minute. */
  rateLimited(now: number): void {
    this.#lastLimitedAt = now
    // Nothing accepted within the minute says nothing about the server's rate: backoff alone waits.
    const accepted = this.#accepted.inLastMinute(now)
    if (accepted > 0) this.#rate = Math.min(accepted, this.#rate ?? Infinity)
  }

  #probe(now: number): void {
    if (this.#rate === undefined || now - this.#lastLimitedAt < MINUTE_MS) return
    this.#rate *= PROBE_FACTOR
    this.#lastLimitedAt = now
    if (this.#rate > UNPACED_RATE) this.#rate = undefined
  }
}
