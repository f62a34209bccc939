// `npm run demo`: an LLM router end to end on 127.0.0.1, no keys, no network.
//
// It starts the reference Control API (examples/control-api, SQLite in a temp folder), a simulated
// OpenAI/Anthropic upstream (examples/upstream) and the example router (examples/router), drives
// requests through the router, stops it (the sync clients flush), prints the router's figures and
// the sync clients' metrics, and reconciles the LLM events the router recorded with the rows the
// Control API stored, per agent. It exits 1 when they differ. `npm run demo -- --help` for options.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PricingManager, inferProvider, microsToUsd } from 'iron-runtime-analytics'
import { startControlApi } from './control-api/server.mjs'
import { startRouter } from './router/router.mjs'
import { startUpstream } from './upstream/server.mjs'
import { seededRandom } from './support.mjs'

const OPTIONS = [
  { flag: '--requests', key: 'requests', arg: 'N', default: 2000, min: 1, integer: true, help: 'requests to send through the router' },
  { flag: '--concurrency', key: 'concurrency', arg: 'C', default: 16, min: 1, max: 1024, integer: true, help: 'requests in flight at once' },
  { flag: '--failure-rate', key: 'failureRate', arg: 'F', default: 0.05, min: 0, max: 1, help: 'share of upstream answers that are 429 or 500 errors, 0..1' },
  { flag: '--latency', key: 'latency', arg: 'MS', default: 20, min: 0, max: 60_000, help: 'mean upstream answer time in ms' },
  { flag: '--sync-faults', key: 'syncFaults', arg: 'N', default: 12, min: 0, integer: true, help: 'Control API answers replaced, halfway through, by 503, 429 or a reset connection; the sync client retries them' },
  { flag: '--rate-limit', key: 'rateLimit', arg: 'N', default: 1000, min: 0, integer: true, help: "events per minute per IC token: the Control API's limit and the sync client's pacing (1000 is the protocol's); 0 = none" },
  { flag: '--seed', key: 'seed', arg: 'N', default: 1, min: 0, max: 2 ** 32 - 1, integer: true, help: 'seed of the request mix; the same seed gives the same figures' },
  { flag: '--keep', key: 'keep', default: false, help: "keep the temp folder with the Control API's SQLite file" },
  { flag: '--help', key: 'help', default: false, help: 'show this help' },
]

// Who sends: share of the requests, and the budget the router watches (50/80/100 % thresholds).
const AGENTS = [
  { id: 'agent-support', share: 0.35, budgetUsd: 2.2 },
  { id: 'agent-research', share: 0.25, budgetUsd: 1 },
  { id: 'agent-coder', share: 0.25, budgetUsd: 6 },
  { id: 'agent-triage', share: 0.15, budgetUsd: 1.2 },
]

// What they ask for. The last model has no price in the table: it is counted, at $0.
const MODELS = [
  { model: 'gpt-4o-mini', share: 0.25 },
  { model: 'gpt-4o', share: 0.15 },
  { model: 'o3-mini', share: 0.1 },
  { model: 'claude-3-5-haiku-20241022', share: 0.2 },
  { model: 'claude-sonnet-4-20250514', share: 0.15 },
  { model: 'llama-3.1-8b-q4-local', share: 0.15 },
]
const MAX_TOKENS = [256, 512, 1024]
const SYSTEM_PROMPT = 'You are a helpful assistant inside a customer platform. Answer briefly and cite the ticket number.'
const CORPUS = 'The customer reports that the nightly export stopped after the last release; logs attached below show a timeout while the job waits for the storage lock, then a retry that succeeds. '.repeat(100)

const USAGE = `Usage: npm run demo -- [options]
       node examples/demo.mjs [options]   (once npm run build has run)

Runs an LLM router end to end on 127.0.0.1, without keys or network: a simulated OpenAI/Anthropic
upstream, the example router (examples/router) recording every request with iron-runtime-analytics
and syncing to the reference Control API (examples/control-api, SQLite in a temp folder). Then it
prints the figures by model, provider and agent, the sync clients' metrics, and a reconciliation of
the LLM events recorded against the rows the Control API stored. Exit code 0 when they match, 1 when
they do not, 2 for bad options.

Options:
${OPTIONS.map((option) => {
  const name = option.arg ? `${option.flag} ${option.arg}` : option.flag
  const fallback = typeof option.default === 'number' ? ` (default ${option.default})` : ''
  return `  ${name.padEnd(19)} ${wrap(option.help + fallback, 78, ' '.repeat(22))}`
}).join('\n')}
`

