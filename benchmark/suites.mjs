// The core suites: each pits our package against the pure-JS store (and, where it applies,
// prom-client) on the same arguments, and holds it to its targets: recording at most half the
// pure-JS store's time, the drop path at most 60 ns, 10,000 buffered events in at most 1.5 MiB.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ARG_MASK, ARGS, TWENTY_MODELS, generateArgs } from './args.mjs'
import { BaselineEventStore, loadPricing } from './baseline.mjs'
import { measure, missingRow, target } from './harness.mjs'
import { PromRecorder } from './prom.mjs'

export const OURS = 'ours (native)'
export const PURE_JS = 'pure JS'
const PROM = 'prom-client'
const CAPACITY = 10_000

// Our package prices from the very table the pure-JS contenders read, so costs agree to the micro.
function nativePricing(native, prices) {
  return native.PricingManager.fromJson(JSON.stringify(prices))
}

function fill(store, pricing, args, count) {
  for (let i = 0; i < count; i++) {
    const a = args[i % args.length]
    store.recordLlmCompleted(pricing, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
  }
}

// Compares the figures both stores hold after the same calls, so a fast but wrong native result
// cannot pass unnoticed.
/**
 * A timed suite's result: its rows (with a stand-in for ours when it is not built) and the target
 * `targetOf` makes of our row, which is null then.
 */
function timedResult(suite, rows, targetOf, notes = []) {
  const ours = rows.find((r) => r.name === OURS) ?? null
  if (!ours) rows.push(missingRow(OURS))
  return { id: suite.id, title: suite.title, unit: 'ns', rows, targets: [targetOf(ours)], notes }
}

function agreement(native, prices) {
  const ours = new native.EventStore(CAPACITY)
  const pure = new BaselineEventStore(CAPACITY)
  fill(ours, nativePricing(native, prices), ARGS, ARGS.length)
  fill(pure, prices, ARGS, ARGS.length)
  const a = ours.stats()
  const b = pure.stats()
  const totals = ['totalRequests', 'totalInputTokens', 'totalOutputTokens', 'totalCostMicros']
  const differing = totals.filter((key) => a[key] !== b[key])
  for (const [name, group] of [['byModel', b.byModel], ['byProvider', b.byProvider], ['byAgent', b.byAgent]]) {
    for (const key of Object.keys(group)) {
      if (a[name][key]?.costMicros !== group[key].costMicros) differing.push(`${name}[${key}]`)
    }
    if (Object.keys(a[name]).length !== Object.keys(group).length) differing.push(`${name} keys`)
  }
  return differing.length === 0
    ? `ours and pure JS agree on totals and per-model/provider/agent costs over ${ARGS.length} calls`
    : `WARNING: ours and pure JS disagree on ${differing.join(', ')}`
}

export const recordSuite = {
  id: 'record',
  title: 'recordLlmCompleted, rotating arguments, buffer of 10,000 drained between batches',
  async run({ native, options }) {
    const prices = loadPricing()
    const contenders = []
    {
      const store = new BaselineEventStore(CAPACITY)
      let i = 0
      contenders.push({
        name: PURE_JS,
        batch: CAPACITY,
        reset: () => store.drainAll(),
        run(n) {
          for (let k = 0; k < n; k++) {
            const a = ARGS[i]
            i = (i + 1) & ARG_MASK
            store.recordLlmCompleted(prices, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
          }
          // Any call on the store hands staged requests over, so this times every request's
          // whole cost (for the pure-JS store it is free, and kept for symmetry).
          store.len()
        },
      })
    }
    {
      const recorder = new PromRecorder()
      let i = 0
      contenders.push({
        name: PROM,
        run(n) {
          for (let k = 0; k < n; k++) {
            const a = ARGS[i]
            i = (i + 1) & ARG_MASK
            recorder.recordLlmCompleted(prices, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
          }
        },
      })
    }
    if (native) {
      const pricing = nativePricing(native, prices)
      const store = new native.EventStore(CAPACITY)
      let i = 0
      contenders.push({
        name: OURS,
        batch: CAPACITY,
        reset: () => store.drainAll(),
        run(n) {
          for (let k = 0; k < n; k++) {
            const a = ARGS[i]
            i = (i + 1) & ARG_MASK
            store.recordLlmCompleted(pricing, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
          }
          store.len()
        },
      })
    }
    return timedResult(this, measure(contenders, options, PURE_JS), (ours) => target('recordLlmCompleted, ours / pure JS', ours && ours.ratio, 0.5, 'x'), native ? [agreement(native, prices)] : [])
  },
}

export const dropSuite = {
  id: 'drop',
  title: 'recordLlmCompleted into a full buffer (capacity 1): the drop path',
  async run({ native, options }) {
    const prices = loadPricing()
    const contenders = []
    {
      const store = new BaselineEventStore(1)
      fill(store, prices, ARGS, 1)
      let i = 0
      contenders.push({
        name: PURE_JS,
        run(n) {
          for (let k = 0; k < n; k++) {
            const a = ARGS[i]
            i = (i + 1) & ARG_MASK
            store.recordLlmCompleted(prices, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
          }
        },
      })
    }
    if (native) {
      const pricing = nativePricing(native, prices)
      const store = new native.EventStore(1)
      fill(store, pricing, ARGS, 1)
      let i = 0
      contenders.push({
        name: OURS,
        run(n) {
          for (let k = 0; k < n; k++) {
            const a = ARGS[i]
            i = (i + 1) & ARG_MASK
            store.recordLlmCompleted(pricing, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
          }
        },
      })
    }
    return timedResult(this, measure(contenders, options, PURE_JS), (ours) => target('drop path, ours', ours && ours.median, 60, 'ns'))
  },
}

export const statsSuite = {
  id: 'stats',
  title: 'stats() with 20 models and 64 agents',
  async run({ native, options }) {
    const prices = loadPricing()
    const args = generateArgs({ models: TWENTY_MODELS })
    const contenders = []
    {
      const store = new BaselineEventStore(CAPACITY)
      fill(store, prices, args, args.length)
      contenders.push({
        name: PURE_JS,
        run(n) {
          for (let k = 0; k < n; k++) store.stats()
        },
      })
    }
    if (native) {
      const store = new native.EventStore(CAPACITY)
      fill(store, nativePricing(native, prices), args, args.length)
      contenders.push({
        name: OURS,
        run(n) {
          for (let k = 0; k < n; k++) store.stats()
        },
      })
    }
    return timedResult(this, measure(contenders, options, PURE_JS), (ours) => target('stats(), ours / pure JS', ours && ours.ratio, 1.0, 'x'))
  },
}

export const snapshotSuite = {
  id: 'snapshot',
  title: 'snapshotEvents() of 10,000 buffered events',
  async run({ native, options }) {
    const prices = loadPricing()
    const contenders = []
    {
      const store = new BaselineEventStore(CAPACITY)
      fill(store, prices, ARGS, CAPACITY)
      contenders.push({
        name: PURE_JS,
        run(n) {
          for (let k = 0; k < n; k++) store.snapshotEvents()
        },
      })
    }
    if (native) {
      const store = new native.EventStore(CAPACITY)
      fill(store, nativePricing(native, prices), ARGS, CAPACITY)
      contenders.push({
        name: OURS,
        run(n) {
          for (let k = 0; k < n; k++) store.snapshotEvents()
        },
      })
    }
    const rows = measure(contenders, options, PURE_JS)
    if (!native) rows.push(missingRow(OURS))
    return { id: this.id, title: this.title, unit: 'ns', rows, targets: [], notes: [] }
  },
}

const MEMORY_CHILD = fileURLToPath(new URL('./memory-child.mjs', import.meta.url))
const MEMORY_RUNS = 5
const MIB = 2 ** 20
// The stages memory-child.mjs reports, each against a baseline taken before the store exists.
const MEMORY_STAGES = [
  ['buffered', '10,000 buffered'],
  ['snapshot', '10,000 buffered, after snapshotEvents()'],
]

function memoryRun(contender) {
  const out = execFileSync(process.execPath, ['--expose-gc', MEMORY_CHILD, contender], { encoding: 'utf8' })
  return JSON.parse(out)
}

function spread(name, values) {
  const sorted = values.map((v) => v / MIB).sort((a, b) => a - b)
  return { name, median: sorted[sorted.length >> 1], min: sorted[0], max: sorted.at(-1) }
}

export const memorySuite = {
  id: 'memory',
  title: 'resident memory of 10,000 buffered events, store included (fresh child process each run)',
  async run({ native }) {
    const names = native ? [PURE_JS, OURS] : [PURE_JS]
    const runs = new Map(names.map((name) => [name, []]))
    // Alternating runs, so a machine-wide memory trend does not favour one contender.
    for (let run = 0; run < MEMORY_RUNS; run++) {
      for (const name of names) runs.get(name).push(memoryRun(name === OURS ? 'ours' : 'baseline'))
    }
    const rows = []
    // The target is the buffered figure; the one after a snapshot is shown beside it.
    let buffered = null
    for (const [stage, label] of MEMORY_STAGES) {
      const stageRows = names.map((name) => spread(`${name}: ${label}`, runs.get(name).map((r) => r[stage].rss)))
      for (const row of stageRows) row.ratio = row.median / stageRows[0].median
      rows.push(...stageRows)
      if (stage === 'buffered') buffered = stageRows[1] ?? null
    }
    if (!native) rows.push(missingRow(OURS))
    const notes = names.map((name) => {
      const median = (stage, key) => spread('', runs.get(name).map((r) => r[stage][key])).median.toFixed(2)
      return (
        `${name}: the empty store ${median('created', 'rss')} MiB; JS heap and external memory grew by ` +
        `${median('buffered', 'heap')} MiB (buffered), ${median('snapshot', 'heap')} MiB (after the snapshot)`
      )
    })
    if (native) {
      notes.push(
        'after snapshotEvents() the figure also holds the read buffers each thread keeps for its next snapshot ' +
          '(about 1.3 MB for 10,000 events) and what the allocators keep of the freed event objects',
      )
    }
    return {
      id: this.id,
      title: this.title,
      unit: 'MiB',
      rows,
      targets: [target('10,000 buffered events, ours', buffered ? buffered.median : null, 1.5, 'MiB')],
      notes,
    }
  },
}
