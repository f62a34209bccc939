// SPEC sections 4 and 10: the cost rule against two references, the JavaScript hot-path rule
// against the native one, name resolution and provider inference for the names routers use.
//
// 1. The default table against @pydantic/genai-prices' calcPrice, pricing from the table's source
//    (the committed genai-prices snapshot, loaded into it), on a corpus of calls: cached,
//    cache-written (5-minute and 1-hour), reasoning, below, at and above every tier, for every
//    model of every provider. Ours floors each component, the source does not: ours is never above
//    it and at most one micro per component below.
// 2. LiteLLM-format tables written here against the rule computed by hand (BigInt, straight from
//    the JSON fields), including the four calls of the issue.
// 3. usageCostMicros (what recording computes) equals pricing.costMicros on all of those calls and
//    on random ones.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { calcPrice } from '@pydantic/genai-prices'
import { describe, expect, it } from 'vitest'
import { EventStore, PricingManager, inferProvider } from '../lib/index'
import { usageCostMicros } from '../lib/pricing'
import { checkUsage, type CheckedUsage, type LlmUsage } from '../lib/usage'
import { loadSnapshot } from '../scripts/genai-prices-snapshot.mjs'

type Entry = Record<string, number | string>

const root = join(__dirname, '..')
const table = JSON.parse(readFileSync(join(root, 'pricing', 'model_prices.json'), 'utf8')) as Record<string, Entry>
const { pricesInEffect, version } = JSON.parse(readFileSync(join(root, 'pricing', 'source.json'), 'utf8'))
// calcPrice prices from the data the table was generated from, not the library's bundled data.
const snapshot = await loadSnapshot()
const overridden = new Set(Object.keys(JSON.parse(readFileSync(join(root, 'pricing', 'overrides.json'), 'utf8'))))
// The generator takes the prices in force at noon UTC on that day (daily windows cannot be stored).
const generatedAt = new Date(`${pricesInEffect}T12:00:00Z`)
const pricing = new PricingManager()

/** Full usage with absent parts as 0. */
const full = (usage: LlmUsage): CheckedUsage => checkUsage('usage', usage)

/** The input tokens above which each tier of an entry applies, ascending. */
function thresholds(entry: Entry): number[] {
  const found = new Set<number>()
  for (const field of Object.keys(entry)) {
    const match = /_above_(\d+(?:\.\d+)?)k_tokens$/.exec(field)
    if (match) found.add(Math.round(Number(match[1]) * 1000))
  }
  return [...found].sort((a, b) => a - b)
}

/** Calls that exercise every component, below, at and above each tier of `entry`. */
function callsFor(entry: Entry): LlmUsage[] {
  const calls: LlmUsage[] = [
    { inputTokens: 1_234, outputTokens: 567 },
    { inputTokens: 10_000, outputTokens: 500, cacheReadTokens: 8_000 },
    { inputTokens: 37_000, outputTokens: 800, cacheReadTokens: 30_000, cacheWriteTokens: 5_000 },
    { inputTokens: 20_000, outputTokens: 1_000, cacheReadTokens: 1_000, cacheWriteTokens: 3_000, cacheWrite1hTokens: 2_000 },
    { inputTokens: 4_321, outputTokens: 3_000, reasoningTokens: 2_000 },
    { inputTokens: 7, outputTokens: 3, cacheReadTokens: 3, cacheWriteTokens: 1, cacheWrite1hTokens: 1, reasoningTokens: 1 },
  ]
  for (const above of thresholds(entry)) {
    for (const inputTokens of [above, above + 1, above * 2 + 345]) {
      calls.push(
        { inputTokens, outputTokens: 1_000 },
        {
          inputTokens,
          outputTokens: 2_500,
          cacheReadTokens: Math.floor(inputTokens / 2),
          cacheWriteTokens: Math.floor(inputTokens / 8),
          cacheWrite1hTokens: Math.floor(inputTokens / 16),
          reasoningTokens: 1_500,
        },
      )
    }
  }
  return calls
}

/** Every model of the default table, of every provider. */
const corpusModels = Object.keys(table)

