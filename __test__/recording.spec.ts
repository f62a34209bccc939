// PARITY.md, group "recording (20)": the high-level record* API with the embedded pricing table
// (SPEC sections 2, 3 and 4).
import { describe, expect, it } from 'vitest'
import { type AnalyticsEvent, EventStore, PricingManager } from '../lib/index'

const pricing = new PricingManager()
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** SPEC 4, written independently: micros per million tokens rounded, each side floored. */
function specCost(model: string, inputTokens: number, outputTokens: number): number {
  const price = pricing.get(model)
  if (!price) return 0
  const perMillion = (usd: number) => BigInt(Math.round(usd * 1e12))
  return Number(
    (BigInt(inputTokens) * perMillion(price.inputCostPerToken)) / 1_000_000n +
      (BigInt(outputTokens) * perMillion(price.outputCostPerToken)) / 1_000_000n,
  )
}

function only(store: EventStore): AnalyticsEvent {
  const events = store.snapshotEvents()
  expect(events).toHaveLength(1)
  return events[0]
}

describe('recording (20)', () => {
  it('record_llm_completed_basic', () => {
    const store = new EventStore()
    store.recordLlmCompleted(pricing, 'gpt-4', 100, 50)
    const stats = store.stats()
    expect(stats.totalRequests).toBe(1)
    expect(stats.failedRequests).toBe(0)
    expect(stats.totalInputTokens).toBe(100)
    expect(stats.totalOutputTokens).toBe(50)
    expect(stats.totalCostMicros).toBeGreaterThan(0)
    expect(stats.totalCostMicros).toBe(specCost('gpt-4', 100, 50))
    expect(stats.totalCostMicros).toBe(pricing.get('gpt-4')!.calculateCostMicros(100, 50))
    expect(only(store)).toMatchObject({
      type: 'llm_request_completed',
      model: 'gpt-4',
      provider: 'openai',
      inputTokens: 100,
      outputTokens: 50,
      costMicros: stats.totalCostMicros,
    })
  })

  it('record_llm_completed_with_agent_id', () => {
    const store = new EventStore()
    store.recordLlmCompleted(pricing, 'gpt-4', 100, 50, 'agent_abc123')
    const event = only(store)
    expect(event.agentId).toBe('agent_abc123')
    expect(event).not.toHaveProperty('providerId')
    expect(Object.keys(store.stats().byAgent)).toEqual(['agent_abc123'])
    expect(store.stats().byAgent.agent_abc123.requestCount).toBe(1)
  })

  it('record_llm_completed_with_provider_id', () => {
    const store = new EventStore()
    store.recordLlmCompleted(pricing, 'gpt-4', 100, 50, null, 'ip_openai-001')
    const event = only(store)
    expect(event.type === 'llm_request_completed' && event.providerId).toBe('ip_openai-001')
    expect(event).not.toHaveProperty('agentId')
    expect(Object.keys(store.stats().byAgent)).toEqual([])
  })

  it('record_llm_completed_infers_openai_provider', () => {
    const store = new EventStore()
    store.recordLlmCompleted(pricing, 'gpt-4o', 100, 50)
    store.recordLlmCompleted(pricing, 'o1-mini', 100, 50)
    store.recordLlmCompleted(pricing, 'GPT-4', 100, 50)
    expect(store.snapshotEvents().map((event) => event.type === 'llm_request_completed' && event.provider)).toEqual([
      'openai',
      'openai',
      'openai',
    ])
    const { byProvider } = store.stats()
    expect(Object.keys(byProvider)).toEqual(['openai'])
    expect(byProvider.openai.requestCount).toBe(3)
  })

  it('record_llm_completed_infers_anthropic_provider', () => {
    const store = new EventStore()
    store.recordLlmCompleted(pricing, 'claude-3-5-sonnet-20241022', 100, 50)
    expect(only(store)).toMatchObject({ provider: 'anthropic', model: 'claude-3-5-sonnet-20241022' })
    const { byProvider, totalCostMicros } = store.stats()
    expect(Object.keys(byProvider)).toEqual(['anthropic'])
    expect(totalCostMicros).toBe(specCost('claude-3-5-sonnet-20241022', 100, 50))
    expect(totalCostMicros).toBeGreaterThan(0)
  })

  it('record_llm_completed_unknown_model_zero_cost', () => {
    const store = new EventStore()
    expect(pricing.get('my-local-llama-70b')).toBeUndefined()
    store.recordLlmCompleted(pricing, 'my-local-llama-70b', 1_000, 500)
    const stats = store.stats()
    expect([stats.totalRequests, stats.totalInputTokens, stats.totalOutputTokens, stats.totalCostMicros]).toEqual([1, 1_000, 500, 0])
    expect(only(store)).toMatchObject({ provider: 'unknown', costMicros: 0 })
    expect(stats.byModel['my-local-llama-70b']).toMatchObject({ requestCount: 1, inputTokens: 1_000, outputTokens: 500, costMicros: 0 })
  })

  it('record_llm_completed_updates_by_model_stats', () => {
    const store = new EventStore()
    store.recordLlmCompleted(pricing, 'gpt-4', 100, 50)
    store.recordLlmCompleted(pricing, 'gpt-4', 200, 100)
    expect(store.stats().byModel['gpt-4']).toMatchObject({
      requestCount: 2,
      inputTokens: 300,
      outputTokens: 150,
      costMicros: specCost('gpt-4', 100, 50) + specCost('gpt-4', 200, 100),
    })
  })

  it('record_llm_completed_updates_by_provider_stats', () => {
    const store = new EventStore()
    store.recordLlmCompleted(pricing, 'gpt-4', 100, 50)
    store.recordLlmCompleted(pricing, 'gpt-4o', 200, 100)
    store.recordLlmCompleted(pricing, 'claude-3-opus-20240229', 10, 10)
    const { byProvider } = store.stats()
    expect(byProvider.openai).toMatchObject({
      requestCount: 2,
      inputTokens: 300,
      outputTokens: 150,
      costMicros: specCost('gpt-4', 100, 50) + specCost('gpt-4o', 200, 100),
    })
    expect(byProvider.anthropic).toMatchObject({
      requestCount: 1,
      inputTokens: 10,
      outputTokens: 10,
      costMicros: specCost('claude-3-opus-20240229', 10, 10),
    })
  })

  it('record_llm_completed_with_explicit_provider', () => {
    const store = new EventStore()
    // A gpt- model served through another provider: the explicit provider wins; the price is the model's.
    store.recordLlmCompletedWithProvider(pricing, 'gpt-4', 'anthropic', 100, 50, 'agent-1', 'ip-1')
    store.recordLlmCompletedWithProvider(pricing, 'my-azure-deployment', 'openai', 10, 5)
    const [first, second] = store.snapshotEvents()
    expect(first).toMatchObject({ provider: 'anthropic', model: 'gpt-4', agentId: 'agent-1', providerId: 'ip-1', costMicros: specCost('gpt-4', 100, 50) })
    expect(second).toMatchObject({ provider: 'openai', model: 'my-azure-deployment', costMicros: 0 })
    const { byProvider } = store.stats()
    expect(byProvider.anthropic.requestCount).toBe(1)
    expect(byProvider.openai.requestCount).toBe(1)
    expect(byProvider.anthropic.costMicros).toBe(specCost('gpt-4', 100, 50))
  })

  it('record_llm_failed_basic', () => {
    const store = new EventStore()
    store.recordLlmFailed('gpt-4')
    const stats = store.stats()
    expect([stats.totalRequests, stats.failedRequests, stats.totalInputTokens, stats.totalOutputTokens, stats.totalCostMicros]).toEqual([
      1, 1, 0, 0, 0,
    ])
    const event = only(store)
    expect(event).toMatchObject({ type: 'llm_request_failed', model: 'gpt-4', provider: 'openai' })
    for (const key of ['agentId', 'providerId', 'errorCode', 'errorMessage', 'inputTokens', 'costMicros']) {
      expect(event).not.toHaveProperty(key)
    }
  })

  it('record_llm_failed_with_error_details', () => {
    const store = new EventStore()
    store.recordLlmFailed('claude-3-opus-20240229', 'agent-7', 'ip-anthropic-1', 'rate_limit_exceeded', 'Too many requests, retry in 20 s')
    expect(only(store)).toEqual({
      type: 'llm_request_failed',
      eventId: expect.stringMatching(UUID_V4),
      timestampMs: expect.any(Number),
      agentId: 'agent-7',
      model: 'claude-3-opus-20240229',
      provider: 'anthropic',
      providerId: 'ip-anthropic-1',
      errorCode: 'rate_limit_exceeded',
      errorMessage: 'Too many requests, retry in 20 s',
    })
  })

  it('record_budget_threshold_basic', () => {
    const store = new EventStore()
    store.recordBudgetThreshold(80, 8_000_000, 10_000_000)
    expect(only(store)).toEqual({
      type: 'budget_threshold_reached',
      eventId: expect.stringMatching(UUID_V4),
      timestampMs: expect.any(Number),
      thresholdPercent: 80,
      currentSpendMicros: 8_000_000,
      budgetMicros: 10_000_000,
    })
    expect(store.stats().totalRequests).toBe(0)
  })

  it('record_budget_threshold_with_agent', () => {
    const store = new EventStore()
    store.recordBudgetThreshold(90, 9_000_000, 10_000_000, 'agent-budget')
    expect(only(store)).toMatchObject({ type: 'budget_threshold_reached', agentId: 'agent-budget', thresholdPercent: 90 })
    // Not a request: no per-agent entry appears.
    expect(Object.keys(store.stats().byAgent)).toEqual([])
  })

  it('record_budget_threshold_100_percent', () => {
    const store = new EventStore()
    store.recordBudgetThreshold(100, 10_000_000, 10_000_000)
    store.recordBudgetThreshold(150, 15_000_000, 10_000_000)
    expect(store.snapshotEvents().map((event) => event.type === 'budget_threshold_reached' && event.thresholdPercent)).toEqual([100, 150])
  })

  it('record_router_started', () => {
    const store = new EventStore()
    store.recordRouterStarted(8080)
    expect(only(store)).toEqual({ type: 'router_started', eventId: expect.stringMatching(UUID_V4), timestampMs: expect.any(Number), port: 8080 })
    expect(store.stats().totalRequests).toBe(0)
  })

  it('record_router_stopped_empty_stats', () => {
    const store = new EventStore()
    store.recordRouterStopped()
    expect(only(store)).toEqual({
      type: 'router_stopped',
      eventId: expect.stringMatching(UUID_V4),
      timestampMs: expect.any(Number),
      totalRequests: 0,
      totalCostMicros: 0,
    })
  })

  it('record_router_stopped_with_stats', () => {
    const store = new EventStore()
    store.recordLlmCompleted(pricing, 'gpt-4', 100, 50)
    store.recordLlmCompleted(pricing, 'claude-3-opus-20240229', 1_000, 200)
    store.recordLlmFailed('gpt-4')
    // No read in between: the requests recorded just before must be in the totals.
    store.recordRouterStopped()
    const expectedCost = specCost('gpt-4', 100, 50) + specCost('claude-3-opus-20240229', 1_000, 200)
    const events = store.snapshotEvents()
    expect(events.at(-1)).toMatchObject({ type: 'router_stopped', totalRequests: 3, totalCostMicros: expectedCost })
    // Recording it changes no figure.
    expect(store.stats().totalRequests).toBe(3)
    expect(store.stats().totalCostMicros).toBe(expectedCost)
  })

  it('mixed_recording_types', () => {
    const store = new EventStore()
    store.recordRouterStarted(8080)
    store.recordLlmCompleted(pricing, 'gpt-4', 100, 50, 'agent-1')
    store.recordLlmCompletedWithProvider(pricing, 'claude-3-opus-20240229', 'anthropic', 200, 100, 'agent-2')
    store.recordLlmFailed('gpt-4o', 'agent-1', null, 'timeout')
    store.record({ type: 'llm_request_completed', model: 'gpt-4o', provider: 'openai', inputTokens: 1, outputTokens: 1, costMicros: 7 })
    store.recordBudgetThreshold(50, 5_000, 10_000, 'agent-1')
    store.recordRouterStopped()
    const cost = specCost('gpt-4', 100, 50) + specCost('claude-3-opus-20240229', 200, 100) + 7
    const events = store.snapshotEvents()
    expect(events.map((event) => event.type)).toEqual([
      'router_started',
      'llm_request_completed',
      'llm_request_completed',
      'llm_request_failed',
      'llm_request_completed',
      'budget_threshold_reached',
      'router_stopped',
    ])
    const stats = store.stats()
    expect([stats.totalRequests, stats.failedRequests, stats.totalInputTokens, stats.totalOutputTokens, stats.totalCostMicros]).toEqual([
      4, 1, 301, 151, cost,
    ])
    // The buffer and the figures agree.
    const completed = events.filter((event) => event.type === 'llm_request_completed')
    expect(completed.reduce((sum, event) => sum + event.costMicros, 0)).toBe(stats.totalCostMicros)
    expect(completed.reduce((sum, event) => sum + event.inputTokens, 0)).toBe(stats.totalInputTokens)
    expect(events.filter((event) => event.type === 'llm_request_failed')).toHaveLength(stats.failedRequests)
    expect(events.at(-1)).toMatchObject({ totalRequests: 4, totalCostMicros: cost })
    expect(stats.byAgent['agent-1']).toMatchObject({ requestCount: 1, inputTokens: 100, outputTokens: 50, costMicros: specCost('gpt-4', 100, 50) })
    expect(Object.keys(stats.byProvider).sort()).toEqual(['anthropic', 'openai'])
    expect([store.len(), store.droppedCount(), store.unsyncedCount()]).toEqual([7, 0, 7])
  })

  it('event_timestamps_are_populated', () => {
    const store = new EventStore()
    const calls: Array<[string, () => void]> = [
      ['recordLlmCompleted', () => store.recordLlmCompleted(pricing, 'gpt-4', 100, 50)],
      ['recordLlmCompletedWithProvider', () => store.recordLlmCompletedWithProvider(pricing, 'gpt-4', 'openai', 100, 50)],
      ['recordLlmFailed', () => store.recordLlmFailed('gpt-4')],
      ['recordBudgetThreshold', () => store.recordBudgetThreshold(80, 8, 10)],
      ['recordRouterStarted', () => store.recordRouterStarted(8080)],
      ['recordRouterStopped', () => store.recordRouterStopped()],
      ['record', () => store.record({ type: 'router_started', port: 1 })],
    ]
    const windows: Array<[string, number, number]> = []
    for (const [name, call] of calls) {
      const before = Date.now()
      call()
      windows.push([name, before, Date.now()])
      // Let the clock move on, so a timestamp taken later than its call would show.
      const after = Date.now()
      while (Date.now() <= after) {
        /* spin at most one millisecond */
      }
    }
    const events = store.snapshotEvents()
    expect(events).toHaveLength(calls.length)
    events.forEach((event, index) => {
      const [name, before, after] = windows[index]
      expect(Number.isSafeInteger(event.timestampMs), name).toBe(true)
      expect(event.timestampMs, `${name}: the time of the call`).toBeGreaterThanOrEqual(before)
      expect(event.timestampMs, `${name}: the time of the call`).toBeLessThanOrEqual(after)
    })
    expect(events[0].timestampMs).toBeGreaterThan(1_600_000_000_000)
  })

  it('event_ids_are_unique', () => {
    const store = new EventStore()
    for (let i = 0; i < 40; i++) store.recordLlmCompleted(pricing, 'gpt-4', i, i)
    for (let i = 0; i < 20; i++) store.recordLlmFailed('gpt-4')
    for (let i = 0; i < 20; i++) store.recordBudgetThreshold(i, i, 100)
    for (let i = 0; i < 10; i++) store.recordRouterStarted(8000 + i)
    for (let i = 0; i < 5; i++) store.recordRouterStopped()
    for (let i = 0; i < 5; i++) store.record({ type: 'router_started', port: i })
    const ids = store.snapshotEvents().map((event) => event.eventId)
    expect(ids).toHaveLength(100)
    expect(new Set(ids).size).toBe(100)
    for (const id of ids) expect(id).toMatch(UUID_V4)
  })
})
