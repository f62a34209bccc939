// The facade stages completed requests and hands them to the native core in batches; none of
// that may show: every request is counted and buffered in order, stamped with the time of its call.
import { Worker } from 'node:worker_threads'
import { describe, expect, it, vi } from 'vitest'
import { native } from '../lib/binding'
import { EventStore, PricingManager } from '../lib/index'

const pricing = new PricingManager()

function spinPastThisMillisecond(): void {
  const now = Date.now()
  while (Date.now() <= now) {
    /* at most one millisecond */
  }
}

describe('staged recording', () => {
  it('keeps every request of a long synchronous burst, in order', () => {
    const store = new EventStore(10_000)
    const agents = ['agent-a', 'agent-b', undefined]
    for (let i = 1; i <= 5_000; i++) {
      store.recordLlmCompleted(pricing, i % 2 ? 'gpt-4o' : 'claude-3-5-sonnet-20241022', i, 1, agents[i % 3], i % 5 ? null : 'edge')
    }
    const events = store.snapshotEvents()
    expect(events.map((event) => (event.type === 'llm_request_completed' ? event.inputTokens : 0))).toEqual(
      Array.from({ length: 5_000 }, (_, i) => i + 1),
    )
    expect(events[9]).toMatchObject({ model: 'claude-3-5-sonnet-20241022', provider: 'anthropic', providerId: 'edge' })
    expect(events[9].agentId).toBe('agent-b')
    // A row the facade staged wrongly would be counted as dropped.
    expect([store.len(), store.droppedCount()]).toEqual([5_000, 0])
    const stats = store.stats()
    expect(stats.totalRequests).toBe(5_000)
    expect(stats.totalInputTokens).toBe((5_000 * 5_001) / 2)
    expect(stats.byModel['gpt-4o'].requestCount).toBe(2_500)
    expect(stats.byAgent['agent-a'].requestCount + stats.byAgent['agent-b'].requestCount).toBe(3_333)
  })

  it('counts what a full buffer drops, and stamps the time of the call again once there is room', () => {
    const store = new EventStore(2)
    for (let i = 0; i < 5; i++) store.recordLlmCompleted(pricing, 'gpt-4o', 100, 10)
    expect([store.len(), store.droppedCount(), store.stats().totalRequests]).toEqual([2, 3, 5])
    store.drainAll()
    const windows: Array<[number, number]> = []
    for (let i = 0; i < 2; i++) {
      const before = Date.now()
      store.recordLlmCompletedWithProvider(pricing, 'gpt-4o', 'openai', 100, 10)
      windows.push([before, Date.now()])
      spinPastThisMillisecond()
    }
    store.snapshotEvents().forEach((event, index) => {
      expect(event.timestampMs).toBeGreaterThanOrEqual(windows[index][0])
      expect(event.timestampMs).toBeLessThanOrEqual(windows[index][1])
    })
  })

  it('shows a record to every other handle as soon as the recording call returns', () => {
    const store = EventStore.shared('staging-spec')
    // A second native handle on the same store, as another thread would hold it.
    const view = native.NativeStore.shared('staging-spec', null)
    store.recordLlmCompleted(pricing, 'gpt-4o', 1, 1)
    expect(view.len()).toBe(1)
    expect(EventStore.removeShared('staging-spec')).toBe(true)
  })

  it('publishes the rows of a store other threads can reach with an atomic store, and only those', () => {
    const publish = vi.spyOn(Atomics, 'store')
    try {
      const shared = EventStore.shared('staging-spec-publish')
      shared.recordLlmCompleted(pricing, 'gpt-4o', 1, 1)
      expect(publish).toHaveBeenCalledTimes(1)
      // A store only this thread reaches is read by this thread alone, after its rows.
      const own = new EventStore(10)
      own.recordLlmCompleted(pricing, 'gpt-4o', 1, 1)
      expect(publish).toHaveBeenCalledTimes(1)
      expect([shared.len(), own.len()]).toEqual([1, 1])
    } finally {
      publish.mockRestore()
      EventStore.removeShared('staging-spec-publish')
    }
  })

  it('hands staged requests over when a thread exits before its turn ends', async () => {
    const name = 'staging-spec-exit'
    const store = EventStore.shared(name)
    const worker = new Worker(
      `const { EventStore, PricingManager } = require(${JSON.stringify(require.resolve('../dist/index.cjs'))})
      const store = EventStore.shared(${JSON.stringify(name)})
      for (let i = 0; i < 3; i++) store.recordLlmCompleted(new PricingManager(), 'gpt-4o', 10, 1)
      process.exit(0)`,
      { eval: true },
    )
    const exitCode = await new Promise((resolve) => worker.once('exit', resolve))
    expect(exitCode).toBe(0)
    expect(store.stats().totalRequests).toBe(3)
    expect(store.len()).toBe(3)
    expect(EventStore.removeShared(name)).toBe(true)
  })
})
