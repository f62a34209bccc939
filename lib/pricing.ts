import { native } from './binding.js'
import type { NativePricing, PriceInfo } from '../index.js'
import { PROVIDERS } from './provider.js'
import { symbolFor } from './symbols.js'
import { checkCount, checkIdentifier, checkString } from './validate.js'

/** What the recording hot path needs of a model, worked out once per table. */
export interface PricedModel {
  readonly symbol: number
  readonly inferredProvider: number
  readonly inputPerMillion: number
  readonly outputPerMillion: number
}

const DEFAULT_MAX_OUTPUT_TOKENS = 128_000

export class ModelPricing {
  readonly name: string
  readonly inputCostPerToken: number
  readonly outputCostPerToken: number
  /** `max_output_tokens`, else `max_tokens`. */
  readonly maxOutputTokens: number | undefined
  readonly #inputPerMillion: number
  readonly #outputPerMillion: number

  /** @internal */
  constructor(info: PriceInfo) {
    this.name = info.name
    this.inputCostPerToken = info.inputCostPerToken
    this.outputCostPerToken = info.outputCostPerToken
    this.maxOutputTokens = info.maxOutputTokens ?? undefined
    this.#inputPerMillion = info.inputMicrosPerMillion
    this.#outputPerMillion = info.outputMicrosPerMillion
  }

  hasValidPricing(): boolean {
    return this.#inputPerMillion > 0 || this.#outputPerMillion > 0
  }

  calculateCostMicros(inputTokens: number, outputTokens: number): number {
    checkCount('inputTokens', inputTokens)
    checkCount('outputTokens', outputTokens)
    return native.costMicros(this.#inputPerMillion, this.#outputPerMillion, inputTokens, outputTokens)
  }

  /** The most a request can cost: its input plus the largest output the model allows it. */
  calculateMaxCostMicros(inputTokens: number, requestMaxOutput?: number | null): number {
    checkCount('inputTokens', inputTokens)
    const modelMax = this.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS
    const output = requestMaxOutput == null ? modelMax : Math.min(checkCount('requestMaxOutput', requestMaxOutput), modelMax)
    return native.costMicros(this.#inputPerMillion, this.#outputPerMillion, inputTokens, output)
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
  }

  get(model: string): ModelPricing | undefined {
    const info = this.#table.get(checkString('model', model))
    return info ? new ModelPricing(info) : undefined
  }

  /** Priced model names, sorted. */
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

  #price(model: unknown): PricedModel {
    const name = checkIdentifier('model', model)
    const info = this.#table.get(name)
    const priced: PricedModel = {
      symbol: symbolFor('model', name),
      inferredProvider: PROVIDERS.indexOf(native.inferProvider(name) as (typeof PROVIDERS)[number]),
      inputPerMillion: info?.inputMicrosPerMillion ?? 0,
      outputPerMillion: info?.outputMicrosPerMillion ?? 0,
    }
    this.#models[name] = priced
    return priced
  }
}