function genaiUsage(usage: CheckedUsage): Record<string, number> {
  // genai-prices counts every cache write in cache_write_tokens, of which cache_write_1h_tokens.
  return {
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    cache_read_tokens: usage.cacheReadTokens,
    cache_write_tokens: usage.cacheWriteTokens + usage.cacheWrite1hTokens,
    cache_write_1h_tokens: usage.cacheWrite1hTokens,
    output_reasoning_tokens: usage.reasoningTokens,
  }
}

/** Components with tokens in them: the most flooring can take off. */
function components(usage: CheckedUsage): number {
  const uncached = usage.inputTokens - usage.cacheReadTokens - usage.cacheWriteTokens - usage.cacheWrite1hTokens
  return [uncached, usage.cacheReadTokens, usage.cacheWriteTokens, usage.cacheWrite1hTokens, usage.outputTokens, usage.reasoningTokens].filter(
    (tokens) => tokens > 0,
  ).length
}

/** A source price the table had to round (a sub-micro price per million) cannot match to the micro. */
function wholeMicros(modelPrice: Record<string, unknown>): boolean {
  const prices = Object.values(modelPrice).flatMap((rate) =>
    typeof rate === 'object' && rate !== null ? [(rate as { base: number }).base, ...(rate as { tiers: { price: number }[] }).tiers.map((tier) => tier.price)] : [rate as number],
  )
  return prices.every((price) => Math.abs(price * 1e6 - Math.round(price * 1e6)) < 1e-6)
}

describe('the default table against genai-prices', () => {
  it('compares with the data the table was generated from', () => {
    expect(snapshot.version).toBe(version)
    const reference = calcPrice({ input_tokens: 1_000_000 }, 'claude-sonnet-5-5', { providerId: 'anthropic', timestamp: generatedAt })
    expect(reference?.model.id).toBe('claude-sonnet-5-5')
  })

  it('costs every corpus call within one micro per component of calcPrice, never above it', () => {
    let calls = 0
    let rounded = 0
    const roundedModels = new Set<string>()
    let largest = 0
    let largestPerComponent = 0
    const providers = new Set<string>()
    for (const name of corpusModels) {
      const entry = table[name]
      // Overridden names are not the source's: the rule by hand below covers them.
      if (overridden.has(name)) continue
      for (const call of callsFor(entry)) {
        const usage = full(call)
        const reference = calcPrice(genaiUsage(usage), name, { providerId: entry.litellm_provider as string, timestamp: generatedAt })
        expect(reference, name).not.toBeNull()
        if (!wholeMicros(reference!.model_price)) {
          rounded += 1
          roundedModels.add(name)
          continue
        }
        const referenceMicros = (reference!.input_price + reference!.output_price) * 1e6
        const ours = pricing.costMicros(name, call)
        const below = referenceMicros - ours
        const context = `${name} ${JSON.stringify(call)}: ours ${ours}, genai-prices ${referenceMicros}`
        expect(below, context).toBeGreaterThan(-1e-6 * Math.max(1, referenceMicros))
        expect(below, context).toBeLessThan(components(usage) + 1e-6 * Math.max(1, referenceMicros))
        largest = Math.max(largest, Math.abs(below))
        largestPerComponent = Math.max(largestPerComponent, Math.abs(below) / components(usage))
        providers.add(entry.litellm_provider as string)
        calls += 1
      }
    }
    expect(calls).toBeGreaterThan(10_000)
    expect(providers.size).toBeGreaterThan(30)
    expect(largestPerComponent).toBeLessThan(1)
    // A handful of OpenRouter cache-write prices of 1/12 or 1/24 of a dollar per million tokens.
    expect(roundedModels.size).toBeLessThan(30)
    console.info(
      `genai-prices corpus: ${calls} calls over ${corpusModels.length} models of ${providers.size} providers ` +
        `(${rounded} skipped, of ${roundedModels.size} models: sub-micro source prices); largest difference ${largest.toFixed(6)} micros, ` +
        `${largestPerComponent.toFixed(6)} per component`,
    )
  })
})

