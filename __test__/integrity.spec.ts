// Integrity inside the process: records visible to every thread as soon as their call returns and
// never lost to a terminated worker; figures exact or refused; every refusal a TypeError or
// RangeError; every argument read once.
import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { EventStore, PricingManager } from '../lib/index'

const pricing = new PricingManager()
const WORKER = new URL('./workers/terminated-recorder.mjs', import.meta.url)
let names = 0
const uniqueName = (label: string) => `integrity-${label}-${process.pid}-${names++}`

function startRecorder(workerData: Record<string, unknown>): { worker: Worker; returned: Int32Array } {
  const returned = new Int32Array(new SharedArrayBuffer(4))
  return { worker: new Worker(WORKER, { workerData: { ...workerData, returned } }), returned }
}

async function message(worker: Worker, accept: (message: unknown) => boolean): Promise<void> {
  for (;;) {
    const [received] = await once(worker, 'message')
    if (accept(received)) return
  }
}

describe('records survive the thread that made them', () => {
  for (const count of [100, 5_000]) {
    for (const timer of [false, true]) {
      it(`keeps all ${count} records of a worker terminated right after it said so${timer ? ', with a timer pending' : ''}`, async () => {
        const name = uniqueName(`terminated-${count}`)
        const store = EventStore.shared(name, 10_000)
        const { worker } = startRecorder({ name, count, timer })
        await message(worker, (received) => received === 'done')
        // Before terminate(): visible at once, with no flush() and no turn of the worker's loop.
        expect(store.stats().totalRequests).toBe(count)
        await worker.terminate()
        const stats = store.stats()
        expect(stats.totalRequests).toBe(count)
        expect(store.len()).toBe(count)
        expect(Object.values(stats.byAgent).reduce((sum, figures) => sum + figures.requestCount, 0)).toBe(count)
        EventStore.removeShared(name)
      })
    }
  }

  it('loses nothing when a worker is terminated at random moments mid-record', async () => {
    for (let round = 0; round < 6; round++) {
      const name = uniqueName('random')
      const store = EventStore.shared(name, 100_000)
      const { worker, returned } = startRecorder({ name, reportEvery: 250, timer: round % 2 === 1 })
      const stopAfter = 1 + Math.floor(Math.random() * 20)
      let reports = 0
      await message(worker, () => ++reports >= stopAfter)
      await worker.terminate()
      const completed = Atomics.load(returned, 0)
      const counted = store.stats().totalRequests
      // Every call that returned is counted; the one cut short may or may not have been published.
      expect(counted).toBeGreaterThanOrEqual(completed)
      expect(counted).toBeLessThanOrEqual(completed + 1)
      expect(store.len()).toBe(counted)
      EventStore.removeShared(name)
    }
  })

  it('sees all 100,000 records of 4 workers right after the last one says it is done', async () => {
    const name = uniqueName('four')
    const store = EventStore.shared(name, 10_000)
    const recorders = Array.from({ length: 4 }, () => startRecorder({ name, count: 25_000 }))
    await Promise.all(
      recorders.map(async ({ worker }) => {
        await message(worker, (received) => received === 'done')
        await worker.terminate()
      }),
    )
    const stats = store.stats()
    expect(stats.totalRequests).toBe(100_000)
    expect(stats.totalInputTokens).toBe(4 * Array.from({ length: 25_000 }, (_, i) => 10 + (i % 7)).reduce((a, b) => a + b, 0))
    expect(store.len() + store.droppedCount()).toBe(100_000)
    EventStore.removeShared(name)
  })
})

