import { STATS } from './layout.js'
import { PROVIDERS } from './provider.js'
import type { StoreNames } from './symbols.js'

const MICROS_PER_USD = 1_000_000
const ROW = STATS.row
const { stride: STRIDE } = ROW

/** Figures of one model, provider or agent. Tokens and cost count completed requests only. */
export class ModelStats {
  constructor(
    /** Completed requests. */
    public requestCount = 0,
    public inputTokens = 0,
    public outputTokens = 0,
    public costMicros = 0,
    public failedRequests = 0,
    /** Of `inputTokens`. */
    public cacheReadTokens = 0,
    public cacheWriteTokens = 0,
    public cacheWrite1hTokens = 0,
    /** Of `outputTokens`. */
    public reasoningTokens = 0,
  ) {}

  costUsd(): number {
    return this.costMicros / MICROS_PER_USD
  }
}

/** Maps with no prototype, so any model or agent name (even `__proto__`) is a safe key. */
function byKey(
  figures: Float64Array,
  from: number,
  rows: number,
  keyOf: (key: number) => string,
): Record<string, ModelStats> {
  const map: Record<string, ModelStats> = Object.create(null)
  for (let at = from; at < from + rows * STRIDE; at += STRIDE) {
    map[keyOf(figures[at + ROW.key])] = new ModelStats(
      figures[at + ROW.requests],
      figures[at + ROW.inputTokens],
      figures[at + ROW.outputTokens],
      figures[at + ROW.costMicros],
      figures[at + ROW.failed],
      figures[at + ROW.cacheReadTokens],
      figures[at + ROW.cacheWriteTokens],
      figures[at + ROW.cacheWrite1hTokens],
      figures[at + ROW.reasoningTokens],
    )
  }
  return map
}

// The native core writes the figures into this buffer, reused by every read on this thread
// (fresh typed arrays from native code each cost an external allocation and a finalizer). One
// longer than KEPT_LENGTH serves a single read, so a store with many keys does not pin its
// largest read's memory for the thread's lifetime.
let buffer = new Float64Array(512)
const KEPT_LENGTH = 1 << 16

/**
 * Reads figures with `read`, which writes them into the buffer it is given and returns their
 * length; a buffer too short for them is left unwritten and replaced by a longer one.
 */
export function readStats(names: StoreNames, read: (figures: Float64Array) => number): ComputedStats {
  let target = buffer
  for (;;) {
    const length = read(target)
    if (length <= target.length) return new ComputedStats(target, names)
    // Headroom for keys that appear before the next attempt.
    target = new Float64Array(length + (length >> 2))
    if (target.length <= KEPT_LENGTH) buffer = target
  }
}

function providerName(index: number): string {
  return PROVIDERS[index]
}

/** A point-in-time copy of a store's figures. */
export class ComputedStats {
  /** Completed and failed requests. */
  totalRequests: number
  failedRequests: number
  totalInputTokens: number
  totalOutputTokens: number
  totalCostMicros: number
  totalCacheReadTokens: number
  totalCacheWriteTokens: number
  totalCacheWrite1hTokens: number
  totalReasoningTokens: number
  /** Completed requests whose model resolved to no price: they cost 0. */
  unpricedRequests: number
  /** The models of those requests, sorted. */
  unpricedModels: string[]
  /** Names counted under `(other)` because a dimension reached the store's key limit. */
  overflowedKeys: number
  byModel: Record<string, ModelStats>
  byProvider: Record<string, ModelStats>
  /** Events with an agent id only. */
  byAgent: Record<string, ModelStats>

  /** @internal */
  constructor(figures: Float64Array, names: StoreNames) {
    this.totalRequests = figures[STATS.requests]
    this.failedRequests = figures[STATS.failed]
    this.totalInputTokens = figures[STATS.inputTokens]
    this.totalOutputTokens = figures[STATS.outputTokens]
    this.totalCostMicros = figures[STATS.costMicros]
    this.totalCacheReadTokens = figures[STATS.cacheReadTokens]
    this.totalCacheWriteTokens = figures[STATS.cacheWriteTokens]
    this.totalCacheWrite1hTokens = figures[STATS.cacheWrite1hTokens]
    this.totalReasoningTokens = figures[STATS.reasoningTokens]
    this.unpricedRequests = figures[STATS.unpricedRequests]
    this.overflowedKeys = figures[STATS.overflowedKeys]
    const models = figures[STATS.modelRows]
    const providers = figures[STATS.providerRows]
    const agents = figures[STATS.agentRows]
    const providersAt = STATS.head + models * STRIDE
    const agentsAt = providersAt + providers * STRIDE
    const unpricedAt = agentsAt + agents * STRIDE
    const modelName = (id: number) => names.models.nameOf(id)
    this.byModel = byKey(figures, STATS.head, models, modelName)
    this.byProvider = byKey(figures, providersAt, providers, providerName)
    this.byAgent = byKey(figures, agentsAt, agents, (id) => names.agents.nameOf(id))
    // Sorted by name in the core.
    this.unpricedModels = Array.from(figures.subarray(unpricedAt, unpricedAt + figures[STATS.unpricedModels]), modelName)
  }

  totalCostUsd(): number {
    return this.totalCostMicros / MICROS_PER_USD
  }

  /** Percent of requests that completed; 100 when there were none. */
  successRate(): number {
    if (this.totalRequests === 0) return 100
    return ((this.totalRequests - this.failedRequests) / this.totalRequests) * 100
  }

  avgCostPerRequestUsd(): number {
    return this.totalRequests === 0 ? 0 : this.totalCostUsd() / this.totalRequests
  }

  totalTokens(): number {
    return this.totalInputTokens + this.totalOutputTokens
  }

  avgTokensPerRequest(): number {
    return this.totalRequests === 0 ? 0 : this.totalTokens() / this.totalRequests
  }
}
