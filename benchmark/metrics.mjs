// What a router reads back per request and per scrape (SPEC sections 12, 13 and 8): agentStats()
// and budgetStatus() on a store with 20 models and 64 agents, and the Prometheus exposition of
// 50 models x 3 providers x 5 token types (with both latency histograms) against prom-client's
// registry.metrics() for the same series.
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { TWENTY_MODELS, generateArgs } from './args.mjs'
import { DEFAULT_OPTIONS, measure, missingRow, target } from './harness.mjs'
import { OURS } from './suites.mjs'

const PROM = 'prom-client registry.metrics()'
const PROVIDERS = ['openai', 'anthropic', 'unknown']
const MODELS_PER_PROVIDER = 50
const TOKEN_TYPES = ['input', 'output', 'cache_read', 'cache_write', 'reasoning']
const BUCKETS = Array.from({ length: 14 }, (_, at) => (10 * 2 ** at) / 1000)
const REQUESTS_PER_MODEL = 20

/** The 150 label sets of the exposition, each with its requests' durations and usage. */
function seriesPlan() {
  return PROVIDERS.flatMap((provider, p) =>
    Array.from({ length: MODELS_PER_PROVIDER }, (_, m) => ({
      provider,
      model: `${provider}-model-${String(m).padStart(2, '0')}`,
      requests: Array.from({ length: REQUESTS_PER_MODEL }, (_, r) => ({
        durationMs: 40 + ((p * 7 + m * 13 + r * 29) % 4000),
        timeToFirstTokenMs: 5 + ((m + r * 11) % 900),
        usage: { inputTokens: 1000 + r, outputTokens: 200 + m, cacheReadTokens: 100, cacheWriteTokens: 50, reasoningTokens: 20 },
      })),
    })),
  )
}

function nativeExposition(native, plan) {
  const store = new native.EventStore(10_000)
  const pricing = new native.PricingManager()
  for (const { provider, model, requests } of plan) {
    for (const { usage, durationMs, timeToFirstTokenMs } of requests) {
      store.recordLlmUsage(pricing, model, usage, { provider, durationMs, timeToFirstTokenMs })
    }
    store.recordLlmError(model, { provider, errorCode: 'overloaded' })
  }
  return store
}

/** The same series as prom-client metrics, fed the same observations. */
function promClientExposition(plan) {
  const registry = new Registry()
  const registers = [registry]
  const labelNames = ['provider', 'model']
  const requests = new Counter({ name: 'llm_requests_total', help: 'LLM requests, by outcome.', labelNames: [...labelNames, 'outcome'], registers })
  const tokens = new Counter({ name: 'llm_tokens_total', help: 'LLM tokens, by type.', labelNames: [...labelNames, 'type'], registers })
  const cost = new Counter({ name: 'llm_cost_usd_total', help: 'LLM cost in US dollars.', labelNames, registers })
  const duration = new Histogram({ name: 'llm_request_duration_seconds', help: 'LLM request duration.', labelNames, buckets: BUCKETS, registers })
  const ttft = new Histogram({ name: 'llm_time_to_first_token_seconds', help: 'Time to first token.', labelNames, buckets: BUCKETS, registers })
  new Gauge({ name: 'llm_analytics_buffered_events', help: 'Buffered events.', registers }).set(3_150)
  new Counter({ name: 'llm_analytics_dropped_events_total', help: 'Dropped events.', registers }).inc(0)
  for (const { provider, model, requests: calls } of plan) {
    const labels = { provider, model }
    for (const { usage, durationMs, timeToFirstTokenMs } of calls) {
      requests.inc({ ...labels, outcome: 'completed' })
      const counts = [usage.inputTokens, usage.outputTokens, usage.cacheReadTokens, usage.cacheWriteTokens, usage.reasoningTokens]
      TOKEN_TYPES.forEach((type, at) => tokens.inc({ ...labels, type }, counts[at]))
      cost.inc(labels, 0.0042)
      duration.observe(labels, durationMs / 1000)
      ttft.observe(labels, timeToFirstTokenMs / 1000)
    }
    requests.inc({ ...labels, outcome: 'failed' })
  }
  return registry
}

