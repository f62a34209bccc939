// The outcome policy: told each answer of the Control API, it says what becomes of the event and
// how long sending waits, and it keeps the pauses that follow (per token, or for the whole server).
import { STATUS_CODES } from 'node:http'

/** What came back for one request. `errorCode` is the `error` field of a JSON body, when short. */
export type Answer =
  | { kind: 'reply'; status: number; retryAfter?: string; errorCode?: string }
  | { kind: 'failure'; message: string }

/**
 * What to do with the event, as SPEC section 7 tables it:
 * - `delivered`: 2xx; the event leaves the buffer.
 * - `rejected`: 400/422 about the event itself; it leaves the buffer, counted, never retried.
 * - `credential`: 401, 403, or a 400 naming the token; kept, and that token pauses.
 * - `misrouted`: 404, 405, 410, 413, 415 (a wrong URL, a proxy's limit); kept, all sending pauses.
 * - `retry`: 408, 429, 5xx, anything else, timeouts, network errors; kept and retried with backoff.
 *   A 429 pauses only its token; the others pause the whole server.
 */
export type Decision =
  | { kind: 'delivered'; duplicate: boolean }
  | { kind: 'rejected'; reason: string }
  | { kind: 'credential'; reason: string; waitMs: number }
  | { kind: 'misrouted'; reason: string; waitMs: number }
  | { kind: 'retry'; reason: string; waitMs: number; rateLimited: boolean }

const CREDENTIAL_ERRORS = new Set(['INVALID_TOKEN', 'UNAUTHORIZED'])
const MISROUTED = new Set([404, 405, 410, 413, 415])
// Every pause and streak of the server as a whole, as opposed to one token's.
const SERVER = Symbol('server')

/** `HTTP 503 Service Unavailable`, in Node's words rather than the server's. */
export function statusLine(status: number): string {
  return `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd()
}

/**
 * Milliseconds to wait as a `Retry-After` header asks (delay-seconds or an HTTP date), or
 * undefined when the header is absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // Every HTTP date names a month; Date.parse alone would also take '-1' or '2025'.
  const at = /[a-z]/i.test(text) ? Date.parse(text) : Number.NaN
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/**
 * Exponential backoff with "equal jitter": after the n-th failure in a row (n >= 1), a delay
 * between half and all of min(maxDelay, baseDelay * 2^(n-1)). Half the delay is kept so that a
 * failing server always gets some rest; the random half spreads clients apart.
 */
export function backoffDelay(failures: number, baseDelay: number, maxDelay: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxDelay, baseDelay * 2 ** Math.min(failures - 1, 52))
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

export interface PolicyOptions {
  retryDelay: number
  maxRetryDelay: number
  maxRetryAfterMs: number
  random?: () => number
}

interface Streak {
  failures: number
  lastFailureAt: number
  backoffUntil: number
  /** What a server asked for (Retry-After, capped): a round asked for now still honours it. */
  retryAfterUntil: number
}

const until = (streak: Streak | undefined) => Math.max(streak?.backoffUntil ?? 0, streak?.retryAfterUntil ?? 0)

export class OutcomePolicy {
  readonly #options: PolicyOptions
  readonly #streaks = new Map<string | typeof SERVER, Streak>()

  constructor(options: PolicyOptions) {
    this.#options = options
  }

  /**
   * Decides the fate of an event sent with `token` at `sentAt`, and pauses what must wait.
   * Requests already in flight when an earlier one failed belong to the same outage: they do not
   * lengthen the backoff again.
   */
  decide(answer: Answer, token: string, sentAt: number, now: number): Decision {
    if (answer.kind === 'failure') return { kind: 'retry', reason: answer.message, waitMs: this.#pause(SERVER, sentAt, now, undefined), rateLimited: false }
    const { status } = answer
    const line = statusLine(status)
    if (status >= 200 && status < 300) {
      this.#streaks.delete(token)
      this.#streaks.delete(SERVER)
      return { kind: 'delivered', duplicate: status === 200 }
    }
    const credential = status === 401 || status === 403 || (status === 400 && CREDENTIAL_ERRORS.has(answer.errorCode ?? ''))
    if (credential) {
      const reason = `${line}${answer.errorCode ? ` (${answer.errorCode})` : ''}: the IC token was refused`
      return { kind: 'credential', reason, waitMs: this.#pause(token, sentAt, now, undefined) }
    }
    if (MISROUTED.has(status)) {
      const reason = `${line}: the server refuses every event at this URL (check serverUrl, or a proxy's limits)`
      return { kind: 'misrouted', reason, waitMs: this.#pause(SERVER, sentAt, now, undefined) }
    }
    if (status === 400 || status === 422) return { kind: 'rejected', reason: `${line}: event rejected` }
    const rateLimited = status === 429
    const waitMs = this.#pause(rateLimited ? token : SERVER, sentAt, now, answer.retryAfter)
    return { kind: 'retry', reason: line, waitMs, rateLimited }
  }

  /** ms until `token` may send again (its own pause or the server's); 0 = now. */
  waitFor(token: string, now: number): number {
    return Math.max(0, until(this.#streaks.get(SERVER)) - now, until(this.#streaks.get(token)) - now)
  }

  /** ms until anything may be sent to the server; 0 = now. */
  serverWait(now: number): number {
    return Math.max(0, until(this.#streaks.get(SERVER)) - now)
  }

  /** Forgets the backoffs, not what a server asked for: someone asked for a round now. */
  forgiveBackoff(): void {
    for (const streak of this.#streaks.values()) streak.backoffUntil = 0
  }

  #pause(scope: string | typeof SERVER, sentAt: number, now: number, retryAfter: string | undefined): number {
    let streak = this.#streaks.get(scope)
    if (!streak) this.#streaks.set(scope, (streak = { failures: 0, lastFailureAt: -Infinity, backoffUntil: 0, retryAfterUntil: 0 }))
    if (sentAt >= streak.lastFailureAt) {
      streak.failures++
      streak.lastFailureAt = now
      const { retryDelay, maxRetryDelay, random } = this.#options
      streak.backoffUntil = now + backoffDelay(streak.failures, retryDelay, maxRetryDelay, random)
    }
    const asked = parseRetryAfter(retryAfter, now)
    if (asked !== undefined) streak.retryAfterUntil = Math.max(streak.retryAfterUntil, now + Math.min(asked, this.#options.maxRetryAfterMs))
    return Math.max(0, until(streak) - now)
  }
}