/** Section 10 by hand, in BigInt, straight from an entry's LiteLLM fields. */
function byHand(entry: Entry, usage: CheckedUsage): bigint {
  const price = (field: string): number | undefined => (typeof entry[field] === 'number' ? (entry[field] as number) : undefined)
  const tier = thresholds(entry)
    .filter((above) => usage.inputTokens > above)
    .pop()
  const inTier = (field: string): number | undefined => {
    if (tier === undefined) return price(field)
    const name = `${field}_above_${tier % 1000 === 0 ? tier / 1000 : (tier / 1000).toFixed(3).replace(/0+$/, '')}k_tokens`
    return price(name) ?? price(field)
  }
  const input = inTier('input_cost_per_token') ?? 0
  const output = inTier('output_cost_per_token') ?? 0
  const cacheRead = inTier('cache_read_input_token_cost') ?? input
  const cacheWrite = inTier('cache_creation_input_token_cost') ?? input
  const cacheWrite1h = inTier('cache_creation_input_token_cost_above_1hr') ?? cacheWrite
  const reasoning = price('output_cost_per_reasoning_token')
  const part = (tokens: number, usdPerToken: number) => (BigInt(tokens) * BigInt(Math.round(usdPerToken * 1e12))) / 1_000_000n
  const uncached = usage.inputTokens - usage.cacheReadTokens - usage.cacheWriteTokens - usage.cacheWrite1hTokens
  const outputCost =
    reasoning === undefined
      ? part(usage.outputTokens, output)
      : part(usage.outputTokens - usage.reasoningTokens, output) + part(usage.reasoningTokens, reasoning)
  return (
    part(uncached, input) +
    part(usage.cacheReadTokens, cacheRead) +
    part(usage.cacheWriteTokens, cacheWrite) +
    part(usage.cacheWrite1hTokens, cacheWrite1h) +
    outputCost
  )
}

// Entries shaped as LiteLLM's own file states these models.
const LITELLM: Record<string, Entry> = {
  'gpt-4o': {
    input_cost_per_token: 2.5e-6,
    output_cost_per_token: 1e-5,
    cache_read_input_token_cost: 1.25e-6,
    litellm_provider: 'openai',
    max_output_tokens: 16_384,
  },
  'claude-sonnet-4-5': {
    input_cost_per_token: 3e-6,
    output_cost_per_token: 1.5e-5,
    cache_read_input_token_cost: 3e-7,
    cache_creation_input_token_cost: 3.75e-6,
    cache_creation_input_token_cost_above_1hr: 6e-6,
    input_cost_per_token_above_200k_tokens: 6e-6,
    output_cost_per_token_above_200k_tokens: 2.25e-5,
    cache_read_input_token_cost_above_200k_tokens: 6e-7,
    cache_creation_input_token_cost_above_200k_tokens: 7.5e-6,
    cache_creation_input_token_cost_above_1hr_above_200k_tokens: 1.2e-5,
    litellm_provider: 'anthropic',
    max_output_tokens: 64_000,
  },
  'gpt-5.4': {
    input_cost_per_token: 2.5e-6,
    output_cost_per_token: 1.5e-5,
    cache_read_input_token_cost: 2.5e-7,
    input_cost_per_token_above_272k_tokens: 5e-6,
    output_cost_per_token_above_272k_tokens: 2.25e-5,
    cache_read_input_token_cost_above_272k_tokens: 5e-7,
    litellm_provider: 'openai',
  },
  'gemini-2.5-pro': {
    input_cost_per_token: 1.25e-6,
    output_cost_per_token: 1e-5,
    output_cost_per_reasoning_token: 1e-5,
    cache_read_input_token_cost: 1.25e-7,
    input_cost_per_token_above_200k_tokens: 2.5e-6,
    output_cost_per_token_above_200k_tokens: 1.5e-5,
    litellm_provider: 'vertex_ai-language-models',
  },
  'o3-mini': {
    input_cost_per_token: 1.1e-6,
    output_cost_per_token: 4.4e-6,
    output_cost_per_reasoning_token: 8.8e-6,
    cache_read_input_token_cost: 5.5e-7,
    litellm_provider: 'openai',
  },
  'tiny-price': {
    input_cost_per_token: 1.5e-7,
    output_cost_per_token: 6e-7,
    cache_creation_input_token_cost: 1.7e-7,
    input_cost_per_token_above_128k_tokens: 3e-7,
    'input_cost_per_token_above_271.999k_tokens': 4e-7,
    'cache_read_input_token_cost_above_271.999k_tokens': 1e-8,
    litellm_provider: 'custom',
  },
  'claude-sonnet-latest': { alias_of: 'claude-sonnet-4-5', litellm_provider: 'anthropic' },
  sample_spec: { input_cost_per_token: 1, output_cost_per_token: 1 },
}
const litellm = PricingManager.fromJson(JSON.stringify(LITELLM))

