// SyncConfig: where and how the sync client sends events.
import { checkIntegerInRange, checkString } from '../validate.js'

/** The longest delay setTimeout honours (2^31 - 1 ms); a longer one fires at once. */
export const MAX_TIMER_MS = 2_147_483_647

// Inclusive ranges of the numeric settings. Timer-driven ones stop at what setTimeout accepts.
const RANGES = {
  syncInterval: [1, Number.MAX_SAFE_INTEGER],
  batchThreshold: [1, Number.MAX_SAFE_INTEGER],
  timeout: [1, MAX_TIMER_MS],
  maxEventsPerMinute: [0, Number.MAX_SAFE_INTEGER],
  maxConcurrency: [1, 1024],
  retryDelay: [1, MAX_TIMER_MS],
  maxRetryDelay: [1, MAX_TIMER_MS],
  maxRetryAfterMs: [0, MAX_TIMER_MS],
  spoolFlushMs: [1, MAX_TIMER_MS],
  maxSpoolBytes: [4096, Number.MAX_SAFE_INTEGER],
} as const

type NumericSetting = keyof typeof RANGES

function checked(name: NumericSetting, value: unknown): number {
  const [min, max] = RANGES[name]
  return checkIntegerInRange(name, value, min, max)
}

function serverUrlOf(value: unknown): string {
  const text = checkString('serverUrl', value)
  if (text === '') return text
  // The value itself is not shown: a URL may carry credentials, or be a token pasted in the wrong place.
  const protocol = URL.canParse(text) ? new URL(text).protocol : undefined
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new TypeError(`serverUrl must be an http or https URL or '', got ${protocol ? `a ${protocol} URL` : 'a string that is not a URL'}`)
  }
  return text
}

/**
 * Settings of a SyncClient. Fields may be set directly or through the chainable `with*` methods;
 * either way SyncClient checks them again when it starts. `icToken` is kept in a private field
 * behind an accessor, so logging or serialising a config never shows it.
 */
export class SyncConfig {
  /** Base URL of the Control API; events go to `{serverUrl}/api/v1/analytics/events`. '' = sync disabled. */
  serverUrl: string
  /** ms between rounds. */
  syncInterval = 30_000
  /** A round starts within 250 ms of this many events waiting, between ticks. */
  batchThreshold = 10
  /** ms allowed per HTTP request, and for stop() to flush. */
  timeout = 30_000
  /** A cap per token: at most this many events sent in any minute; 0 = none. Pacing adapts to 429s whatever the cap. */
  maxEventsPerMinute = 0
  /** At most this many requests in flight at once. */
  maxConcurrency = 4
  /** ms of the first backoff after a failure; it doubles with each failure in a row. */
  retryDelay = 1000
  /** ms the backoff never exceeds (a server's Retry-After is honoured even when longer). */
  maxRetryDelay = 60_000
  /** ms a server's Retry-After is honoured up to; a longer one waits this long. */
  maxRetryAfterMs = 300_000
  /** A directory where undelivered events survive restarts and crashes (see README, "Spool"). */
  spoolPath: string | undefined = undefined
  /** ms within which a recorded event is on disk in the spool. */
  spoolFlushMs = 1_000
  /** The spool never holds more bytes than this; beyond it the oldest events are dropped and counted. */
  maxSpoolBytes = 1024 ** 3
  /** The token of each agent's events; see withAgentTokens. */
  agentTokens: AgentTokens | undefined = undefined
  #icToken = ''

  constructor(serverUrl: string, icToken: string) {
    this.serverUrl = serverUrlOf(serverUrl)
    this.icToken = icToken
  }

  /** The IC token of the agent; it never appears in an error, a log line or a metric. */
  get icToken(): string {
    return this.#icToken
  }

  set icToken(value: string) {
    // Only the type is described: a wrong value may still be a credential.
    if (typeof value !== 'string') throw new TypeError(`icToken must be a string, got ${value === null ? 'null' : typeof value}`)
    this.#icToken = value
  }

  withInterval(ms: number): this {
    this.syncInterval = checked('syncInterval', ms)
    return this
  }

  withBatchThreshold(n: number): this {
    this.batchThreshold = checked('batchThreshold', n)
    return this
  }

  withTimeout(ms: number): this {
    this.timeout = checked('timeout', ms)
    return this
  }

  withMaxEventsPerMinute(n: number): this {
    this.maxEventsPerMinute = checked('maxEventsPerMinute', n)
    return this
  }

  withMaxConcurrency(n: number): this {
    this.maxConcurrency = checked('maxConcurrency', n)
    return this
  }

  withRetryDelay(ms: number): this {
    this.retryDelay = checked('retryDelay', ms)
    return this
  }

  withMaxRetryDelay(ms: number): this {
    this.maxRetryDelay = checked('maxRetryDelay', ms)
    return this
  }

  withMaxRetryAfter(ms: number): this {
    this.maxRetryAfterMs = checked('maxRetryAfterMs', ms)
    return this
  }

  withSpoolPath(path: string): this {
    this.spoolPath = spoolPathOf(path)
    return this
  }

  withSpoolFlush(ms: number): this {
    this.spoolFlushMs = checked('spoolFlushMs', ms)
    return this
  }

  withMaxSpoolBytes(n: number): this {
    this.maxSpoolBytes = checked('maxSpoolBytes', n)
    return this
  }

  /**
   * Sends each event with its agent's token: a map from agentId to token, or a function of the
   * agentId (undefined for events without one) returning the token or undefined. Events it gives
   * no token use `icToken`; an event with no token at all stays buffered (`metrics().withoutToken`).
   */
  withAgentTokens(tokens: AgentTokens): this {
    this.agentTokens = agentTokensOf(tokens)
    return this
  }
}

export type AgentTokens = Readonly<Record<string, string>> | ((agentId: string | undefined) => string | undefined)

function agentTokensOf(value: unknown): AgentTokens | undefined {
  if (value == null) return undefined
  if (typeof value === 'function') return value as AgentTokens
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`agentTokens must be an object of agentId -> token or a function, got ${Array.isArray(value) ? 'an array' : typeof value}`)
  }
  // Only the key is named: the value may be a credential.
  for (const [agentId, token] of Object.entries(value)) {
    if (typeof token !== 'string') throw new TypeError(`agentTokens[${JSON.stringify(agentId)}] must be a string, got ${token === null ? 'null' : typeof token}`)
  }
  return { ...value } as AgentTokens
}

function spoolPathOf(value: unknown): string | undefined {
  if (value == null) return undefined
  if (checkString('spoolPath', value) === '') throw new RangeError('spoolPath must not be empty')
  return value as string
}

/** The settings a client runs with, checked; a config changed afterwards affects the next start(). */
export type Settings = Record<NumericSetting, number> & {
  serverUrl: string
  spoolPath: string | undefined
  agentTokens: AgentTokens | undefined
}

export function settingsOf(config: SyncConfig): Settings {
  const numbers = Object.fromEntries(
    (Object.keys(RANGES) as NumericSetting[]).map((name) => [name, checked(name, config[name])]),
  ) as Record<NumericSetting, number>
  return {
    ...numbers,
    serverUrl: serverUrlOf(config.serverUrl),
    spoolPath: spoolPathOf(config.spoolPath),
    agentTokens: agentTokensOf(config.agentTokens),
  }
}
