// stats() of a store with 1,000,000 keys (SPEC section 14: well under a second), ours with
// `maxKeys` raised to 1,000,000 against the pure-JS store, whose names are never limited. Each
// contender and dimension runs in a fresh `node --expose-gc` child, so no other suite's heap or
// code shapes the figures: it records 1,000,000 distinct agents (or unpriced models), then times
// READS reads, the first included. This file is both the suite and that child.
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { BaselineEventStore, loadPricing } from './baseline.mjs'
import { missingRow, target } from './harness.mjs'

const KEYS = 1_000_000
const READS = 7
const MS = 1e6
const SELF = fileURLToPath(import.meta.url)
const DIMENSIONS = [
  ['agents', 'byAgent'],
  ['models', 'byModel'],
]
const CONTENDERS = [
  ['pure JS', 'baseline'],
  ['ours (native)', 'ours'],
]

/** Records KEYS distinct names of `dimension` and returns each read's milliseconds. */
function readTimes(contender, dimension) {
  const prices = loadPricing()
  let store
  let pricing
  if (contender === 'ours') {
    const { EventStore, PricingManager } = createRequire(import.meta.url)('../dist/index.cjs')
    store = new EventStore(1_000, { maxKeys: KEYS })
    pricing = PricingManager.fromJson(JSON.stringify(prices))
  } else {
    store = new BaselineEventStore(1_000)
    pricing = prices
  }
  for (let i = 0; i < KEYS; i++) {
    if (dimension === 'agents') store.recordLlmCompleted(pricing, 'gpt-4o', 10, 5, `agent-${i}`)
    else store.recordLlmCompleted(pricing, `model-${i}`, 10, 5)
  }
  const record = DIMENSIONS.find(([name]) => name === dimension)[1]
  const times = []
  for (let read = 0; read < READS; read++) {
    const started = performance.now()
    const stats = store.stats()
    times.push(performance.now() - started)
    // A read that lost keys must not pass for a fast one.
    const keys = Object.keys(stats[record]).length
    if (keys !== KEYS) throw new Error(`${contender}: ${keys} ${dimension} read back, not ${KEYS}`)
  }
  return times
}

function spread(name, times) {
  const sorted = times.map((ms) => ms * MS).sort((a, b) => a - b)
  return { name, median: sorted[sorted.length >> 1], min: sorted[0], max: sorted.at(-1), first: times[0] * MS }
}

export const keysSuite = {
  id: 'keys',
  title: `stats() with 1,000,000 keys: ${READS} reads, the first included (fresh child process each)`,
  async run({ native }) {
    const rows = []
    const targets = []
    const notes = []
    for (const [dimension] of DIMENSIONS) {
      let baseline = null
      for (const [name, contender] of CONTENDERS) {
        if (contender === 'ours' && !native) {
          rows.push(missingRow(`${name}: ${dimension}`))
          targets.push(target(`stats() with 1,000,000 ${dimension}, ours, median read`, null, 1_000 * MS, 'ns'))
          continue
        }
        const out = execFileSync(process.execPath, ['--expose-gc', SELF, contender, dimension], { encoding: 'utf8' })
        const row = spread(`${name}: 1,000,000 ${dimension}`, JSON.parse(out))
        baseline ??= row
        row.ratio = row.median / baseline.median
        rows.push(row)
        notes.push(`${row.name}: first read ${(row.first / MS).toFixed(0)} ms`)
        if (contender === 'ours') targets.push(target(`stats() with 1,000,000 ${dimension}, ours, median read`, row.median, 1_000 * MS, 'ns'))
      }
    }
    return { id: this.id, title: this.title, unit: 'ns', rows, targets, notes }
  },
}

if (process.argv[1] === SELF) {
  const [contender, dimension] = process.argv.slice(2)
  process.stdout.write(JSON.stringify(readTimes(contender, dimension)))
}
