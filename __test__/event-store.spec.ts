// PARITY.md, group "event_store (23)": the bounded buffer, its drop counter, acknowledgement and
// streaming (SPEC sections 2, 3 and 9). "An event" is a completed event unless a row says otherwise.
import { describe, expect, it } from 'vitest'
import { type AnalyticsEvent, EventStore, PricingManager } from '../lib/index'

const pricing = new PricingManager()
const GPT4_100_50 = pricing.get('gpt-4')!.calculateCostMicros(100, 50)

/** One completed request through the high-level API: gpt-4, 100 in / 50 out. */
function recordOne(store: EventStore, agentId?: string): void {
  store.recordLlmCompleted(pricing, 'gpt-4', 100, 50, agentId)
}

function ids(events: AnalyticsEvent[]): string[] {
  return events.map((event) => event.eventId)
}

describe('event_store (23)', () => {
  it('event_store_new_creates_empty_store', () => {
    const store = new EventStore()
    expect(store.len()).toBe(0)
    expect(store.isEmpty()).toBe(true)
    expect(store.capacity()).toBe(10_000)
    expect(store.droppedCount()).toBe(0)
    expect(store.unsyncedCount()).toBe(0)
    expect(store.snapshotEvents()).toEqual([])
    const stats = store.stats()
    expect([stats.totalRequests, stats.failedRequests, stats.totalInputTokens, stats.totalOutputTokens, stats.totalCostMicros]).toEqual([
      0, 0, 0, 0, 0,
    ])
    expect(Object.keys(stats.byModel)).toEqual([])
  })

  it('event_store_with_capacity_respects_size', () => {
    const store = EventStore.withCapacity(100)
    expect(store.capacity()).toBe(100)
    expect(store.isEmpty()).toBe(true)
    expect(store.len()).toBe(0)
    for (let i = 0; i < 100; i++) recordOne(store)
    expect([store.len(), store.droppedCount()]).toEqual([100, 0])
    recordOne(store)
    expect([store.len(), store.droppedCount()]).toEqual([100, 1])
  })

  it('event_store_default_capacity_is_10000', () => {
    const store = new EventStore()
    for (let i = 0; i < 10_000; i++) recordOne(store)
    expect(store.len()).toBe(10_000)
    expect(store.droppedCount()).toBe(0)
    recordOne(store)
    expect(store.len()).toBe(10_000)
    expect(store.droppedCount()).toBe(1)
    expect(store.stats().totalRequests).toBe(10_001)
  })

  it('record_single_event_increments_count', () => {
    const store = new EventStore()
    recordOne(store)
    expect(store.len()).toBe(1)
    expect(store.isEmpty()).toBe(false)
  })

  it('record_multiple_events', () => {
    const store = new EventStore()
    for (let i = 1; i <= 7; i++) {
      recordOne(store)
      expect(store.len()).toBe(i)
    }
    expect(store.snapshotEvents()).toHaveLength(7)
  })

  it('record_llm_request_completed', () => {
    const store = new EventStore()
    store.record({
      type: 'llm_request_completed',
      model: 'gpt-4',
      provider: 'openai',
      inputTokens: 150,
      outputTokens: 50,
      costMicros: 6000,
      agentId: 'agent-1',
      providerId: 'ip-openai-1',
    })
    expect(store.len()).toBe(1)
    const [event] = store.snapshotEvents()
    expect(event).toMatchObject({
      type: 'llm_request_completed',
      model: 'gpt-4',
      provider: 'openai',
      inputTokens: 150,
      outputTokens: 50,
      costMicros: 6000,
      agentId: 'agent-1',
      providerId: 'ip-openai-1',
    })
    const stats = store.stats()
    expect([stats.totalRequests, stats.failedRequests, stats.totalInputTokens, stats.totalOutputTokens, stats.totalCostMicros]).toEqual([
      1, 0, 150, 50, 6000,
    ])
  })

  it('record_llm_request_failed', () => {
    const store = new EventStore()
    store.record({ type: 'llm_request_failed', model: 'gpt-4', provider: 'openai', errorCode: 'timeout' })
    expect(store.len()).toBe(1)
    const [event] = store.snapshotEvents()
    expect(event).toMatchObject({ type: 'llm_request_failed', model: 'gpt-4', provider: 'openai', errorCode: 'timeout' })
    const stats = store.stats()
    expect([stats.totalRequests, stats.failedRequests, stats.totalInputTokens, stats.totalOutputTokens, stats.totalCostMicros]).toEqual([
      1, 1, 0, 0, 0,
    ])
  })

  it('record_budget_threshold_reached', () => {
    const store = new EventStore()
    store.record({ type: 'budget_threshold_reached', thresholdPercent: 80, currentSpendMicros: 8_000_000, budgetMicros: 10_000_000 })
    expect(store.len()).toBe(1)
    expect(store.snapshotEvents()[0]).toMatchObject({
      type: 'budget_threshold_reached',
      thresholdPercent: 80,
      currentSpendMicros: 8_000_000,
      budgetMicros: 10_000_000,
    })
    const stats = store.stats()
    expect([stats.totalRequests, stats.failedRequests, stats.totalInputTokens, stats.totalOutputTokens, stats.totalCostMicros]).toEqual([
      0, 0, 0, 0, 0,
    ])
    expect(Object.keys(stats.byModel)).toEqual([])
  })

  it('buffer_bounded_by_capacity', () => {
    const store = new EventStore(3)
    for (let i = 1; i <= 5; i++) store.recordLlmCompleted(pricing, 'gpt-4', i, 0)
    const snapshot = store.snapshotEvents()
    expect(snapshot).toHaveLength(3)
    // A full buffer never evicts: the first three stay, the last two were dropped.
    expect(snapshot.map((event) => event.type === 'llm_request_completed' && event.inputTokens)).toEqual([1, 2, 3])
    expect(store.len()).toBe(3)
  })

  it('dropped_count_tracks_overflow', () => {
    const store = new EventStore(2)
    const seen: number[] = []
    for (let i = 0; i < 6; i++) {
      recordOne(store)
      seen.push(store.droppedCount())
    }
    expect(seen).toEqual([0, 0, 1, 2, 3, 4])
    // Every kind of event that finds the buffer full counts as dropped.
    store.recordLlmFailed('gpt-4')
    store.recordRouterStarted(8080)
    store.recordBudgetThreshold(50, 1, 2)
    store.recordRouterStopped()
    expect(store.droppedCount()).toBe(8)
  })

  it('dropped_count_starts_at_zero', () => {
    expect(new EventStore().droppedCount()).toBe(0)
    expect(new EventStore(1).droppedCount()).toBe(0)
    expect(EventStore.withCapacity(5).droppedCount()).toBe(0)
  })

  it('no_drops_when_buffer_has_space', () => {
    const store = new EventStore(10)
    for (let i = 0; i < 10; i++) recordOne(store)
    expect(store.droppedCount()).toBe(0)
    expect(store.len()).toBe(10)
  })

  it('atomic_counters_track_all_events', () => {
    const store = new EventStore(2)
    for (let i = 0; i < 5; i++) recordOne(store)
    store.recordLlmFailed('gpt-4')
    expect([store.len(), store.droppedCount()]).toEqual([2, 4])
    const stats = store.stats()
    expect(stats.totalRequests).toBe(6)
    expect(stats.failedRequests).toBe(1)
    expect(stats.totalInputTokens).toBe(500)
    expect(stats.totalOutputTokens).toBe(250)
    expect(stats.totalCostMicros).toBe(5 * GPT4_100_50)
    expect(stats.byModel['gpt-4']).toMatchObject({ requestCount: 5, inputTokens: 500, outputTokens: 250, costMicros: 5 * GPT4_100_50 })
  })

  it('record_never_blocks', { timeout: 10_000 }, () => {
    const store = new EventStore(10)
    // Synchronous calls into a full buffer: each returns at once, dropping; a block would hang here
    // until the test's timeout. (Speed is the benchmark's, never a test's.)
    for (let i = 0; i < 1_000; i++) recordOne(store)
    expect(store.len()).toBe(10)
    expect(store.droppedCount()).toBe(990)
    expect(store.stats().totalRequests).toBe(1_000)
  })

  it('new_events_are_unsynced', () => {
    const store = new EventStore()
    recordOne(store)
    store.recordLlmFailed('gpt-4')
    store.recordRouterStarted(8080)
    expect(store.unsyncedCount()).toBe(3)
    expect(ids(store.unsyncedEvents())).toEqual(ids(store.snapshotEvents()))
  })

  it('unsynced_events_returns_only_unsynced', () => {
    // Ours: acknowledged events leave the buffer (SPEC 9.1), so they are also gone from snapshots.
    const store = new EventStore()
    for (let i = 0; i < 4; i++) recordOne(store)
    const [first, second, third, fourth] = ids(store.unsyncedEvents())
    expect(store.markSynced([first, third])).toBe(2)
    expect(ids(store.unsyncedEvents())).toEqual([second, fourth])
    expect(store.unsyncedCount()).toBe(2)
    expect(ids(store.snapshotEvents())).toEqual([second, fourth])
  })

  it('mark_synced_updates_count', () => {
    const store = new EventStore()
    recordOne(store)
    recordOne(store)
    const [first, second] = ids(store.unsyncedEvents())
    store.markSynced([first])
    expect(store.unsyncedCount()).toBe(1)
    expect(ids(store.unsyncedEvents())).toEqual([second])
    // Ours (SPEC 9.1): the acknowledged event left the buffer; the crate kept it (len 2).
    expect(store.len()).toBe(1)
    // SPEC 9.5: the count drops by the events found, not by the ids given.
    expect(store.markSynced([first, first, '00000000-0000-4000-8000-000000000000'])).toBe(0)
    expect(store.unsyncedCount()).toBe(1)
    // Totals do not depend on the buffer.
    expect(store.stats().totalRequests).toBe(2)
  })

  it('mark_synced_all_events', () => {
    const store = new EventStore(3)
    for (let i = 0; i < 3; i++) recordOne(store)
    store.markSynced(ids(store.unsyncedEvents()))
    expect(store.unsyncedCount()).toBe(0)
    expect(store.unsyncedEvents()).toEqual([])
    // Ours (SPEC 9.1): the buffer is empty again and takes new events instead of dropping them.
    expect(store.isEmpty()).toBe(true)
    recordOne(store)
    expect([store.len(), store.droppedCount()]).toEqual([1, 0])
    expect(store.stats().totalRequests).toBe(4)
  })

  it('snapshot_events_returns_copy', () => {
    const store = new EventStore()
    recordOne(store, 'agent-1')
    store.recordLlmFailed('claude-3-opus-20240229')
    store.recordRouterStarted(8080)
    const first = store.snapshotEvents()
    const second = store.snapshotEvents()
    expect(first).toHaveLength(3)
    expect(second).toEqual(first)
    expect(second).not.toBe(first)
    expect(first.map((event) => event.type)).toEqual(['llm_request_completed', 'llm_request_failed', 'router_started'])
    expect(store.len()).toBe(3)
    // Changing a copy does not change the store.
    first.pop()
    ;(second[0] as { model: string }).model = 'changed'
    expect(store.snapshotEvents()).toHaveLength(3)
    expect(store.snapshotEvents()[0]).toMatchObject({ model: 'gpt-4', agentId: 'agent-1' })
  })

  it('drain_all_removes_events', () => {
    const store = new EventStore()
    recordOne(store)
    store.recordLlmFailed('gpt-4')
    store.recordRouterStarted(8080)
    const expected = store.snapshotEvents()
    const drained = store.drainAll()
    expect(drained).toEqual(expected)
    expect(store.len()).toBe(0)
    expect(store.isEmpty()).toBe(true)
    expect(store.unsyncedCount()).toBe(0)
    expect(store.drainAll()).toEqual([])
    // Draining removes events, not figures.
    expect(store.stats().totalRequests).toBe(2)
  })

  it('with_streaming_creates_channel', () => {
    const [store, receiver] = EventStore.withStreaming(100, 10)
    expect(store.capacity()).toBe(100)
    expect(receiver.tryRecv()).toBeUndefined()
    recordOne(store, 'agent-1')
    const received = receiver.tryRecv()
    expect(received).toEqual(store.snapshotEvents()[0])
    expect(received).toMatchObject({ type: 'llm_request_completed', model: 'gpt-4', inputTokens: 100, outputTokens: 50, agentId: 'agent-1' })
    expect(receiver.tryRecv()).toBeUndefined()
    // Streaming copies the event: it is still buffered.
    expect(store.len()).toBe(1)
  })

  it('streaming_sends_all_events', () => {
    const [store, receiver] = EventStore.withStreaming(100, 10)
    for (let i = 1; i <= 3; i++) store.recordLlmCompleted(pricing, 'gpt-4', i, 0)
    store.recordLlmFailed('gpt-4')
    store.recordRouterStarted(8080)
    expect(receiver.len()).toBe(5)
    const received: AnalyticsEvent[] = []
    for (let event = receiver.tryRecv(); event !== undefined; event = receiver.tryRecv()) received.push(event)
    expect(received).toEqual(store.snapshotEvents())
    expect(received.map((event) => event.type)).toEqual([
      'llm_request_completed',
      'llm_request_completed',
      'llm_request_completed',
      'llm_request_failed',
      'router_started',
    ])
    expect(receiver.droppedCount()).toBe(0)
    expect(receiver.len()).toBe(0)
  })

  it('streaming_nonblocking_when_channel_full', { timeout: 10_000 }, () => {
    const [store, receiver] = EventStore.withStreaming(1_000, 2)
    for (let i = 1; i <= 100; i++) store.recordLlmCompleted(pricing, 'gpt-4', i, 0)
    expect(store.len()).toBe(100)
    expect(store.droppedCount()).toBe(0)
    expect(store.stats().totalRequests).toBe(100)
    expect(receiver.len()).toBe(2)
    expect(receiver.droppedCount()).toBe(98)
    // The channel kept the first two, in order.
    expect([receiver.tryRecv(), receiver.tryRecv()].map((event) => event?.type === 'llm_request_completed' && event.inputTokens)).toEqual([
      1, 2,
    ])
    expect(receiver.tryRecv()).toBeUndefined()
  })
})

