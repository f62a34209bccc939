// A simulated LLM upstream for the demo and for trying a router without keys or network: it speaks
// the OpenAI chat-completions and the Anthropic messages wire formats on 127.0.0.1.
//
//   node examples/upstream/server.mjs --port 8600 --failure-rate 0.05 --latency 20
//
// Answers are a pure function of the request body: the same request always gets the same usage
// figures and the same success or error, whatever the order or concurrency of arrival, so a run
// with a given set of requests always adds up to the same totals.
import http from 'node:http'
import { pathToFileURL } from 'node:url'
import { listen, readBody, seededRandom } from '../support.mjs'

const HOST = '127.0.0.1'
const MAX_BODY_BYTES = 10 * 1024 * 1024
// Of the failing requests, this share is rate limited (429); the rest are server errors (500).
const RATE_LIMITED_SHARE = 0.6
const FILLER =
  'The router forwards each request to its provider, reads the usage block of the answer and records ' +
  'the tokens and the cost for the agent that asked. '

/**
 * Starts the upstream on 127.0.0.1.
 * @param {object} [options]
 * @param {number} [options.port] 0 (the default) picks a free port.
 * @param {number} [options.failureRate] share of requests (0..1) answered 429 or 500; default 0.
 * @param {number} [options.latencyMs] mean answer delay in ms (spread 0.5x..1.5x); default 0.
 * @returns {Promise<{ url: string, port: number, close(): Promise<void> }>}
 */
export async function startUpstream(options = {}) {
  const failureRate = options.failureRate ?? 0
  const latencyMs = options.latencyMs ?? 0
  if (!(failureRate >= 0 && failureRate <= 1)) throw new RangeError(`failureRate must be within 0..1, got ${failureRate}`)
  if (!(latencyMs >= 0)) throw new RangeError(`latencyMs must be >= 0, got ${latencyMs}`)
  const timers = new Set()

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
            : respond(format, body, failureRate)
      const delay = latencyMs * answer.latencyFactor
      if (delay < 1) return send(res, answer)
      const timer = setTimeout(() => {
        timers.delete(timer)
        send(res, answer)
      }, delay)
      timers.add(timer)
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
function respond(format, body, failureRate) {
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
  return {
    status: 200,
    headers: {},
    latencyFactor: 0.5 + random(),
    body: format === 'openai'
      ? openAiCompletion(id, request.model, text, inputTokens, outputTokens, truncated)
      : anthropicMessage(id, request.model, text, inputTokens, outputTokens, truncated),
  }
}

function checkRequest(format, request) {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) return 'The request body must be a JSON object'
  if (typeof request.model !== 'string' || request.model === '') return 'model: Field required'
  if (!Array.isArray(request.messages) || request.messages.length === 0) return 'messages: Field required'
  if (format === 'anthropic' && !Number.isSafeInteger(request.max_tokens)) return 'max_tokens: Field required'
  if (request.stream === true) return 'stream: this simulated upstream does not stream'
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

function openAiCompletion(id, model, text, promptTokens, completionTokens, truncated) {
  // Reasoning models spend part of their completion tokens thinking; the usage block says how many.
  const reasoningTokens = /^o\d/i.test(model) ? Math.floor(completionTokens * 0.6) : 0
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
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: reasoningTokens,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    },
    system_fingerprint: 'fp_simulated',
  }
}

function anthropicMessage(id, model, text, inputTokens, outputTokens, truncated) {
  return {
    id: `msg_${id}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text }],
    stop_reason: truncated ? 'max_tokens' : 'end_turn',
    stop_sequence: null,
    usage: {
      input_tokens: inputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: outputTokens,
    },
  }
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

function fnv1a(text) {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

function parseArgs(argv) {
  const options = { port: 0, failureRate: 0, latencyMs: 0 }
  const names = { '--port': 'port', '--failure-rate': 'failureRate', '--latency': 'latencyMs' }
  for (let i = 0; i < argv.length; i += 2) {
    const name = names[argv[i]]
    const value = Number(argv[i + 1])
    if (name === undefined || argv[i + 1] === undefined || !Number.isFinite(value)) {
      throw new Error(`bad argument ${argv[i]}; use --port N --failure-rate 0..1 --latency MS`)
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