describe('a LiteLLM-format table against the rule by hand', () => {
  it.each([
    ['gpt-4o, 10,000 prompt tokens of which 8,000 cached, 500 out', 'gpt-4o', { inputTokens: 10_000, cacheReadTokens: 8_000, outputTokens: 500 }, 20_000],
    [
      'claude-sonnet-4-5, 2,000 in + 30,000 cache read + 5,000 cache write, 800 out',
      'claude-sonnet-4-5',
      { inputTokens: 37_000, cacheReadTokens: 30_000, cacheWriteTokens: 5_000, outputTokens: 800 },
      45_750,
    ],
    ['claude-sonnet-4-5, 250,000 in, 1,000 out (200k tier)', 'claude-sonnet-4-5', { inputTokens: 250_000, outputTokens: 1_000 }, 1_522_500],
    ['gpt-5.4, 1,234,567 in, 50,000 out (272k tier)', 'gpt-5.4', { inputTokens: 1_234_567, outputTokens: 50_000 }, 7_297_835],
  ])('prices the issue call "%s" as the provider bills it', (_, model, usage, micros) => {
    expect(litellm.costMicros(model, usage)).toBe(micros)
    expect(byHand(LITELLM[model], full(usage))).toBe(BigInt(micros))
    // The default table, generated from genai-prices, bills the same.
    expect(pricing.costMicros(model, usage)).toBe(micros)
  })

  it('prices every corpus call of every entry exactly as the rule by hand', () => {
    let calls = 0
    for (const [name, entry] of Object.entries(LITELLM)) {
      if (typeof entry.alias_of === 'string' || name === 'sample_spec') continue
      for (const call of callsFor(entry)) {
        expect(BigInt(litellm.costMicros(name, call)), `${name} ${JSON.stringify(call)}`).toBe(byHand(entry, full(call)))
        calls += 1
      }
    }
    expect(calls).toBeGreaterThan(60)
  })

  it('prices the default table by hand too, model by model', () => {
    for (const name of corpusModels) {
      for (const call of callsFor(table[name])) {
        expect(BigInt(pricing.costMicros(name, call)), `${name} ${JSON.stringify(call)}`).toBe(byHand(table[name], full(call)))
      }
    }
  })

  it('exposes the fields, the fallbacks and the tiers on ModelPricing', () => {
    const sonnet = litellm.get('claude-sonnet-4-5')!
    expect(sonnet).toMatchObject({
      name: 'claude-sonnet-4-5',
      inputCostPerToken: 3e-6,
      cacheReadCostPerToken: 3e-7,
      cacheWriteCostPerToken: 3.75e-6,
      cacheWrite1hCostPerToken: 6e-6,
      reasoningCostPerToken: undefined,
      provider: 'anthropic',
      maxOutputTokens: 64_000,
    })
    expect(sonnet.tiers.map((tier) => [tier.aboveInputTokens, tier.inputCostPerToken, tier.cacheWrite1hCostPerToken])).toEqual([
      [0, 3e-6, 6e-6],
      [200_000, 6e-6, 1.2e-5],
    ])
    // No cache prices of its own: reads and writes at the (tier's) input price, 1-hour at the write price.
    const tiny = litellm.get('tiny-price')!
    expect([tiny.cacheReadCostPerToken, tiny.cacheWriteCostPerToken, tiny.cacheWrite1hCostPerToken]).toEqual([1.5e-7, 1.7e-7, 1.7e-7])
    expect(tiny.tiers.map((tier) => [tier.aboveInputTokens, tier.inputCostPerToken, tier.cacheReadCostPerToken])).toEqual([
      [0, 1.5e-7, 1.5e-7],
      [128_000, 3e-7, 3e-7],
      [271_999, 4e-7, 1e-8],
    ])
    expect(litellm.get('o3-mini')!.reasoningCostPerToken).toBe(8.8e-6)
    const usage = { inputTokens: 300_000, outputTokens: 10, cacheReadTokens: 100_000, cacheWriteTokens: 50_000, cacheWrite1hTokens: 50_000, reasoningTokens: 5 }
    for (const name of ['claude-sonnet-4-5', 'tiny-price', 'o3-mini', 'gemini-2.5-pro']) {
      expect(litellm.get(name)!.calculateUsageCostMicros(usage), name).toBe(litellm.costMicros(name, usage))
    }
    expect(sonnet.calculateCostMicros(250_000, 1_000)).toBe(1_522_500)
    expect(sonnet.calculateMaxCostMicros(250_000, 1_000)).toBe(1_522_500)
  })

  it('refuses a cost past Number.MAX_SAFE_INTEGER on every path, never saturating it', () => {
    const dear = PricingManager.fromJson(JSON.stringify({ dear: { input_cost_per_token: 1e-3, output_cost_per_token: 1e-3 } }))
    const huge = { inputTokens: Number.MAX_SAFE_INTEGER, outputTokens: Number.MAX_SAFE_INTEGER }
    expect(() => dear.costMicros('dear', huge)).toThrow(RangeError)
    expect(() => dear.costMicros('dear', huge)).toThrow(/usage/)
    expect(() => dear.get('dear')!.calculateUsageCostMicros(huge)).toThrow(/usage: the cost passes Number.MAX_SAFE_INTEGER/)
    expect(() => usageCostMicros(dear.pricedModel('dear').tiers, full(huge))).toThrow(RangeError)
    expect(() => dear.get('dear')!.calculateCostMicros(huge.inputTokens, 0)).toThrow(RangeError)
    // Exact just below the limit, with products far past 2^53 taken in BigInt.
    const cheap = PricingManager.fromJson(JSON.stringify({ cheap: { input_cost_per_token: 1e-6, output_cost_per_token: 0 } }))
    const most = { inputTokens: Number.MAX_SAFE_INTEGER, outputTokens: Number.MAX_SAFE_INTEGER }
    expect(cheap.costMicros('cheap', most)).toBe(Number.MAX_SAFE_INTEGER)
    expect(usageCostMicros(cheap.pricedModel('cheap').tiers, full(most))).toBe(Number.MAX_SAFE_INTEGER)
  })
})