describe('event_store: SPEC section 2 beyond the parity rows', () => {
  it('EventReceiver offers recv() and async iteration, ending once closed', { timeout: 10_000 }, async () => {
    const [store, receiver] = EventStore.withStreaming(100, 10)
    const receiving = receiver as unknown as AsyncIterable<AnalyticsEvent> & { recv(): Promise<AnalyticsEvent | undefined> }
    expect(typeof receiving.recv).toBe('function')
    expect(typeof receiving[Symbol.asyncIterator]).toBe('function')
    recordOne(store, 'first')
    expect(await receiving.recv()).toMatchObject({ agentId: 'first' })
    // A recv() waiting on an empty channel gets the next recorded event.
    const waiting = receiving.recv()
    recordOne(store, 'second')
    expect(await waiting).toMatchObject({ agentId: 'second' })
    recordOne(store, 'third')
    const iterated: AnalyticsEvent[] = []
    for await (const event of receiving) {
      iterated.push(event)
      receiver.close()
    }
    expect(iterated.map((event) => event.agentId)).toEqual(['third'])
    // Once closed, recv() resolves to undefined, also when it was already waiting.
    expect(await receiving.recv()).toBeUndefined()
    expect(store.len()).toBe(3)
    const [, other] = EventStore.withStreaming(10, 10)
    const waitingAtClose = (other as unknown as typeof receiving).recv()
    other.close()
    expect(await waitingAtClose).toBeUndefined()
  })
})