describe('figures are exact or refused', () => {
  it('refuses the record that would take a total past 2^53 - 1, and records nothing for it', () => {
    const store = new EventStore()
    store.recordLlmCompleted(pricing, 'unpriced-model', Number.MAX_SAFE_INTEGER, 0)
    for (let i = 0; i < 3; i++) {
      expect(() => store.recordLlmCompleted(pricing, 'unpriced-model', Number.MAX_SAFE_INTEGER, 0)).toThrow(RangeError)
    }
    expect(() => store.recordLlmCompleted(pricing, 'unpriced-model', 1, 0)).toThrow(/inputTokens would take the store's total input tokens past 9007199254740991/)
    const stats = store.stats()
    expect([stats.totalRequests, stats.totalInputTokens, store.len()]).toEqual([1, Number.MAX_SAFE_INTEGER, 1])
    // Other figures still have room.
    store.recordLlmCompleted(pricing, 'unpriced-model', 0, 7)
    expect(store.stats().totalOutputTokens).toBe(7)
  })

  it('refuses one record whose cost alone passes 2^53 - 1 micros', () => {
    const store = new EventStore()
    const price = pricing.get('o1-pro')
    expect(price).toBeDefined()
    const tokens = Math.ceil(Number.MAX_SAFE_INTEGER / (price!.outputCostPerToken * 1e6)) + 1_000
    expect(() => store.recordLlmCompleted(pricing, 'o1-pro', 0, tokens)).toThrow(RangeError)
    expect(() => store.record({ type: 'llm_request_completed', model: 'm', provider: 'openai', inputTokens: 1, outputTokens: 1, costMicros: 2 ** 53 })).toThrow(RangeError)
    expect([store.stats().totalRequests, store.len()]).toEqual([0, 0])
  })

  it('refuses record() events that would pass a total, naming the field', () => {
    const store = new EventStore()
    const event = { type: 'llm_request_completed', model: 'm', provider: 'openai', inputTokens: 1, outputTokens: 1, costMicros: Number.MAX_SAFE_INTEGER } as const
    store.record(event)
    expect(() => store.record(event)).toThrow(/event\.costMicros would take/)
    expect(store.stats().totalCostMicros).toBe(Number.MAX_SAFE_INTEGER)
  })
})

describe('refusals are TypeErrors or RangeErrors, and arguments are read once', () => {
  it('markSynced refuses a sparse array with a TypeError, and reads a proxy element by element once', () => {
    const store = new EventStore()
    store.record({ type: 'router_started', port: 1 })
    const [event] = store.snapshotEvents()
    // eslint-disable-next-line no-sparse-arrays
    expect(() => store.markSynced([, event.eventId] as string[])).toThrow(TypeError)
    const reads: string[] = []
    const proxy = new Proxy([event.eventId], {
      get(target, key, receiver) {
        reads.push(String(key))
        return Reflect.get(target, key, receiver)
      },
    })
    expect(store.markSynced(proxy)).toBe(1)
    expect(reads.filter((key) => key === '0')).toHaveLength(1)
    expect(store.markSynced(new Proxy([], {}))).toBe(0)
  })

  it('record() reads the type once: a getter cannot switch it after the check', () => {
    const store = new EventStore()
    const types = ['llm_request_completed', 'router_started', 'llm_request_failed']
    let reads = 0
    const event = {
      get type() {
        return types[reads++]
      },
      model: 'gpt-4o',
      provider: 'openai',
      inputTokens: 3,
      outputTokens: 4,
      costMicros: 5,
    }
    store.record(event as never)
    expect(reads).toBe(1)
    expect(store.snapshotEvents()).toMatchObject([{ type: 'llm_request_completed', inputTokens: 3, outputTokens: 4, costMicros: 5 }])
  })

  it('record() checks the fields of the type it read: completed then failed cannot slip a 0/0/0 event in', () => {
    const store = new EventStore()
    let reads = 0
    const event = {
      get type() {
        return reads++ === 0 ? 'llm_request_completed' : 'llm_request_failed'
      },
      model: 'gpt-4o',
      provider: 'openai',
    }
    expect(() => store.record(event as never)).toThrow(TypeError)
    expect(store.len()).toBe(0)
  })

  it('refuses identifiers with lone surrogates, keeping distinct names distinct', () => {
    const store = new EventStore()
    for (const model of ['model-\uD800', 'model-\uDBFF']) {
      expect(() => store.recordLlmCompleted(pricing, model, 1, 1)).toThrow(RangeError)
      expect(() => store.recordLlmFailed(model)).toThrow(RangeError)
    }
    expect(() => store.recordLlmCompleted(pricing, 'model', 1, 1, 'agent-\uDC00')).toThrow(/agentId must be well-formed Unicode/)
    store.recordLlmCompleted(pricing, 'model-\uFFFD', 1, 1)
    store.recordLlmCompleted(pricing, 'model-\u{1F600}', 1, 1)
    expect(Object.keys(store.stats().byModel).sort()).toEqual(['model-\u{1F600}', 'model-\uFFFD'].sort())
  })

  it('turns a lone surrogate in an error message into U+FFFD', () => {
    const store = new EventStore()
    store.recordLlmFailed('gpt-4o', null, null, 'bad_gateway', 'upstream said \uD800 then \uDFFF')
    expect(store.snapshotEvents()[0]).toMatchObject({ errorMessage: 'upstream said \uFFFD then \uFFFD' })
  })
})

describe('recordLlmUsage, recordLlmError and recordOutcome', () => {
  it('records the usage parts on the event and in every figure; recordLlmCompleted is its positional form', () => {
    const store = new EventStore()
    const usage = { inputTokens: 10_000, outputTokens: 500, cacheReadTokens: 8_000, cacheWriteTokens: 1_000, cacheWrite1hTokens: 500, reasoningTokens: 200 }
    store.recordLlmUsage(pricing, 'gpt-4o', usage, { agentId: 'a', providerId: 'p', durationMs: 1234.5678, timeToFirstTokenMs: 80 })
    const [event] = store.snapshotEvents()
    expect(event).toMatchObject({ ...usage, model: 'gpt-4o', provider: 'openai', agentId: 'a', providerId: 'p', durationMs: 1234.568, timeToFirstTokenMs: 80 })
    const stats = store.stats()
    for (const figures of [stats.byModel['gpt-4o'], stats.byAgent.a, stats.byProvider.openai]) {
      expect(figures).toMatchObject({ requestCount: 1, failedRequests: 0, ...usage })
    }
    expect([stats.totalCacheReadTokens, stats.totalCacheWriteTokens, stats.totalCacheWrite1hTokens, stats.totalReasoningTokens]).toEqual([8_000, 1_000, 500, 200])

    const positional = new EventStore()
    const viaUsage = new EventStore()
    positional.recordLlmCompleted(pricing, 'claude-3-5-sonnet-20241022', 1234, 567, 'agent', 'edge')
    viaUsage.recordLlmUsage(pricing, 'claude-3-5-sonnet-20241022', { inputTokens: 1234, outputTokens: 567 }, { agentId: 'agent', providerId: 'edge' })
    const strip = ({ eventId, timestampMs, ...rest }: Record<string, unknown>) => rest
    expect(strip(positional.snapshotEvents()[0] as never)).toEqual(strip(viaUsage.snapshotEvents()[0] as never))
    expect(positional.stats().byModel).toEqual(viaUsage.stats().byModel)
  })

  it('records a call whose names are cached as it records the first (the common path), every part priced', () => {
    const store = new EventStore()
    const usage = { inputTokens: 250_000, outputTokens: 2_000, cacheReadTokens: 30_000, cacheWriteTokens: 5_000, cacheWrite1hTokens: 1_000, reasoningTokens: 300 }
    const options = { agentId: 'agent', providerId: 'edge', durationMs: 950.25, timeToFirstTokenMs: 120 }
    for (let call = 0; call < 3; call++) store.recordLlmUsage(pricing, 'claude-sonnet-4-5', usage, options)
    const events = store.snapshotEvents()
    const cost = pricing.costMicros('claude-sonnet-4-5', usage)
    expect(cost).toBeGreaterThan(0)
    for (const event of events) expect(event).toMatchObject({ ...usage, ...options, costMicros: cost, provider: 'anthropic' })
    const stats = store.stats()
    expect([stats.totalRequests, stats.totalCostMicros, stats.totalCacheReadTokens, stats.totalReasoningTokens]).toEqual([3, 3 * cost, 90_000, 900])
    expect(stats.byModel['claude-sonnet-4-5'].duration?.count).toBe(3)

    // Cached names with a provider of the caller's, or a cost past 2^53 - 1: not the common path.
    store.recordLlmUsage(pricing, 'claude-sonnet-4-5', usage, { ...options, provider: 'openai' })
    expect(store.snapshotEvents()[3]).toMatchObject({ provider: 'openai', costMicros: cost })
    expect(() => store.recordLlmUsage(pricing, 'claude-sonnet-4-5', { inputTokens: 2 ** 52, outputTokens: 1 }, options)).toThrow(RangeError)
    expect(store.len()).toBe(4)
    expect(store.stats().totalCostMicros).toBe(4 * cost)
  })

  it('counts unpriced requests and names their models', () => {
    const store = new EventStore()
    store.recordLlmUsage(pricing, 'my-local-llama', { inputTokens: 5, outputTokens: 5 })
    store.recordLlmCompleted(pricing, 'another-local-model', 1, 1)
    store.recordLlmCompleted(pricing, 'my-local-llama', 1, 1)
    store.recordLlmCompleted(pricing, 'gpt-4o', 1, 1)
    const stats = store.stats()
    expect(stats.unpricedRequests).toBe(3)
    expect(stats.unpricedModels).toEqual(['another-local-model', 'my-local-llama'])
  })

  it('refuses bad usage and options, naming the field, and records nothing', () => {
    const store = new EventStore()
    expect(() => store.recordLlmUsage(pricing, 'gpt-4o', { inputTokens: 10, outputTokens: 1, cacheReadTokens: -1 })).toThrow(/usage\.cacheReadTokens must be a non-negative safe integer, got -1/)
    expect(() => store.recordLlmUsage(pricing, 'gpt-4o', { inputTokens: 10, outputTokens: 1, cacheReadTokens: 8, cacheWriteTokens: 3 })).toThrow(RangeError)
    expect(() => store.recordLlmUsage(pricing, 'gpt-4o', { inputTokens: 10, outputTokens: 1, reasoningTokens: 2 })).toThrow(/reasoningTokens/)
    expect(() => store.recordLlmUsage(pricing, 'gpt-4o', null as never)).toThrow(TypeError)
    expect(() => store.recordLlmUsage(pricing, 'gpt-4o', { inputTokens: 1, outputTokens: 1 }, { durationMs: -1 })).toThrow(/options\.durationMs/)
    expect(() => store.recordLlmUsage(pricing, 'gpt-4o', { inputTokens: 1, outputTokens: 1 }, { provider: 'google' as never })).toThrow(RangeError)
    expect(() => store.recordLlmUsage(pricing, 'gpt-4o', { inputTokens: 1, outputTokens: 1 }, { agentId: '' })).toThrow(/options\.agentId/)
    expect(() => store.recordLlmError('gpt-4o', { errorCode: 5 as never })).toThrow(/options\.errorCode/)
    expect([store.len(), store.stats().totalRequests]).toEqual([0, 0])
  })

  it('recordLlmError counts a failure per key; options.provider overrides inference', () => {
    const store = new EventStore()
    store.recordLlmError('my-proxy-model', { agentId: 'a', provider: 'anthropic', errorCode: 'overloaded_error', errorMessage: 'try later' })
    expect(store.snapshotEvents()[0]).toMatchObject({ type: 'llm_request_failed', provider: 'anthropic', errorCode: 'overloaded_error', errorMessage: 'try later', agentId: 'a' })
    const stats = store.stats()
    expect([stats.totalRequests, stats.failedRequests]).toEqual([1, 1])
    expect(stats.byModel['my-proxy-model']).toMatchObject({ requestCount: 0, failedRequests: 1 })
    expect(stats.byProvider.anthropic).toMatchObject({ failedRequests: 1 })
  })

  it('recordOutcome records a complete outcome as usage and any other as an error', () => {
    const store = new EventStore()
    store.recordOutcome(pricing, { model: 'gpt-4o-2024-08-06', usage: { inputTokens: 100, outputTokens: 10, cacheReadTokens: 50 }, complete: true }, { model: 'gpt-4o', agentId: 'a' })
    store.recordOutcome(pricing, { complete: false, error: { errorCode: 'overloaded_error', errorMessage: 'busy' } }, { model: 'claude-sonnet-4-5' })
    store.recordOutcome(pricing, { model: 'gpt-4o', usage: { inputTokens: 1, outputTokens: 1 }, complete: false })
    expect(() => store.recordOutcome(pricing, { complete: true })).toThrow(TypeError)
    const events = store.snapshotEvents()
    expect(events).toMatchObject([
      { type: 'llm_request_completed', model: 'gpt-4o-2024-08-06', cacheReadTokens: 50, agentId: 'a' },
      { type: 'llm_request_failed', model: 'claude-sonnet-4-5', provider: 'anthropic', errorCode: 'overloaded_error', errorMessage: 'busy' },
      { type: 'llm_request_failed', model: 'gpt-4o', errorCode: 'stream_incomplete' },
    ])
  })
})

describe('sequence numbers', () => {
  it('eventsAfter reads each event once, in order; acknowledge removes by number', () => {
    const store = new EventStore(100)
    for (let i = 0; i < 10; i++) store.recordLlmCompleted(pricing, 'gpt-4o', i, 1)
    const first = store.eventsAfter(0, 4)
    expect(first.map(({ event }) => (event.type === 'llm_request_completed' ? event.inputTokens : -1))).toEqual([0, 1, 2, 3])
    expect(first.map(({ seq }) => seq)).toEqual([1, 2, 3, 4])
    const rest = store.eventsAfter(first[3].seq, 100)
    expect(rest).toHaveLength(6)
    expect(store.acknowledge([rest[0].seq, first[1].seq, 999])).toBe(2)
    expect(store.len()).toBe(8)
    expect(store.eventsAfter(0, 100).map(({ seq }) => seq)).toEqual([1, 3, 4, 6, 7, 8, 9, 10])
    store.recordLlmCompleted(pricing, 'gpt-4o', 10, 1)
    expect(store.eventsAfter(10, 100).map(({ seq }) => seq)).toEqual([11])
    expect(() => store.eventsAfter(-1, 1)).toThrow(RangeError)
    expect(() => store.acknowledge([1.5])).toThrow(RangeError)
  })
})
