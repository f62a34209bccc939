// stats() of a store with 1,000,000 keys (SPEC section 14: well under a second), ours with
// `maxKeys` raised to 1,000,000 against the pure-JS store, whose names are never limited. Each
// contender and dimension runs in a fresh `node --expose-gc` child, so no other suite's heap or
// code shapes the figures: it records 1,000,000 distinct agents (or unpriced models), then times
// READS reads, the first included. One more child has a worker record the agents into a shared
// store and reads them on its main thread, whose first read fetches every name. This file is the
// suite, that child and its worker.
import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { isMainThread, Worker, workerData } from 'node:worker_threads'
import { BaselineEventStore, loadPricing } from './baseline.mjs'
import { missingRow, rowOf, target } from './harness.mjs'

const KEYS = 1_000_000
const READS = 7
const MS = 1e6
const SELF = fileURLToPath(import.meta.url)
const DIMENSIONS = [
  ['agents', 'byAgent'],
  ['models', 'byModel'],
]
const OURS = 'ours (native)'

const SHARED_NAME = 'benchmark-keys'
const loadOurs = () => createRequire(import.meta.url)('../dist/index.cjs')

function record(store, pricing, dimension) {
  for (let i = 0; i < KEYS; i++) {
    if (dimension === 'agents') store.recordLlmCompleted(pricing, 'gpt-4o', 10, 5, `agent-${i}`)
    else store.recordLlmCompleted(pricing, `model-${i}`, 10, 5)
  }
}

/**
 * Has KEYS distinct names of `dimension` recorded (`ours-worker`: by a worker, into a shared
 * store) and returns each read's milliseconds.
 */
async function readTimes(contender, dimension) {
  const prices = loadPricing()
  let store
  if (contender === 'baseline') {
    store = new BaselineEventStore(1_000)
    record(store, prices, dimension)
  } else {
    const { EventStore, PricingManager } = loadOurs()
    if (contender === 'ours') {
      store = new EventStore(1_000, { maxKeys: KEYS })
      record(store, PricingManager.fromJson(JSON.stringify(prices)), dimension)
    } else {
      store = EventStore.shared(SHARED_NAME, 1_000, { maxKeys: KEYS })
      const worker = new Worker(SELF, { workerData: { dimension } })
      const [code] = await once(worker, 'exit')
      if (code !== 0) throw new Error(`the recording worker exited with code ${code}`)
    }
  }
  const byKey = DIMENSIONS.find(([name]) => name === dimension)[1]
  const times = []
  for (let read = 0; read < READS; read++) {
    const started = performance.now()
    const stats = store.stats()
    times.push(performance.now() - started)
    // A read that lost keys must not pass for a fast one.
    const keys = Object.keys(stats[byKey]).length
    if (keys !== KEYS) throw new Error(`${contender}: ${keys} ${dimension} read back, not ${KEYS}`)
  }
  return times
}

function spread(name, times) {
  return { ...rowOf(name, times.map((ms) => ms * MS)), first: times[0] * MS }
}

export const keysSuite = {
  id: 'keys',
  title: `stats() with 1,000,000 keys: ${READS} reads, the first included (fresh child process each)`,
  async run({ native }) {
    const rows = []
    const targets = []
    const notes = []
    const measure = (name, contender, dimension) => {
      const out = execFileSync(process.execPath, ['--expose-gc', SELF, contender, dimension], { encoding: 'utf8' })
      const row = spread(`${name}: 1,000,000 ${dimension}`, JSON.parse(out))
      notes.push(`${row.name}: first read ${(row.first / MS).toFixed(0)} ms`)
      return row
    }
    for (const [dimension] of DIMENSIONS) {
      const baseline = measure('pure JS', 'baseline', dimension)
      baseline.ratio = 1
      rows.push(baseline)
      const label = `stats() with 1,000,000 ${dimension}, ours, median read`
      if (!native) {
        rows.push(missingRow(`${OURS}: 1,000,000 ${dimension}`))
        targets.push(target(label, null, 1_000 * MS, 'ns'))
        continue
      }
      const ours = measure(OURS, 'ours', dimension)
      ours.ratio = ours.median / baseline.median
      rows.push(ours)
      targets.push(target(label, ours.median, 1_000 * MS, 'ns'))
      if (dimension === 'agents') {
        const fromWorker = measure(`${OURS}, recorded by a worker`, 'ours-worker', dimension)
        fromWorker.ratio = fromWorker.median / baseline.median
        rows.push(fromWorker)
      }
    }
    return { id: this.id, title: this.title, unit: 'ns', rows, targets, notes }
  },
}

if (!isMainThread) {
  const { EventStore, PricingManager } = loadOurs()
  const store = EventStore.shared(SHARED_NAME, 1_000, { maxKeys: KEYS })
  record(store, PricingManager.fromJson(JSON.stringify(loadPricing())), workerData.dimension)
} else if (process.argv[1] === SELF) {
  const [contender, dimension] = process.argv.slice(2)
  process.stdout.write(JSON.stringify(await readTimes(contender, dimension)))
}
