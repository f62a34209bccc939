// A reference Protocol 012 ingestion server: the analytics part of the Control API, small enough
// to read in one sitting. Tests, the benchmark and the demo run it on 127.0.0.1 only.
//
//   node examples/control-api/server.mjs --port 0 --db events.sqlite --token tok=agent-1
//
// It stores events in SQLite (better-sqlite3), authenticates IC tokens against a token -> agent
// map, deduplicates per (agent_id, event_id), can rate-limit per token (off by default), and can
// inject faults (error statuses, connection resets, slow answers) for tests. It answers as the
// real Control API (iron_control_api 0.4.0) does, as the interop tests found it: a body that is
// not JSON is 400, JSON of the wrong shape 422 (axum's Json extractor), an unknown token 401
// UNAUTHORIZED, a token whose agent id is malformed 400 INVALID_TOKEN, a bad event_type or
// provider or a completed event without token counts 400 VALIDATION_ERROR; anything else is taken.
// (One difference stays: an absent count is stored as NULL here, as 0 there.)
import http from 'node:http'
import { pathToFileURL } from 'node:url'
import { listen, readBody } from '../support.mjs'
import { openSqlite } from './database.mjs'

export const EVENTS_PATH = '/api/v1/analytics/events'

const HOST = '127.0.0.1'
// axum's default body limit.
const MAX_BODY_BYTES = 2 * 1024 * 1024
const EVENT_TYPES = new Set(['llm_request_completed', 'llm_request_failed'])
const PROVIDERS = new Set(['openai', 'anthropic', 'unknown'])
// The request's fields as the real server deserialises them (serde): required strings, an i64,
// optional i64s and optional strings (null counts as absent). Unknown fields are ignored.
const REQUIRED_TEXT = ['ic_token', 'event_id', 'event_type', 'model', 'provider']
const OPTIONAL_COUNTS = ['input_tokens', 'output_tokens', 'cost_micros']
const OPTIONAL_TEXT = ['provider_id', 'error_code', 'error_message']
const I64_MIN = -(2n ** 63n)
const I64_MAX = 2n ** 63n - 1n

const SCHEMA = `
CREATE TABLE IF NOT EXISTS analytics_events (
  id            INTEGER PRIMARY KEY,
  event_id      TEXT    NOT NULL,
  timestamp_ms  INTEGER NOT NULL,
  event_type    TEXT    NOT NULL CHECK (event_type IN ('llm_request_completed', 'llm_request_failed')),
  model         TEXT    NOT NULL,
  provider      TEXT    NOT NULL,
  input_tokens  INTEGER,
  output_tokens INTEGER,
  cost_micros   INTEGER,
  agent_id      TEXT    NOT NULL,
  provider_id   TEXT,
  error_code    TEXT,
  error_message TEXT,
  received_at   INTEGER NOT NULL,
  UNIQUE (agent_id, event_id)
)`

/**
 * Starts the server on 127.0.0.1.
 * @param {object} [options]
 * @param {number} [options.port] 0 (the default) picks a free port.
 * @param {string} [options.db] SQLite file; ':memory:' (the default) keeps everything in memory.
 * @param {Record<string, string> | Map<string, string>} [options.tokens] IC token -> agent id.
 * @param {string[]} [options.malformedTokens] tokens the real server would verify but whose agent
 *   id is not numeric: answered 400 INVALID_TOKEN.
 * @param {number} [options.rateLimitPerMinute] events per token per window; 0 (default) = no limit.
 * @param {number} [options.rateLimitWindowMs] the window of that limit, 60_000 by default.
 */
