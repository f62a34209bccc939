import { STATS } from './layout.js'
import { PROVIDERS, type Provider } from './provider.js'
import type { StoreNames } from './symbols.js'
import { MICROS_PER_USD } from './units.js'

const ROW = STATS.row
const { stride: STRIDE } = ROW
const LATENCY = STATS.latency
const DETAIL = STATS.detail
const BOUNDARIES = LATENCY.p50Ms - LATENCY.buckets

/**
 * A latency histogram with the OpenTelemetry GenAI buckets (`LATENCY_BOUNDARIES_SECONDS`):
 * `buckets[i]` counts the observations up to the i-th boundary (cumulative, as Prometheus'
 * `le` buckets), `count - buckets[13]` those above 81.92 s. The quantiles are estimated as
 * Prometheus' `histogram_quantile` does.
 */
export class LatencyStats {
  constructor(
    public count: number,
    public sumMs: number,
    public buckets: number[],
    public p50Ms: number,
    public p90Ms: number,
    public p99Ms: number,
  ) {}
}

/** The histogram at `at`, or undefined without observations. */
function latencyAt(figures: Float64Array, at: number): LatencyStats | undefined {
  if (figures[at + LATENCY.count] === 0) return undefined
  const bucketsAt = at + LATENCY.buckets
  // A plain loop: Array.from over a typed array walks an iterator, several times slower.
  const buckets = new Array<number>(BOUNDARIES)
  for (let bucket = 0; bucket < BOUNDARIES; bucket++) buckets[bucket] = figures[bucketsAt + bucket]
  return new LatencyStats(
    figures[at + LATENCY.count],
    figures[at + LATENCY.sumMs],
    buckets,
    figures[at + LATENCY.p50Ms],
    figures[at + LATENCY.p90Ms],
    figures[at + LATENCY.p99Ms],
  )
}

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

  /** In `byModel`: the provider of the model's first request, which its metrics carry. */
  provider: Provider | undefined = undefined
  /** In `byModel` and `byProvider`, once a completed request had a `durationMs`. */
  duration: LatencyStats | undefined = undefined
  /** In `byModel` and `byProvider`, once a completed request had a `timeToFirstTokenMs`. */
  timeToFirstToken: LatencyStats | undefined = undefined

  costUsd(): number {
    return this.costMicros / MICROS_PER_USD
  }
}

/** The figures of one row (`layout::stats::row`) at `at`. */
export function modelStatsAt(figures: Float64Array, at: number): ModelStats {
  return new ModelStats(
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

/**
 * Maps with no prototype, so any model or agent name (even `__proto__`) is a safe key. With
 * `detailAt`, each row's latency (and a model's provider) follows in the detail section.
 */
function byKey(
  figures: Float64Array,
  from: number,
  rows: number,
  keyOf: (key: number) => string,
  detail?: { at: number; stride: number; latencyAt: number; withProvider: boolean },
): Record<string, ModelStats> {
  const map: Record<string, ModelStats> = Object.create(null)
  for (let index = 0; index < rows; index++) {
    const at = from + index * STRIDE
    const stats = modelStatsAt(figures, at)
    if (detail) {
      const detailAt = detail.at + index * detail.stride
      if (detail.withProvider) stats.provider = PROVIDERS[figures[detailAt + DETAIL.provider]]
      const histogramsAt = detailAt + detail.latencyAt
      stats.duration = latencyAt(figures, histogramsAt)
      stats.timeToFirstToken = latencyAt(figures, histogramsAt + LATENCY.stride)
    }
    map[keyOf(figures[at + ROW.key])] = stats
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
export function readStats(
  names: StoreNames,
  read: (figures: Float64Array) => number,
  readFailures: () => { code: string; count: number }[],
): ComputedStats {
  let target = buffer
  for (;;) {
    const length = read(target)
    if (length <= target.length) return new ComputedStats(target, names, readFailures)
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
  /** Failed requests per error code, for those recorded with one. */
  failuresByCode: Record<string, number>

  /** @internal */
  constructor(figures: Float64Array, names: StoreNames, readFailures: () => { code: string; count: number }[]) {
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
    const modelDetailsAt = unpricedAt + figures[STATS.unpricedModels]
    const providerLatencyAt = modelDetailsAt + models * DETAIL.stride
    const modelName = (id: number) => names.models.nameOf(id)
    this.byModel = byKey(figures, STATS.head, models, modelName, {
      at: modelDetailsAt,
      stride: DETAIL.stride,
      latencyAt: DETAIL.duration,
      withProvider: true,
    })
    this.byProvider = byKey(figures, providersAt, providers, providerName, {
      at: providerLatencyAt,
      stride: DETAIL.providerStride,
      latencyAt: 0,
      withProvider: false,
    })
    this.byAgent = byKey(figures, agentsAt, agents, (id) => names.agents.nameOf(id))
    // Sorted by name in the core.
    this.unpricedModels = Array.from(figures.subarray(unpricedAt, unpricedAt + figures[STATS.unpricedModels]), modelName)
    this.failuresByCode = Object.create(null)
    if (figures[STATS.failureCodes] > 0) {
      for (const { code, count } of readFailures()) this.failuresByCode[code] = count
    }
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