class UsageError extends Error {}

function parseOptions(argv) {
  const options = Object.fromEntries(OPTIONS.map((option) => [option.key, option.default]))
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2)
    const option = OPTIONS.find((candidate) => candidate.flag === flag)
    if (option === undefined) throw new UsageError(`unknown option ${argv[i]}`)
    if (!option.arg) {
      if (inline !== undefined) throw new UsageError(`${flag} takes no value`)
      options[option.key] = true
      continue
    }
    const text = inline ?? argv[++i]
    const value = Number(text)
    const valid = text !== undefined && text.trim() !== '' && Number.isFinite(value) &&
      (!option.integer || Number.isSafeInteger(value)) && value >= option.min && value <= (option.max ?? Number.MAX_SAFE_INTEGER)
    if (!valid) {
      const range = option.max === undefined ? `>= ${option.min}` : `within ${option.min}..${option.max}`
      throw new UsageError(`${flag} takes ${option.integer ? 'an integer' : 'a number'} ${range}, got ${text ?? 'nothing'}`)
    }
    options[option.key] = value
  }
  return options
}

async function main(argv) {
  let options
  try {
    options = parseOptions(argv)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`demo: ${error.message}\n\n${USAGE}`)
    return 2
  }
  if (options.help) {
    process.stdout.write(USAGE)
    return 0
  }

  const began = performance.now()
  const folder = mkdtempSync(join(tmpdir(), 'iron-runtime-analytics-demo-'))
  const tokens = new Map(AGENTS.map((agent) => [agent.id, `ic_${randomBytes(12).toString('base64url')}`]))
  const closers = []
  try {
    const api = await startControlApi({
      db: join(folder, 'control-api.sqlite'),
      tokens: new Map([...tokens].map(([agent, token]) => [token, agent])),
      rateLimitPerMinute: options.rateLimit,
    })
    closers.push(() => api.close())
    const upstream = await startUpstream({ failureRate: options.failureRate, latencyMs: options.latency })
    closers.push(() => upstream.close())
    const router = await startRouter({
      port: 0,
      routes: {
        openai: { url: `${upstream.url}/v1/chat/completions`, format: 'openai', providerId: 'openai-primary' },
        anthropic: { url: `${upstream.url}/v1/messages`, format: 'anthropic', providerId: 'anthropic-primary' },
        unknown: { url: `${upstream.url}/v1/chat/completions`, format: 'openai', providerId: 'self-hosted' },
      },
      agents: Object.fromEntries(AGENTS.map((agent) => [agent.id, { icToken: tokens.get(agent.id), budgetUsd: agent.budgetUsd }])),
      sync: {
        url: api.url,
        intervalMs: 1000,
        timeoutMs: 10_000,
        maxEventsPerMinute: options.rateLimit,
        retryDelayMs: 200,
        spoolDir: folder,
      },
    })
    closers.push(() => router.close())

    const rateLimit = options.rateLimit === 0 ? 'no rate limit' : `${fmt(options.rateLimit)} events/min per IC token`
    print(`iron-runtime-analytics demo: ${fmt(options.requests)} requests, concurrency ${options.concurrency}, seed ${options.seed}`)
    print(`  Control API  ${api.url}  (SQLite in ${folder}, ${rateLimit})`)
    print(`  upstream     ${upstream.url}  (OpenAI + Anthropic formats, ${pct(options.failureRate * 100)} errors, ~${options.latency} ms)`)
    print(`  router       ${router.url}  (${AGENTS.length} agents, each with its own EventStore and SyncClient)`)
    print('')

    let interrupted = false
    process.once('SIGINT', () => {
      interrupted = true
      process.stderr.write('\ninterrupted: no new requests; stopping the router and reporting (Ctrl-C again to quit)\n')
      process.once('SIGINT', () => process.exit(130))
    })

    const progress = createProgress(options.requests, process.stderr)
    let faultsInjected = false
    const driven = await drive(router.url, options, (done, failed) => {
      progress.update(done, failed)
      if (!faultsInjected && done * 2 >= options.requests) {
        faultsInjected = true
        injectFaults(api, options.syncFaults)
      }
    }, () => interrupted)
    progress.end()

    await waitForPacedSync(router, options.rateLimit)
    const stopping = performance.now()
    await router.close()
    const stopMs = performance.now() - stopping

    const stats = router.stats()
    const buffered = router.bufferedEvents()
    const stored = api.db
      .prepare(`SELECT agent_id AS agent, event_type AS type, COUNT(*) AS events, COALESCE(SUM(input_tokens), 0) AS inputTokens,
                COALESCE(SUM(output_tokens), 0) AS outputTokens, COALESCE(SUM(cost_micros), 0) AS costMicros
                FROM analytics_events GROUP BY agent_id, event_type`)
      .all()
    const storedErrors = api.db
      .prepare(`SELECT error_code AS code, COUNT(*) AS events FROM analytics_events
                WHERE event_type = 'llm_request_failed' GROUP BY error_code ORDER BY error_code`)
      .all()
    const injected = api.faults.injected

    report({ driven, stats, buffered, stopMs, storedErrors, injected })
    const problems = reconcile(stats, stored, buffered, driven)
    const seconds = ((performance.now() - began) / 1000).toFixed(1)
    if (problems.length > 0) {
      print(`Reconciliation: FAILED: the Control API's rows do not match the LLM events the router recorded`)
      for (const problem of problems) print(`  - ${problem}`)
      print(`\nFinished in ${seconds} s.`)
      return 1
    }
    const total = stats.totals.requests
    print(`Reconciliation: OK: ${fmt(total)} LLM events recorded = ${fmt(rowsOf(stored))} rows in the Control API, ` +
      `per agent too (completed, failed, tokens and cost equal)`)
    print(`\nFinished in ${seconds} s.`)
    return 0
  } finally {
    for (const close of closers.reverse()) await close()
    if (options.keep) print(`Kept ${folder}`)
    else rmSync(folder, { recursive: true, force: true })
  }
}