export async function startControlApi(options = {}) {
  const tokens = new Map(options.tokens instanceof Map ? options.tokens : Object.entries(options.tokens ?? {}))
  const malformed = new Set(options.malformedTokens ?? [])
  const limiter = createLimiter(options.rateLimitPerMinute ?? 0, options.rateLimitWindowMs ?? 60_000)
  const db = openDatabase(options.db ?? ':memory:')
  const insert = db.prepare(`
    INSERT INTO analytics_events (event_id, timestamp_ms, event_type, model, provider, input_tokens,
      output_tokens, cost_micros, agent_id, provider_id, error_code, error_message, received_at)
    VALUES (@event_id, @timestamp_ms, @event_type, @model, @provider, @input_tokens,
      @output_tokens, @cost_micros, @agent_id, @provider_id, @error_code, @error_message, @received_at)
    ON CONFLICT (agent_id, event_id) DO NOTHING`)
  const faults = createFaults()
  const traffic = createTraffic()
  const delayed = new Set()

  const server = http.createServer((req, res) => {
    const fault = faults.take()
    const visit = traffic.arrive(res)
    readBody(req, MAX_BODY_BYTES, (tooLarge, body) => {
      // Faults in place of the server's answer store nothing.
      if (fault?.kind === 'reset') {
        visit.answer(peekEventId(body), 'reset')
        req.socket.destroy()
        return
      }
      if (fault?.kind === 'status') {
        visit.answer(peekEventId(body), fault.status)
        send(res, fault.status, { error: `injected fault ${fault.status}` }, fault.retryAfter)
        return
      }
      let answer
      try {
        answer = handle(req, tooLarge, body)
      } catch {
        answer = reply(500, 'DATABASE_ERROR', 'Failed to store event', peekEventId(body))
      }
      if (fault?.kind === 'delay') {
        const timer = setTimeout(() => {
          delayed.delete(timer)
          visit.answer(answer.eventId, answer.status)
          send(res, answer.status, answer.body, answer.retryAfter)
        }, fault.ms)
        delayed.add(timer)
        return
      }
      visit.answer(answer.eventId, answer.status)
      send(res, answer.status, answer.body, answer.retryAfter)
    })
  })

  function handle(req, tooLarge, body) {
    const path = req.url.split('?')[0]
    if (path !== EVENTS_PATH) return { status: 404, eventId: undefined, body: '' }
    if (req.method !== 'POST') return { status: 405, eventId: undefined, body: '' }
    if (tooLarge) return text(413, 'Failed to buffer the request body: length limit exceeded')
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      return text(415, 'Expected request with `Content-Type: application/json`')
    }
    let event
    try {
      event = JSON.parse(body)
    } catch (error) {
      return text(400, `Failed to parse the request body as JSON: ${error.message}`)
    }
    const shape = shapeProblem(event, body)
    if (shape) return text(422, `Failed to deserialize the JSON body into the target type: ${shape}`)
    const eventId = event.event_id
    if (malformed.has(event.ic_token)) return reply(400, 'INVALID_TOKEN', 'Invalid agent_id format in token', eventId)
    const agentId = tokens.get(event.ic_token)
    if (agentId === undefined) return reply(401, 'UNAUTHORIZED', 'Invalid or expired IC token', eventId)
    const wait = limiter.take(event.ic_token, Date.now())
    if (wait > 0) return { ...reply(429, 'RATE_LIMITED', 'rate limit exceeded', eventId), retryAfter: Math.ceil(wait / 1000) }
    const problem = validate(event)
    if (problem) return reply(400, 'VALIDATION_ERROR', problem, eventId)
    const row = {
      event_id: event.event_id,
      timestamp_ms: event.timestamp_ms,
      event_type: event.event_type,
      model: event.model,
      provider: event.provider,
      // The real server stores 0 for an absent count; NULL keeps "absent" readable here.
      input_tokens: event.input_tokens ?? null,
      output_tokens: event.output_tokens ?? null,
      cost_micros: event.cost_micros ?? null,
      agent_id: agentId,
      provider_id: event.provider_id ?? null,
      error_code: event.error_code ?? null,
      error_message: event.error_message ?? null,
      received_at: Date.now(),
    }
    const stored = insert.run(row).changes === 1
    return {
      status: stored ? 202 : 200,
      eventId,
      body: { status: stored ? 'accepted' : 'duplicate', event_id: eventId },
    }
  }

  const port = await listen(server, options.port ?? 0, HOST)
  let closing
  return {
    url: `http://${HOST}:${port}`,
    port,
    db,
    faults,
    traffic,
    /** Stops listening, drops open connections and closes the database. */
    close() {
      closing ??= new Promise((resolve) => {
        for (const timer of delayed) clearTimeout(timer)
        delayed.clear()
        server.close(() => {
          db.close()
          resolve()
        })
        server.closeAllConnections()
      })
      return closing
    },
  }
}

