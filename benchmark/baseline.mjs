// A pure-JS EventStore with our package's semantics (its bounded buffer that counts what it drops,
// its pricing and its argument checks), written for speed so that
// the native package is compared against the best a router could do in JavaScript, not a strawman.
import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'

const MAX_IDENTIFIER = 256
const MAX_CAPACITY = 10_000_000
// Bounds the per-model memo, which model names from request bodies could otherwise grow forever.
export const MEMO_LIMIT = 4096
const PROVIDER_PATTERN = /^(?:gpt-|o1-|o3-|chatgpt-)/i
const ANTHROPIC_PATTERN = /^claude-/i

// LiteLLM-format prices used when the repository's table has not been generated yet.
export const INLINE_PRICES = {
  'gpt-4o': { input_cost_per_token: 2.5e-6, output_cost_per_token: 1e-5, max_output_tokens: 16_384 },
  'gpt-4o-mini': { input_cost_per_token: 1.5e-7, output_cost_per_token: 6e-7, max_output_tokens: 16_384 },
  'claude-3-5-sonnet-20241022': {
    input_cost_per_token: 3e-6,
    output_cost_per_token: 1.5e-5,
    max_output_tokens: 8192,
  },
  'claude-3-haiku-20240307': {
    input_cost_per_token: 2.5e-7,
    output_cost_per_token: 1.25e-6,
    max_output_tokens: 4096,
  },
}

/** The LiteLLM price table the benchmark gives every contender. */
export function loadPricing() {
  const file = new URL('../pricing/model_prices.json', import.meta.url)
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : INLINE_PRICES
}

export function inferProvider(model) {
  if (PROVIDER_PATTERN.test(model)) return 'openai'
  if (ANTHROPIC_PATTERN.test(model)) return 'anthropic'
  return 'unknown'
}

function isPrice(value) {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

/**
 * Micros per million tokens [input, output] for `model` in a LiteLLM table; [0, 0] when the model
 * is absent or its entry is one the package skips too.
 */
export function pricePerMillion(pricing, model) {
  if (model === 'sample_spec' || !Object.hasOwn(pricing, model)) return [0, 0]
  const entry = pricing[model]
  if (entry === null || typeof entry !== 'object') return [0, 0]
  const input = entry.input_cost_per_token ?? 0
  const output = entry.output_cost_per_token ?? 0
  if (!isPrice(input) || !isPrice(output) || (input === 0 && output === 0)) return [0, 0]
  return [Math.round(input * 1e12), Math.round(output * 1e12)]
}

const MICROS_PER_MILLION_PER_USD = 1e12
const BASE_PRICE_KEYS = {
  input_cost_per_token: 'input',
  output_cost_per_token: 'output',
  cache_read_input_token_cost: 'cacheRead',
  cache_creation_input_token_cost: 'cacheWrite',
  cache_creation_input_token_cost_above_1hr: 'cacheWrite1h',
}
const REASONING_PRICE_KEY = 'output_cost_per_reasoning_token'
// `<field>_above_<N>k_tokens`, N with up to three decimals. The 1-hour write's tiered form comes
// before the plain cache write's, whose prefix it shares.
const TIERED_PRICE_KEY =
  /^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|cache_creation_input_token_cost_above_1hr|cache_creation_input_token_cost)_above_(\d+)(?:\.(\d{1,3}))?k_tokens$/
const NO_REASONING_PRICE = -1

/** One price tier, micros per million tokens with every fallback of SPEC section 10 applied. */
class Tier {
  constructor(aboveInputTokens, stated, reasoning) {
    const input = stated.input ?? 0
    const cacheWrite = stated.cacheWrite ?? input
    this.aboveInputTokens = aboveInputTokens
    this.input = toPerMillion(input)
    this.output = toPerMillion(stated.output ?? 0)
    this.cacheRead = toPerMillion(stated.cacheRead ?? input)
    this.cacheWrite = toPerMillion(cacheWrite)
    this.cacheWrite1h = toPerMillion(stated.cacheWrite1h ?? cacheWrite)
    this.reasoning = reasoning == null ? NO_REASONING_PRICE : toPerMillion(reasoning)
  }

  isPriced() {
    return this.input + this.output + this.cacheRead + this.cacheWrite + this.cacheWrite1h + Math.max(this.reasoning, 0) > 0
  }
}

function toPerMillion(usdPerToken) {
  return Math.round(usdPerToken * MICROS_PER_MILLION_PER_USD)
}

