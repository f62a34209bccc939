// An LLM router in plain Node.js (node:http, no framework) that records every request it proxies
// with iron-runtime-analytics and syncs the events to a Control API. Copy it and adapt the routes.
//
//   node examples/router/router.mjs --config examples/router/config.example.json
//
// Clients call it as they would call the provider: POST /v1/chat/completions (OpenAI format) or
// POST /v1/messages (Anthropic format), with an `x-agent-id` header naming a configured agent,
// streamed (`"stream": true`) or not. Every answer is recorded from the usage the provider reports:
// whole answers with usageFromResponse, streams through a usage tap as their bytes pass, with
// store.recordOutcome either way; a failure (an error status, an error event mid-stream, a cut
// connection, a client that goes away) becomes a failed event with its code.
// The model picks the route: gpt-*, o1-*, o3-*, chatgpt-* go to the `openai` route, claude-* to
// the `anthropic` route, anything else to the `unknown` route (a self-hosted OpenAI-compatible
// server, say). GET /stats answers the live figures as JSON; GET /metrics the same figures for
// Prometheus (examples/grafana/dashboard.json charts them). An agent with a `budgetUsd` that has
// spent it gets a 429 instead of an answer.
//
// Each agent has its own EventStore and SyncClient: the Control API attributes an event to the
// agent whose IC token sent it, so an agent's events must travel under that agent's token.
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pipeline } from 'node:stream'
import { pathToFileURL } from 'node:url'
import {
  EventStore,
  PROMETHEUS_CONTENT_TYPE,
  PricingManager,
  SyncClient,
  SyncConfig,
  errorFromResponse,
  inferProvider,
  microsToUsd,
  usageFromResponse,
  usageTapTransform,
  usdToMicros,
  withStreamUsage,
} from 'iron-runtime-analytics'

const FORMAT_PATHS = { openai: '/v1/chat/completions', anthropic: '/v1/messages' }
const PATH_FORMATS = { '/v1/chat/completions': 'openai', '/v1/messages': 'anthropic' }
// The wire format of each route, as the package's response readers name it.
const API_FORMATS = { openai: 'openai-chat', anthropic: 'anthropic' }
// Recorded for a stream whose client went away before its final usage came.
const CLIENT_CLOSED = 'client_closed'
const AGENT_HEADER = 'x-agent-id'
const MAX_BODY_BYTES = 10 * 1024 * 1024
// The library refuses longer identifiers; the router answers 400 instead of recording nothing.
const MAX_MODEL_LENGTH = 256
const LLM_EVENTS = new Set(['llm_request_completed', 'llm_request_failed'])

/**
 * @typedef {object} Route
 * @property {string} url          the provider endpoint, e.g. https://api.openai.com/v1/chat/completions
 * @property {'openai' | 'anthropic'} format  the wire format it speaks
 * @property {string} providerId   recorded with each event: which upstream account served it
 * @property {string} [apiKeyEnv]  environment variable holding the provider key, if it needs one
 *
 * @typedef {object} RouterConfig
 * @property {number} [port]                 default 8080; 0 picks a free port
 * @property {string} [host]                 default 127.0.0.1
 * @property {{ openai?: Route, anthropic?: Route, unknown?: Route }} routes  by the provider of the model
 * @property {Record<string, { icToken: string, budgetUsd?: number }>} agents  agent id -> IC token and budget
 * @property {object} [sync]                 the Control API; without `url` nothing is synced
 * @property {string} [sync.url]
 * @property {number} [sync.intervalMs]          default 30_000
 * @property {number} [sync.batchThreshold]      default 10
 * @property {number} [sync.timeoutMs]           per request and for the flush at stop; default 30_000
 * @property {number} [sync.maxEventsPerMinute]  per agent; default 1000, the protocol's limit
 * @property {number} [sync.retryDelayMs]        first backoff after a failure; default 1000
 * @property {string} [sync.spoolDir]            where stop leaves undelivered events, one file per agent
 * @property {number} [upstreamTimeoutMs]    default 120_000
 * @property {number} [bufferCapacity]       buffered events per agent; default 10_000
 * @property {string} [pricingFile]          a LiteLLM-format price table; default: the package's own
 */