function reply(status, error, message, eventId) {
  return { status, eventId, body: { error, message } }
}

/** A plain-text answer, as axum's extractors give. */
function text(status, message) {
  return { status, eventId: undefined, body: message }
}

function peekEventId(body) {
  try {
    const id = JSON.parse(body)?.event_id
    return typeof id === 'string' ? id : undefined
  } catch {
    return undefined
  }
}

function send(res, status, body, retryAfter) {
  if (res.destroyed) return
  const plain = typeof body === 'string'
  const headers = { 'content-type': plain ? 'text/plain; charset=utf-8' : 'application/json' }
  if (retryAfter !== undefined) {
    headers['retry-after'] = retryAfter instanceof Date ? retryAfter.toUTCString() : String(retryAfter)
  }
  res.writeHead(status, headers)
  res.end(plain ? body : JSON.stringify(body))
}

function openDatabase(file) {
  const db = openSqlite(file)
  if (file !== ':memory:') {
    // WAL without a sync per commit: an ingestion server's usual trade, and it keeps
    // one insert per request cheap.
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
  }
  db.exec(SCHEMA)
  return db
}

/**
 * What serde would refuse in the body, or undefined: a non-object, a missing or non-string
 * required field, a timestamp or count that is not an i64. `body` is the raw text, for integers
 * past 2^53 that JSON.parse has rounded.
 */
function shapeProblem(event, body) {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return 'expected struct AnalyticsEventRequest'
  for (const field of REQUIRED_TEXT) {
    if (!(field in event)) return `missing field \`${field}\``
    if (typeof event[field] !== 'string') return `${field}: invalid type, expected a string`
  }
  if (!('timestamp_ms' in event)) return 'missing field `timestamp_ms`'
  if (!isI64(event.timestamp_ms, 'timestamp_ms', body)) return 'timestamp_ms: invalid type, expected i64'
  for (const field of OPTIONAL_COUNTS) {
    if (event[field] != null && !isI64(event[field], field, body)) return `${field}: invalid type, expected i64`
  }
  for (const field of OPTIONAL_TEXT) {
    if (event[field] != null && typeof event[field] !== 'string') return `${field}: invalid type, expected a string`
  }
  return undefined
}

function isI64(value, field, body) {
  if (!Number.isInteger(value)) return false
  if (Number.isSafeInteger(value)) return true
  // Past 2^53 the parsed number is rounded: read the digits as written.
  const written = new RegExp(`"${field}"\\s*:\\s*(-?\\d+)(?![.eE\\d])`).exec(body)?.[1]
  return written !== undefined && BigInt(written) >= I64_MIN && BigInt(written) <= I64_MAX
}

/** The checks the real server makes after deserialising; returns the first problem or undefined. */
function validate(event) {
  if (!EVENT_TYPES.has(event.event_type)) return "event_type must be 'llm_request_completed' or 'llm_request_failed'"
  if (!PROVIDERS.has(event.provider)) return "provider must be 'openai', 'anthropic', or 'unknown'"
  if (event.event_type === 'llm_request_completed' && (event.input_tokens == null || event.output_tokens == null)) {
    return 'input_tokens and output_tokens required for completed events'
  }
  return undefined
}

