// SPEC section 12: per-agent budgets in the native store, their threshold events, the O(1)
// per-agent reads, and the same budgets in every thread of a shared store.
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { type AnalyticsEvent, EventStore, PricingManager } from '../lib/index'

const pricing = PricingManager.fromJson(
  JSON.stringify({ 'test-model': { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 } }),
)
const WORKERS = new URL('./workers/', import.meta.url)

/** One request of `test-model` costing `micros` (1 micro per input token). */
function spend(store: EventStore, agentId: string, micros: number): void {
  store.recordLlmUsage(pricing, 'test-model', { inputTokens: micros, outputTokens: 0 }, { agentId })
}

function crossings(store: EventStore): Extract<AnalyticsEvent, { type: 'budget_threshold_reached' }>[] {
  return store.snapshotEvents().filter((event) => event.type === 'budget_threshold_reached')
}

async function run<T>(script: string, workerData: object): Promise<T> {
  const worker = new Worker(new URL(script, WORKERS), { workerData })
  // Both listened for at once: a worker that exits right after posting can have its message
  // delivered and 'exit' emitted in the same turn, before an 'exit' listener added after the
  // message would exist (Node 22 did, about once in a hundred runs, and the test waited forever).
  const [[message]] = (await Promise.all([once(worker, 'message'), once(worker, 'exit')])) as [[T], unknown[]]
  return message
}