/** Starts the router; resolves once it listens. */
export async function startRouter(config) {
  const pricing = config.pricingFile ? PricingManager.fromJson(readFileSync(config.pricingFile, 'utf8')) : new PricingManager()
  const routes = Object.fromEntries(Object.entries(config.routes ?? {}).map(([provider, route]) => [provider, prepareRoute(route)]))
  const lanes = new Map(Object.entries(config.agents ?? {}).map(([id, agent]) => [id, createLane(id, agent, config)]))
  const upstreamTimeoutMs = config.upstreamTimeoutMs ?? 120_000
  const startedAt = Date.now()
  // Requests being handled: close() waits for each to be recorded.
  const inFlight = new Set()

  const server = http.createServer((req, res) => {
    const handling = handle(req, res).catch((error) => {
      if (!res.headersSent) sendError(res, 'openai', 500, `router error: ${error.message}`)
      else res.destroy()
    })
    inFlight.add(handling)
    handling.finally(() => inFlight.delete(handling))
  })

  async function handle(req, res) {
    const path = req.url.split('?')[0]
    if (path === '/stats' && req.method === 'GET') return sendJson(res, 200, stats())
    if (path === '/metrics' && req.method === 'GET') return sendMetrics(res)
    const format = PATH_FORMATS[path]
    if (format === undefined) return sendError(res, 'openai', 404, `no such endpoint: ${req.method} ${path}`)
    if (req.method !== 'POST') return sendError(res, format, 405, `${path} takes POST`)
    const lane = lanes.get(req.headers[AGENT_HEADER])
    if (lane === undefined) return sendError(res, format, 401, `unknown agent: send a configured agent id in the ${AGENT_HEADER} header`)

    const body = await readBody(req)
    if (body === undefined) return sendError(res, format, 413, `request body over ${MAX_BODY_BYTES} bytes`)
    const request = parseJson(body)
    const model = request?.model
    if (typeof model !== 'string' || model.length === 0 || model.length > MAX_MODEL_LENGTH) {
      return sendError(res, format, 400, `the body must be a JSON object whose model is a string of 1 to ${MAX_MODEL_LENGTH} characters`)
    }
    const provider = inferProvider(model)
    const route = routes[provider]
    if (route === undefined) return sendError(res, format, 404, `no route for model ${model} (provider ${provider})`)
    if (route.format !== format) return sendError(res, format, 400, `model ${model} is served at POST ${FORMAT_PATHS[route.format]}`)
    const budget = lane.store.budgetStatus(lane.id)
    if (budget !== undefined && budget.remainingMicros === 0) return sendOverBudget(res, format, lane.id, budget)

    const apiFormat = API_FORMATS[route.format]
    const streamed = request.stream === true
    const started = performance.now()
    // When the first bytes of the answer's content came: the first event of a stream, the start of
    // a whole body.
    let firstContentAt
    const firstContent = () => (firstContentAt ??= performance.now())
    // The outcome's model is the one the provider billed; the requested one stands in when it names
    // none. The store records budget_threshold_reached as the agent's spend passes each threshold.
    const record = (outcome) => {
      const timeToFirstTokenMs = firstContentAt === undefined ? undefined : firstContentAt - started
      lane.store.recordOutcome(pricing, outcome, {
        agentId: lane.id,
        providerId: route.providerId,
        model,
        durationMs: performance.now() - started,
        timeToFirstTokenMs,
      })
    }
    const failed = (errorCode, errorMessage) => ({ complete: false, error: { errorCode, errorMessage } })

    // A streamed OpenAI answer reports its usage only when asked to: the router always asks.
    const upstreamBody = streamed ? Buffer.from(JSON.stringify(withStreamUsage(apiFormat, request))) : body
    let answer
    try {
      answer = await send(route, upstreamBody, upstreamTimeoutMs)
    } catch (error) {
      const status = error.code === 'ETIMEDOUT' ? 504 : 502
      const message = `upstream ${route.providerId} unreachable: ${error.code ?? error.message}`
      record(failed(String(status), message))
      return sendError(res, format, status, message)
    }
    const ok = answer.statusCode >= 200 && answer.statusCode < 300
    if (ok && streamed) return relay(answer, res, apiFormat, record, firstContent)

    let reply
    try {
      reply = await readAll(answer, firstContent)
    } catch (error) {
      const message = `upstream ${route.providerId} broke off its answer: ${error.code ?? error.message}`
      record(failed('502', message))
      return sendError(res, format, 502, message)
    }
    if (ok) {
      const read = usageFromResponse(apiFormat, reply)
      record(read ? { complete: true, ...read } : failed('usage_unreadable', 'the answer carried no usage the router could read'))
    } else {
      record({ complete: false, error: errorFromResponse(apiFormat, answer.statusCode, reply) })
    }
    // The client gets the provider's answer as it came, Retry-After included.
    const headers = { 'content-type': answer.headers['content-type'] ?? 'application/json' }
    if (answer.headers['retry-after'] !== undefined) headers['retry-after'] = answer.headers['retry-after']
    res.writeHead(answer.statusCode, headers)
    res.end(reply)
  }

  /**
   * Streams the upstream's events to the client through a usage tap, byte for byte, and records
   * the outcome once the stream has ended or broken. `pipeline` destroys every stream when one
   * fails: a client that goes away cancels the upstream request, and an upstream that breaks
   * cuts the client's stream, so the client sees the failure too.
   */
  async function relay(answer, res, apiFormat, record, firstContent) {
    const { transform, outcome } = usageTapTransform(apiFormat)
    transform.once('data', firstContent)
    let upstreamBroke = false
    let clientGone = false
    answer.once('error', () => (upstreamBroke = true))
    res.once('close', () => (clientGone = !res.writableFinished && !upstreamBroke))
    res.writeHead(answer.statusCode, { 'content-type': answer.headers['content-type'] ?? 'text/event-stream', 'cache-control': 'no-cache' })
    pipeline(answer, transform, res, () => {})
    const result = await outcome
    record(clientGone && !result.complete ? { ...result, error: { errorCode: CLIENT_CLOSED, errorMessage: 'the client closed the connection mid-stream' } } : result)
  }

  /** The agents' stores together, in the Prometheus text format. */
  function sendMetrics(res) {
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE })
    res.end(EventStore.prometheusOf([...lanes.values()].map((lane) => lane.store)))
  }

  /** The figures of every agent's store, added up, and each agent's own. */
  function stats() {
    const totals = { requests: 0, failed: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, costMicros: 0 }
    // No prototype: any model or agent name, even __proto__, is a plain key.
    const byModel = Object.create(null)
    const byProvider = Object.create(null)
    const byAgent = Object.create(null)
    for (const lane of lanes.values()) {
      const figures = lane.store.stats()
      totals.requests += figures.totalRequests
      totals.failed += figures.failedRequests
      totals.inputTokens += figures.totalInputTokens
      totals.outputTokens += figures.totalOutputTokens
      totals.cacheReadTokens += figures.totalCacheReadTokens
      totals.cacheWriteTokens += figures.totalCacheWriteTokens + figures.totalCacheWrite1hTokens
      totals.reasoningTokens += figures.totalReasoningTokens
      totals.costMicros += figures.totalCostMicros
      addInto(byModel, figures.byModel)
      addInto(byProvider, figures.byProvider)
      byAgent[lane.id] = {
        requests: figures.totalRequests,
        failed: figures.failedRequests,
        inputTokens: figures.totalInputTokens,
        outputTokens: figures.totalOutputTokens,
        costMicros: figures.totalCostMicros,
        costUsd: figures.totalCostUsd(),
        budgetMicros: lane.budgetMicros,
        thresholdsReached: lane.store.budgetStatus(lane.id)?.crossed ?? [],
        buffered: lane.store.len(),
        dropped: lane.store.droppedCount(),
        awaitingSync: lane.store.unsyncedEvents().filter((event) => LLM_EVENTS.has(event.type)).length,
        sync: lane.client.metrics(),
      }
    }
    return {
      uptimeMs: Date.now() - startedAt,
      totals: { ...totals, costUsd: microsToUsd(totals.costMicros) },
      byModel,
      byProvider,
      byAgent,
    }
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port ?? 8080, config.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address()
  for (const lane of lanes.values()) {
    lane.store.recordRouterStarted(port)
    lane.handle = lane.client.start()
  }

  let closing
  return {
    url: `http://${config.host ?? '127.0.0.1'}:${port}`,
    port,
    server,
    stats,
    /** Each agent's store, by agent id. */
    stores() {
      return new Map([...lanes].map(([id, lane]) => [id, lane.store]))
    },
    /**
     * The events still in the agents' buffers: LLM events not delivered yet, and the lifecycle and
     * budget events, which Protocol 012 does not carry and which therefore stay.
     */
    bufferedEvents() {
      return [...lanes.values()].flatMap((lane) => lane.store.snapshotEvents())
    },
    /**
     * Graceful stop: no new connections, requests in progress finish and are recorded, each
     * agent's store records router_stopped, and each sync client flushes before it stops.
     */
    close() {
      closing ??= (async () => {
        await new Promise((resolve) => server.close(resolve))
        await Promise.all(inFlight)
        for (const lane of lanes.values()) lane.store.recordRouterStopped()
        await Promise.all([...lanes.values()].map((lane) => lane.handle.stop()))
        for (const route of Object.values(routes)) route.agent.destroy()
      })()
      return closing
    },
  }
}

