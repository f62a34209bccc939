import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, expect } from 'vitest'

interface PriceEntry {
  input_cost_per_token: number
  output_cost_per_token: number
  max_output_tokens?: number
  max_tokens?: number
  litellm_provider: string
  mode: string
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
    // Tiered prices: the base (standard context) tier applies.
    ['claude-sonnet-4-5-20250929', 3_000_000, 15_000_000],
    ['ft:gpt-4o-2024-08-06', 3_750_000, 15_000_000],
    // From pricing/overrides.json.
    ['ft:gpt-4.1-2025-04-14', 3_000_000, 12_000_000],
  ])('pins the list price of %s', (name, inputPerMillion, outputPerMillion) => {
    const entry = table[name]
    expect(micros(entry.input_cost_per_token)).toBe(inputPerMillion)
    expect(micros(entry.output_cost_per_token)).toBe(outputPerMillion)
  })

  it('has no sample_spec entry', () => {
    expect(Object.keys(table)).not.toContain('sample_spec')
  })

  it('holds non-negative whole-micro prices for OpenAI and Anthropic chat models only', () => {
    for (const [name, entry] of Object.entries(table)) {
      for (const cost of [entry.input_cost_per_token, entry.output_cost_per_token]) {
        expect(typeof cost, name).toBe('number')
        expect(cost, name).toBeGreaterThanOrEqual(0)
        expect(Math.abs(cost * 1e12 - micros(cost)), name).toBeLessThan(1e-6)
      }
      expect(['openai', 'anthropic'], name).toContain(entry.litellm_provider)
      expect(entry.mode, name).toBe('chat')
    }
  })

  it('is exactly what the generator produces from the installed source', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pricing-'))
    try {
      const out = join(dir, 'model_prices.json')
      // The day the table was generated, so a dated price change in the source cannot fail this later.
      const { pricesInEffect } = JSON.parse(readFileSync(join(root, 'pricing', 'source.json'), 'utf8'))
      execFileSync(process.execPath, [join(root, 'scripts', 'update-pricing.mjs'), '--out', out, '--as-of', pricesInEffect], {
        stdio: 'pipe',
      })
      expect(readFileSync(out, 'utf8')).toBe(readFileSync(tablePath, 'utf8'))
      expect(JSON.parse(readFileSync(join(dir, 'source.json'), 'utf8')).pricesInEffect).toBe(pricesInEffect)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
