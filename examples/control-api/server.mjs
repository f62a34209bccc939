// A reference Protocol 012 ingestion server: the analytics part of the Control API, small enough
// to read in one sitting. Tests, the benchmark and the demo run it on 127.0.0.1 only.
//
//   node examples/control-api/server.mjs --port 0 --db events.sqlite --token tok=agent-1
//
// It stores events in SQLite (better-sqlite3), authenticates IC tokens against a token -> agent
// map, validates every field strictly, deduplicates per (agent_id, event_id), can rate-limit per
// token, and can inject faults (error statuses, connection resets, slow answers) for tests.
import http from 'node:http'
import { pathToFileURL } from 'node:url'
import { listen, readBody } from '../support.mjs'
import { openSqlite } from './database.mjs'

export const EVENTS_PATH = '/api/v1/analytics/events'

const HOST = '127.0.0.1'
const MAX_BODY_BYTES = 64 * 1024
const MAX_ID_LENGTH = 256
const MAX_ERROR_MESSAGE_LENGTH = 4096
const EVENT_TYPES = new Set(['llm_request_completed', 'llm_request_failed'])
const PROVIDERS = new Set(['openai', 'anthropic', 'unknown'])
const USAGE_FIELDS = ['input_tokens', 'output_tokens', 'cost_micros']
const OPTIONAL_TEXT = { provider_id: MAX_ID_LENGTH, error_code: MAX_ID_LENGTH, error_message: MAX_ERROR_MESSAGE_LENGTH }
const KNOWN_FIELDS = new Set([
  'ic_token', 'event_id', 'timestamp_ms', 'event_type', 'model', 'provider',
  ...USAGE_FIELDS, ...Object.keys(OPTIONAL_TEXT),
])

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
 * @param {number} [options.rateLimitPerMinute] events per token per window; 0 (default) = no limit.
 * @param {number} [options.rateLimitWindowMs] the window of that limit, 60_000 by default.
 */
export async function startControlApi(options = {}) {
  const tokens = new Map(options.tokens instanceof Map ? options.tokens : Object.entries(options.tokens ?? {}))
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
        answer = reply(500, 'internal error', peekEventId(body))
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
    if (path !== EVENTS_PATH) return reply(404, 'not found')
    if (req.method !== 'POST') return reply(405, 'method not allowed')
    if (tooLarge) return reply(413, `body over ${MAX_BODY_BYTES} bytes`)
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      return reply(415, 'content-type must be application/json')
    }
    let event
    try {
      event = JSON.parse(body)
    } catch {
      return reply(400, 'body is not valid JSON')
    }
    if (event === null || typeof event !== 'object' || Array.isArray(event)) {
      return reply(400, 'body must be a JSON object')
    }
    const agentId = typeof event.ic_token === 'string' ? tokens.get(event.ic_token) : undefined
    const eventId = typeof event.event_id === 'string' ? event.event_id : undefined
    if (agentId === undefined) return reply(401, 'unknown IC token', eventId)
    const wait = limiter.take(event.ic_token, Date.now())
    if (wait > 0) return { ...reply(429, 'rate limit exceeded', eventId), retryAfter: Math.ceil(wait / 1000) }
    const problem = validate(event)
    if (problem) return reply(400, problem, eventId)
    const row = {
      event_id: event.event_id,
      timestamp_ms: event.timestamp_ms,
      event_type: event.event_type,
      model: event.model,
      provider: event.provider,
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

function reply(status, error, eventId) {
  return { status, eventId, body: { error } }
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
  const headers = { 'content-type': 'application/json' }
  if (retryAfter !== undefined) {
    headers['retry-after'] = retryAfter instanceof Date ? retryAfter.toUTCString() : String(retryAfter)
  }
  res.writeHead(status, headers)
  res.end(JSON.stringify(body))
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

/** The protocol's field rules; returns the first problem or undefined. */
function validate(event) {
  for (const key of Object.keys(event)) {
    if (!KNOWN_FIELDS.has(key)) return `unknown field ${key}`
  }
  if (!isText(event.event_id, MAX_ID_LENGTH)) return 'event_id must be a non-empty string'
  if (!isCount(event.timestamp_ms)) return 'timestamp_ms must be a non-negative integer'
  if (!EVENT_TYPES.has(event.event_type)) return `event_type must be one of ${[...EVENT_TYPES].join(', ')}`
  if (!isText(event.model, MAX_ID_LENGTH)) return 'model must be a non-empty string'
  if (!PROVIDERS.has(event.provider)) return `provider must be one of ${[...PROVIDERS].join(', ')}`
  const completed = event.event_type === 'llm_request_completed'
  for (const field of USAGE_FIELDS) {
    if (completed && !isCount(event[field])) return `${field} must be a non-negative integer`
    if (!completed && field in event) return `${field} is not allowed on llm_request_failed`
  }
  for (const [field, max] of Object.entries(OPTIONAL_TEXT)) {
    if (field in event && !isText(event[field], max)) return `${field} must be a non-empty string when present`
  }
  return undefined
}

function isText(value, max) {
  return typeof value === 'string' && value.length > 0 && value.length <= max
}

function isCount(value) {
  return Number.isSafeInteger(value) && value >= 0
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
  const options = { port: 0, db: ':memory:', tokens: new Map(), rateLimitPerMinute: 0 }
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
      case '--rate-limit':
        options.rateLimitPerMinute = Number(value)
        break
      default:
        throw new Error(`unknown argument ${argv[i]}; use --port N --db FILE --token TOKEN=AGENT --rate-limit N`)
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