// A price the package accepts: absent (null), or finite, non-negative and within 2^53-1 micros per
// million. `undefined` marks one it refuses, which leaves the whole entry unpriced.
function statedPrice(value) {
  if (value === null) return null
  return isPrice(value) && toPerMillion(value) <= Number.MAX_SAFE_INTEGER ? value : undefined
}

function tierThreshold(whole, fraction = '') {
  const tokens = Number(whole) * 1000 + Number(fraction.padEnd(3, '0'))
  return Number.isSafeInteger(tokens) ? tokens : undefined
}

/**
 * The tiers of `model`'s LiteLLM entry for SPEC section 10's rule, ascending by threshold, the
 * base prices first; empty when the model is absent or its entry one the package skips.
 */
export function priceTiers(pricing, model) {
  if (model === 'sample_spec' || !Object.hasOwn(pricing, model)) return []
  const entry = pricing[model]
  if (entry === null || typeof entry !== 'object') return []
  const base = {}
  const reasoningPrice = {}
  const above = new Map()
  for (const [key, value] of Object.entries(entry)) {
    let prices
    let field
    if (Object.hasOwn(BASE_PRICE_KEYS, key)) {
      prices = base
      field = BASE_PRICE_KEYS[key]
    } else if (key === REASONING_PRICE_KEY) {
      prices = reasoningPrice
      field = 'reasoning'
    } else {
      const tiered = TIERED_PRICE_KEY.exec(key)
      const threshold = tiered === null ? undefined : tierThreshold(tiered[2], tiered[3])
      if (threshold === undefined) continue
      if (!above.has(threshold)) above.set(threshold, {})
      prices = above.get(threshold)
      field = BASE_PRICE_KEYS[tiered[1]]
    }
    const price = statedPrice(value)
    if (price === undefined) return []
    prices[field] = price
  }
  const reasoning = reasoningPrice.reasoning ?? null
  const tiers = [new Tier(0, base, reasoning)]
  for (const threshold of [...above.keys()].sort((a, b) => a - b)) {
    const stated = above.get(threshold)
    if (Object.values(stated).every((price) => price === null)) continue
    const merged = { ...base }
    for (const [field, price] of Object.entries(stated)) if (price !== null) merged[field] = price
    tiers.push(new Tier(threshold, merged, reasoning))
  }
  return tiers.some((tier) => tier.isPriced()) ? tiers : []
}

/** floor(tokens * perMillion / 1e6), exact for every pair of safe integers. */
export function costMicros(tokens, perMillion) {
  const product = tokens * perMillion
  // Below 2^53 the product is exact, and its quotient's fraction (at most 0.999999) stays more than
  // half an ulp below the next integer, so the float division floors correctly.
  if (product <= Number.MAX_SAFE_INTEGER) return Math.floor(product / 1e6)
  return Number((BigInt(tokens) * BigInt(perMillion)) / 1_000_000n)
}

function quote(text) {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)
}

function tokenError(name, value) {
  return typeof value === 'number'
    ? new RangeError(`${name} must be a non-negative safe integer, got ${value}`)
    : new TypeError(`${name} must be a number, got ${typeof value}`)
}