describe('usageCostMicros, the recording rule, against the native rule', () => {
  /** A deterministic generator (mulberry32), so a failure reproduces. */
  function random(seed: number): () => number {
    let state = seed
    return () => {
      state = (state + 0x6d2b79f5) | 0
      let mixed = Math.imul(state ^ (state >>> 15), 1 | state)
      mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed
      return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296
    }
  }

  function randomUsage(next: () => number): CheckedUsage {
    const scale = [100, 10_000, 300_000, 2_000_000, 2 ** 40, Number.MAX_SAFE_INTEGER][Math.floor(next() * 6)]
    const inputTokens = Math.floor(next() * scale)
    const cacheReadTokens = Math.floor(next() * (inputTokens + 1))
    const cacheWriteTokens = Math.floor(next() * (inputTokens - cacheReadTokens + 1))
    const cacheWrite1hTokens = Math.floor(next() * (inputTokens - cacheReadTokens - cacheWriteTokens + 1))
    const outputTokens = Math.floor(next() * scale)
    const reasoningTokens = Math.floor(next() * (outputTokens + 1))
    return full({ inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, cacheWrite1hTokens, reasoningTokens })
  }

  function nativeOrRefused(manager: PricingManager, model: string, usage: CheckedUsage): number | 'refused' {
    try {
      return manager.costMicros(model, usage)
    } catch (error) {
      expect(error).toBeInstanceOf(RangeError)
      return 'refused'
    }
  }

  function jsOrRefused(manager: PricingManager, model: string, usage: CheckedUsage): number | 'refused' {
    try {
      return usageCostMicros(manager.pricedModel(model).tiers, usage)
    } catch (error) {
      expect(error).toBeInstanceOf(RangeError)
      return 'refused'
    }
  }

  it('agrees on the whole corpus, both tables', () => {
    let calls = 0
    for (const [manager, names] of [
      [pricing, corpusModels],
      [litellm, Object.keys(LITELLM)],
    ] as const) {
      for (const name of names) {
        for (const call of callsFor(table[name] ?? LITELLM[name])) {
          const usage = full(call)
          expect(usageCostMicros(manager.pricedModel(name).tiers, usage), `${name} ${JSON.stringify(call)}`).toBe(manager.costMicros(name, usage))
          calls += 1
        }
      }
    }
    expect(calls).toBeGreaterThan(5_000)
  })

  it('agrees on random usages of every size, refusing the same ones', () => {
    const next = random(20_261_201)
    const names = [...corpusModels.filter((_, index) => index % 5 === 0), 'not-priced-anywhere']
    let refused = 0
    for (let round = 0; round < 20_000; round += 1) {
      const name = names[Math.floor(next() * names.length)]
      const usage = randomUsage(next)
      const native = nativeOrRefused(pricing, name, usage)
      expect(jsOrRefused(pricing, name, usage), `${name} ${JSON.stringify(usage)}`).toBe(native)
      if (native === 'refused') refused += 1
    }
    expect(refused).toBeGreaterThan(0)
  })

  it('floors exactly where the quotient is closest to the next integer, near 2^53', () => {
    // 999,999 micros per million: t tokens cost t - t/1e6, whose fraction is 0.999999 when
    // t = 1 (mod 1e6), the closest a quotient of integers by 1e6 gets to the integer above.
    const edge = PricingManager.fromJson(JSON.stringify({ edge: { input_cost_per_token: 9.99999e-7, output_cost_per_token: 0 } }))
    const tiers = edge.pricedModel('edge').tiers
    let checked = 0
    for (const base of [9_007_000_000, 9_000_000_000, 8_590_000_000, 4_503_000_000, 1_000_000]) {
      for (let inputTokens = base; inputTokens <= base + 1_000_001; inputTokens += inputTokens % 1_000_000 === 2 ? 999_998 : 1) {
        const usage = full({ inputTokens, outputTokens: 0 })
        const exact = Number((BigInt(inputTokens) * 999_999n) / 1_000_000n)
        expect(usageCostMicros(tiers, usage), String(inputTokens)).toBe(exact)
        expect(edge.costMicros('edge', usage), String(inputTokens)).toBe(exact)
        checked += 1
      }
    }
    expect(checked).toBe(25)
  })

  it('lays the tiers out as priceTierLayout says, every fallback applied', () => {
    const tiers = litellm.pricedModel('tiny-price').tiers
    expect([...tiers]).toEqual([
      [0, 150_000, 600_000, 150_000, 170_000, 170_000, -1],
      [128_000, 300_000, 600_000, 300_000, 170_000, 170_000, -1],
      [271_999, 400_000, 600_000, 10_000, 170_000, 170_000, -1],
    ].flat())
    expect([...litellm.pricedModel('o3-mini').tiers]).toEqual([0, 1_100_000, 4_400_000, 550_000, 1_100_000, 1_100_000, 8_800_000])
    expect(litellm.pricedModel('nothing-prices-this').tiers).toHaveLength(0)
    expect(litellm.pricedModel('nothing-prices-this').resolved).toBeUndefined()
    expect(litellm.pricedModel('Claude-Sonnet-Latest').resolved).toBe('claude-sonnet-4-5')
  })
})