/** Sends the requests through the router, `concurrency` at a time, and counts the answers. */
async function drive(routerUrl, options, onProgress, stopped) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency })
  const byStatus = new Map()
  const answersByAgent = new Map()
  const started = performance.now()
  let next = 0
  let done = 0
  let failed = 0
  const worker = async () => {
    while (next < options.requests && !stopped()) {
      const request = planRequest(options.seed, next++)
      const status = await post(agent, routerUrl, request).catch(() => 'no answer')
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1)
      if (status !== 'no answer') answersByAgent.set(request.agent, (answersByAgent.get(request.agent) ?? 0) + 1)
      if (status !== 200) failed++
      onProgress(++done, failed)
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
  agent.destroy()
  return { sent: done, failed, byStatus, answersByAgent, ms: performance.now() - started }
}

/** Request `index` of the run: the same seed and index always give the same request. */
function planRequest(seed, index) {
  const random = seededRandom((Math.imul(seed, 0x9e3779b1) + index) >>> 0)
  const agent = pick(AGENTS, random()).id
  const model = pick(MODELS, random()).model
  const promptTokens = Math.round(150 * 20 ** random())
  const maxTokens = MAX_TOKENS[Math.floor(random() * MAX_TOKENS.length)]
  const offset = Math.floor(random() * 1000)
  const content = `Ticket ${index}: ${CORPUS.slice(offset, offset + promptTokens * 4)}`
  if (model.startsWith('claude-')) {
    return {
      agent,
      path: '/v1/messages',
      body: { model, max_tokens: maxTokens, system: SYSTEM_PROMPT, messages: [{ role: 'user', content }] },
    }
  }
  // OpenAI's reasoning models take max_completion_tokens instead of max_tokens.
  const limit = /^o\d/.test(model) ? { max_completion_tokens: maxTokens } : { max_tokens: maxTokens }
  return {
    agent,
    path: '/v1/chat/completions',
    body: { model, messages: [{ role: 'system', content: SYSTEM_PROMPT }, { role: 'user', content }], ...limit },
  }
}

