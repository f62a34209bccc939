// How soon a streaming consumer sees an event: from `recordLlmCompleted` to the body of a
// `for await` loop over the receiver, one event at a time on an otherwise idle event loop. The
// request is staged, handed over at the end of the turn, and the store then resumes the waiting
// loop. No target; the pure-JS store has no stream to compare with.
import { ARG_MASK, ARGS } from './args.mjs'
import { loadPricing } from './baseline.mjs'
import { missingRow } from './harness.mjs'
import { OURS } from './suites.mjs'

const EVENTS_PER_ROUND = 2_000

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

/** One round: ns from each record to the loop body that receives it, sorted. */
async function round(store, pricing, arrival, offset) {
  const latencies = []
  for (let i = 0; i < EVENTS_PER_ROUND; i++) {
    const a = ARGS[(offset + i) & ARG_MASK]
    const arrived = arrival.next()
    const start = process.hrtime.bigint()
    store.recordLlmCompleted(pricing, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
    latencies.push(Number((await arrived) - start))
  }
  store.drainAll()
  return latencies.sort((x, y) => x - y)
}

/** A consumer loop over `receiver` that tells, for each event, when its body ran. */
function consume(receiver) {
  let resolveNext = () => {}
  const done = (async () => {
    for await (const _ of receiver) resolveNext(process.hrtime.bigint())
  })()
  return {
    next: () => new Promise((resolve) => (resolveNext = resolve)),
    done,
  }
}

export const streamSuite = {
  id: 'stream',
  title: 'recordLlmCompleted to the body of a for await loop over the receiver, one event at a time',
  async run({ native, options }) {
    if (!native) return { id: this.id, title: this.title, unit: 'ns', rows: [missingRow(OURS)], targets: [], notes: [] }
    const pricing = native.PricingManager.fromJson(JSON.stringify(loadPricing()))
    const [store, receiver] = native.EventStore.withStreaming(EVENTS_PER_ROUND, 16)
    const arrival = consume(receiver)
    const medians = []
    const p99s = []
    for (let r = 0; r < options.warmupRounds + options.rounds; r++) {
      globalThis.gc?.()
      const latencies = await round(store, pricing, arrival, r * 977)
      if (r >= options.warmupRounds) {
        medians.push(percentile(latencies, 0.5))
        p99s.push(percentile(latencies, 0.99))
      }
    }
    receiver.close()
    await arrival.done
    const row = (name, values) => {
      const sorted = [...values].sort((x, y) => x - y)
      return { name, median: percentile(sorted, 0.5), min: sorted[0], max: sorted.at(-1) }
    }
    return {
      id: this.id,
      title: this.title,
      unit: 'ns',
      rows: [row(`${OURS}: median of a round`, medians), row(`${OURS}: 99th percentile of a round`, p99s)],
      targets: [],
      notes: [`${EVENTS_PER_ROUND} events a round; the rows give the median over rounds, and the fastest and slowest round`],
    }
  },
}
