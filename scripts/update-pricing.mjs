// Regenerates pricing/model_prices.json, the default pricing table embedded in the package, in
// LiteLLM's model_prices_and_context_window.json format. Prices come from the genai-prices data of
// pricing/genai-prices.json (every text model of every provider it prices, with cache, 1-hour
// cache-write, reasoning and long-context tier prices), priced by @pydantic/genai-prices;
// pricing/overrides.json fills names that data does not price.
//
//   npm run update-pricing                 re-exports the pinned genai-prices version from PyPI into
//                                          pricing/genai-prices.json (see genai-prices-snapshot.mjs),
//                                          then writes pricing/model_prices.json, with the prices in
//                                          effect today, and pricing/source.json, which records what
//                                          it used
//   npm run update-pricing -- --genai-prices <version>
//                                          the same with another genai-prices version, which
//                                          becomes the pinned one
//   node scripts/update-pricing.mjs --out <path> --as-of <YYYY-MM-DD>
//                                          regenerates from the committed snapshot, offline, into
//                                          another file, with the prices in effect on that day (the
//                                          test regenerates the table as it was generated)
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { calcPrice, findProvider, waitForUpdate } from '@pydantic/genai-prices'
import { loadSnapshot, pinnedVersion, refreshSnapshot } from './genai-prices-snapshot.mjs'

// The source's price keys for text tokens, and the LiteLLM field each becomes. Tiered forms are
// `<field>_above_<N>k_tokens`; LiteLLM names the 1-hour write's tiered form the same way.
const FIELDS = [
  ['input_mtok', 'input_cost_per_token'],
  ['output_mtok', 'output_cost_per_token'],
  ['cache_read_mtok', 'cache_read_input_token_cost'],
  ['cache_write_mtok', 'cache_creation_input_token_cost'],
  ['cache_write_1h_mtok', 'cache_creation_input_token_cost_above_1hr'],
  ['output_reasoning_mtok', 'output_cost_per_reasoning_token'],
]
const UNTIERED = new Set(['output_reasoning_mtok'])
// Text-token prices the LiteLLM format has no field for: a model carrying one cannot be written
// faithfully, so generation stops rather than guess.
const UNREPRESENTABLE = ['cache_write_5m_mtok', 'input_tool_mtok']
const OVERRIDE_KEYS = new Set([
  'input_cost_per_token',
  'output_cost_per_token',
  'litellm_provider',
  'mode',
  'source',
  'replace',
])

const pricingDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'pricing')
const { values: args } = parseArgs({
  options: { out: { type: 'string' }, 'as-of': { type: 'string' }, refresh: { type: 'boolean' }, 'genai-prices': { type: 'string' } },
})
const outPath = resolve(args.out ?? join(pricingDir, 'model_prices.json'))

const engine = JSON.parse(readFileSync(new URL('../package.json', import.meta.resolve('@pydantic/genai-prices')), 'utf8'))

// Some models carry dated price sets (o3's June 2025 cut, for example): the table takes the set in
// effect on the day it is generated, as the library itself would when pricing a call made that
// day. A few also carry daily windows (DeepSeek's off-peak rates), which a static table cannot
// express: the table holds the price at noon UTC, which the differential tests use too.
const asOfDay = args['as-of'] ?? new Date().toISOString().slice(0, 10)
if (!/^\d{4}-\d{2}-\d{2}$/.test(asOfDay)) fail(`--as-of must be a date like 2026-01-31, got ${asOfDay}`)
const asOf = new Date(`${asOfDay}T12:00:00Z`)

function fail(message) {
  console.error(`update-pricing: ${message}`)
  process.exit(1)
}

// The runtime turns a per-token USD price into round(usd * 1e12) micros per million tokens. A
// source price is a whole number of those almost always; the rare one that is not (a third of a
// cent, say) is rounded to the nearest, as the runtime would round it anyway. The price is then
// written as micros / 1e12, which converts back to exactly that integer.
function microsPerMillion(value, unitsPerMicro, what) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(`${what} is ${value}, not a price`)
  return Math.round(value * unitsPerMicro)
}

function perToken(micros, what) {
  const usd = micros / 1e12
  if (Math.round(usd * 1e12) !== micros) fail(`${what} does not round-trip through USD per token`)
  return usd
}

// `271999` -> `271.999`: LiteLLM reads N in `_above_<N>k_tokens` as a decimal number of thousands.
function thousands(tokens) {
  const rest = tokens % 1000
  return rest === 0 ? `${tokens / 1000}` : `${Math.floor(tokens / 1000)}.${String(rest).padStart(3, '0').replace(/0+$/, '')}`
}

// The source's tiers are per price (a price switches to a tier's once the call's input tokens pass
// its start); LiteLLM's are per threshold. So every tiered price is written at every threshold any
// of the model's prices has, with the value in force there.
function priceAt(rate, start) {
  let price = rate.base
  for (const tier of rate.tiers) if (start >= tier.start) price = tier.price
  return price
}

