// PARITY.md, group "protocol_012 (14)": the figures the Control API's endpoints are built from, and
// the wire fields of an event (SPEC sections 2, 3 and 5). Raw events carry exact costs.
import { describe, expect, it } from 'vitest'
import { type AnalyticsEvent, EventStore, type Provider, microsToUsd, toProtocol012, usdToMicros } from '../lib/index'

const TOKEN = 'ic_test-token-0123456789'
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

interface Completed {
  model?: string
  provider?: Provider
  inputTokens?: number
  outputTokens?: number
  costMicros: number
  agentId?: string
  providerId?: string
}

function completed(store: EventStore, { model = 'gpt-4', provider = 'openai', inputTokens = 100, outputTokens = 50, ...rest }: Completed): void {
  store.record({ type: 'llm_request_completed', model, provider, inputTokens, outputTokens, ...rest })
}

function only(store: EventStore): AnalyticsEvent {
  const events = store.snapshotEvents()
  expect(events).toHaveLength(1)
  return events[0]
}

describe('protocol_012 (14)', () => {
  it('llm_request_completed_has_all_protocol_fields', () => {
    const store = new EventStore()
    const before = Date.now()
    completed(store, { inputTokens: 150, outputTokens: 50, costMicros: 6_000, agentId: 'agent_abc', providerId: 'ip_openai-001' })
    const event = only(store)
    expect(toProtocol012(event, TOKEN)).toEqual({
      ic_token: TOKEN,
      event_id: event.eventId,
      timestamp_ms: event.timestampMs,
      event_type: 'llm_request_completed',
      model: 'gpt-4',
      provider: 'openai',
      input_tokens: 150,
      output_tokens: 50,
      cost_micros: 6_000,
      provider_id: 'ip_openai-001',
    })
    expect(event.eventId).toMatch(UUID_V4)
    expect(event.timestampMs).toBeGreaterThanOrEqual(before)
  })

  it('llm_request_failed_has_all_protocol_fields', () => {
    const store = new EventStore()
    store.recordLlmFailed('claude-3-opus-20240229', 'agent_abc', 'ip_anthropic-001', 'rate_limit', 'Rate limit exceeded')
    const event = only(store)
    const request = toProtocol012(event, TOKEN)
    expect(request).toEqual({
      ic_token: TOKEN,
      event_id: event.eventId,
      timestamp_ms: event.timestampMs,
      event_type: 'llm_request_failed',
      model: 'claude-3-opus-20240229',
      provider: 'anthropic',
      provider_id: 'ip_anthropic-001',
      error_code: 'rate_limit',
      error_message: 'Rate limit exceeded',
    })
    // No token or cost fields on a failure, and absent optionals are omitted, never null.
    const bare = new EventStore()
    bare.recordLlmFailed('gpt-4')
    const wire = JSON.parse(JSON.stringify(toProtocol012(only(bare), TOKEN)))
    expect(Object.keys(wire).sort()).toEqual(['event_id', 'event_type', 'ic_token', 'model', 'provider', 'timestamp_ms'])
  })

  it('cost_stored_in_microdollars', () => {
    const store = new EventStore()
    completed(store, { costMicros: 1_500_000 })
    const stats = store.stats()
    expect(stats.totalCostMicros).toBe(1_500_000)
    expect(stats.totalCostUsd()).toBe(1.5)
    expect(microsToUsd(1_500_000)).toBe(1.5)
    expect(usdToMicros(1.5)).toBe(1_500_000)
    expect(toProtocol012(only(store), TOKEN)?.cost_micros).toBe(1_500_000)
  })

  it('small_cost_precision', () => {
    const store = new EventStore()
    completed(store, { costMicros: 6_000 })
    expect(store.stats().totalCostMicros).toBe(6_000)
    expect(store.stats().totalCostUsd()).toBe(0.006)
    expect(microsToUsd(6_000)).toBe(0.006)
    expect(usdToMicros(0.006)).toBe(6_000)
    expect(microsToUsd(1)).toBe(0.000001)
    expect(usdToMicros(0.000001)).toBe(1)
    // Ten of them add up exactly, as integers.
    for (let i = 1; i < 10; i++) completed(store, { costMicros: 6_000 })
    expect(store.stats().totalCostMicros).toBe(60_000)
    expect(store.stats().totalCostUsd()).toBe(0.06)
  })

  it('timestamp_in_milliseconds', () => {
    const store = new EventStore()
    const before = Date.now()
    completed(store, { costMicros: 1 })
    store.recordLlmFailed('gpt-4')
    const after = Date.now()
    for (const event of store.snapshotEvents()) {
      expect(event.timestampMs).toBeGreaterThan(1e12)
      expect(event.timestampMs).toBeLessThan(1e13) // milliseconds, not microseconds
      expect(event.timestampMs).toBeGreaterThanOrEqual(before)
      expect(event.timestampMs).toBeLessThanOrEqual(after)
      expect(toProtocol012(event, TOKEN)?.timestamp_ms).toBe(event.timestampMs)
    }
  })

  it('endpoint_1_total_spending_fields', () => {
    const store = new EventStore()
    completed(store, { costMicros: 15_000 })
    completed(store, { costMicros: 30_000 })
    const stats = store.stats()
    expect(stats.totalCostMicros).toBe(45_000)
    expect(stats.totalCostUsd()).toBe(0.045)
    expect(stats.totalRequests).toBe(2)
  })

  it('endpoint_2_spending_by_agent', () => {
    const store = new EventStore()
    completed(store, { costMicros: 15_000, agentId: 'agent_1' })
    completed(store, { costMicros: 15_000, agentId: 'agent_2' })
    const stats = store.stats()
    expect(stats.totalRequests).toBe(2)
    expect(stats.totalCostMicros).toBe(30_000)
    expect(Object.keys(stats.byAgent).sort()).toEqual(['agent_1', 'agent_2'])
    expect(stats.byAgent.agent_1).toMatchObject({ requestCount: 1, inputTokens: 100, outputTokens: 50, costMicros: 15_000 })
    expect(stats.byAgent.agent_2).toMatchObject({ requestCount: 1, inputTokens: 100, outputTokens: 50, costMicros: 15_000 })
    // The agent is on each event (the server groups by it).
    expect(store.snapshotEvents().map((event) => event.agentId)).toEqual(['agent_1', 'agent_2'])
  })

  it('endpoint_4_spending_by_provider', () => {
    const store = new EventStore()
    completed(store, { model: 'gpt-4', provider: 'openai', costMicros: 15_000 })
    completed(store, { model: 'claude-3-opus-20240229', provider: 'anthropic', costMicros: 20_000 })
    const { byProvider } = store.stats()
    expect(Object.keys(byProvider).sort()).toEqual(['anthropic', 'openai'])
    expect(byProvider.openai.costMicros).toBe(15_000)
    expect(byProvider.anthropic.costMicros).toBe(20_000)
    expect(byProvider.openai.costUsd()).toBe(0.015)
    expect(byProvider.anthropic.costUsd()).toBe(0.02)
  })

  it('endpoint_5_request_usage', () => {
    const store = new EventStore()
    for (let i = 0; i < 3; i++) completed(store, { costMicros: 15_000 })
    store.record({ type: 'llm_request_failed', model: 'gpt-4', provider: 'openai', errorCode: 'server_error' })
    const stats = store.stats()
    expect(stats.totalRequests).toBe(4)
    expect(stats.failedRequests).toBe(1)
    expect(stats.successRate()).toBe(75)
  })

  it('endpoint_6_token_usage', () => {
    const store = new EventStore()
    completed(store, { inputTokens: 100, outputTokens: 50, costMicros: 15_000 })
    completed(store, { inputTokens: 200, outputTokens: 100, costMicros: 30_000 })
    const stats = store.stats()
    expect(stats.totalInputTokens).toBe(300)
    expect(stats.totalOutputTokens).toBe(150)
    expect(stats.totalTokens()).toBe(450)
    expect(stats.avgTokensPerRequest()).toBe(225)
  })

  it('endpoint_7_model_usage', () => {
    const store = new EventStore()
    completed(store, { model: 'gpt-4', inputTokens: 100, outputTokens: 50, costMicros: 15_000 })
    completed(store, { model: 'gpt-4', inputTokens: 200, outputTokens: 100, costMicros: 30_000 })
    const { byModel } = store.stats()
    expect(Object.keys(byModel)).toEqual(['gpt-4'])
    expect(byModel['gpt-4']).toMatchObject({ requestCount: 2, inputTokens: 300, outputTokens: 150, costMicros: 45_000 })
  })

  it('endpoint_8_avg_cost_per_request', () => {
    const store = new EventStore()
    completed(store, { costMicros: 1_000_000 })
    completed(store, { costMicros: 2_000_000 })
    completed(store, { costMicros: 3_000_000 })
    const stats = store.stats()
    expect(stats.totalCostMicros).toBe(6_000_000)
    expect(stats.avgCostPerRequestUsd()).toBe(2)
  })

  it('optional_fields_can_be_none', () => {
    const store = new EventStore()
    completed(store, { costMicros: 15_000 })
    store.record({ type: 'llm_request_completed', model: 'gpt-4', provider: 'openai', inputTokens: 1, outputTokens: 1, costMicros: 1, agentId: null })
    store.record({ type: 'llm_request_failed', model: 'gpt-4', provider: 'openai' })
    const events = store.snapshotEvents()
    expect(events).toHaveLength(3)
    for (const event of events) {
      expect(event).not.toHaveProperty('agentId')
      expect(event).not.toHaveProperty('providerId')
      const wire = toProtocol012(event, TOKEN)!
      expect(wire).not.toHaveProperty('provider_id')
      expect(JSON.stringify(wire)).not.toContain('null')
    }
    expect(Object.keys(store.stats().byAgent)).toEqual([])
    expect(store.stats().totalRequests).toBe(3)
  })

  it('event_id_is_internal', () => {
    const store = new EventStore()
    completed(store, { costMicros: 15_000 })
    expect(store.unsyncedCount()).toBe(1)
    const [event] = store.unsyncedEvents()
    expect(event.eventId).toMatch(UUID_V4)
    const wire = toProtocol012(event, TOKEN)!
    expect(wire.event_id).toBe(event.eventId)
    // The same event gives the same id every time it is read (and so on every retry).
    expect(toProtocol012(store.unsyncedEvents()[0], TOKEN)!.event_id).toBe(event.eventId)
    // An id given to record() is kept.
    const given = '6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b'
    store.record({ type: 'llm_request_failed', model: 'gpt-4', provider: 'openai', eventId: given })
    expect(toProtocol012(store.unsyncedEvents()[1], TOKEN)!.event_id).toBe(given)
    // Only LLM events have a wire form.
    store.recordRouterStarted(8080)
    expect(toProtocol012(store.unsyncedEvents()[2], TOKEN)).toBeUndefined()
  })
})