/** ns per `await call()`, median over interleaved rounds, for contenders whose work is async. */
async function measureAsync(contenders, { rounds, warmupRounds }) {
  const samples = contenders.map(() => [])
  const perSample = 20
  for (let round = 0; round < warmupRounds + rounds; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const i = (round + k) % contenders.length
      globalThis.gc?.()
      const start = process.hrtime.bigint()
      for (let n = 0; n < perSample; n++) await contenders[i].run()
      const ns = Number(process.hrtime.bigint() - start) / perSample
      if (round >= warmupRounds) samples[i].push(ns)
    }
  }
  const rows = contenders.map((contender, i) => {
    const sorted = samples[i].sort((a, b) => a - b)
    const mid = sorted.length >> 1
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    return { name: contender.name, median, min: sorted[0], max: sorted.at(-1) }
  })
  const base = rows.find((row) => row.name === PROM)
  for (const row of rows) row.ratio = row.median / base.median
  return rows
}

export const metricsSuite = {
  id: 'metrics',
  title: 'agentStats(), budgetStatus() and the Prometheus exposition',
  async run({ native, options }) {
    const notes = []
    const targets = []
    let rows = []
    if (native) {
      const store = new native.EventStore(10_000)
      const pricing = new native.PricingManager()
      for (const a of generateArgs({ models: TWENTY_MODELS })) {
        store.recordLlmCompleted(pricing, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
      }
      const agents = Object.keys(store.stats().byAgent)
      for (const agent of agents) store.setBudget(agent, 50_000_000)
      notes.push(`agentStats and budgetStatus on a store of 20 models and ${agents.length} agents, each with a budget`)
      rows = measure(
        [
          {
            // For scale: a napi-rs method that does nothing but return a number, which costs more
            // than the two point reads below (they call an argument-free function instead).
            name: 'capacity() (a napi-rs method call)',
            run(n) {
              for (let k = 0; k < n; k++) store.capacity()
            },
          },
          {
            name: 'agentStats(id)',
            run(n) {
              for (let k = 0; k < n; k++) store.agentStats(agents[k & 63])
            },
          },
          {
            name: 'budgetStatus(id)',
            run(n) {
              for (let k = 0; k < n; k++) store.budgetStatus(agents[k & 63])
            },
          },
        ],
        options,
      )
      targets.push(target('agentStats(id)', rows[1].median, 200, 'ns'))
      targets.push(target('budgetStatus(id)', rows[2].median, 200, 'ns'))
    } else {
      rows.push(missingRow('agentStats(id)'), missingRow('budgetStatus(id)'))
      targets.push(target('agentStats(id)', null, 200, 'ns'), target('budgetStatus(id)', null, 200, 'ns'))
    }

    const plan = seriesPlan()
    const registry = promClientExposition(plan)
    const contenders = [{ name: PROM, run: () => registry.metrics() }]
    if (native) {
      const store = nativeExposition(native, plan)
      contenders.push({ name: `${OURS} store.prometheus()`, run: () => store.prometheus() })
      const ours = store.prometheus()
      const theirs = await registry.metrics()
      notes.push(
        `exposition of ${plan.length} label sets x 5 token types with both histograms: ours ${ours.length} bytes, prom-client ${theirs.length}`,
      )
    }
    const exposition = await measureAsync(contenders, { ...DEFAULT_OPTIONS, ...options })
    rows.push(...exposition)
    const ours = exposition.find((row) => row.name.startsWith(OURS))
    targets.push(target('prometheus() vs prom-client registry.metrics()', ours ? ours.ratio : null, 0.5, 'x'))
    if (!native) rows.push(missingRow(`${OURS} store.prometheus()`))
    return { id: this.id, title: this.title, unit: 'ns', rows, targets, notes }
  },
}
