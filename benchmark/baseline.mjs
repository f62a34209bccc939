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

/** The package's argument checks for recordLlmCompleted; throws before anything is recorded. */
export function checkRecordArgs(model, inputTokens, outputTokens, agentId, providerId) {
  if (typeof model !== 'string') throw new TypeError(`model must be a string, got ${typeof model}`)
  if (model.length === 0 || model.length > MAX_IDENTIFIER) {
    throw new RangeError(`model must be 1 to ${MAX_IDENTIFIER} characters, got ${quote(model)}`)
  }
  if (!(Number.isSafeInteger(inputTokens) && inputTokens >= 0)) throw tokenError('inputTokens', inputTokens)
  if (!(Number.isSafeInteger(outputTokens) && outputTokens >= 0)) throw tokenError('outputTokens', outputTokens)
  if (agentId != null) checkIdentifier('agentId', agentId)
  if (providerId != null) checkIdentifier('providerId', providerId)
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
  costMicros = 0
}

function add(figures, inputTokens, outputTokens, cost) {
  figures.requestCount++
  figures.inputTokens += inputTokens
  figures.outputTokens += outputTokens
  figures.costMicros += cost
}

function toRecord(map) {
  const record = Object.create(null)
  for (const [key, f] of map) {
    record[key] = {
      requestCount: f.requestCount,
      inputTokens: f.inputTokens,
      outputTokens: f.outputTokens,
      costMicros: f.costMicros,
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

// What the memo keeps per model: everything recordLlmCompleted derives from the name alone.
class ModelEntry {
  constructor(provider, inPerMillion, outPerMillion, modelFigures, providerFigures) {
    this.provider = provider
    this.inPerMillion = inPerMillion
    this.outPerMillion = outPerMillion
    this.modelFigures = modelFigures
    this.providerFigures = providerFigures
  }
}

// Never a caller's object, so the first call always builds a memo for the pricing it is given.
const NO_PRICING = Object.freeze({})

/**
 * The per-model memo both JS contenders keep: `entry(pricing, model)` returns what `make(model,
 * provider, inPerMillion, outPerMillion)` built for the model under that pricing, building it once.
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
    const entry = this.#make(model, inferProvider(model), inPerMillion, outPerMillion)
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
  #costMicros = 0
  #byModel = new Map()
  #byProvider = new Map()
  #byAgent = new Map()
  #models = new ModelMemo(
    (model, provider, inPerMillion, outPerMillion) =>
      new ModelEntry(provider, inPerMillion, outPerMillion, fetchFigures(this.#byModel, model), fetchFigures(this.#byProvider, provider)),
  )

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

    // Figures first: they count every event, also one the full buffer drops.
    this.#requests++
    this.#inputTokens += inputTokens
    this.#outputTokens += outputTokens
    this.#costMicros += cost
    add(entry.modelFigures, inputTokens, outputTokens, cost)
    add(entry.providerFigures, inputTokens, outputTokens, cost)
    if (agentId != null) add(fetchFigures(this.#byAgent, agentId), inputTokens, outputTokens, cost)

    // A dropped event is never observable, so it is not built.
    if (this.#length === this.#capacity) {
      this.#dropped++
      return
    }
    // One object shape for every event: absent optionals are undefined rather than missing.
    this.#buffer[this.#length] = {
      eventId: randomUUID(),
      timestampMs: Date.now(),
      type: 'llm_request_completed',
      model,
      provider: entry.provider,
      agentId: agentId ?? undefined,
      providerId: providerId ?? undefined,
      inputTokens,
      outputTokens,
      costMicros: cost,
    }
    this.#length++
  }

  stats() {
    return {
      totalRequests: this.#requests,
      failedRequests: 0,
      totalInputTokens: this.#inputTokens,
      totalOutputTokens: this.#outputTokens,
      totalCostMicros: this.#costMicros,
      byModel: toRecord(this.#byModel),
      byProvider: toRecord(this.#byProvider),
      byAgent: toRecord(this.#byAgent),
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
