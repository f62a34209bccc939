import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, expect } from 'vitest'

interface PriceEntry {
  input_cost_per_token: number
  output_cost_per_token: number
  litellm_provider: string
  mode: string
  [field: string]: number | string
}

const root = join(__dirname, '..')
const tablePath = join(root, 'pricing', 'model_prices.json')
const table = JSON.parse(readFileSync(tablePath, 'utf8')) as Record<string, PriceEntry>
const required = readFileSync(join(root, 'pricing', 'required-models.txt'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'))

// The runtime's conversion: micros per million tokens = round(usdPerToken * 1e12).
const micros = (usdPerToken: number) => Math.round(usdPerToken * 1e12)

describe('default pricing table', () => {
  it('prices every required model under its exact name', () => {
    expect(required).toHaveLength(126)
    const unpriced = required.filter((name) => {
      const entry = table[name]
      return entry === undefined || !(entry.input_cost_per_token > 0 && entry.output_cost_per_token > 0)
    })
    expect(unpriced).toEqual([])
  })

  it.each([
    ['gpt-4o-mini', 150_000, 600_000],
    ['gpt-4o', 2_500_000, 10_000_000],
    ['claude-3-5-sonnet-20241022', 3_000_000, 15_000_000],
    ['claude-3-haiku-20240307', 250_000, 1_250_000],
    // Dated price sets: o3's June 2025 cut applies, not its launch price.
    ['o3', 2_000_000, 8_000_000],
    ['claude-sonnet-4-5-20250929', 3_000_000, 15_000_000],
    ['ft:gpt-4o-2024-08-06', 3_750_000, 15_000_000],
    // From pricing/overrides.json.
    ['ft:gpt-4.1-2025-04-14', 3_000_000, 12_000_000],
    ['gemini-2.5-pro', 1_250_000, 10_000_000],
    ['mistral-large-latest', 2_000_000, 6_000_000],
    // DeepSeek's off-peak discount is a daily window: the table holds the noon (UTC) price.
    ['deepseek-chat', 270_000, 1_100_000],
    ['grok-4', 3_000_000, 15_000_000],
    // New in genai-prices 0.2.
    ['claude-sonnet-5-5', 2_000_000, 10_000_000],
    ['claude-haiku-5-5', 100_000, 500_000],
    ['gpt-6.1-sol', 2_000_000, 10_000_000],
  ])('pins the list price of %s', (name, inputPerMillion, outputPerMillion) => {
    const entry = table[name]
    expect(micros(entry.input_cost_per_token)).toBe(inputPerMillion)
    expect(micros(entry.output_cost_per_token)).toBe(outputPerMillion)
  })

  it.each([
    ['gpt-4o', { cache_read_input_token_cost: 1_250_000 }],
    [
      'claude-sonnet-4-5',
      {
        cache_read_input_token_cost: 300_000,
        cache_creation_input_token_cost: 3_750_000,
        cache_creation_input_token_cost_above_1hr: 6_000_000,
        input_cost_per_token_above_200k_tokens: 6_000_000,
        output_cost_per_token_above_200k_tokens: 22_500_000,
        cache_read_input_token_cost_above_200k_tokens: 600_000,
        cache_creation_input_token_cost_above_200k_tokens: 7_500_000,
        cache_creation_input_token_cost_above_1hr_above_200k_tokens: 12_000_000,
      },
    ],
    [
      'claude-haiku-4-5',
      { cache_read_input_token_cost: 100_000, cache_creation_input_token_cost: 1_250_000, cache_creation_input_token_cost_above_1hr: 2_000_000 },
    ],
    [
      'gpt-5.4',
      {
        cache_read_input_token_cost: 250_000,
        input_cost_per_token_above_272k_tokens: 5_000_000,
        output_cost_per_token_above_272k_tokens: 22_500_000,
        cache_read_input_token_cost_above_272k_tokens: 500_000,
      },
    ],
    // The source's tier starts above 199,999 input tokens: LiteLLM's N may have decimals.
    [
      'grok-4.20',
      {
        cache_read_input_token_cost: 200_000,
        'input_cost_per_token_above_199.999k_tokens': 2_500_000,
        'output_cost_per_token_above_199.999k_tokens': 5_000_000,
        'cache_read_input_token_cost_above_199.999k_tokens': 400_000,
      },
    ],
    [
      'claude-sonnet-5-5',
      { cache_read_input_token_cost: 100_000, cache_creation_input_token_cost: 2_500_000, cache_creation_input_token_cost_above_1hr: 4_000_000 },
    ],
    [
      'claude-haiku-5-5',
      {
        cache_read_input_token_cost: 10_000,
        cache_creation_input_token_cost: 125_000,
        cache_creation_input_token_cost_above_1hr: 200_000,
        input_cost_per_token_above_100k_tokens: 500_000,
        output_cost_per_token_above_100k_tokens: 2_500_000,
        cache_read_input_token_cost_above_100k_tokens: 50_000,
        cache_creation_input_token_cost_above_100k_tokens: 625_000,
        cache_creation_input_token_cost_above_1hr_above_100k_tokens: 1_000_000,
      },
    ],
    [
      'gpt-6.1-sol',
      {
        cache_read_input_token_cost: 100_000,
        cache_creation_input_token_cost: 2_500_000,
        input_cost_per_token_above_272k_tokens: 4_000_000,
        output_cost_per_token_above_272k_tokens: 15_000_000,
        cache_read_input_token_cost_above_272k_tokens: 200_000,
        cache_creation_input_token_cost_above_272k_tokens: 5_000_000,
      },
    ],
    [
      'gemini-2.5-pro',
      {
        cache_read_input_token_cost: 125_000,
        input_cost_per_token_above_200k_tokens: 2_500_000,
        output_cost_per_token_above_200k_tokens: 15_000_000,
        cache_read_input_token_cost_above_200k_tokens: 250_000,
      },
    ],
  ])('pins the cache and tier prices of %s', (name, prices) => {
    const entry = table[name]
    const stated = Object.fromEntries(
      Object.keys(entry)
        .filter((field) => field in prices)
        .map((field) => [field, micros(entry[field] as number)]),
    )
    expect(stated).toEqual(prices)
    const tiered = Object.keys(entry).filter((field) => /_above_[\d.]+k_tokens$/.test(field))
    expect(tiered.sort()).toEqual(Object.keys(prices).filter((field) => /_above_[\d.]+k_tokens$/.test(field)).sort())
  })

  it('covers the providers the source prices, each model under its own vendor', () => {
    const providers = new Set(Object.values(table).map((entry) => entry.litellm_provider))
    for (const provider of ['openai', 'anthropic', 'google', 'mistral', 'deepseek', 'x-ai']) expect(providers).toContain(provider)
    // gpt-4o is also listed by resellers (Azure, GitHub Copilot); its own vendor's price is kept.
    expect(table['gpt-4o'].litellm_provider).toBe('openai')
    expect(table['claude-sonnet-4-5'].litellm_provider).toBe('anthropic')
    for (const name of ['claude-sonnet-5-5', 'claude-haiku-5-5']) expect(table[name].litellm_provider).toBe('anthropic')
    for (const name of ['gpt-6.1-sol', 'gpt-6.1-terra']) expect(table[name].litellm_provider).toBe('openai')
    expect(Object.keys(table).length).toBeGreaterThan(2300)
  })

  it('has no sample_spec entry', () => {
    expect(Object.keys(table)).not.toContain('sample_spec')
  })

  it('holds non-negative whole-micro prices for chat models only', () => {
    for (const [name, entry] of Object.entries(table)) {
      const prices = Object.entries(entry).filter(([field]) => field !== 'litellm_provider' && field !== 'mode')
      expect(prices.length, name).toBeGreaterThanOrEqual(2)
      for (const [field, cost] of prices) {
        expect(field, name).toMatch(
          /^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|cache_creation_input_token_cost(_above_1hr)?|output_cost_per_reasoning_token)(_above_\d+(\.\d{1,3})?k_tokens)?$/,
        )
        expect(typeof cost, `${name} ${field}`).toBe('number')
        expect(cost as number, `${name} ${field}`).toBeGreaterThanOrEqual(0)
        expect(Math.abs((cost as number) * 1e12 - micros(cost as number)), `${name} ${field}`).toBeLessThan(1e-6)
      }
      expect(typeof entry.litellm_provider, name).toBe('string')
      expect(entry.mode, name).toBe('chat')
    }
  })

  it('is exactly what the generator produces from the committed genai-prices snapshot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pricing-'))
    try {
      const out = join(dir, 'model_prices.json')
      // The day the table was generated, so a dated price change in the source cannot fail this later.
      const { pricesInEffect } = JSON.parse(readFileSync(join(root, 'pricing', 'source.json'), 'utf8'))
      execFileSync(process.execPath, [join(root, 'scripts', 'update-pricing.mjs'), '--out', out, '--as-of', pricesInEffect], {
        stdio: 'pipe',
      })
      expect(readFileSync(out, 'utf8')).toBe(readFileSync(tablePath, 'utf8'))
      expect(readFileSync(join(dir, 'source.json'), 'utf8')).toBe(readFileSync(join(root, 'pricing', 'source.json'), 'utf8'))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
