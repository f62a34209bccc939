// How an answer of the Control API is handled, and how long to wait before the next attempt.

/**
 * What becomes of an event after one attempt:
 * - `delivered`: 2xx (202 accepted, 200 duplicate); the event leaves the buffer.
 * - `rejected`: a final 4xx; the event leaves the buffer and is counted, never retried.
 * - `retry`: 408, 429, 5xx, anything unexpected, timeouts, network errors; the event is kept.
 * - `auth`: 401 or 403; the event is kept and sending pauses until the credential works.
 */
export type Outcome = 'delivered' | 'rejected' | 'retry' | 'auth'

export function classify(status: number): Outcome {
  if (status >= 200 && status < 300) return 'delivered'
  if (status === 401 || status === 403) return 'auth'
  if (status === 408 || status === 429) return 'retry'
  if (status >= 400 && status < 500) return 'rejected'
  // 5xx, and 1xx/3xx that a Protocol 012 server never sends: keeping the event loses nothing.
  return 'retry'
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