function post(agent, baseUrl, request) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(request.body)
    const req = http.request(`${baseUrl}${request.path}`, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-agent-id': request.agent },
    })
    req.on('response', (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Makes the Control API fail some answers, in thirds: 503, 429 with Retry-After, and resets. */
function injectFaults(api, count) {
  const third = Math.floor(count / 3)
  api.faults.failNext(count - 2 * third, 503)
  api.faults.failNext(third, 429, 1)
  api.faults.resetNext(third)
}

/**
 * With a rate limit, an agent that recorded more LLM events than the limit allows in a minute
 * has events that cannot be sent before the next window; stop() flushes only within its deadline,
 * so the demo waits for the sync to deliver them first.
 */
async function waitForPacedSync(router, rateLimit) {
  if (rateLimit === 0) return
  const busiest = Math.max(...Object.values(router.stats().byAgent).map((agent) => agent.requests))
  if (busiest <= rateLimit * 0.9) return
  const windows = Math.ceil(busiest / rateLimit)
  process.stderr.write(`the busiest agent recorded ${fmt(busiest)} LLM events against a limit of ${fmt(rateLimit)} per minute per IC token: ` +
    `waiting up to ${windows} min for the paced sync to deliver them (--rate-limit 0 lifts the limit)\n`)
  const deadline = Date.now() + windows * 62_000
  const waiting = () => Object.values(router.stats().byAgent).reduce((sum, agent) => sum + agent.awaitingSync, 0)
  while (waiting() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500))
}

function report({ driven, stats, buffered, stopMs, storedErrors, injected }) {
  const pricing = new PricingManager()
  const statuses = [...driven.byStatus].sort(([a], [b]) => String(a).localeCompare(String(b)))
  print(`Sent ${fmt(driven.sent)} requests in ${(driven.ms / 1000).toFixed(1)} s (${fmt(Math.round(driven.sent / (driven.ms / 1000)))} req/s); ` +
    `answers: ${statuses.map(([status, count]) => `${fmt(count)} x ${status}`).join(', ')}`)
  print(`Router stopped in ${fmt(Math.round(stopMs))} ms: requests drained, router_stopped recorded, every SyncClient flushed.`)
  print('')

  const totalRow = (label, figures) => [label, '', '', fmt(figures.requests), fmt(figures.inputTokens), fmt(figures.outputTokens), usd(figures.costMicros)]
  const completed = { ...stats.totals, requests: stats.totals.requests - stats.totals.failed }
  print('By model (completed requests; a failed request has no tokens and no cost)')
  table(
    ['model', 'provider', 'price in / out per 1M', 'requests', 'input tokens', 'output tokens', 'cost USD'],
    [
      ...sortByCost(stats.byModel).map(([model, figures]) => {
        const price = pricing.get(model)
        return [
          model,
          inferProvider(model),
          price ? `$${(price.inputCostPerToken * 1e6).toFixed(2)} / $${(price.outputCostPerToken * 1e6).toFixed(2)}` : 'not in the table: $0',
          fmt(figures.requests), fmt(figures.inputTokens), fmt(figures.outputTokens), usd(figures.costMicros),
        ]
      }),
      totalRow('total', completed),
    ],
  )

  print('By provider (completed requests)')
  table(
    ['provider', 'requests', 'input tokens', 'output tokens', 'cost USD'],
    [
      ...sortByCost(stats.byProvider).map(([provider, figures]) => [provider, fmt(figures.requests), fmt(figures.inputTokens), fmt(figures.outputTokens), usd(figures.costMicros)]),
      ['total', fmt(completed.requests), fmt(completed.inputTokens), fmt(completed.outputTokens), usd(completed.costMicros)],
    ],
  )

  print('By agent (all requests; budget thresholds recorded as budget_threshold_reached events)')
  table(
    ['agent', 'requests', 'failed', 'input tokens', 'output tokens', 'cost USD', 'budget USD', 'used', 'thresholds'],
    [
      ...Object.entries(stats.byAgent).map(([agent, figures]) => [
        agent, fmt(figures.requests), fmt(figures.failed), fmt(figures.inputTokens), fmt(figures.outputTokens), usd(figures.costMicros),
        usd(figures.budgetMicros, 2), pct((figures.costMicros / figures.budgetMicros) * 100),
        figures.thresholdsReached.map((threshold) => `${threshold}%`).join(' ') || '-',
      ]),
      ['total', fmt(stats.totals.requests), fmt(stats.totals.failed), fmt(stats.totals.inputTokens), fmt(stats.totals.outputTokens), usd(stats.totals.costMicros), '', '', ''],
    ],
  )

  const faults = injected.status + injected.reset
  print(`Sync (SyncClient.metrics() per agent; ${faults === 0 ? 'no Control API faults injected' : `${fmt(faults)} Control API answers were injected faults (503, 429, reset)`})`)
  const metrics = Object.entries(stats.byAgent).map(([agent, figures]) => [agent, figures.sync])
  const sum = (field) => fmt(metrics.reduce((total, [, sync]) => total + sync[field], 0))
  table(
    ['agent', 'delivered', 'duplicates', 'rejected', 'retried', 'in flight', 'last error'],
    [
      ...metrics.map(([agent, sync]) => [agent, fmt(sync.delivered), fmt(sync.duplicates), fmt(sync.rejected), fmt(sync.retried), fmt(sync.inFlight), sync.lastError ?? '-']),
      ['total', sum('delivered'), sum('duplicates'), sum('rejected'), sum('retried'), sum('inFlight'), ''],
    ],
  )

  const kinds = countBy(buffered, (event) => event.type)
  print(`Left in the agents' buffers: ${[...kinds].map(([type, count]) => `${fmt(count)} ${type}`).join(', ') || 'nothing'}` +
    ' (Protocol 012 carries LLM events only; the others stay, as in the crate)')
  print(`Control API rows of failed requests by error_code: ${storedErrors.map((row) => `${row.code ?? '(none)'}: ${fmt(row.events)}`).join(', ') || 'none'}`)
  print('')
}

/**
 * Compares, per agent, what the router recorded (its stores' totals, which count every recorded
 * event) with what the Control API stored. Returns what differs, in words.
 */
function reconcile(stats, stored, buffered, driven) {
  const problems = []
  const agents = new Set([...Object.keys(stats.byAgent), ...stored.map((row) => row.agent)])
  const rows = []
  for (const agent of agents) {
    const recorded = stats.byAgent[agent] ?? { requests: 0, failed: 0, inputTokens: 0, outputTokens: 0, costMicros: 0, dropped: 0 }
    const completedRow = stored.find((row) => row.agent === agent && row.type === 'llm_request_completed') ?? emptyRow()
    const failedRow = stored.find((row) => row.agent === agent && row.type === 'llm_request_failed') ?? emptyRow()
    const expected = {
      llm_request_completed: recorded.requests - recorded.failed,
      llm_request_failed: recorded.failed,
    }
    const got = { llm_request_completed: completedRow.events, llm_request_failed: failedRow.events }
    const issues = []
    for (const type of Object.keys(expected)) {
      const difference = expected[type] - got[type]
      if (difference > 0) issues.push(`${fmt(difference)} ${type} events missing at the Control API (recorded ${fmt(expected[type])}, stored ${fmt(got[type])})`)
      if (difference < 0) issues.push(`${fmt(-difference)} ${type} rows extra at the Control API (recorded ${fmt(expected[type])}, stored ${fmt(got[type])})`)
    }
    // Sums are worth comparing only when the same events arrived.
    if (issues.length === 0) {
      for (const field of ['inputTokens', 'outputTokens', 'costMicros']) {
        if (recorded[field] !== completedRow[field]) issues.push(`${field} differ: recorded ${fmt(recorded[field])}, stored ${fmt(completedRow[field])}`)
      }
    }
    const undelivered = buffered.filter((event) => event.agentId === agent && event.type.startsWith('llm_request_'))
    if (undelivered.length > 0) {
      const ids = undelivered.slice(0, 3).map((event) => event.eventId).join(', ')
      issues.push(`${fmt(undelivered.length)} LLM events still in the router's buffer, undelivered (${ids}${undelivered.length > 3 ? ', ...' : ''}); the router's spool keeps them for its next start`)
    }
    if (recorded.dropped > 0) issues.push(`${fmt(recorded.dropped)} events dropped by the router's full buffer`)
    const answers = driven.answersByAgent.get(agent) ?? 0
    if (answers !== recorded.requests) issues.push(`the router answered ${fmt(answers)} requests but recorded ${fmt(recorded.requests)}`)
    for (const issue of issues) problems.push(`${agent}: ${issue}`)
    rows.push([
      agent,
      fmt(answers),
      fmt(recorded.requests),
      fmt(completedRow.events + failedRow.events),
      `${fmt(completedRow.events)} / ${fmt(failedRow.events)}`,
      fmt(completedRow.inputTokens + completedRow.outputTokens),
      usd(completedRow.costMicros),
      issues.length === 0 ? 'equal' : 'DIFFERENT',
    ])
  }
  print('Reconciliation (the router\'s LLM events against the rows in the Control API\'s SQLite database)')
  table(['agent', 'answered', 'recorded', 'stored rows', 'completed / failed', 'stored tokens', 'stored cost USD', 'result'], rows)
  return problems
}

function emptyRow() {
  return { events: 0, inputTokens: 0, outputTokens: 0, costMicros: 0 }
}

function rowsOf(stored) {
  return stored.reduce((sum, row) => sum + row.events, 0)
}

/** A progress bar on a terminal; elsewhere a plain line every 10 %. */
function createProgress(total, stream) {
  const started = performance.now()
  let drawnAt = 0
  let lastTenth = 0
  const rate = (done) => fmt(Math.round(done / Math.max((performance.now() - started) / 1000, 0.001)))
  return {
    update(done, failed) {
      if (stream.isTTY) {
        const now = performance.now()
        if (done < total && now - drawnAt < 100) return
        drawnAt = now
        const filled = Math.round((done / total) * 30)
        const bar = '\u2588'.repeat(filled) + '\u2591'.repeat(30 - filled)
        stream.write(`\r\x1b[K  ${bar} ${String(Math.floor((done / total) * 100)).padStart(3)}%  ${fmt(done)}/${fmt(total)} requests  ${rate(done)} req/s  ${fmt(failed)} failed`)
        return
      }
      const tenth = Math.floor((done / total) * 10)
      if (tenth > lastTenth) {
        lastTenth = tenth
        stream.write(`progress: ${fmt(done)}/${fmt(total)} requests (${tenth * 10}%), ${fmt(failed)} failed, ${rate(done)} req/s\n`)
      }
    },
    end() {
      if (stream.isTTY) stream.write('\n')
    },
  }
}

/** Breaks `text` into lines of at most `width` characters; lines after the first start with `indent`. */
function wrap(text, width, indent) {
  const lines = ['']
  for (const word of text.split(' ')) {
    const last = lines.length - 1
    if (lines[last] !== '' && lines[last].length + 1 + word.length > width) lines.push(word)
    else lines[last] = lines[last] === '' ? word : `${lines[last]} ${word}`
  }
  return lines.join(`\n${indent}`)
}

function table(headers, rows) {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => String(row[column]).length)))
  // Figures align right; the first column and text-only columns align left.
  const numeric = headers.map((_, column) => column > 0 && rows.every((row) => row[column] === '' || row[column] === '-' || /^[$\d,.%]/.test(row[column])))
  const line = (cells) => '  ' + cells.map((cell, column) => (numeric[column] ? String(cell).padStart(widths[column]) : String(cell).padEnd(widths[column]))).join('  ').trimEnd()
  print(line(headers))
  print(line(widths.map((width) => '-'.repeat(width))))
  for (const row of rows) print(line(row))
  print('')
}

function sortByCost(figures) {
  return Object.entries(figures).sort(([a, x], [b, y]) => y.costMicros - x.costMicros || a.localeCompare(b))
}

function countBy(items, keyOf) {
  const counts = new Map()
  for (const item of items) counts.set(keyOf(item), (counts.get(keyOf(item)) ?? 0) + 1)
  return counts
}

function pick(items, roll) {
  let sum = 0
  for (const item of items) {
    sum += item.share
    if (roll < sum) return item
  }
  return items[items.length - 1]
}

function fmt(n) {
  return n.toLocaleString('en-US')
}

function usd(micros, digits = 6) {
  return `$${microsToUsd(micros).toFixed(digits)}`
}

function pct(value) {
  return `${value.toFixed(1)}%`
}

function print(line) {
  process.stdout.write(`${line}\n`)
}

process.exitCode = await main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`demo failed: ${error?.stack ?? error}\n`)
  return 1
})
