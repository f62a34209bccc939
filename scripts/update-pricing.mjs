// Regenerates pricing/model_prices.json, the default pricing table embedded in the package, in
// LiteLLM's model_prices_and_context_window.json format. Prices come from the pricing data bundled
// with @pydantic/genai-prices; pricing/overrides.json fills names that data does not price.
//
//   npm run update-pricing                 writes pricing/model_prices.json, with the prices in effect
//                                          today, and pricing/source.json, which records what it used
//   node scripts/update-pricing.mjs --out <path> --as-of <YYYY-MM-DD>
//                                          writes elsewhere, with the prices in effect on that day
//                                          (the test regenerates the table as it was generated)
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { calcPrice, findProvider } from '@pydantic/genai-prices'

const PROVIDERS = ['openai', 'anthropic']
const OVERRIDE_KEYS = new Set([
  'input_cost_per_token',
  'output_cost_per_token',
  'litellm_provider',
  'mode',
  'source',
  'replace',
])

const pricingDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'pricing')
const { values: args } = parseArgs({ options: { out: { type: 'string' }, 'as-of': { type: 'string' } } })
const outPath = resolve(args.out ?? join(pricingDir, 'model_prices.json'))

const sourcePackage = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.resolve('@pydantic/genai-prices')), 'utf8'),
)

// Some models carry dated price sets (o3's June 2025 cut, for example). The first set is the
// oldest, so the table takes the set in effect on the day it is generated, as the library itself
// would when pricing a call made that day.
const asOfDay = args['as-of'] ?? new Date().toISOString().slice(0, 10)
if (!/^\d{4}-\d{2}-\d{2}$/.test(asOfDay)) fail(`--as-of must be a date like 2026-01-31, got ${asOfDay}`)
const asOf = new Date(asOfDay)

function fail(message) {
  console.error(`update-pricing: ${message}`)
  process.exit(1)
}

// The runtime turns a per-token USD price into round(usd * 1e12) micros per million tokens, so a
// price is only accepted when it is a whole number of micros per million; it is then written as
// micros / 1e12, which converts back to exactly that integer.
function microsPerMillion(value, unitsPerMicro, what) {
  const scaled = value * unitsPerMicro
  const micros = Math.round(scaled)
  if (!Number.isFinite(value) || value < 0 || Math.abs(scaled - micros) > 1e-6) {
    fail(`${what} is ${value}, not a whole number of microdollars per million tokens`)
  }
  return micros
}

function perToken(micros, what) {
  const usd = micros / 1e12
  if (Math.round(usd * 1e12) !== micros) fail(`${what} does not round-trip through USD per token`)
  return usd
}

function entry(name, inputMicros, outputMicros, provider) {
  return {
    input_cost_per_token: perToken(inputMicros, `${name} input price`),
    output_cost_per_token: perToken(outputMicros, `${name} output price`),
    litellm_provider: provider,
    mode: 'chat',
  }
}

// A tiered rate (long-context surcharge) contributes its base tier: the table holds one rate per
// model, and the base tier is what a prompt within the standard context window pays.
const baseRate = (rate) => (typeof rate === 'object' ? rate.base : rate)

// Prices `name` exactly as the library resolves it at run time (first matching model of the
// provider, case-insensitive). Models without both a text input and a text output rate
// (embeddings, transcription billed per hour, moderation) and free ones are left out.
function sourceEntry(name, provider) {
  const result = calcPrice({}, name, { providerId: provider, timestamp: asOf })
  if (!result) return null
  const input = baseRate(result.model_price.input_mtok)
  const output = baseRate(result.model_price.output_mtok)
  if (input === undefined || output === undefined) return null
  const inputMicros = microsPerMillion(input, 1e6, `${name} input_mtok`)
  const outputMicros = microsPerMillion(output, 1e6, `${name} output_mtok`)
  if (inputMicros === 0 && outputMicros === 0) return null
  return entry(name, inputMicros, outputMicros, provider)
}

// Exact names the source states for a model: its id and every `equals` of its match rule. Ids
// ending in "-" (such as "ft:gpt-3.5-turbo-") label a prefix rule rather than name a model.
function statedNames(model) {
  const names = model.id.endsWith('-') ? [] : [model.id]
  const walk = (rule) => {
    if ('equals' in rule) names.push(rule.equals)
    for (const child of rule.or ?? rule.and ?? []) walk(child)
  }
  walk(model.match)
  return names
}

function overrideEntry(name, override) {
  const unknown = Object.keys(override).filter((key) => !OVERRIDE_KEYS.has(key))
  if (unknown.length > 0) fail(`override ${name} has unsupported fields: ${unknown.join(', ')}`)
  if (typeof override.source !== 'string' || override.source.trim() === '') {
    fail(`override ${name} must cite where its price comes from in "source"`)
  }
  if (!PROVIDERS.includes(override.litellm_provider)) {
    fail(`override ${name} has litellm_provider ${override.litellm_provider}, expected one of ${PROVIDERS.join(', ')}`)
  }
  if (override.mode !== 'chat') fail(`override ${name} has mode ${override.mode}, expected "chat"`)
  return entry(
    name,
    microsPerMillion(override.input_cost_per_token, 1e12, `override ${name} input_cost_per_token`),
    microsPerMillion(override.output_cost_per_token, 1e12, `override ${name} output_cost_per_token`),
    override.litellm_provider,
  )
}

const required = readFileSync(join(pricingDir, 'required-models.txt'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'))
const overrides = JSON.parse(readFileSync(join(pricingDir, 'overrides.json'), 'utf8'))

const table = new Map()
for (const provider of PROVIDERS) {
  for (const model of findProvider({ providerId: provider }).models) {
    for (const name of statedNames(model)) {
      const priced = table.has(name) ? null : sourceEntry(name, provider)
      if (priced) table.set(name, priced)
    }
  }
}
// Dated snapshots are mostly covered by prefix rules, which cannot be listed, so each required
// name the stated names missed is resolved on its own.
for (const name of required) {
  for (const provider of PROVIDERS) {
    if (table.has(name)) break
    const priced = sourceEntry(name, provider)
    if (priced) table.set(name, priced)
  }
}
const fromSource = table.size

let fromOverrides = 0
let replaced = 0
for (const [name, override] of Object.entries(overrides)) {
  if (table.has(name) && override.replace !== true) {
    console.warn(
      `update-pricing: ignoring override ${name}: the source now prices it (remove the override, or set "replace": true to keep it)`,
    )
    continue
  }
  if (table.has(name)) replaced += 1
  table.set(name, overrideEntry(name, override))
  fromOverrides += 1
}

const missing = required.filter((name) => !table.has(name))
if (missing.length > 0) {
  fail(
    `required models missing from the table (price them in pricing/overrides.json with a cited source):\n  ${missing.join('\n  ')}`,
  )
}

// Plain code-unit ordering, not localeCompare, so the file is identical on every machine.
const sorted = Object.fromEntries([...table].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
writeFileSync(outPath, `${JSON.stringify(sorted, null, 2)}\n`)
const provenance = { source: '@pydantic/genai-prices', version: sourcePackage.version, pricesInEffect: asOfDay }
writeFileSync(join(dirname(outPath), 'source.json'), `${JSON.stringify(provenance, null, 2)}\n`)

console.log(
  `update-pricing: ${fromSource - replaced} models from @pydantic/genai-prices ${sourcePackage.version} ` +
    `(prices in effect ${asOfDay}), ${fromOverrides} from overrides` +
    `${replaced > 0 ? ` (${replaced} replacing source prices)` : ''}, ${table.size} total -> ${outPath}`,
)
