// The benchmark's pure-JS store must compute exactly what SPEC sections 3, 4 and 6 say, or the
// comparison with the native package would not be like for like.
import { describe, expect, it } from 'vitest'
import { ARGS, TWENTY_MODELS, generateArgs } from '../benchmark/args.mjs'
import {
  BaselineEventStore,
  type LiteLlmPrices,
  type LlmUsage,
  type RecordOptions,
  costMicros,
  loadPricing,
} from '../benchmark/baseline.mjs'
import { PromRecorder } from '../benchmark/prom.mjs'
import { EventStore, PricingManager } from '../lib/index'

const PRICES: LiteLlmPrices = {
  'gpt-4o': { input_cost_per_token: 2.5e-6, output_cost_per_token: 1e-5 },
  'gpt-4o-mini': { input_cost_per_token: 1.5e-7, output_cost_per_token: 6e-7 },
  'claude-3-5-sonnet-20241022': { input_cost_per_token: 3e-6, output_cost_per_token: 1.5e-5 },
  'claude-3-haiku-20240307': { input_cost_per_token: 2.5e-7, output_cost_per_token: 1.25e-6 },
  thirds: { input_cost_per_token: 1e-7 / 3, output_cost_per_token: 2e-7 / 3 },
  sample_spec: { input_cost_per_token: 1, output_cost_per_token: 1 },
  'free-model': { input_cost_per_token: 0, output_cost_per_token: 0 },
  'broken-model': { input_cost_per_token: '0.001', output_cost_per_token: 0.001 },
  'output-only': { input_cost_per_token: null, output_cost_per_token: 2e-6 },
}

// recordLlmCompleted's calls have no cache or reasoning parts.
const NO_PARTS = { cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0 }
// A snapshot record of completed calls only: no failures, no parts.
const ROW = { ...NO_PARTS, failedRequests: 0 }

// The SPEC formula written independently, in BigInt: round(usd * 1e12) per million, floored per side.
function specCost(inputUsd: number, outputUsd: number, inputTokens: number, outputTokens: number): number {
  const perMillion = (usd: number) => BigInt(Math.round(usd * 1e12))
  return Number(
    (BigInt(inputTokens) * perMillion(inputUsd)) / 1_000_000n + (BigInt(outputTokens) * perMillion(outputUsd)) / 1_000_000n,
  )
}

function costOf(model: string, inputTokens: number, outputTokens: number, prices: LiteLlmPrices = PRICES): number {
  const store = new BaselineEventStore(1)
  store.recordLlmCompleted(prices, model, inputTokens, outputTokens)
  return store.stats().totalCostMicros
}

describe('pure-JS baseline: costs', () => {
  it('prices whole calls in integer micros', () => {
    expect(costOf('gpt-4o', 1000, 500)).toBe(7500)
    expect(costOf('claude-3-5-sonnet-20241022', 1234, 567)).toBe(3702 + 8505)
    expect(costOf('claude-3-haiku-20240307', 10_001, 333)).toBe(2500 + 416)
    expect(costOf('claude-3-haiku-20240307', 10_001, 333)).toBe(specCost(2.5e-7, 1.25e-6, 10_001, 333))
  })

  it('floors input and output separately', () => {
    // 0.45 + 0.6 micros: each side floors to 0, although the sum is above 1.
    expect(costOf('gpt-4o-mini', 3, 1)).toBe(0)
    expect(costOf('gpt-4o-mini', 7, 2)).toBe(1 + 1)
  })

  it('rounds each per-token price to micros per million first', () => {
    // 33333.33 rounds down to 33333 and 66666.67 rounds up to 66667.
    expect(costOf('thirds', 3_000_000, 3_000_000)).toBe(99_999 + 200_001)
  })

  it('stays exact where the product passes 2^53', () => {
    const inputTokens = 2 ** 40 + 7
    const outputTokens = 2 ** 45 + 3
    expect(costOf('claude-3-5-sonnet-20241022', inputTokens, outputTokens)).toBe(
      specCost(3e-6, 1.5e-5, inputTokens, outputTokens),
    )
    expect(costMicros(999_999, 9_007_199_254)).toBe(Number((999_999n * 9_007_199_254n) / 1_000_000n))
  })

  it('charges nothing for unknown, skipped and unparsable entries', () => {
    for (const model of ['llama-3-70b', 'sample_spec', 'free-model', 'broken-model', 'constructor', 'toString']) {
      expect(costOf(model, 1000, 1000), model).toBe(0)
    }
    expect(costOf('output-only', 1000, 1000)).toBe(2000)
  })

  it('uses a new price object as soon as it is passed', () => {
    const store = new BaselineEventStore(10)
    store.recordLlmCompleted(PRICES, 'gpt-4o', 1000, 0)
    store.recordLlmCompleted({ 'gpt-4o': { input_cost_per_token: 5e-6, output_cost_per_token: 0 } }, 'gpt-4o', 1000, 0)
    expect(store.snapshotEvents().map((e) => e.costMicros)).toEqual([2500, 5000])
  })

  it('loads a price table covering the benchmark models', () => {
    const prices = loadPricing()
    for (const model of ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet-20241022', 'claude-3-haiku-20240307']) {
      expect(costOf(model, 1_000_000, 1_000_000, prices), model).toBeGreaterThan(0)
    }
  })
})

