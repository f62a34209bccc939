import { native } from './binding.js'
import type { NativePricing, PriceInfo } from '../index.js'
import { PROVIDERS } from './provider.js'
import { checkUsage, type CheckedUsage, type LlmUsage } from './usage.js'
import { checkCount, checkIdentifier, checkString } from './validate.js'

/** What the recording hot path needs of a model, worked out once per table. */
export interface PricedModel {
  readonly inferredProvider: number
  /** The base tier's prices, in micros per million tokens. */
  readonly inputPerMillion: number
  readonly outputPerMillion: number
  /** The table entry the model prices as, or undefined when nothing prices it. */
  readonly resolved: string | undefined
  /** The entry's tiers as `priceTierLayout()` lays them out (empty when unpriced): `usageCostMicros` reads them. */
  readonly tiers: Float64Array
}

/** The prices a call pays once its input tokens pass `aboveInputTokens` (0 for the base prices). */
export interface PriceTier {
  readonly aboveInputTokens: number
  readonly inputCostPerToken: number
  readonly outputCostPerToken: number
  readonly cacheReadCostPerToken: number
  readonly cacheWriteCostPerToken: number
  readonly cacheWrite1hCostPerToken: number
  readonly reasoningCostPerToken: number | undefined
}

// The row layout of a model's tiers is defined once, in the native core.
const LAYOUT = native.priceTierLayout()
const STRIDE = LAYOUT.stride
const ABOVE_INPUT_TOKENS = LAYOUT.aboveInputTokens
const INPUT = LAYOUT.input
const OUTPUT = LAYOUT.output
const CACHE_READ = LAYOUT.cacheRead
const CACHE_WRITE = LAYOUT.cacheWrite
const CACHE_WRITE_1H = LAYOUT.cacheWrite1h
const REASONING = LAYOUT.reasoning

const MILLION = 1_000_000
const BIG_MILLION = 1_000_000n

// Models nothing prices differ only in the provider their name suggests: one entry per provider
// serves them all, so a flood of unknown names costs every cache that holds one a reference.
const UNPRICED: readonly PricedModel[] = PROVIDERS.map((_, inferredProvider) => ({
  inferredProvider,
  inputPerMillion: 0,
  outputPerMillion: 0,
  resolved: undefined,
  tiers: new Float64Array(0),
}))

/** `floor(tokens * perMillion / 1e6)`, exact: in doubles while the product is, else in BigInt. */
function component(tokens: number, perMillion: number): number {
  const product = tokens * perMillion
  if (product > Number.MAX_SAFE_INTEGER) return bigComponent(tokens, perMillion)
  // Exact: below 2^53 the quotient is below 2^34, where doubles are 2^-19 apart, closer than half
  // the 1e-6 that separates a non-integer quotient from the next integer, so it never rounds up.
  return Math.floor(product / MILLION)
}

function bigComponent(tokens: number, perMillion: number): number {
  return Number((BigInt(tokens) * BigInt(perMillion)) / BIG_MILLION)
}

/**
 * The rule's sum, which may pass 2^53-1 (the callers refuse it then: every part is exact below).
 * Positional, so the recording hot path builds no usage object.
 */
export function costOf(
  tiers: Float64Array,
  input: number,
  output: number,
  cacheRead: number,
  cacheWrite: number,
  cacheWrite1h: number,
  reasoning: number,
): number {
  const length = tiers.length
  if (length === 0) return 0
  let at = 0
  for (let next = STRIDE; next < length && input > tiers[next + ABOVE_INPUT_TOKENS]; next += STRIDE) at = next
  const reasoningPerMillion = tiers[at + REASONING]
  // Without a reasoning price the output is one component: splitting it would floor twice.
  const outputCost =
    reasoningPerMillion < 0
      ? component(output, tiers[at + OUTPUT])
      : component(output - reasoning, tiers[at + OUTPUT]) + component(reasoning, reasoningPerMillion)
  return (
    component(input - cacheRead - cacheWrite - cacheWrite1h, tiers[at + INPUT]) +
    component(cacheRead, tiers[at + CACHE_READ]) +
    component(cacheWrite, tiers[at + CACHE_WRITE]) +
    component(cacheWrite1h, tiers[at + CACHE_WRITE_1H]) +
    outputCost
  )
}