describe('budgets', () => {
  it('records each default threshold once, when a record takes the spend to or past it', () => {
    const store = new EventStore(100)
    store.setBudget('agent-a', 1_000)
    spend(store, 'agent-a', 499)
    expect(crossings(store)).toEqual([])
    spend(store, 'agent-a', 1)
    expect(crossings(store).map((event) => [event.thresholdPercent, event.currentSpendMicros, event.budgetMicros])).toEqual([
      [50, 500, 1_000],
    ])
    spend(store, 'agent-a', 250)
    expect(crossings(store)).toHaveLength(1)
    spend(store, 'agent-a', 100)
    spend(store, 'agent-a', 5_000)
    spend(store, 'agent-b', 5_000)
    // Records are counted in batches, at the latest by the next read: a threshold's event carries
    // the spend of the batch that reached it.
    const events = crossings(store)
    expect(events.map((event) => [event.thresholdPercent, event.currentSpendMicros])).toEqual([
      [50, 500],
      [80, 5_850],
      [100, 5_850],
    ])
    expect(events.every((event) => event.agentId === 'agent-a')).toBe(true)
    spend(store, 'agent-a', 1)
    expect(crossings(store)).toHaveLength(3)
  })

  it('records what the spend already crossed when the budget is set, and again after each setBudget', () => {
    const store = new EventStore(100)
    spend(store, 'agent-a', 850)
    store.setBudget('agent-a', 1_000, [80, 25, 90, 25])
    expect(crossings(store).map((event) => event.thresholdPercent)).toEqual([25, 80])
    expect(store.budgetStatus('agent-a')?.crossed).toEqual([25, 80])
    spend(store, 'agent-a', 10)
    expect(crossings(store)).toHaveLength(2)
    store.setBudget('agent-a', 1_000, [80, 25, 90])
    expect(crossings(store).map((event) => event.thresholdPercent)).toEqual([25, 80, 25, 80])
    spend(store, 'agent-a', 40)
    expect(crossings(store).map((event) => event.thresholdPercent)).toEqual([25, 80, 25, 80, 90])
  })

  it('reports the status with the remaining amount never below 0', () => {
    const store = new EventStore(100)
    expect(store.budgetStatus('agent-a')).toBeUndefined()
    store.setBudget('agent-a', 2_000)
    expect(store.budgetStatus('agent-a')).toEqual({ limitMicros: 2_000, spentMicros: 0, remainingMicros: 2_000, usedPercent: 0, crossed: [] })
    spend(store, 'agent-a', 1_700)
    expect(store.budgetStatus('agent-a')).toEqual({ limitMicros: 2_000, spentMicros: 1_700, remainingMicros: 300, usedPercent: 85, crossed: [50, 80] })
    spend(store, 'agent-a', 1_300)
    expect(store.budgetStatus('agent-a')).toEqual({ limitMicros: 2_000, spentMicros: 3_000, remainingMicros: 0, usedPercent: 150, crossed: [50, 80, 100] })
  })

  it('stops reporting once the budget is removed', () => {
    const store = new EventStore(100)
    store.setBudget('agent-a', 100)
    expect(store.removeBudget('agent-a')).toBe(true)
    expect(store.removeBudget('agent-a')).toBe(false)
    spend(store, 'agent-a', 500)
    expect(crossings(store)).toEqual([])
    expect(store.budgetStatus('agent-a')).toBeUndefined()
  })

  it('reads one agent without a snapshot: agentStats equals its stats() row', () => {
    const store = new EventStore(100)
    expect(store.agentStats('agent-a')).toBeUndefined()
    spend(store, 'agent-a', 300)
    store.recordLlmUsage(pricing, 'test-model', { inputTokens: 40, outputTokens: 10, cacheReadTokens: 30, reasoningTokens: 4 }, { agentId: 'agent-a' })
    store.recordLlmError('test-model', { agentId: 'agent-a', errorCode: 'overloaded' })
    const figures = store.agentStats('agent-a')
    expect(figures).toEqual(store.stats().byAgent['agent-a'])
    expect(figures).toMatchObject({ requestCount: 2, failedRequests: 1, inputTokens: 340, costMicros: 360, reasoningTokens: 4 })
  })

  it('refuses bad arguments with the argument named, and sets nothing', () => {
    const store = new EventStore(100)
    const refused: [() => void, ErrorConstructor, string][] = [
      [() => store.setBudget('', 100), RangeError, 'agentId must be 1 to 256 characters long'],
      [() => store.setBudget(7 as unknown as string, 100), TypeError, 'agentId must be a string, got 7'],
      [() => store.setBudget('agent-a', 0), RangeError, 'limitMicros must be a positive safe integer, got 0'],
      [() => store.setBudget('agent-a', -1), RangeError, 'limitMicros must be a non-negative safe integer, got -1'],
      [() => store.setBudget('agent-a', 1.5), RangeError, 'limitMicros must be a non-negative safe integer, got 1.5'],
      [() => store.setBudget('agent-a', '100' as unknown as number), TypeError, 'limitMicros must be a number'],
      [() => store.setBudget('agent-a', 100, [50, 0]), RangeError, 'thresholdsPercent[1] must be an integer from 1 to 255, got 0'],
      [() => store.setBudget('agent-a', 100, [256]), RangeError, 'thresholdsPercent[0] must be an integer from 1 to 255, got 256'],
      [() => store.setBudget('agent-a', 100, [12.5]), RangeError, 'thresholdsPercent[0] must be an integer from 1 to 255, got 12.5'],
      [() => store.setBudget('agent-a', 100, '50' as unknown as number[]), TypeError, 'thresholdsPercent must be an array of numbers'],
      [() => store.budgetStatus(null as unknown as string), TypeError, 'agentId must be a string, got null'],
      [() => store.agentStats('x'.repeat(257)), RangeError, 'agentId must be 1 to 256 characters long'],
    ]
    for (const [call, kind, message] of refused) {
      expect(call).toThrow(kind)
      expect(call).toThrow(message)
    }
    expect(store.budgetStatus('agent-a')).toBeUndefined()
  })

  it('keeps a shared store budget the same in every thread, and crosses each threshold once across workers', async () => {
    const name = `budgets-shared-${process.pid}`
    const store = EventStore.shared(name, 10_000)
    try {
      const seen = await run<unknown>('budget-setter.mjs', { name, agentId: 'fleet', limitMicros: 40_000, thresholdsPercent: [10, 50, 100] })
      expect(seen).toEqual({ limitMicros: 40_000, spentMicros: 0, remainingMicros: 40_000, usedPercent: 0, crossed: [] })
      expect(store.budgetStatus('fleet')?.limitMicros).toBe(40_000)
      // Two workers, 1,000 requests of 15 micros each (10 input, 5 output tokens of test pricing).
      const prices = JSON.stringify({ 'test-model': { input_cost_per_token: 0.000001, output_cost_per_token: 0.000001 } })
      await Promise.all(
        [0, 1].map(() => run('recorder.mjs', { name, count: 1_000, agentId: 'fleet', models: ['test-model'], pricing: prices })),
      )
      expect(store.agentStats('fleet')?.costMicros).toBe(30_000)
      expect(store.budgetStatus('fleet')).toEqual({ limitMicros: 40_000, spentMicros: 30_000, remainingMicros: 10_000, usedPercent: 75, crossed: [10, 50] })
      expect(crossings(store).map((event) => event.thresholdPercent)).toEqual([10, 50])
    } finally {
      EventStore.removeShared(name)
    }
  })
})

