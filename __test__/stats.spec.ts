// PARITY.md, group "stats (23)": the running totals, the per-model / per-provider aggregates and
// ComputedStats' derived figures (SPEC sections 2 and 3), with raw events of exact figures.
import { describe, expect, it } from 'vitest'
import { type ComputedStats, EventStore, ModelStats, type Provider } from '../lib/index'

function completed(store: EventStore, model: string, inputTokens: number, outputTokens: number, costMicros: number, provider: Provider = 'openai', agentId?: string): void {
  store.record({ type: 'llm_request_completed', model, provider, inputTokens, outputTokens, costMicros, agentId })
}

function failed(store: EventStore, model: string, provider: Provider = 'openai', agentId?: string): void {
  store.record({ type: 'llm_request_failed', model, provider, agentId, errorCode: 'server_error' })
}

function totals(stats: ComputedStats): number[] {
  return [stats.totalRequests, stats.failedRequests, stats.totalInputTokens, stats.totalOutputTokens, stats.totalCostMicros]
}

function figures(entry: ModelStats | undefined): number[] | undefined {
  return entry && [entry.requestCount, entry.inputTokens, entry.outputTokens, entry.costMicros]
}

describe('stats (23)', () => {
  it('total_requests_counter', () => {
    const store = new EventStore()
    completed(store, 'gpt-4', 10, 5, 100)
    completed(store, 'gpt-4', 10, 5, 100)
    failed(store, 'gpt-4')
    expect(store.stats().totalRequests).toBe(3)
    // Other event types are not requests.
    store.recordRouterStarted(8080)
    store.recordBudgetThreshold(50, 1, 2)
    expect(store.stats().totalRequests).toBe(3)
  })

  it('failed_requests_counter', () => {
    const store = new EventStore()
    completed(store, 'gpt-4', 10, 5, 100)
    expect(store.stats().failedRequests).toBe(0)
    failed(store, 'gpt-4')
    failed(store, 'claude-3-opus-20240229', 'anthropic')
    completed(store, 'gpt-4', 10, 5, 100)
    expect(store.stats().failedRequests).toBe(2)
    expect(store.stats().totalRequests).toBe(4)
  })

  it('total_input_tokens_counter', () => {
    const store = new EventStore()
    completed(store, 'gpt-4', 100, 1, 0)
    completed(store, 'gpt-4o', 250, 2, 0)
    completed(store, 'claude-3-opus-20240229', 1_000, 3, 0, 'anthropic')
    expect(store.stats().totalInputTokens).toBe(1_350)
  })

  it('total_output_tokens_counter', () => {
    const store = new EventStore()
    completed(store, 'gpt-4', 1, 50, 0)
    completed(store, 'gpt-4o', 2, 75, 0)
    completed(store, 'claude-3-opus-20240229', 3, 400, 0, 'anthropic')
    expect(store.stats().totalOutputTokens).toBe(525)
  })

  it('total_cost_micros_counter', () => {
    const store = new EventStore()
    completed(store, 'gpt-4', 1, 1, 15_000)
    completed(store, 'gpt-4o', 1, 1, 30_000)
    completed(store, 'claude-3-opus-20240229', 1, 1, 1, 'anthropic')
    expect(store.stats().totalCostMicros).toBe(45_001)
    // Exact far above 32 bits.
    completed(store, 'gpt-4', 0, 0, 2 ** 52)
    expect(store.stats().totalCostMicros).toBe(2 ** 52 + 45_001)
  })

  it('failed_requests_dont_add_tokens_or_cost', () => {
    const store = new EventStore()
    completed(store, 'gpt-4', 100, 50, 6_000, 'openai', 'agent-1')
    const before = store.stats()
    failed(store, 'gpt-4', 'openai', 'agent-1')
    failed(store, 'gpt-4', 'openai', 'agent-1')
    const after = store.stats()
    expect(totals(after)).toEqual([3, 2, 100, 50, 6_000])
    // The same figures, with the two failures counted per key.
    const failedTwice = (figures: Record<string, ModelStats>) =>
      Object.fromEntries(Object.entries(figures).map(([key, stats]) => [key, { ...stats, failedRequests: stats.failedRequests + 2 }]))
    expect(after.byModel).toMatchObject(failedTwice(before.byModel))
    expect(after.byProvider).toMatchObject(failedTwice(before.byProvider))
    expect(after.byAgent).toMatchObject(failedTwice(before.byAgent))
  })

  it('stats_by_model_single_model', () => {
    const store = new EventStore()
    completed(store, 'gpt-4', 100, 50, 15_000)
    completed(store, 'gpt-4', 200, 100, 30_000)
    const { byModel } = store.stats()
    expect(Object.keys(byModel)).toEqual(['gpt-4'])
    expect(byModel['gpt-4']).toBeInstanceOf(ModelStats)
    expect(figures(byModel['gpt-4'])).toEqual([2, 300, 150, 45_000])
  })

  it('stats_by_model_multiple_models', () => {
    const store = new EventStore()
    completed(store, 'gpt-4', 100, 50, 15_000)
    completed(store, 'gpt-4o', 10, 5, 500)
    completed(store, 'claude-3-opus-20240229', 1_000, 500, 52_500, 'anthropic')
    completed(store, 'gpt-4', 1, 1, 90)
    const { byModel } = store.stats()
    expect(Object.keys(byModel).sort()).toEqual(['claude-3-opus-20240229', 'gpt-4', 'gpt-4o'])
    expect(figures(byModel['gpt-4'])).toEqual([2, 101, 51, 15_090])
    expect(figures(byModel['gpt-4o'])).toEqual([1, 10, 5, 500])
    expect(figures(byModel['claude-3-opus-20240229'])).toEqual([1, 1_000, 500, 52_500])
  })

  it('stats_by_model_tracks_failed_requests', () => {
    const store = new EventStore()
    completed(store, 'gpt-4', 100, 50, 15_000)
    failed(store, 'gpt-4')
    failed(store, 'claude-3-opus-20240229', 'anthropic', 'agent-x')
    const stats = store.stats()
    // SPEC 3: the key appears with zero figures; per-key figures count completed requests only.
    expect(Object.keys(stats.byModel).sort()).toEqual(['claude-3-opus-20240229', 'gpt-4'])
    expect(figures(stats.byModel['claude-3-opus-20240229'])).toEqual([0, 0, 0, 0])
    expect(figures(stats.byModel['gpt-4'])).toEqual([1, 100, 50, 15_000])
    expect(figures(stats.byProvider.anthropic)).toEqual([0, 0, 0, 0])
    expect(figures(stats.byAgent['agent-x'])).toEqual([0, 0, 0, 0])
    expect(totals(stats)).toEqual([3, 2, 100, 50, 15_000])
  })

  it('stats_by_provider_single_provider', () => {
    const store = new EventStore()
    completed(store, 'gpt-4', 100, 50, 15_000)
    completed(store, 'gpt-4o-mini', 200, 100, 30_000)
    const { byProvider } = store.stats()
    expect(Object.keys(byProvider)).toEqual(['openai'])
    expect(figures(byProvider.openai)).toEqual([2, 300, 150, 45_000])
  })

  it('stats_by_provider_multiple_providers', () => {
    const store = new EventStore()
    completed(store, 'gpt-4', 100, 50, 15_000, 'openai')
    completed(store, 'claude-3-opus-20240229', 200, 100, 20_000, 'anthropic')
    completed(store, 'claude-3-haiku-20240307', 10, 10, 25, 'anthropic')
    const { byProvider } = store.stats()
    expect(Object.keys(byProvider).sort()).toEqual(['anthropic', 'openai'])
    expect(figures(byProvider.openai)).toEqual([1, 100, 50, 15_000])
    expect(figures(byProvider.anthropic)).toEqual([2, 210, 110, 20_025])
  })

  it('total_cost_usd_conversion', () => {
    const store = new EventStore()
    completed(store, 'gpt-4', 1, 1, 1_500_000)
    expect(store.stats().totalCostUsd()).toBe(1.5)
  })

  it('total_cost_usd_small_amounts', () => {
    const store = new EventStore()
    completed(store, 'gpt-4', 1, 1, 1)
    expect(store.stats().totalCostUsd()).toBe(0.000001)
    expect(new EventStore().stats().totalCostUsd()).toBe(0)
  })

  it('success_rate_all_success', () => {
    const store = new EventStore()
    for (let i = 0; i < 5; i++) completed(store, 'gpt-4', 1, 1, 1)
    expect(store.stats().successRate()).toBe(100)
  })

  it('success_rate_with_failures', () => {
    const store = new EventStore()
    for (let i = 0; i < 3; i++) completed(store, 'gpt-4', 1, 1, 1)
    failed(store, 'gpt-4')
    expect(store.stats().successRate()).toBe(75)
    failed(store, 'gpt-4')
    failed(store, 'gpt-4')
    failed(store, 'gpt-4')
    failed(store, 'gpt-4')
    expect(store.stats().successRate()).toBe(37.5)
  })

  it('success_rate_no_requests', () => {
    const store = new EventStore()
    expect(store.stats().successRate()).toBe(100)
    store.recordRouterStarted(8080)
    expect(store.stats().successRate()).toBe(100)
  })

  it('avg_cost_per_request_usd', () => {
    const store = new EventStore()
    completed(store, 'gpt-4', 1, 1, 1_000_000)
    completed(store, 'gpt-4', 1, 1, 3_000_000)
    failed(store, 'gpt-4')
    failed(store, 'gpt-4')
    // 4 USD over 4 requests (failed ones count as requests).
    expect(store.stats().avgCostPerRequestUsd()).toBe(1)
  })

  it('avg_cost_per_request_no_requests', () => {
    const store = new EventStore()
    expect(store.stats().avgCostPerRequestUsd()).toBe(0)
  })

  it('total_tokens', () => {
    const store = new EventStore()
    completed(store, 'gpt-4', 100, 50, 0)
    completed(store, 'gpt-4', 1_000, 7, 0)
    expect(store.stats().totalTokens()).toBe(1_157)
  })

  it('avg_tokens_per_request', () => {
    const store = new EventStore()
    completed(store, 'gpt-4', 100, 50, 0)
    completed(store, 'gpt-4', 200, 100, 0)
    expect(store.stats().avgTokensPerRequest()).toBe(225)
    failed(store, 'gpt-4')
    expect(store.stats().avgTokensPerRequest()).toBe(150)
  })

  it('avg_tokens_per_request_no_requests', () => {
    expect(new EventStore().stats().avgTokensPerRequest()).toBe(0)
  })

  it('model_stats_cost_usd', () => {
    const store = new EventStore()
    completed(store, 'gpt-4', 1, 1, 2_500_000)
    completed(store, 'gpt-4o', 1, 1, 6_000)
    const { byModel } = store.stats()
    expect(byModel['gpt-4'].costUsd()).toBe(2.5)
    expect(byModel['gpt-4o'].costUsd()).toBe(0.006)
    expect(new ModelStats().costUsd()).toBe(0)
  })

  it('stats_are_consistent_snapshot', () => {
    const store = new EventStore(5)
    const models = ['gpt-4', 'gpt-4o', 'claude-3-opus-20240229', 'claude-3-haiku-20240307'] as const
    for (let i = 0; i < 40; i++) {
      const model = models[i % models.length]
      const provider = model.startsWith('claude') ? 'anthropic' : 'openai'
      if (i % 7 === 3) failed(store, model, provider, `agent-${i % 3}`)
      else completed(store, model, 10 + i, 5 + i, 100 * i, provider, `agent-${i % 3}`)
    }
    const stats = store.stats()
    const completedCount = stats.totalRequests - stats.failedRequests
    for (const map of [stats.byModel, stats.byProvider, stats.byAgent]) {
      const entries = Object.values(map)
      const sum = (pick: (entry: ModelStats) => number) => entries.reduce((total, entry) => total + pick(entry), 0)
      expect(sum((entry) => entry.requestCount)).toBe(completedCount)
      expect(sum((entry) => entry.inputTokens)).toBe(stats.totalInputTokens)
      expect(sum((entry) => entry.outputTokens)).toBe(stats.totalOutputTokens)
      expect(sum((entry) => entry.costMicros)).toBe(stats.totalCostMicros)
    }
    expect(totals(stats)).toEqual([40, 6, 997, 827, 65_700])
    // A snapshot is a copy: later records do not change it.
    completed(store, 'gpt-4', 1, 1, 1)
    expect(stats.totalRequests).toBe(40)
    expect(store.stats().totalRequests).toBe(41)
  })
})