/** `costOf` for a call with no cache or reasoning parts: the same figure, two components. */
export function plainCostOf(tiers: Float64Array, input: number, output: number): number {
  const length = tiers.length
  if (length === 0) return 0
  let at = 0
  for (let next = STRIDE; next < length && input > tiers[next + ABOVE_INPUT_TOKENS]; next += STRIDE) at = next
  return component(input, tiers[at + INPUT]) + component(output, tiers[at + OUTPUT])
}

function totalMicros(tiers: Float64Array, usage: CheckedUsage): number {
  return costOf(
    tiers,
    usage.inputTokens,
    usage.outputTokens,
    usage.cacheReadTokens,
    usage.cacheWriteTokens,
    usage.cacheWrite1hTokens,
    usage.reasoningTokens,
  )
}

function tooCostly(argument: string): RangeError {
  return new RangeError(`${argument}: the cost passes Number.MAX_SAFE_INTEGER microdollars and cannot be exact`)
}

/**
 * SPEC section 10's cost of one call in microdollars, from a model's `tiers` (`PricedModel.tiers`):
 * the native rule, computed here so that recording needs no extra native call. Throws a
 * RangeError when the cost passes `Number.MAX_SAFE_INTEGER`.
 */
export function usageCostMicros(tiers: Float64Array, usage: CheckedUsage): number {
  const cost = totalMicros(tiers, usage)
  if (cost > Number.MAX_SAFE_INTEGER) throw tooCostly('usage')
  return cost
}

const plainUsage = (inputTokens: number, outputTokens: number): CheckedUsage => ({
  inputTokens,
  outputTokens,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  cacheWrite1hTokens: 0,
  reasoningTokens: 0,
})

const DEFAULT_MAX_OUTPUT_TOKENS = 128_000

export class ModelPricing {
  /** The table entry's name (an alias's target, the name without its routing prefix, …). */
  readonly name: string
  readonly inputCostPerToken: number
  readonly outputCostPerToken: number
  /** The entry's price, else the input price. */
  readonly cacheReadCostPerToken: number
  /** The entry's price for a 5-minute cache write, else the input price. */
  readonly cacheWriteCostPerToken: number
  /** The entry's price for a 1-hour cache write, else the 5-minute price. */
  readonly cacheWrite1hCostPerToken: number
  /** Undefined when reasoning tokens are priced as output. */
  readonly reasoningCostPerToken: number | undefined
  /** `max_output_tokens`, else `max_tokens`. */
  readonly maxOutputTokens: number | undefined
  /** The entry's `litellm_provider`. */
  readonly provider: string | undefined
  /** Ascending; the first is the base prices, each later one applies above its `aboveInputTokens`. */
  readonly tiers: readonly PriceTier[]
  readonly #tierRows: Float64Array
  readonly #hasValidPricing: boolean

  /** @internal */
  constructor(info: PriceInfo) {
    this.name = info.name
    this.tiers = Object.freeze(
      info.tiers.map((tier) => Object.freeze({ ...tier, reasoningCostPerToken: tier.reasoningCostPerToken ?? undefined })),
    )
    const base = this.tiers[0]
    this.inputCostPerToken = base.inputCostPerToken
    this.outputCostPerToken = base.outputCostPerToken
    this.cacheReadCostPerToken = base.cacheReadCostPerToken
    this.cacheWriteCostPerToken = base.cacheWriteCostPerToken
    this.cacheWrite1hCostPerToken = base.cacheWrite1hCostPerToken
    this.reasoningCostPerToken = base.reasoningCostPerToken
    this.maxOutputTokens = info.maxOutputTokens ?? undefined
    this.provider = info.provider ?? undefined
    this.#tierRows = info.tierRows
    this.#hasValidPricing = info.hasValidPricing
  }

  hasValidPricing(): boolean {
    return this.#hasValidPricing
  }