function createLane(id, agent, config) {
  const store = new EventStore(config.bufferCapacity ?? 10_000)
  const budgetMicros = agent.budgetUsd === undefined ? 0 : usdToMicros(agent.budgetUsd)
  // The store records budget_threshold_reached at 50, 80 and 100 % of it, once each.
  if (budgetMicros > 0) store.setBudget(id, budgetMicros)
  const sync = config.sync ?? {}
  const syncConfig = new SyncConfig(sync.url ?? '', agent.icToken)
  if (sync.intervalMs !== undefined) syncConfig.withInterval(sync.intervalMs)
  if (sync.batchThreshold !== undefined) syncConfig.withBatchThreshold(sync.batchThreshold)
  if (sync.timeoutMs !== undefined) syncConfig.withTimeout(sync.timeoutMs)
  if (sync.maxEventsPerMinute !== undefined) syncConfig.withMaxEventsPerMinute(sync.maxEventsPerMinute)
  if (sync.retryDelayMs !== undefined) syncConfig.withRetryDelay(sync.retryDelayMs)
  if (sync.spoolDir !== undefined) syncConfig.withSpoolPath(join(sync.spoolDir, `${encodeURIComponent(id)}.spool.json`))
  return {
    id,
    store,
    client: new SyncClient(store, syncConfig),
    handle: undefined,
    budgetMicros,
  }
}

