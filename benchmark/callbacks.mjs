// How a router really records: each completed request in its own I/O callback, many callbacks per
// event-loop turn. Times the whole turn, hand-over included, for our package and the pure-JS store;
// both pay the same callback scheduling, so the ratio is narrower than in the tight-loop suite.
import { ARG_MASK, ARGS } from './args.mjs'
import { BaselineEventStore, loadPricing } from './baseline.mjs'
import { missingRow } from './harness.mjs'
import { OURS, PURE_JS } from './suites.mjs'

const CALLBACKS_PER_TURN = 100
const TURNS_PER_ROUND = 100
const CAPACITY = 100_000

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** One turn: CALLBACKS_PER_TURN immediates, each recording one request, like I/O completions. */
function turn(record, from) {
  return new Promise((resolve) => {
    for (let k = 0; k < CALLBACKS_PER_TURN; k++) setImmediate(() => record(ARGS[(from + k) & ARG_MASK]))
    setImmediate(resolve)
  })
}

/** ns per request over one round of TURNS_PER_ROUND turns, ending with a read that hands all over. */
async function round(contender, offset) {
  contender.store.drainAll()
  const start = process.hrtime.bigint()
  for (let t = 0; t < TURNS_PER_ROUND; t++) await turn(contender.record, offset + t * CALLBACKS_PER_TURN)
  contender.store.len()
  return Number(process.hrtime.bigint() - start) / (CALLBACKS_PER_TURN * TURNS_PER_ROUND)
}

export const callbackSuite = {
  id: 'callbacks',
  title: `recordLlmCompleted, one request per callback, ${CALLBACKS_PER_TURN} callbacks per event-loop turn`,
  async run({ native, options }) {
    const prices = loadPricing()
    const pure = new BaselineEventStore(CAPACITY)
    const contenders = [
      {
        name: PURE_JS,
        store: pure,
        record: (a) => pure.recordLlmCompleted(prices, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId),
      },
    ]
    if (native) {
      const pricing = native.PricingManager.fromJson(JSON.stringify(prices))
      const ours = new native.EventStore(CAPACITY)
      contenders.push({
        name: OURS,
        store: ours,
        record: (a) => ours.recordLlmCompleted(pricing, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId),
      })
    }
    const samples = contenders.map(() => [])
    for (let r = 0; r < options.warmupRounds + options.rounds; r++) {
      for (let k = 0; k < contenders.length; k++) {
        const i = (r + k) % contenders.length
        globalThis.gc?.()
        const ns = await round(contenders[i], r * 977)
        if (r >= options.warmupRounds) samples[i].push(ns)
      }
    }
    const base = median(samples[0])
    const rows = contenders.map((contender, i) => ({
      name: contender.name,
      median: median(samples[i]),
      min: Math.min(...samples[i]),
      max: Math.max(...samples[i]),
      ratio: median(samples[i]) / base,
    }))
    if (!native) rows.push(missingRow(OURS))
    return { id: this.id, title: this.title, unit: 'ns', rows, targets: [], notes: [] }
  },
}
