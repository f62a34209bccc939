// Pacing to the protocol's rate limit: at most `limit` requests in any window of a minute.

// The server counts arrivals, not sends; a little slack keeps a send that is fast at the start
// of a window and slow at its end from landing in the next window twice.
const WINDOW_MS = 61_000

/**
 * A sliding-window log of send times. Unlike a token bucket, which can let twice its rate
 * through in one window, it holds at most `limit` sends in every window, whatever the server's
 * window alignment. Memory is one number per send within the last window.
 */
export class Pacer {
  private readonly sent: number[] = []
  private head = 0

  /** `limit` sends per minute; 0 = unpaced. */
  constructor(private readonly limit: number) {}

  /** Milliseconds until the next send is allowed; 0 = now. */
  wait(now: number): number {
    if (this.limit === 0) return 0
    this.forget(now)
    const inWindow = this.sent.length - this.head
    return inWindow < this.limit ? 0 : this.sent[this.head] + WINDOW_MS - now
  }

  /** Records a send at `now`; call it only when wait(now) is 0. */
  take(now: number): void {
    if (this.limit !== 0) this.sent.push(now)
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