function litellmEntry(name, modelPrice, provider) {
  const present = UNREPRESENTABLE.filter((key) => modelPrice[key] !== undefined)
  if (present.length > 0) fail(`${provider} ${name} has ${present.join(', ')}, which the LiteLLM format cannot express`)
  const entry = {}
  const starts = new Set()
  for (const [key, field] of FIELDS) {
    const rate = modelPrice[key]
    if (rate === undefined) continue
    if (typeof rate === 'object') {
      if (UNTIERED.has(key)) fail(`${provider} ${name} has a tiered ${key}, which the LiteLLM format cannot express`)
      for (const tier of rate.tiers) starts.add(tier.start)
    }
    entry[field] = perToken(microsPerMillion(typeof rate === 'object' ? rate.base : rate, 1e6, `${name} ${key}`), `${name} ${key}`)
  }
  for (const start of [...starts].sort((a, b) => a - b)) {
    for (const [key, field] of FIELDS) {
      const rate = modelPrice[key]
      if (typeof rate !== 'object') continue
      const micros = microsPerMillion(priceAt(rate, start), 1e6, `${name} ${key} above ${start}`)
      entry[`${field}_above_${thousands(start)}k_tokens`] = perToken(micros, `${name} ${key} above ${start}`)
    }
  }
  entry.litellm_provider = provider
  entry.mode = 'chat'
  return entry
}

// Prices `name` exactly as the library resolves it at run time for `provider` (first matching model
// of the provider, case-insensitive). Models without both a text input and a text output rate
// (embeddings, transcription billed per hour, moderation) and free ones are left out.
function sourceEntry(name, provider) {
  const result = calcPrice({}, name, { providerId: provider, timestamp: asOf })
  if (!result) return null
  const { input_mtok: input, output_mtok: output } = result.model_price
  if (input === undefined || output === undefined) return null
  const entry = litellmEntry(name, result.model_price, result.provider.id)
  if (entry.input_cost_per_token === 0 && entry.output_cost_per_token === 0) return null
  return entry
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
  if (typeof override.litellm_provider !== 'string' || override.litellm_provider === '') {
    fail(`override ${name} must name its litellm_provider`)
  }
  if (override.mode !== 'chat') fail(`override ${name} has mode ${override.mode}, expected "chat"`)
  return {
    input_cost_per_token: perToken(microsPerMillion(override.input_cost_per_token, 1e12, `override ${name} input_cost_per_token`), name),
    output_cost_per_token: perToken(microsPerMillion(override.output_cost_per_token, 1e12, `override ${name} output_cost_per_token`), name),
    litellm_provider: override.litellm_provider,
    mode: 'chat',
  }
}

const requiredPath = join(pricingDir, 'required-models.txt')
const required = readFileSync(requiredPath, 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'))
const overrides = JSON.parse(readFileSync(join(pricingDir, 'overrides.json'), 'utf8'))

if (args.refresh || args['genai-prices'] !== undefined) {
  await refreshSnapshot(args['genai-prices'] ?? pinnedVersion(), asOfDay, requiredPath).catch((error) => fail(error.message))
}
const source = await loadSnapshot()

// Where several providers list one name (resellers list their vendors' models), the model's own
// vendor wins: the provider the library itself picks for the bare name. Otherwise the first
// provider, in the source's order, that prices it.
const providers = await waitForUpdate()
const vendorOf = (name) => findProvider({ modelId: name })?.id
const candidates = new Map()
for (const provider of providers) {
  for (const model of provider.models) {
    for (const name of statedNames(model)) {
      const listed = candidates.get(name) ?? []
      if (!listed.includes(provider.id)) listed.push(provider.id)
      candidates.set(name, listed)
    }
  }
}
const table = new Map()
for (const [name, listed] of candidates) {
  const vendor = vendorOf(name)
  const order = listed.includes(vendor) ? [vendor, ...listed.filter((id) => id !== vendor)] : listed
  for (const provider of order) {
    const priced = sourceEntry(name, provider)
    if (priced) {
      table.set(name, priced)
      break
    }
  }
}
// A reseller's `<vendor>/<id>` (OpenRouter's `openai/gpt-4o`) is the vendor's own model under a
// routing prefix: it is left out where the vendor prices `<id>`, so that the name resolves, as
// routers mean it, to the vendor's entry.
for (const [name, entry] of table) {
  const slash = name.indexOf('/')
  const vendor = name.slice(0, slash)
  const own = table.get(name.slice(slash + 1))
  if (slash > 0 && entry.litellm_provider !== vendor && own?.litellm_provider === vendor) table.delete(name)
}
// Dated snapshots and fine-tuned models are mostly covered by prefix rules, which cannot be
// listed, so each required name the stated names missed is resolved on its own: by its vendor,
// else by the two providers the crate's names come from.
for (const name of required) {
  for (const provider of new Set([vendorOf(name), 'openai', 'anthropic'])) {
    if (table.has(name)) break
    const priced = provider === undefined ? null : sourceEntry(name, provider)
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
const provenance = {
  source: source.package,
  registry: 'PyPI',
  version: source.version,
  snapshot: 'pricing/genai-prices.json',
  pricedBy: `${engine.name} ${engine.version}`,
  pricesInEffect: asOfDay,
}
writeFileSync(join(dirname(outPath), 'source.json'), `${JSON.stringify(provenance, null, 2)}\n`)

console.log(
  `update-pricing: ${fromSource - replaced} models from ${source.package} ${source.version} ` +
    `(prices in effect ${asOfDay}), ${fromOverrides} from overrides` +
    `${replaced > 0 ? ` (${replaced} replacing source prices)` : ''}, ${table.size} total -> ${outPath}`,
)