describe('name resolution (SPEC section 4)', () => {
  it.each([
    ['gpt-4o', 'gpt-4o'],
    ['openai/gpt-4o', 'gpt-4o'],
    ['anthropic/claude-sonnet-4-5', 'claude-sonnet-4-5'],
    ['GPT-4o', 'gpt-4o'],
    ['Claude-Sonnet-4-5', 'claude-sonnet-4-5'],
    ['OpenAI/GPT-4O', 'gpt-4o'],
    ['o1', 'o1'],
    ['o3', 'o3'],
    ['o4-mini', 'o4-mini'],
  ])('the default table prices %s as %s', (model, entry) => {
    expect(pricing.resolve(model)).toBe(entry)
    expect(pricing.get(model)?.name).toBe(entry)
    const usage = { inputTokens: 10_000, outputTokens: 500, cacheReadTokens: 8_000 }
    expect(pricing.costMicros(model, usage)).toBe(pricing.costMicros(entry, usage))
    expect(pricing.costMicros(model, usage)).toBeGreaterThan(0)
  })

  it('resolves claude-sonnet-latest through an alias_of entry, which prices as its target', () => {
    // The default table has no claude-sonnet-latest: its source does not list one.
    expect(pricing.resolve('claude-sonnet-latest')).toBeUndefined()
    expect(litellm.resolve('claude-sonnet-latest')).toBe('claude-sonnet-4-5')
    expect(litellm.resolve('anthropic/Claude-Sonnet-Latest')).toBe('claude-sonnet-4-5')
    expect(litellm.models()).toContain('claude-sonnet-latest')
    expect(litellm.models()).not.toContain('sample_spec')
    const usage = { inputTokens: 37_000, cacheReadTokens: 30_000, cacheWriteTokens: 5_000, outputTokens: 800 }
    expect(litellm.costMicros('claude-sonnet-latest', usage)).toBe(45_750)
    expect(litellm.get('claude-sonnet-latest')?.name).toBe('claude-sonnet-4-5')
  })

  it('leaves an unknown model unpriced: cost 0, resolve undefined', () => {
    for (const model of ['my-local-llama', 'openai/', 'gpt-4o/', 'sample_spec']) {
      expect(litellm.resolve(model), model).toBeUndefined()
      expect(litellm.costMicros(model, { inputTokens: 100, outputTokens: 100 }), model).toBe(0)
    }
  })

  it('swaps resolutions with the table on loadJson', () => {
    const manager = PricingManager.fromJson(JSON.stringify(LITELLM))
    expect(manager.resolve('OPENAI/gpt-4o')).toBe('gpt-4o')
    expect(manager.pricedModel('OPENAI/gpt-4o').resolved).toBe('gpt-4o')
    manager.loadJson(JSON.stringify({ 'GPT-4o': { input_cost_per_token: 1e-6, output_cost_per_token: 1e-6 } }))
    expect(manager.resolve('OPENAI/gpt-4o')).toBe('GPT-4o')
    expect(manager.pricedModel('OPENAI/gpt-4o').resolved).toBe('GPT-4o')
    expect(manager.resolve('claude-sonnet-4-5')).toBeUndefined()
  })
})