  calculateCostMicros(inputTokens: number, outputTokens: number): number {
    const usage = plainUsage(checkCount('inputTokens', inputTokens), checkCount('outputTokens', outputTokens))
    const cost = totalMicros(this.#tierRows, usage)
    if (cost > Number.MAX_SAFE_INTEGER) throw tooCostly('inputTokens and outputTokens')
    return cost
  }

  /** Section 10's cost of one call. */
  calculateUsageCostMicros(usage: LlmUsage): number {
    return usageCostMicros(this.#tierRows, checkUsage('usage', usage))
  }

  /** The most a request can cost: its input plus the largest output the model allows it. */
  calculateMaxCostMicros(inputTokens: number, requestMaxOutput?: number | null): number {
    checkCount('inputTokens', inputTokens)
    const modelMax = this.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS
    const output = requestMaxOutput == null ? modelMax : Math.min(checkCount('requestMaxOutput', requestMaxOutput), modelMax)
    const cost = totalMicros(this.#tierRows, plainUsage(inputTokens, output))
    if (cost > Number.MAX_SAFE_INTEGER) throw tooCostly('inputTokens and requestMaxOutput')
    return cost
  }
}

function parse<T>(load: () => T): T {
  try {
    return load()
  } catch (error) {
    throw new SyntaxError((error as Error).message)
  }
}

/** A LiteLLM-format pricing table; the default one ships with the package. */
export class PricingManager {
  #table: NativePricing
  // The hot path's per-model cache: a null-prototype dictionary for the reason given in symbols.ts.
  #models: Record<string, PricedModel | undefined> = Object.create(null)

  constructor() {
    this.#table = new native.NativePricing()
  }

  /** Parses LiteLLM's `model_prices_and_context_window.json`; throws a `SyntaxError` if invalid. */
  static fromJson(json: string): PricingManager {
    checkString('json', json)
    const manager = new PricingManager()
    manager.#table = parse(() => native.NativePricing.fromJson(json))
    return manager
  }

  /** Replaces the table atomically; on error it throws and the current table stays in use. */
  loadJson(json: string): void {
    checkString('json', json)
    parse(() => this.#table.loadJson(json))
    this.#models = Object.create(null)
    this.#cached = 0
    this.version++
  }

  /** @internal Changes whenever the table does, so that caches of its prices know to refresh. */
  version = 0

  /** The entry `model` resolves to (SPEC section 4), or undefined. */
  get(model: string): ModelPricing | undefined {
    const info = this.#table.get(checkString('model', model))
    return info ? new ModelPricing(info) : undefined
  }

  /** The table entry `model` prices as: exact, alias, without routing prefix, then ignoring case. */
  resolve(model: string): string | undefined {
    return this.#table.resolve(checkIdentifier('model', model)) ?? undefined
  }

  /** Section 10's cost of one call in microdollars; 0 when nothing prices the model. */
  costMicros(model: string, usage: LlmUsage): number {
    const name = checkIdentifier('model', model)
    const checked = checkUsage('usage', usage)
    try {
      return this.#table.costMicros(
        name,
        checked.inputTokens,
        checked.outputTokens,
        checked.cacheReadTokens,
        checked.cacheWriteTokens,
        checked.cacheWrite1hTokens,
        checked.reasoningTokens,
      )
    } catch (error) {
      throw new RangeError((error as Error).message)
    }
  }

  /** Every name the table prices under, aliases included, sorted. */
  models(): string[] {
    return this.#table.models()
  }

  /** @internal The hot path's per-model cache, without side effects: undefined until priced. */
  cachedModel(model: unknown): PricedModel | undefined {
    return typeof model === 'string' ? this.#models[model] : undefined
  }

  /** @internal The hot path's per-model cache; validates the model name on first sight. */
  pricedModel(model: unknown): PricedModel {
    return (typeof model === 'string' ? this.#models[model] : undefined) ?? this.#price(model)
  }

  // A flood of distinct model names must not grow the cache without bound: past this many it
  // starts again, as the native resolution cache does.
  static readonly #MAX_CACHED = 65_536
  #cached = 0

  #price(model: unknown): PricedModel {
    const name = checkIdentifier('model', model)
    const info = this.#table.get(name)
    const inferredProvider = PROVIDERS.indexOf(native.inferProvider(name) as (typeof PROVIDERS)[number])
    const priced: PricedModel =
      info === null
        ? UNPRICED[inferredProvider]
        : {
            inferredProvider,
            inputPerMillion: info.tierRows[INPUT],
            outputPerMillion: info.tierRows[OUTPUT],
            resolved: info.name,
            tiers: info.tierRows,
          }
    if (++this.#cached > PricingManager.#MAX_CACHED) {
      this.#models = Object.create(null)
      this.#cached = 1
    }
    this.#models[name] = priced
    return priced
  }
}