function checkIdentifier(name, value) {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${typeof value}`)
  if (value.length > MAX_IDENTIFIER) {
    throw new RangeError(`${name} must be at most ${MAX_IDENTIFIER} characters, got ${value.length}`)
  }
}

function checkModel(model) {
  if (typeof model !== 'string') throw new TypeError(`model must be a string, got ${typeof model}`)
  if (model.length === 0 || model.length > MAX_IDENTIFIER) {
    throw new RangeError(`model must be 1 to ${MAX_IDENTIFIER} characters, got ${quote(model)}`)
  }
}

/** The package's argument checks for recordLlmCompleted; throws before anything is recorded. */
export function checkRecordArgs(model, inputTokens, outputTokens, agentId, providerId) {
  checkModel(model)
  if (!(Number.isSafeInteger(inputTokens) && inputTokens >= 0)) throw tokenError('inputTokens', inputTokens)
  if (!(Number.isSafeInteger(outputTokens) && outputTokens >= 0)) throw tokenError('outputTokens', outputTokens)
  if (agentId != null) checkIdentifier('agentId', agentId)
  if (providerId != null) checkIdentifier('providerId', providerId)
}

function usagePart(name, value) {
  if (value == null) return 0
  if (!(Number.isSafeInteger(value) && value >= 0)) throw tokenError(name, value)
  return value
}

function describe(value) {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value
}

/** The package's checks of a usage object; returns its six counts, absent parts as 0. */
export function checkUsage(usage) {
  if (typeof usage !== 'object' || usage === null || Array.isArray(usage)) {
    throw new TypeError(`usage must be an object with inputTokens and outputTokens, got ${describe(usage)}`)
  }
  const { inputTokens, outputTokens } = usage
  if (!(Number.isSafeInteger(inputTokens) && inputTokens >= 0)) throw tokenError('usage.inputTokens', inputTokens)
  if (!(Number.isSafeInteger(outputTokens) && outputTokens >= 0)) throw tokenError('usage.outputTokens', outputTokens)
  const cacheRead = usagePart('usage.cacheReadTokens', usage.cacheReadTokens)
  const cacheWrite = usagePart('usage.cacheWriteTokens', usage.cacheWriteTokens)
  const cacheWrite1h = usagePart('usage.cacheWrite1hTokens', usage.cacheWrite1hTokens)
  const reasoning = usagePart('usage.reasoningTokens', usage.reasoningTokens)
  const cached = cacheRead + cacheWrite + cacheWrite1h
  if (cached > inputTokens) {
    throw new RangeError(
      `usage: cacheReadTokens + cacheWriteTokens + cacheWrite1hTokens (${cached}) must not exceed inputTokens (${inputTokens})`,
    )
  }
  if (reasoning > outputTokens) {
    throw new RangeError(`usage.reasoningTokens (${reasoning}) must not exceed outputTokens (${outputTokens})`)
  }
  return [inputTokens, outputTokens, cacheRead, cacheWrite, cacheWrite1h, reasoning]
}

/** The package's checks of recordLlmUsage's options; returns [agentId, providerId]. */
export function checkRecordOptions(options) {
  if (options == null) return [undefined, undefined]
  if (typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`)
  const { agentId, providerId } = options
  if (agentId != null) checkIdentifier('options.agentId', agentId)
  if (providerId != null) checkIdentifier('options.providerId', providerId)
  return [agentId ?? undefined, providerId ?? undefined]
}

/** SPEC section 10's cost from `priceTiers`: each component floored on its own, summed. */
export function usageCostMicros(tiers, inputTokens, outputTokens, cacheRead, cacheWrite, cacheWrite1h, reasoning) {
  if (tiers.length === 0) return 0
  let tier = tiers[0]
  for (let i = 1; i < tiers.length && inputTokens > tiers[i].aboveInputTokens; i++) tier = tiers[i]
  // Without a reasoning price the output is one component: splitting it would floor twice.
  const output =
    tier.reasoning === NO_REASONING_PRICE
      ? costMicros(outputTokens, tier.output)
      : costMicros(outputTokens - reasoning, tier.output) + costMicros(reasoning, tier.reasoning)
  const cost =
    costMicros(inputTokens - cacheRead - cacheWrite - cacheWrite1h, tier.input) +
    costMicros(cacheRead, tier.cacheRead) +
    costMicros(cacheWrite, tier.cacheWrite) +
    costMicros(cacheWrite1h, tier.cacheWrite1h) +
    output
  if (cost > Number.MAX_SAFE_INTEGER) throw tooCostly()
  return cost
}

function tooCostly() {
  return new RangeError('usage: the cost passes Number.MAX_SAFE_INTEGER microdollars and cannot be exact')
}

export function checkPricing(pricing) {
  if (pricing === null || typeof pricing !== 'object') {
    throw new TypeError(`pricing must be a LiteLLM price object, got ${pricing === null ? 'null' : typeof pricing}`)
  }
}

class Figures {
  requestCount = 0
  inputTokens = 0
  outputTokens = 0
  failedRequests = 0
  cacheReadTokens = 0
  cacheWriteTokens = 0
  cacheWrite1hTokens = 0
  reasoningTokens = 0
  costMicros = 0
}

function add(figures, inputTokens, outputTokens, cost) {
  figures.requestCount++
  figures.inputTokens += inputTokens
  figures.outputTokens += outputTokens
  figures.costMicros += cost
}

function addParts(figures, cacheRead, cacheWrite, cacheWrite1h, reasoning) {
  figures.cacheReadTokens += cacheRead
  figures.cacheWriteTokens += cacheWrite
  figures.cacheWrite1hTokens += cacheWrite1h
  figures.reasoningTokens += reasoning
}

// A snapshot row has the fields of the package's ModelStats: `provider` in byModel only, the
// latency histograms only once a request was timed (never, in this store).
function toRecord(map, providers) {
  const record = Object.create(null)
  for (const [key, f] of map) {
    record[key] = {
      requestCount: f.requestCount,
      inputTokens: f.inputTokens,
      outputTokens: f.outputTokens,
      costMicros: f.costMicros,
      failedRequests: f.failedRequests,
      cacheReadTokens: f.cacheReadTokens,
      cacheWriteTokens: f.cacheWriteTokens,
      cacheWrite1hTokens: f.cacheWrite1hTokens,
      reasoningTokens: f.reasoningTokens,
      provider: providers?.get(key),
      duration: undefined,
      timeToFirstToken: undefined,
    }
  }
  return record
}

