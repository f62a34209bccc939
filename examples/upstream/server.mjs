// A simulated LLM upstream for the demo and for trying a router without keys or network: it speaks
// the OpenAI chat-completions and the Anthropic messages wire formats on 127.0.0.1.
//
//   node examples/upstream/server.mjs --port 8600 --failure-rate 0.05 --latency 20 --stream-fault-rate 0.04
//
// Answers are a pure function of the request body: the same request always gets the same usage
// figures (prompt-cache reads and writes included) and the same success, error or broken stream,
// whatever the order or concurrency of arrival, so a run with a given set of requests always adds
// up to the same totals. `"stream": true` gets Server-Sent Events in the provider's own shape.
import http from 'node:http'
import { pathToFileURL } from 'node:url'
import { listen, readBody, seededRandom } from '../support.mjs'

const HOST = '127.0.0.1'
const MAX_BODY_BYTES = 10 * 1024 * 1024
// Of the failing requests, this share is rate limited (429); the rest are server errors (500).
const RATE_LIMITED_SHARE = 0.6
// Of the broken streams, this share ends with the provider's error event; the rest are cut.
const ERROR_EVENT_SHARE = 0.5
// Prompts this long or longer can hit the simulated prompt cache, as with both providers.
const MIN_CACHED_PROMPT = 1024
// A stream sends its text in deltas of this many characters (about two tokens).
const DELTA_CHARS = 8
const FILLER =
  'The router forwards each request to its provider, reads the usage block of the answer and records ' +
  'the tokens and the cost for the agent that asked. '

/**
 * Starts the upstream on 127.0.0.1.
 * @param {object} [options]
 * @param {number} [options.port] 0 (the default) picks a free port.
 * @param {number} [options.failureRate] share of requests (0..1) answered 429 or 500; default 0.
 * @param {number} [options.latencyMs] mean answer delay in ms (spread 0.5x..1.5x); default 0. A stream
 *   takes as long again to send its events.
 * @param {number} [options.streamFaultRate] share of streamed answers (0..1) broken mid-stream: half end
 *   with the provider's error event, half have their connection cut; default 0.
 * @returns {Promise<{ url: string, port: number, close(): Promise<void> }>}
 */
export async function startUpstream(options = {}) {
  const failureRate = options.failureRate ?? 0
  const latencyMs = options.latencyMs ?? 0
  const streamFaultRate = options.streamFaultRate ?? 0
  if (!(failureRate >= 0 && failureRate <= 1)) throw new RangeError(`failureRate must be within 0..1, got ${failureRate}`)
  if (!(latencyMs >= 0)) throw new RangeError(`latencyMs must be >= 0, got ${latencyMs}`)
  if (!(streamFaultRate >= 0 && streamFaultRate <= 1)) throw new RangeError(`streamFaultRate must be within 0..1, got ${streamFaultRate}`)
  const faults = { failureRate, streamFaultRate }
  const timers = new Set()
  const later = (ms, callback) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      callback()
    }, ms)
    timers.add(timer)
  }

  const server = http.createServer((req, res) => {
    const path = req.url.split('?')[0]
    const format = path === '/v1/chat/completions' ? 'openai' : path === '/v1/messages' ? 'anthropic' : undefined
    readBody(req, MAX_BODY_BYTES, (tooLarge, body) => {
      const answer = format === undefined
        ? errorAnswer('openai', 404, 'invalid_request_error', `Unknown request URL: ${req.method} ${path}`)
        : req.method !== 'POST'
          ? errorAnswer(format, 405, 'invalid_request_error', `Method ${req.method} not allowed`)
          : tooLarge
            ? errorAnswer(format, 413, 'request_too_large', `Request exceeds the maximum size of ${MAX_BODY_BYTES} bytes`)
            : respond(format, body, faults)
      const delay = latencyMs * answer.latencyFactor
      const reply = () => (answer.events ? stream(res, answer, delay, later) : send(res, answer))
      if (delay < 1) reply()
      else later(delay, reply)
    })
  })

  const port = await listen(server, options.port ?? 0, HOST)
  let closing
  return {
    url: `http://${HOST}:${port}`,
    port,
    close() {
      closing ??= new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer)
        timers.clear()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}