/** A sliding window per token: at most `limit` requests in any `windowMs`. */
function createLimiter(limit, windowMs) {
  const arrivals = new Map()
  return {
    /** Records an arrival and returns 0, or returns the ms until one is allowed. */
    take(token, now) {
      if (limit <= 0) return 0
      let times = arrivals.get(token)
      if (!times) arrivals.set(token, (times = []))
      while (times.length > 0 && times[0] <= now - windowMs) times.shift()
      if (times.length >= limit) return times[0] + windowMs - now
      times.push(now)
      return 0
    },
  }
}

/** Faults apply to the next requests in the order they were queued, one request each. */
function createFaults() {
  const queue = []
  const injected = { status: 0, reset: 0, delay: 0 }
  const push = (count, fault) => {
    for (let i = 0; i < count; i++) queue.push(fault)
  }
  return {
    injected,
    /** Answers the next `count` requests with `status` (and Retry-After: seconds or a Date). */
    failNext(count, status = 503, retryAfter) {
      push(count, { kind: 'status', status, retryAfter })
    },
    /** Destroys the connection of the next `count` requests without an answer. */
    resetNext(count) {
      push(count, { kind: 'reset' })
    },
    /** Handles the next `count` requests normally (storing the event) but answers after `ms`. */
    delayNext(count, ms) {
      push(count, { kind: 'delay', ms })
    },
    pending() {
      return queue.length
    },
    clear() {
      queue.length = 0
    },
    take() {
      const fault = queue.shift()
      if (fault) injected[fault.kind]++
      return fault
    },
  }
}

/**
 * What arrived: one log entry per request with its event id (when readable), arrival time, and
 * the answer and its time once given. An answer to a client that had already hung up is logged
 * as 'abandoned': the client never saw it.
 */
function createTraffic() {
  const perEvent = new Map()
  const log = []
  let open = 0
  const traffic = {
    log,
    /** The most requests that were open at the same time. */
    peakConcurrency: 0,
    /** How many requests carried this event id, whatever the answer. */
    count(eventId) {
      return perEvent.get(eventId) ?? 0
    },
    arrive(res) {
      const entry = { eventId: undefined, at: Date.now(), status: undefined, answeredAt: undefined }
      traffic.peakConcurrency = Math.max(traffic.peakConcurrency, ++open)
      res.once('close', () => open--)
      log.push(entry)
      return {
        answer(eventId, status) {
          entry.eventId = eventId
          entry.status = res.destroyed && status !== 'reset' ? 'abandoned' : status
          entry.answeredAt = Date.now()
          if (eventId !== undefined) perEvent.set(eventId, (perEvent.get(eventId) ?? 0) + 1)
        },
      }
    },
  }
  return traffic
}

function parseArgs(argv) {
  const options = { port: 0, db: ':memory:', tokens: new Map(), malformedTokens: [], rateLimitPerMinute: 0 }
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1]
    switch (argv[i]) {
      case '--port':
        options.port = Number(value)
        break
      case '--db':
        options.db = value
        break
      case '--token': {
        const eq = value?.indexOf('=') ?? -1
        if (eq <= 0) throw new Error('--token takes TOKEN=AGENT_ID')
        options.tokens.set(value.slice(0, eq), value.slice(eq + 1))
        break
      }
      case '--malformed-token':
        options.malformedTokens.push(value)
        break
      case '--rate-limit':
        options.rateLimitPerMinute = Number(value)
        break
      default:
        throw new Error(`unknown argument ${argv[i]}; use --port N --db FILE --token TOKEN=AGENT --malformed-token TOKEN --rate-limit N`)
    }
    i++
  }
  return options
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const api = await startControlApi(parseArgs(process.argv.slice(2)))
  // One JSON line on stdout so that a parent process can read the ephemeral port.
  process.stdout.write(`${JSON.stringify({ url: api.url, port: api.port })}\n`)
  const shutdown = () => api.close().then(() => process.exit(0))
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
}