function fetchFigures(map, key) {
  let figures = map.get(key)
  if (figures === undefined) {
    figures = new Figures()
    map.set(key, figures)
  }
  return figures
}

// What the memo keeps per model: everything recording derives from the name alone.
class ModelEntry {
  constructor(provider, inPerMillion, outPerMillion, tiers, modelFigures, providerFigures) {
    this.provider = provider
    this.inPerMillion = inPerMillion
    this.outPerMillion = outPerMillion
    this.tiers = tiers
    this.modelFigures = modelFigures
    this.providerFigures = providerFigures
  }
}

// One object shape per kind of call: absent optionals are undefined rather than missing.
class CompletedEvent {
  constructor(model, provider, agentId, providerId, inputTokens, outputTokens, cost) {
    this.eventId = randomUUID()
    this.timestampMs = Date.now()
    this.type = 'llm_request_completed'
    this.model = model
    this.provider = provider
    this.agentId = agentId ?? undefined
    this.providerId = providerId ?? undefined
    this.inputTokens = inputTokens
    this.outputTokens = outputTokens
    this.costMicros = cost
  }
}

/** A recordLlmUsage event: a completed call with its cache and reasoning parts. */
class UsageEvent extends CompletedEvent {
  constructor(model, provider, agentId, providerId, inputTokens, outputTokens, cost, cacheRead, cacheWrite, cacheWrite1h, reasoning) {
    super(model, provider, agentId, providerId, inputTokens, outputTokens, cost)
    this.cacheReadTokens = cacheRead
    this.cacheWriteTokens = cacheWrite
    this.cacheWrite1hTokens = cacheWrite1h
    this.reasoningTokens = reasoning
  }
}

// Never a caller's object, so the first call always builds a memo for the pricing it is given.
const NO_PRICING = Object.freeze({})

/**
 * The per-model memo both JS contenders keep: `entry(pricing, model)` returns what `make(model,
 * provider, inPerMillion, outPerMillion, tiers)` built for the model under that pricing (`tiers` as
 * `priceTiers` gives them), building it once.
 */
export class ModelMemo {
  // The price object is treated as immutable, like a PricingManager's table between swaps.
  #pricing = NO_PRICING
  #entries = new Map()
  #make

  constructor(make) {
    this.#make = make
  }

  entry(pricing, model) {
    if (pricing !== this.#pricing) {
      checkPricing(pricing)
      this.#pricing = pricing
      this.#entries.clear()
    }
    return this.#entries.get(model) ?? this.#remember(model)
  }

  #remember(model) {
    if (this.#entries.size >= MEMO_LIMIT) this.#entries.clear()
    const [inPerMillion, outPerMillion] = pricePerMillion(this.#pricing, model)
    const entry = this.#make(model, inferProvider(model), inPerMillion, outPerMillion, priceTiers(this.#pricing, model))
    this.#entries.set(model, entry)
    return entry
  }
}

export class BaselineEventStore {
  #capacity
  // Linear rather than a ring: events only leave all at once (drainAll), so a head never moves.
  #buffer
  #length = 0
  #dropped = 0
  #requests = 0
  #inputTokens = 0
  #outputTokens = 0
  #cacheReadTokens = 0
  #cacheWriteTokens = 0
  #cacheWrite1hTokens = 0
  #reasoningTokens = 0
  #costMicros = 0
  #unpricedRequests = 0
  #unpricedModels = new Set()
  #byModel = new Map()
  #modelProviders = new Map()
  #byProvider = new Map()
  #byAgent = new Map()
  #models = new ModelMemo((model, provider, inPerMillion, outPerMillion, tiers) => {
    if (!this.#modelProviders.has(model)) this.#modelProviders.set(model, provider)
    if (tiers.length === 0) this.#unpricedModels.add(model)
    return new ModelEntry(
      provider,
      inPerMillion,
      outPerMillion,
      tiers,
      fetchFigures(this.#byModel, model),
      fetchFigures(this.#byProvider, provider),
    )
  })

  constructor(capacity = 10_000) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY) {
      throw new RangeError(`capacity must be an integer from 1 to ${MAX_CAPACITY}, got ${capacity}`)
    }
    this.#capacity = capacity
    this.#buffer = new Array(capacity)
  }