/** The answer to one well-addressed request: success, a simulated failure, or a 400 for a bad body. */
function respond(format, body, { failureRate, streamFaultRate }) {
  let request
  try {
    request = JSON.parse(body)
  } catch {
    return errorAnswer(format, 400, 'invalid_request_error', 'The request body is not valid JSON')
  }
  const problem = checkRequest(format, request)
  if (problem) return errorAnswer(format, 400, 'invalid_request_error', problem)

  const random = seededRandom(fnv1a(body))
  const roll = random()
  if (roll < failureRate) {
    const rateLimited = roll < failureRate * RATE_LIMITED_SHARE
    const answer = rateLimited ? rateLimitError(format, request.model) : serverError(format)
    return { ...answer, latencyFactor: 0.2 * (0.5 + random()) }
  }
  const inputTokens = countInputTokens(request)
  const maxTokens = request.max_tokens ?? request.max_completion_tokens ?? 1024
  // About one answer in ten runs into max_tokens, as real ones do.
  const outputTokens = Math.min(maxTokens, Math.max(1, Math.round(maxTokens * (0.15 + 0.95 * random()))))
  const truncated = outputTokens === maxTokens
  const id = Math.floor(random() * 2 ** 48).toString(36)
  const text = FILLER.repeat(Math.ceil((outputTokens * 4) / FILLER.length)).slice(0, outputTokens * 4)
  const call = { id, model: request.model, text, truncated, usage: simulatedUsage(format, request.model, inputTokens, outputTokens, random) }
  const latencyFactor = 0.5 + random()
  if (request.stream !== true) {
    return { status: 200, headers: {}, latencyFactor, body: format === 'openai' ? openAiCompletion(call) : anthropicMessage(call) }
  }
  const faultRoll = random()
  const fault = faultRoll >= streamFaultRate ? undefined : faultRoll < streamFaultRate * ERROR_EVENT_SHARE ? 'error' : 'cut'
  const events = format === 'openai' ? openAiChunks(call, request.stream_options?.include_usage === true) : anthropicEvents(call)
  // A broken stream stops somewhere in its text deltas, before the final usage.
  const breakAt = fault && 1 + Math.floor(random() * (events.length - 3))
  return {
    status: 200,
    headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
    latencyFactor,
    events: fault ? events.slice(0, breakAt) : events,
    fault,
    errorEvent: fault === 'error' ? streamErrorEvent(format) : undefined,
  }
}

/**
 * Usage as the provider reports it, the prompt cache included: a long prompt is read from the
 * cache about half the time (OpenAI in 128-token steps), and an Anthropic prompt that misses the
 * cache is sometimes written to it, for 5 minutes or for an hour. Reasoning models (`o*`) spend
 * part of their completion tokens thinking.
 */
function simulatedUsage(format, model, inputTokens, outputTokens, random) {
  const cacheable = inputTokens >= MIN_CACHED_PROMPT
  const hit = cacheable && random() < 0.5
  const share = 0.5 + 0.4 * random()
  const write = cacheable && !hit && random() < 0.5
  if (format === 'openai') {
    const cached = hit ? Math.floor((inputTokens * share) / 128) * 128 : 0
    return { inputTokens, outputTokens, cacheRead: cached, reasoning: /^o\d/i.test(model) ? Math.floor(outputTokens * 0.6) : 0 }
  }
  const cacheRead = hit ? Math.floor(inputTokens * share) : 0
  const cacheWrite = write ? Math.floor(inputTokens * share) : 0
  const oneHour = write && random() < 0.3
  return { inputTokens, outputTokens, cacheRead, cacheWrite5m: oneHour ? 0 : cacheWrite, cacheWrite1h: oneHour ? cacheWrite : 0 }
}

function checkRequest(format, request) {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) return 'The request body must be a JSON object'
  if (typeof request.model !== 'string' || request.model === '') return 'model: Field required'
  if (!Array.isArray(request.messages) || request.messages.length === 0) return 'messages: Field required'
  if (format === 'anthropic' && !Number.isSafeInteger(request.max_tokens)) return 'max_tokens: Field required'
  return undefined
}

/** Roughly what a tokenizer counts: ~4 characters a token, plus a few tokens of framing per message. */
function countInputTokens(request) {
  const parts = typeof request.system === 'string' ? [request.system] : []
  for (const message of request.messages) {
    parts.push(typeof message?.content === 'string' ? message.content : JSON.stringify(message?.content ?? ''))
  }
  return parts.reduce((sum, text) => sum + Math.ceil(text.length / 4) + 4, 3)
}

function openAiUsage({ inputTokens, outputTokens, cacheRead, reasoning }) {
  return {
    prompt_tokens: inputTokens,
    completion_tokens: outputTokens,
    total_tokens: inputTokens + outputTokens,
    prompt_tokens_details: { cached_tokens: cacheRead, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  }
}

function openAiCompletion({ id, model, text, truncated, usage }) {
  return {
    id: `chatcmpl-${id}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, refusal: null },
        logprobs: null,
        finish_reason: truncated ? 'length' : 'stop',
      },
    ],
    usage: openAiUsage(usage),
    system_fingerprint: 'fp_simulated',
  }
}

/** `chat.completion.chunk` events; with `include_usage`, every chunk has `"usage": null` and a last one the usage. */
function openAiChunks({ id, model, text, truncated, usage }, includeUsage) {
  const head = { id: `chatcmpl-${id}`, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model, system_fingerprint: 'fp_simulated' }
  const chunk = (choices, extra) => `data: ${JSON.stringify({ ...head, choices, ...(includeUsage ? { usage: null } : {}), ...extra })}\n\n`
  const choice = (delta, finish = null) => [{ index: 0, delta, logprobs: null, finish_reason: finish }]
  const events = [chunk(choice({ role: 'assistant', content: '', refusal: null }))]
  for (let at = 0; at < text.length; at += DELTA_CHARS) events.push(chunk(choice({ content: text.slice(at, at + DELTA_CHARS) })))
  events.push(chunk(choice({}, truncated ? 'length' : 'stop')))
  if (includeUsage) events.push(chunk([], { usage: openAiUsage(usage) }))
  events.push('data: [DONE]\n\n')
  return events
}

/** Anthropic's `input_tokens` count only the uncached part of the prompt. */
function anthropicUsage({ inputTokens, outputTokens, cacheRead, cacheWrite5m, cacheWrite1h }) {
  return {
    input_tokens: inputTokens - cacheRead - cacheWrite5m - cacheWrite1h,
    cache_creation_input_tokens: cacheWrite5m + cacheWrite1h,
    cache_read_input_tokens: cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: cacheWrite5m, ephemeral_1h_input_tokens: cacheWrite1h },
    output_tokens: outputTokens,
  }
}

function anthropicMessage({ id, model, text, truncated, usage }) {
  return {
    id: `msg_${id}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text }],
    stop_reason: truncated ? 'max_tokens' : 'end_turn',
    stop_sequence: null,
    usage: anthropicUsage(usage),
  }
}