// agentStats and budgetStatus pass their arguments and figures through one area of memory per
// thread, which every store (and every copy of the package) in the thread reads through.
describe('point reads', () => {
  it("read a worker's records as soon as its calls return, while they are still staged in its thread", async () => {
    const name = `point-reads-staged-${process.pid}`
    const store = EventStore.shared(name, 10_000)
    store.setBudget('agent-1', 1_000_000_000, [1, 2])
    const workers: Worker[] = []
    // Records 40 requests for agent-0 to agent-3 in turn, reports 'done' and stays alive (its
    // interval), so the last of its rows wait in its own staging area for a reader to drain them.
    const recordInWorker = async (): Promise<void> => {
      const returned = new Int32Array(new SharedArrayBuffer(4))
      const worker = new Worker(new URL('terminated-recorder.mjs', WORKERS), { workerData: { name, count: 40, returned, timer: true } })
      workers.push(worker)
      const [message] = await once(worker, 'message')
      expect(message).toBe('done')
    }
    try {
      await recordInWorker()
      expect(store.agentStats('agent-0')?.requestCount).toBe(10)
      expect(store.agentStats('agent-0')).toEqual(store.stats().byAgent['agent-0'])

      await recordInWorker()
      const status = store.budgetStatus('agent-1')
      const spent = store.stats().byAgent['agent-1'].costMicros
      expect(spent).toBeGreaterThan(0)
      expect(status).toEqual({ limitMicros: 1_000_000_000, spentMicros: spent, remainingMicros: 1_000_000_000 - spent, usedPercent: (spent / 1_000_000_000) * 100, crossed: [] })
      expect(store.agentStats('agent-1')?.requestCount).toBe(20)
    } finally {
      await Promise.all(workers.map((worker) => worker.terminate()))
      EventStore.removeShared(name)
    }
  })

  it("give each store its own figures however reads of two stores interleave, and keep what they returned", () => {
    const first = new EventStore(1_000)
    const second = new EventStore(1_000)
    spend(first, 'agent-a', 300)
    spend(second, 'agent-a', 700)
    spend(second, 'agent-b', 50)
    first.setBudget('agent-a', 1_000, [50])
    // Every threshold a budget can have, all crossed: the longest status there is.
    const everyThreshold = Array.from({ length: 255 }, (_, index) => index + 1)
    second.setBudget('agent-a', 100, everyThreshold)

    const firstStats = first.agentStats('agent-a')
    const secondStats = second.agentStats('agent-a')
    expect(second.agentStats('agent-b')?.costMicros).toBe(50)
    expect(first.agentStats('agent-b')).toBeUndefined()
    expect(firstStats?.costMicros).toBe(300)
    expect(secondStats?.costMicros).toBe(700)

    const secondStatus = second.budgetStatus('agent-a')
    const firstStatus = first.budgetStatus('agent-a')
    expect(second.budgetStatus('agent-b')).toBeUndefined()
    expect(firstStatus).toEqual({ limitMicros: 1_000, spentMicros: 300, remainingMicros: 700, usedPercent: 30, crossed: [] })
    expect(secondStatus).toEqual({ limitMicros: 100, spentMicros: 700, remainingMicros: 0, usedPercent: 700, crossed: everyThreshold })
    spend(first, 'agent-a', 200)
    expect(first.budgetStatus('agent-a')).toEqual({ limitMicros: 1_000, spentMicros: 500, remainingMicros: 500, usedPercent: 50, crossed: [50] })
    expect(firstStatus?.crossed).toEqual([])
  })

  it('read through the same area from another copy of the package loaded in the same thread', () => {
    // The built package, beside the sources this file imports: two copies of the facade, each of
    // which asked the native core for this thread's area when it loaded.
    const copy = createRequire(import.meta.url)('../dist/index.cjs') as typeof import('../lib/index')
    const ours = new EventStore(100)
    const theirs = new copy.EventStore(100)
    spend(ours, 'agent-a', 120)
    theirs.recordLlmUsage(copy.PricingManager.fromJson(JSON.stringify({ m: { input_cost_per_token: 0.000001 } })), 'm', { inputTokens: 80, outputTokens: 0 }, { agentId: 'agent-a' })
    theirs.setBudget('agent-a', 160)
    expect(ours.agentStats('agent-a')?.costMicros).toBe(120)
    expect(theirs.agentStats('agent-a')?.costMicros).toBe(80)
    expect(ours.budgetStatus('agent-a')).toBeUndefined()
    expect(theirs.budgetStatus('agent-a')).toEqual({ limitMicros: 160, spentMicros: 80, remainingMicros: 80, usedPercent: 50, crossed: [50] })
    expect(ours.agentStats('agent-a')?.costMicros).toBe(120)
  })

  it('answer undefined for an agent beyond the key limit, and take no key for a refused read', () => {
    const store = new EventStore(100, { maxKeys: 1 })
    expect(() => store.agentStats(7 as unknown as string)).toThrow(new TypeError('agentId must be a string, got 7'))
    expect(() => store.budgetStatus('')).toThrow(RangeError)
    // The one key is still free.
    spend(store, 'agent-a', 10)
    spend(store, 'agent-b', 20)
    store.setBudget('agent-a', 100)
    expect(store.agentStats('agent-a')?.costMicros).toBe(10)
    expect(store.agentStats('agent-b')).toBeUndefined()
    expect(store.budgetStatus('agent-b')).toBeUndefined()
    expect(store.budgetStatus('agent-a')?.spentMicros).toBe(10)
  })
})