  capacity() {
    return this.#capacity
  }

  len() {
    return this.#length
  }

  droppedCount() {
    return this.#dropped
  }

  recordLlmCompleted(pricing, model, inputTokens, outputTokens, agentId, providerId) {
    checkRecordArgs(model, inputTokens, outputTokens, agentId, providerId)
    const entry = this.#models.entry(pricing, model)
    const cost = costMicros(inputTokens, entry.inPerMillion) + costMicros(outputTokens, entry.outPerMillion)
    this.#count(entry, agentId, inputTokens, outputTokens, cost)
    if (this.#dropsNext()) return
    this.#buffer[this.#length++] = new CompletedEvent(model, entry.provider, agentId, providerId, inputTokens, outputTokens, cost)
  }

  recordLlmUsage(pricing, model, usage, options) {
    checkModel(model)
    const [inputTokens, outputTokens, cacheRead, cacheWrite, cacheWrite1h, reasoning] = checkUsage(usage)
    const [agentId, providerId] = checkRecordOptions(options)
    const entry = this.#models.entry(pricing, model)
    const cost = usageCostMicros(entry.tiers, inputTokens, outputTokens, cacheRead, cacheWrite, cacheWrite1h, reasoning)
    if (this.#costMicros + cost > Number.MAX_SAFE_INTEGER) throw tooCostly()

    const agentFigures = this.#count(entry, agentId, inputTokens, outputTokens, cost)
    this.#cacheReadTokens += cacheRead
    this.#cacheWriteTokens += cacheWrite
    this.#cacheWrite1hTokens += cacheWrite1h
    this.#reasoningTokens += reasoning
    addParts(entry.modelFigures, cacheRead, cacheWrite, cacheWrite1h, reasoning)
    addParts(entry.providerFigures, cacheRead, cacheWrite, cacheWrite1h, reasoning)
    if (agentFigures !== undefined) addParts(agentFigures, cacheRead, cacheWrite, cacheWrite1h, reasoning)
    if (this.#dropsNext()) return
    this.#buffer[this.#length++] = new UsageEvent(
      model,
      entry.provider,
      agentId,
      providerId,
      inputTokens,
      outputTokens,
      cost,
      cacheRead,
      cacheWrite,
      cacheWrite1h,
      reasoning,
    )
  }

  // Figures first: they count every event, also one the full buffer drops. Returns the agent's
  // figures, if the call has an agent.
  #count(entry, agentId, inputTokens, outputTokens, cost) {
    this.#requests++
    if (entry.tiers.length === 0) this.#unpricedRequests++
    this.#inputTokens += inputTokens
    this.#outputTokens += outputTokens
    this.#costMicros += cost
    add(entry.modelFigures, inputTokens, outputTokens, cost)
    add(entry.providerFigures, inputTokens, outputTokens, cost)
    if (agentId == null) return undefined
    const agentFigures = fetchFigures(this.#byAgent, agentId)
    add(agentFigures, inputTokens, outputTokens, cost)
    return agentFigures
  }

  // A dropped event is never observable, so it is not built.
  #dropsNext() {
    if (this.#length < this.#capacity) return false
    this.#dropped++
    return true
  }

  stats() {
    return {
      totalRequests: this.#requests,
      failedRequests: 0,
      totalInputTokens: this.#inputTokens,
      totalOutputTokens: this.#outputTokens,
      totalCostMicros: this.#costMicros,
      totalCacheReadTokens: this.#cacheReadTokens,
      totalCacheWriteTokens: this.#cacheWriteTokens,
      totalCacheWrite1hTokens: this.#cacheWrite1hTokens,
      totalReasoningTokens: this.#reasoningTokens,
      unpricedRequests: this.#unpricedRequests,
      // Sorted, as the package lists them.
      unpricedModels: [...this.#unpricedModels].sort(),
      // Its names are never limited.
      overflowedKeys: 0,
      byModel: toRecord(this.#byModel, this.#modelProviders),
      byProvider: toRecord(this.#byProvider),
      byAgent: toRecord(this.#byAgent),
      // It records no failures.
      failuresByCode: Object.create(null),
    }
  }

  /** Copies of the buffered events, oldest first; the buffer is unchanged. */
  snapshotEvents() {
    const events = new Array(this.#length)
    for (let i = 0; i < this.#length; i++) events[i] = { ...this.#buffer[i] }
    return events
  }

  /** Removes and returns every buffered event, oldest first, as a sync round would. */
  drainAll() {
    const events = this.#buffer
    events.length = this.#length
    this.#buffer = new Array(this.#capacity)
    this.#length = 0
    return events
  }
}