/** The Messages stream: the input side of the usage comes first, the output total last. */
function anthropicEvents({ id, model, text, truncated, usage }) {
  const event = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
  const message = { id: `msg_${id}`, type: 'message', role: 'assistant', content: [], model, stop_reason: null, stop_sequence: null }
  const events = [
    event('message_start', { message: { ...message, usage: { ...anthropicUsage(usage), output_tokens: 1 } } }),
    event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    event('ping', {}),
  ]
  for (let at = 0; at < text.length; at += DELTA_CHARS) {
    events.push(event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: text.slice(at, at + DELTA_CHARS) } }))
  }
  events.push(event('content_block_stop', { index: 0 }))
  events.push(event('message_delta', { delta: { stop_reason: truncated ? 'max_tokens' : 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.outputTokens } }))
  events.push(event('message_stop', {}))
  return events
}

/** What each provider sends when it fails in the middle of a stream. */
function streamErrorEvent(format) {
  return format === 'openai'
    ? `data: ${JSON.stringify({ error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null } })}\n\n`
    : `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`
}

function rateLimitError(format, model) {
  const headers = { 'retry-after': '1' }
  return format === 'openai'
    ? errorAnswer(format, 429, 'requests', `Rate limit reached for ${model} in organization org-simulated on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms.`, { code: 'rate_limit_exceeded', headers })
    : errorAnswer(format, 429, 'rate_limit_error', 'This request would exceed the rate limit for your organization of 50 requests per minute. Please try again later.', { headers })
}

function serverError(format) {
  return format === 'openai'
    ? errorAnswer(format, 500, 'server_error', 'The server had an error while processing your request. Sorry about that!')
    : errorAnswer(format, 500, 'api_error', 'Internal server error')
}

/** An error in the provider's own shape: OpenAI `{error:{message,type,code}}`, Anthropic `{type:"error",error:{type,message}}`. */
function errorAnswer(format, status, type, message, { code = null, headers = {} } = {}) {
  const body = format === 'anthropic' ? { type: 'error', error: { type, message } } : { error: { message, type, param: null, code } }
  return { status, headers, body, latencyFactor: 0 }
}

function send(res, answer) {
  if (res.destroyed) return
  res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
  res.end(JSON.stringify(answer.body))
}

/**
 * Sends a stream's events a few at a time over `durationMs`, each batch in its own write, as a
 * model generates them; a broken stream ends with its error event or has its connection cut.
 */
function stream(res, answer, durationMs, later) {
  if (res.destroyed) return
  res.writeHead(answer.status, answer.headers)
  const batches = Math.min(answer.events.length, 20)
  const perBatch = Math.ceil(answer.events.length / batches)
  let next = 0
  const writeBatch = () => {
    if (res.destroyed) return
    res.write(answer.events.slice(next, next + perBatch).join(''))
    next += perBatch
    if (next < answer.events.length) return later(durationMs / batches, writeBatch)
    if (answer.fault === 'cut') return res.destroy()
    res.end(answer.errorEvent ?? '')
  }
  writeBatch()
}

function fnv1a(text) {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

function parseArgs(argv) {
  const options = { port: 0, failureRate: 0, latencyMs: 0, streamFaultRate: 0 }
  const names = { '--port': 'port', '--failure-rate': 'failureRate', '--latency': 'latencyMs', '--stream-fault-rate': 'streamFaultRate' }
  for (let i = 0; i < argv.length; i += 2) {
    const name = names[argv[i]]
    const value = Number(argv[i + 1])
    if (name === undefined || argv[i + 1] === undefined || !Number.isFinite(value)) {
      throw new Error(`bad argument ${argv[i]}; use --port N --failure-rate 0..1 --latency MS --stream-fault-rate 0..1`)
    }
    options[name] = value
  }
  return options
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const upstream = await startUpstream(parseArgs(process.argv.slice(2)))
  process.stdout.write(`${JSON.stringify({ url: upstream.url, port: upstream.port })}\n`)
  const shutdown = () => upstream.close().then(() => process.exit(0))
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
}
