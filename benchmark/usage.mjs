// recordLlmUsage with every usage part a provider bills (cache reads, 5-minute and 1-hour cache
// writes, reasoning), held to two targets: at most half the pure-JS store's time for the same
// pricing rules, and at most 1.5 times our own recordLlmCompleted on the same calls, so the richer
// call stays close to the plain one.
import { ARG_MASK, generateArgs } from './args.mjs'
import { BaselineEventStore, loadPricing } from './baseline.mjs'
import { measure, missingRow, target } from './harness.mjs'
import { OURS, PURE_JS } from './suites.mjs'

const CAPACITY = 10_000
const OURS_USAGE = `${OURS} recordLlmUsage`
const OURS_COMPLETED = `${OURS} recordLlmCompleted`
const OURS_TIMED = `${OURS} recordLlmUsage, timed`
const PURE_JS_USAGE = `${PURE_JS} recordLlmUsage`

// Default-table models with cache prices: tiered prices above 200k input tokens and 1-hour writes
// (claude-sonnet-4-5), tiers without a cache-write price (gemini-2.5-pro), cache reads only
// (gpt-4o, o3), and a reasoning price (sonar-deep-research).
const USAGE_MODELS = ['claude-sonnet-4-5', 'gpt-4o', 'o3', 'gemini-2.5-pro', 'sonar-deep-research']

// The shared recording arguments with the models above, and for each call a usage split the way a
// cached, reasoning call's bill is: 60% of the input read from the cache, 10% written with the
// 5-minute and 5% with the 1-hour lifetime, 30% of the output spent reasoning.
const ARGS = generateArgs({ models: USAGE_MODELS })
const USAGES = ARGS.map((a) => ({
  inputTokens: a.inputTokens,
  outputTokens: a.outputTokens,
  cacheReadTokens: Math.floor(a.inputTokens * 0.6),
  cacheWriteTokens: Math.floor(a.inputTokens * 0.1),
  cacheWrite1hTokens: Math.floor(a.inputTokens * 0.05),
  reasoningTokens: Math.floor(a.outputTokens * 0.3),
}))
const OPTIONS = ARGS.map((a) => ({ agentId: a.agentId, providerId: a.providerId }))
// The same calls with their latency, as a router records them: durations spread over the
// histograms' buckets, kept to the microsecond.
const TIMED_OPTIONS = ARGS.map((a, i) => ({
  agentId: a.agentId,
  providerId: a.providerId,
  durationMs: 40 + ((i * 7_919) % 60_000) + 0.125,
  timeToFirstTokenMs: 15 + ((i * 104_729) % 3_000),
}))

function nativePricing(native, prices) {
  return native.PricingManager.fromJson(JSON.stringify(prices))
}

function fill(store, pricing) {
  for (let i = 0; i < ARGS.length; i++) store.recordLlmUsage(pricing, ARGS[i].model, USAGES[i], OPTIONS[i])
}

const TOTALS = [
  'totalRequests',
  'totalInputTokens',
  'totalOutputTokens',
  'totalCacheReadTokens',
  'totalCacheWriteTokens',
  'totalCacheWrite1hTokens',
  'totalReasoningTokens',
  'totalCostMicros',
]

// Compares the figures both stores hold after the same calls, so a fast but wrong native result
// cannot pass unnoticed.
function agreement(native, prices) {
  const ours = new native.EventStore(CAPACITY)
  const pure = new BaselineEventStore(CAPACITY)
  fill(ours, nativePricing(native, prices))
  fill(pure, prices)
  const a = ours.stats()
  const b = pure.stats()
  const differing = TOTALS.filter((key) => a[key] !== b[key])
  for (const model of USAGE_MODELS) {
    if (a.byModel[model]?.costMicros !== b.byModel[model]?.costMicros) differing.push(`byModel[${model}]`)
  }
  const agreed = `totals (${TOTALS.join(', ')}) and per-model costs over ${ARGS.length} calls`
  return differing.length === 0 ? `ours and pure JS agree on ${agreed}` : `WARNING: ours and pure JS disagree on ${differing.join(', ')}`
}

// A contender whose buffer of CAPACITY events is drained, untimed, before each batch. `run` must be
// its own function literal (see measure()).
function drained(name, store, run) {
  return { name, batch: CAPACITY, reset: () => store.drainAll(), run }
}

export const usageSuite = {
  id: 'usage',
  title: 'recordLlmUsage, full usage (cache reads and writes, reasoning), rotating arguments',
  async run({ native, options }) {
    const prices = loadPricing()
    const pureStore = new BaselineEventStore(CAPACITY)
    let i = 0
    const contenders = [
      drained(PURE_JS_USAGE, pureStore, (n) => {
        for (let k = 0; k < n; k++, i = (i + 1) & ARG_MASK) pureStore.recordLlmUsage(prices, ARGS[i].model, USAGES[i], OPTIONS[i])
        pureStore.len()
      }),
    ]
    if (native) {
      const pricing = nativePricing(native, prices)
      const usageStore = new native.EventStore(CAPACITY)
      const completedStore = new native.EventStore(CAPACITY)
      const timedStore = new native.EventStore(CAPACITY)
      let u = 0
      let c = 0
      let t = 0
      contenders.push(
        drained(OURS_USAGE, usageStore, (n) => {
          for (let k = 0; k < n; k++, u = (u + 1) & ARG_MASK) usageStore.recordLlmUsage(pricing, ARGS[u].model, USAGES[u], OPTIONS[u])
          // Any call on the store hands staged requests over, so this times every request's whole cost.
          usageStore.len()
        }),
        drained(OURS_TIMED, timedStore, (n) => {
          for (let k = 0; k < n; k++, t = (t + 1) & ARG_MASK) timedStore.recordLlmUsage(pricing, ARGS[t].model, USAGES[t], TIMED_OPTIONS[t])
          timedStore.len()
        }),
        drained(OURS_COMPLETED, completedStore, (n) => {
          for (let k = 0; k < n; k++, c = (c + 1) & ARG_MASK) {
            const a = ARGS[c]
            completedStore.recordLlmCompleted(pricing, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
          }
          completedStore.len()
        }),
      )
    }
    const rows = measure(contenders, options, PURE_JS_USAGE)
    const usage = rows.find((r) => r.name === OURS_USAGE)
    const completed = rows.find((r) => r.name === OURS_COMPLETED)
    const timed = rows.find((r) => r.name === OURS_TIMED)
    if (!usage) rows.push(missingRow(OURS_USAGE), missingRow(OURS_TIMED), missingRow(OURS_COMPLETED))
    return {
      id: this.id,
      title: this.title,
      unit: 'ns',
      rows,
      targets: [
        target('recordLlmUsage, ours / pure JS', usage ? usage.ratio : null, 0.5, 'x'),
        target('ours, recordLlmUsage / recordLlmCompleted', usage && completed ? usage.median / completed.median : null, 1.5, 'x'),
        target('recordLlmUsage with durationMs and timeToFirstTokenMs, ours / pure JS', timed ? timed.ratio : null, 0.5, 'x'),
      ],
      notes: native ? [agreement(native, prices), 'timed: the latency histograms are ours only; the pure-JS store it is divided by records no latency'] : [],
    }
  },
}