describe('pure-JS baseline: aggregates', () => {
  it('infers providers by prefix, in any letter case', () => {
    const store = new BaselineEventStore(20)
    const models = ['GPT-4', 'o1-preview', 'O3-mini', 'ChatGPT-4o-latest', 'CLAUDE-3-SONNET', 'claude-2.1', 'gpt4', 'claude', 'llama-2-70b']
    for (const model of models) store.recordLlmCompleted(PRICES, model, 1, 1)
    expect(store.snapshotEvents().map((e) => e.provider)).toEqual([
      'openai',
      'openai',
      'openai',
      'openai',
      'anthropic',
      'anthropic',
      'unknown',
      'unknown',
      'unknown',
    ])
  })

  it('adds every call to the totals and to its model, provider and agent', () => {
    const store = new BaselineEventStore(100)
    store.recordLlmCompleted(PRICES, 'gpt-4o', 1000, 500, 'agent-a', 'openai-eu')
    store.recordLlmCompleted(PRICES, 'gpt-4o-mini', 10_000, 1000, 'agent-b')
    store.recordLlmCompleted(PRICES, 'gpt-4o', 2000, 0, null, null)
    store.recordLlmCompleted(PRICES, 'claude-3-5-sonnet-20241022', 1234, 567, 'agent-a')
    store.recordLlmCompleted(PRICES, 'llama-3-70b', 50, 60, undefined, 'local')

    const stats = store.stats()
    expect(stats).toMatchObject({
      totalRequests: 5,
      failedRequests: 0,
      totalInputTokens: 1000 + 10_000 + 2000 + 1234 + 50,
      totalOutputTokens: 500 + 1000 + 0 + 567 + 60,
      totalCostMicros: 7500 + (1500 + 600) + 5000 + 12_207 + 0,
    })
    expect({ ...stats.byModel }).toEqual({
      'gpt-4o': { ...ROW, requestCount: 2, inputTokens: 3000, outputTokens: 500, costMicros: 12_500, provider: 'openai' },
      'gpt-4o-mini': { ...ROW, requestCount: 1, inputTokens: 10_000, outputTokens: 1000, costMicros: 2100, provider: 'openai' },
      'claude-3-5-sonnet-20241022': {
        ...ROW,
        requestCount: 1,
        inputTokens: 1234,
        outputTokens: 567,
        costMicros: 12_207,
        provider: 'anthropic',
      },
      'llama-3-70b': { ...ROW, requestCount: 1, inputTokens: 50, outputTokens: 60, costMicros: 0, provider: 'unknown' },
    })
    expect(stats.unpricedRequests).toBe(1)
    expect(stats.unpricedModels).toEqual(['llama-3-70b'])
    expect({ ...stats.byProvider }).toEqual({
      openai: { ...ROW, requestCount: 3, inputTokens: 13_000, outputTokens: 1500, costMicros: 14_600 },
      anthropic: { ...ROW, requestCount: 1, inputTokens: 1234, outputTokens: 567, costMicros: 12_207 },
      unknown: { ...ROW, requestCount: 1, inputTokens: 50, outputTokens: 60, costMicros: 0 },
    })
    // Only calls with an agent id count per agent; null is the same as absent.
    expect({ ...stats.byAgent }).toEqual({
      'agent-a': { ...ROW, requestCount: 2, inputTokens: 2234, outputTokens: 1067, costMicros: 19_707 },
      'agent-b': { ...ROW, requestCount: 1, inputTokens: 10_000, outputTokens: 1000, costMicros: 2100 },
    })
    expect(Object.getPrototypeOf(stats.byModel)).toBeNull()
  })

  it("builds the same snapshot as the package's stats() for the stats benchmark's calls", () => {
    const prices = loadPricing()
    const pricing = PricingManager.fromJson(JSON.stringify(prices))
    const ours = new EventStore(10_000)
    const pure = new BaselineEventStore(10_000)
    for (const a of generateArgs({ models: TWENTY_MODELS })) {
      ours.recordLlmCompleted(pricing, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
      pure.recordLlmCompleted(prices, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
    }
    const expected = ours.stats()
    const actual = pure.stats()
    // The same fields in the same order, records included, so that both build as much.
    expect(Object.keys(actual)).toEqual(Object.keys(expected))
    expect(Object.keys(actual.byModel['gpt-4o'])).toEqual(Object.keys(expected.byModel['gpt-4o']))
    expect(Object.keys(actual.byAgent).sort()).toEqual(Object.keys(expected.byAgent).sort())
    expect(Object.keys(actual.byAgent).length).toBe(64)
    expect(Object.keys(actual.byModel).length).toBe(20)
    expect(JSON.parse(JSON.stringify(actual))).toEqual(JSON.parse(JSON.stringify(expected)))
    expect(actual.unpricedModels.length).toBeGreaterThan(0)
  })

  it('returns figures that later calls do not change', () => {
    const store = new BaselineEventStore(10)
    store.recordLlmCompleted(PRICES, 'gpt-4o', 1000, 500, 'agent-a')
    const before = store.stats()
    store.recordLlmCompleted(PRICES, 'gpt-4o', 1000, 500, 'agent-a')
    expect(before.byModel['gpt-4o'].requestCount).toBe(1)
    expect(before.byAgent['agent-a'].costMicros).toBe(7500)
  })
})

describe('pure-JS baseline: buffer', () => {
  it('buffers complete events', () => {
    const store = new BaselineEventStore(10)
    const before = Date.now()
    store.recordLlmCompleted(PRICES, 'gpt-4o', 1000, 500, 'agent-a', 'openai-eu')
    store.recordLlmCompleted(PRICES, 'claude-3-haiku-20240307', 10, 20)
    const [first, second] = store.snapshotEvents()
    expect(first).toMatchObject({
      type: 'llm_request_completed',
      model: 'gpt-4o',
      provider: 'openai',
      agentId: 'agent-a',
      providerId: 'openai-eu',
      inputTokens: 1000,
      outputTokens: 500,
      costMicros: 7500,
    })
    expect(first.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(first.timestampMs).toBeGreaterThanOrEqual(before)
    expect(first.timestampMs).toBeLessThanOrEqual(Date.now())
    expect(second.agentId).toBeUndefined()
    expect(second.providerId).toBeUndefined()
    expect(second.eventId).not.toBe(first.eventId)
  })

  it('drops new events at capacity but still counts them', () => {
    const store = new BaselineEventStore(2)
    const models = ['gpt-4o', 'gpt-4o-mini', 'claude-3-haiku-20240307', 'gpt-4o', 'llama-3-70b']
    for (const model of models) store.recordLlmCompleted(PRICES, model, 1000, 1000, 'agent-a')
    expect(store.len()).toBe(2)
    expect(store.droppedCount()).toBe(3)
    // Never evicts: the two oldest events stay.
    expect(store.snapshotEvents().map((e) => e.model)).toEqual(['gpt-4o', 'gpt-4o-mini'])
    const stats = store.stats()
    expect(stats.totalRequests).toBe(5)
    expect(stats.byAgent['agent-a'].requestCount).toBe(5)
    expect(stats.byModel['gpt-4o'].requestCount).toBe(2)
  })

  it('snapshots copies and leaves the buffer as it was', () => {
    const store = new BaselineEventStore(10)
    store.recordLlmCompleted(PRICES, 'gpt-4o', 1000, 500)
    const snapshot = store.snapshotEvents()
    snapshot[0].costMicros = 1
    snapshot.pop()
    expect(store.len()).toBe(1)
    expect(store.snapshotEvents()[0].costMicros).toBe(7500)
  })

  it('drains oldest first and takes events again afterwards', () => {
    const store = new BaselineEventStore(2)
    for (const model of ['gpt-4o', 'gpt-4o-mini', 'claude-3-haiku-20240307']) store.recordLlmCompleted(PRICES, model, 1, 1)
    expect(store.drainAll().map((e) => e.model)).toEqual(['gpt-4o', 'gpt-4o-mini'])
    expect(store.len()).toBe(0)
    store.recordLlmCompleted(PRICES, 'llama-3-70b', 1, 1)
    expect(store.snapshotEvents().map((e) => e.model)).toEqual(['llama-3-70b'])
    expect(store.droppedCount()).toBe(1)
    expect(store.stats().totalRequests).toBe(4)
  })
})

describe('pure-JS baseline: bad input', () => {
  const cases: [string, unknown[], typeof TypeError | typeof RangeError, RegExp][] = [
    ['negative tokens', ['gpt-4o', -1, 0], RangeError, /inputTokens must be a non-negative safe integer, got -1/],
    ['fractional tokens', ['gpt-4o', 1, 1.5], RangeError, /outputTokens/],
    ['NaN tokens', ['gpt-4o', Number.NaN, 1], RangeError, /inputTokens/],
    ['tokens above 2^53-1', ['gpt-4o', 2 ** 53, 1], RangeError, /inputTokens/],
    ['tokens as a string', ['gpt-4o', '10', 1], TypeError, /inputTokens/],
    ['a missing model', [undefined, 1, 1], TypeError, /model/],
    ['an empty model', ['', 1, 1], RangeError, /model/],
    ['a model over 256 characters', ['m'.repeat(257), 1, 1], RangeError, /model/],
    ['an agent id over 256 characters', ['gpt-4o', 1, 1, 'a'.repeat(257)], RangeError, /agentId/],
    ['a numeric provider id', ['gpt-4o', 1, 1, undefined, 42], TypeError, /providerId/],
  ]

  for (const [name, args, errorClass, message] of cases) {
    it(`refuses ${name} and records nothing`, () => {
      const store = new BaselineEventStore(10)
      const record = store.recordLlmCompleted as (...args: unknown[]) => void
      expect(() => record.call(store, PRICES, ...args)).toThrow(errorClass)
      expect(() => record.call(store, PRICES, ...args)).toThrow(message)
      expect(store.len()).toBe(0)
      expect(store.stats().totalRequests).toBe(0)
      expect(Object.keys(store.stats().byModel)).toEqual([])
    })
  }

  it('accepts identifiers of exactly 256 characters', () => {
    const store = new BaselineEventStore(10)
    store.recordLlmCompleted(PRICES, 'm'.repeat(256), 1, 1, 'a'.repeat(256), 'p'.repeat(256))
    expect(store.len()).toBe(1)
  })

  it('refuses a missing price table', () => {
    const store = new BaselineEventStore(10)
    const record = store.recordLlmCompleted as (...args: unknown[]) => void
    expect(() => record.call(store, null, 'gpt-4o', 1, 1)).toThrow(TypeError)
    expect(store.stats().totalRequests).toBe(0)
  })

  it('refuses capacities outside 1..10,000,000', () => {
    for (const capacity of [0, -1, 1.5, 10_000_001, Number.NaN]) {
      expect(() => new BaselineEventStore(capacity), String(capacity)).toThrow(RangeError)
    }
    expect(new BaselineEventStore().capacity()).toBe(10_000)
  })
})

// LiteLLM entries for every branch of SPEC section 10's rule: tiers (one at a threshold with
// decimals, one stating only some prices), each fallback, a reasoning price, fractional prices.
const USAGE_PRICES: LiteLlmPrices = {
  tiered: {
    input_cost_per_token: 3e-6,
    output_cost_per_token: 1.5e-5,
    cache_read_input_token_cost: 3e-7,
    cache_creation_input_token_cost: 3.75e-6,
    cache_creation_input_token_cost_above_1hr: 6e-6,
    output_cost_per_reasoning_token: 2e-5,
    input_cost_per_token_above_200k_tokens: 6e-6,
    output_cost_per_token_above_200k_tokens: 2.25e-5,
    cache_read_input_token_cost_above_200k_tokens: 6e-7,
    cache_creation_input_token_cost_above_200k_tokens: 7.5e-6,
    cache_creation_input_token_cost_above_1hr_above_200k_tokens: 1.2e-5,
    'input_cost_per_token_above_271.999k_tokens': 9e-6,
    output_cost_per_token_above_1000k_tokens: null,
  },
  'input-and-output': { input_cost_per_token: 1.25e-6, output_cost_per_token: 1e-5 },
  'write-without-1h': { input_cost_per_token: 1e-6, output_cost_per_token: 2e-6, cache_creation_input_token_cost: 1.25e-6 },
  thirds: {
    input_cost_per_token: 1e-7 / 3,
    output_cost_per_token: 2e-7 / 3,
    cache_read_input_token_cost: 1e-8 / 3,
    output_cost_per_reasoning_token: 4e-7 / 3,
  },
  'cache-only': { cache_read_input_token_cost: 1e-7 },
  'fractional-output': { input_cost_per_token: 1e-6, output_cost_per_token: 1.5e-7 },
  'broken-tier': { input_cost_per_token: 1e-6, input_cost_per_token_above_200k_tokens: -1 },
}

function usageCorpus(): LlmUsage[] {
  const usages: LlmUsage[] = []
  for (const inputTokens of [0, 999, 200_000, 200_001, 271_999, 272_000, 1_000_003]) {
    for (const outputTokens of [0, 7, 4001]) {
      for (const [read, write, write1h, reasoning] of [
        [0, 0, 0, 0],
        [0.6, 0.1, 0.05, 0.3],
        [0.33, 0.33, 0.34, 1],
        [0, 0, 1, 0],
      ]) {
        usages.push({
          inputTokens,
          outputTokens,
          cacheReadTokens: Math.floor(inputTokens * read),
          cacheWriteTokens: Math.floor(inputTokens * write),
          cacheWrite1hTokens: Math.floor(inputTokens * write1h),
          reasoningTokens: Math.floor(outputTokens * reasoning),
        })
      }
    }
  }
  return usages
}

function usageCost(prices: LiteLlmPrices, model: string, usage: unknown): number {
  const store = new BaselineEventStore(1)
  store.recordLlmUsage(prices, model, usage as LlmUsage)
  return store.stats().totalCostMicros
}

describe('pure-JS baseline: recordLlmUsage', () => {
  it('costs what the package costs on every usage of the corpus', () => {
    const defaults = loadPricing()
    const tables: [LiteLlmPrices, string[]][] = [
      [USAGE_PRICES, Object.keys(USAGE_PRICES)],
      [defaults, ['claude-sonnet-4-5', 'gemini-2.5-pro', 'gpt-4o', 'o3', 'sonar-deep-research', 'llama-3-70b']],
    ]
    let priced = 0
    for (const [prices, models] of tables) {
      const pricing = PricingManager.fromJson(JSON.stringify(prices))
      for (const model of models) {
        for (const usage of usageCorpus()) {
          const expected = pricing.costMicros(model, usage)
          expect(usageCost(prices, model, usage), `${model} ${JSON.stringify(usage)}`).toBe(expected)
          if (expected > 0) priced++
        }
      }
    }
    // Most of the corpus is priced, so equal costs are not zeros agreeing.
    expect(priced).toBeGreaterThan(500)
  })

  it('prices each component in the tier the input tokens pass', () => {
    const usage = { inputTokens: 300_000, outputTokens: 1000, cacheReadTokens: 100_000, cacheWriteTokens: 10_000, cacheWrite1hTokens: 1000, reasoningTokens: 400 }
    // Above 271,999 input tokens the input price is that tier's and every other price the base
    // price (not the 200k tier's); above 200,000 every price is the 200k tier's.
    expect(usageCost(USAGE_PRICES, 'tiered', usage)).toBe(1_701_000 + 30_000 + 37_500 + 6000 + 9000 + 8000)
    expect(usageCost(USAGE_PRICES, 'tiered', { ...usage, inputTokens: 250_000 })).toBe(
      834_000 + 60_000 + 75_000 + 12_000 + 13_500 + 8000,
    )
    // Without a reasoning price the output is one component, floored once.
    // (0.15 micros a token: 1.5 floors to 1, where two halves of 0.75 would floor to 0.)
    expect(usageCost(USAGE_PRICES, 'fractional-output', { inputTokens: 0, outputTokens: 10, reasoningTokens: 5 })).toBe(1)
    // Cache reads and writes at the input price, 1-hour writes at the cache-write price.
    expect(usageCost(USAGE_PRICES, 'input-and-output', { inputTokens: 8, outputTokens: 0, cacheReadTokens: 4, cacheWriteTokens: 4 })).toBe(5 + 5)
    expect(usageCost(USAGE_PRICES, 'write-without-1h', { inputTokens: 8, outputTokens: 0, cacheWrite1hTokens: 8 })).toBe(10)
    expect(usageCost(USAGE_PRICES, 'broken-tier', { inputTokens: 1000, outputTokens: 0 })).toBe(0)
  })

  it('adds the cache and reasoning parts to the totals, the model, the provider, the agent and the event', () => {
    const store = new BaselineEventStore(10)
    const prices = loadPricing()
    const usage = { inputTokens: 1000, outputTokens: 100, cacheReadTokens: 600, cacheWriteTokens: 100, cacheWrite1hTokens: 50, reasoningTokens: 30 }
    store.recordLlmUsage(prices, 'claude-sonnet-4-5', usage, { agentId: 'agent-a', providerId: 'anthropic-primary' })
    store.recordLlmUsage(prices, 'claude-sonnet-4-5', { inputTokens: 10, outputTokens: 5 }, { agentId: null })
    const cost = PricingManager.fromJson(JSON.stringify(prices)).costMicros('claude-sonnet-4-5', usage)
    const plainCost = 30 + 75
    const parts = { cacheReadTokens: 600, cacheWriteTokens: 100, cacheWrite1hTokens: 50, reasoningTokens: 30 }
    const stats = store.stats()
    expect(stats).toMatchObject({
      totalRequests: 2,
      totalInputTokens: 1010,
      totalOutputTokens: 105,
      totalCacheReadTokens: 600,
      totalCacheWriteTokens: 100,
      totalCacheWrite1hTokens: 50,
      totalReasoningTokens: 30,
      totalCostMicros: cost + plainCost,
    })
    const both = { requestCount: 2, inputTokens: 1010, outputTokens: 105, failedRequests: 0, ...parts, costMicros: cost + plainCost }
    expect(stats.byModel['claude-sonnet-4-5']).toEqual({ ...both, provider: 'anthropic' })
    expect(stats.byProvider.anthropic).toEqual(both)
    expect({ ...stats.byAgent }).toEqual({
      'agent-a': { requestCount: 1, inputTokens: 1000, outputTokens: 100, failedRequests: 0, ...parts, costMicros: cost },
    })
    const [first, second] = store.snapshotEvents()
    expect(first).toMatchObject({ type: 'llm_request_completed', agentId: 'agent-a', providerId: 'anthropic-primary', ...usage, costMicros: cost })
    expect(second).toMatchObject({ agentId: undefined, providerId: undefined, ...NO_PARTS, costMicros: plainCost })
  })

  const refusals: [string, unknown, unknown, ErrorConstructor, string][] = [
    ['a missing usage', undefined, undefined, TypeError, 'usage must be an object'],
    ['an array as usage', [1, 2], undefined, TypeError, 'usage must be an object'],
    ['negative cache reads', { inputTokens: 10, outputTokens: 0, cacheReadTokens: -1 }, undefined, RangeError, 'usage.cacheReadTokens must be a non-negative safe integer, got -1'],
    ['fractional cache writes', { inputTokens: 10, outputTokens: 0, cacheWriteTokens: 1.5 }, undefined, RangeError, 'usage.cacheWriteTokens'],
    ['1-hour writes as a string', { inputTokens: 10, outputTokens: 0, cacheWrite1hTokens: '1' }, undefined, TypeError, 'usage.cacheWrite1hTokens must be a number'],
    ['reasoning above 2^53-1', { inputTokens: 10, outputTokens: 0, reasoningTokens: 2 ** 53 }, undefined, RangeError, 'usage.reasoningTokens'],
    ['missing input tokens', { outputTokens: 0 }, undefined, TypeError, 'usage.inputTokens must be a number'],
    ['cache parts above the input', { inputTokens: 10, outputTokens: 0, cacheReadTokens: 6, cacheWriteTokens: 3, cacheWrite1hTokens: 2 }, undefined, RangeError, 'must not exceed inputTokens (10)'],
    ['reasoning above the output', { inputTokens: 10, outputTokens: 4, reasoningTokens: 5 }, undefined, RangeError, 'usage.reasoningTokens (5) must not exceed outputTokens (4)'],
    ['options as a number', { inputTokens: 10, outputTokens: 4 }, 5, TypeError, 'options must be an object'],
    ['an agent id over 256 characters', { inputTokens: 10, outputTokens: 4 }, { agentId: 'a'.repeat(257) }, RangeError, 'options.agentId'],
    ['a numeric provider id', { inputTokens: 10, outputTokens: 4 }, { providerId: 7 }, TypeError, 'options.providerId'],
    ['a cost above 2^53-1 micros', { inputTokens: 2 ** 53 - 1, outputTokens: 2 ** 53 - 1 }, undefined, RangeError, 'Number.MAX_SAFE_INTEGER'],
  ]
  for (const [what, usage, options, errorClass, message] of refusals) {
    it(`refuses ${what} and records nothing`, () => {
      const store = new BaselineEventStore(10)
      expect(() => store.recordLlmUsage(USAGE_PRICES, 'tiered', usage as LlmUsage, options as RecordOptions)).toThrow(errorClass)
      expect(() => store.recordLlmUsage(USAGE_PRICES, 'tiered', usage as LlmUsage, options as RecordOptions)).toThrow(message)
      expect(store.len()).toBe(0)
      expect(store.stats().totalRequests).toBe(0)
    })
  }
})

describe('benchmark arguments and the prom-client contender', () => {
  it('rotate realistic arguments of one shape', () => {
    expect(ARGS).toHaveLength(4096)
    const withAgent = ARGS.filter((a) => a.agentId !== undefined).length / ARGS.length
    const withProvider = ARGS.filter((a) => a.providerId !== undefined).length / ARGS.length
    expect(withAgent).toBeGreaterThan(0.4)
    expect(withAgent).toBeLessThan(0.6)
    expect(withProvider).toBeGreaterThan(0.4)
    expect(withProvider).toBeLessThan(0.6)
    expect(new Set(ARGS.map((a) => a.model)).size).toBe(8)
    expect(new Set(generateArgs({ models: TWENTY_MODELS }).map((a) => a.model)).size).toBe(20)
    for (const a of ARGS) expect(Object.keys(a)).toEqual(['model', 'inputTokens', 'outputTokens', 'agentId', 'providerId'])
  })

  it('prom-client counts the same figures as the pure-JS store', async () => {
    const prices = loadPricing()
    const store = new BaselineEventStore(ARGS.length)
    const recorder = new PromRecorder()
    for (const a of ARGS) {
      store.recordLlmCompleted(prices, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
      recorder.recordLlmCompleted(prices, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
    }
    const sum = async (counter: PromRecorder['requests']) =>
      (await counter.get()).values.reduce((total, v) => total + v.value, 0)
    const stats = store.stats()
    expect(await sum(recorder.requests)).toBe(stats.totalRequests)
    expect(await sum(recorder.inputTokens)).toBe(stats.totalInputTokens)
    expect(await sum(recorder.outputTokens)).toBe(stats.totalOutputTokens)
    expect(await sum(recorder.costMicros)).toBe(stats.totalCostMicros)
    const costs = (await recorder.costMicros.get()).values
    expect(costs.find((v) => v.labels.model === 'llama-3-70b')?.labels.provider).toBe('unknown')
  })
})