describe('provider inference for the names routers use (SPEC section 4)', () => {
  it.each([
    ['o1', 'openai'],
    ['o3', 'openai'],
    ['o4-mini', 'openai'],
    ['o3-pro', 'openai'],
    ['openai/gpt-4o', 'openai'],
    ['azure/gpt-4o', 'openai'],
    ['GPT-4o', 'openai'],
    ['anthropic/claude-sonnet-4-5', 'anthropic'],
    ['Claude-Sonnet-4-5', 'anthropic'],
    ['claude-sonnet-latest', 'anthropic'],
    ['bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0', 'anthropic'],
    ['us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'anthropic'],
    ['eu.anthropic.claude-3-7-sonnet-20250219-v1:0', 'anthropic'],
    ['apac.anthropic.claude-sonnet-4-20250514-v1:0', 'anthropic'],
    ['vertex_ai/claude-sonnet-4-5@20250929', 'anthropic'],
    ['vertex_ai/gemini-2.5-pro', 'unknown'],
    ['bedrock/amazon.nova-pro-v1:0', 'unknown'],
    ['gemini-2.5-pro', 'unknown'],
    ['omni-model', 'unknown'],
  ])('%s -> %s', (model, provider) => {
    expect(inferProvider(model)).toBe(provider)
    const store = new EventStore(4)
    store.recordLlmCompleted(pricing, model, 1, 1)
    expect(Object.keys(store.stats().byProvider)).toEqual([provider])
  })
})