function prepareRoute(route) {
  const target = new URL(route.url)
  const secure = target.protocol === 'https:'
  const key = route.apiKeyEnv ? process.env[route.apiKeyEnv] : undefined
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
  if (route.format === 'anthropic') {
    headers['anthropic-version'] = '2023-06-01'
    if (key) headers['x-api-key'] = key
  } else if (key) {
    headers.authorization = `Bearer ${key}`
  }
  const agentOptions = { keepAlive: true }
  return {
    ...route,
    target,
    headers,
    request: secure ? https.request : http.request,
    agent: secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions),
  }
}

/**
 * POSTs `body` to the route; resolves with the upstream's answer once its headers have come. The
 * timeout covers the whole exchange, a stream's last byte included.
 */
function send(route, body, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = route.request(route.target, {
      method: 'POST',
      agent: route.agent,
      headers: { ...route.headers, 'content-length': body.length },
    })
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), timeoutMs)
    req.once('close', () => clearTimeout(timer))
    req.on('response', resolve)
    req.on('error', reject)
    req.end(body)
  })
}

/** The whole body of an answer. */
function readAll(answer, firstContent) {
  return new Promise((resolve, reject) => {
    const chunks = []
    answer.on('data', (chunk) => {
      firstContent()
      chunks.push(chunk)
    })
    answer.on('end', () => resolve(Buffer.concat(chunks)))
    answer.on('error', reject)
  })
}

function parseJson(buffer) {
  try {
    return JSON.parse(buffer)
  } catch {
    return undefined
  }
}

function addInto(target, figures) {
  for (const [key, row] of Object.entries(figures)) {
    const sum = (target[key] ??= { requests: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, costMicros: 0 })
    sum.requests += row.requestCount
    sum.inputTokens += row.inputTokens
    sum.outputTokens += row.outputTokens
    // Of the input tokens: read from and written to the prompt cache (either TTL).
    sum.cacheReadTokens += row.cacheReadTokens
    sum.cacheWriteTokens += row.cacheWriteTokens + row.cacheWrite1hTokens
    // Of the output tokens: reasoning ("thinking").
    sum.reasoningTokens += row.reasoningTokens
    sum.costMicros += row.costMicros
  }
}

/** Resolves with the body, or undefined when it is over the limit. */
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    req.on('data', (chunk) => {
      size += chunk.length
      if (size <= MAX_BODY_BYTES) chunks.push(chunk)
    })
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

/** The 429 an agent gets once it has spent its budget, in its endpoint's error shape. */
function sendOverBudget(res, format, agentId, budget) {
  const message = `agent ${agentId} has spent $${microsToUsd(budget.spentMicros)} of its $${microsToUsd(budget.limitMicros)} budget`
  const error = { type: 'budget_exceeded', message, limit_usd: microsToUsd(budget.limitMicros), spent_usd: microsToUsd(budget.spentMicros) }
  sendJson(res, 429, format === 'anthropic' ? { type: 'error', error } : { error: { ...error, param: null, code: 'budget_exceeded' } })
}

/** The router's own errors, in the shape the client's SDK expects for its endpoint. */
function sendError(res, format, status, message) {
  const type = status >= 500 ? 'api_error' : 'invalid_request_error'
  sendJson(res, status, format === 'anthropic' ? { type: 'error', error: { type, message } } : { error: { message, type, param: null, code: null } })
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--config')
  if (at === -1 || process.argv[at + 1] === undefined) {
    process.stderr.write('usage: node examples/router/router.mjs --config router.json\n')
    process.exit(2)
  }
  const router = await startRouter(JSON.parse(readFileSync(process.argv[at + 1], 'utf8')))
  process.stdout.write(`router listening on ${router.url}\n`)
  const shutdown = async () => {
    await router.close()
    process.stdout.write(`${JSON.stringify(router.stats().totals)}\n`)
    process.exit(0)
  }
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
}
