import type { NativeStore } from '../index.js'
import { native } from './binding.js'
import { STATS } from './layout.js'
import { pointRead, pointReadSlots, READ_STORE } from './point-read.js'
import { PROVIDERS, type Provider } from './provider.js'
import { RecordShape } from './record-shape.js'
import type { StoreNames, SymbolCache } from './symbols.js'
import { MICROS_PER_USD } from './units.js'

const LATENCY = STATS.latency
const BOUNDARIES = LATENCY.p50Ms - LATENCY.buckets
// The offsets the snapshot's loops read, as constants rather than property loads on every row.
const {
  key: KEY,
  requests: REQUESTS,
  failed: FAILED,
  inputTokens: INPUT_TOKENS,
  outputTokens: OUTPUT_TOKENS,
  costMicros: COST_MICROS,
  cacheReadTokens: CACHE_READ_TOKENS,
  cacheWriteTokens: CACHE_WRITE_TOKENS,
  cacheWrite1hTokens: CACHE_WRITE_1H_TOKENS,
  reasoningTokens: REASONING_TOKENS,
  stride: ROW_STRIDE,
} = STATS.row
const { provider: PROVIDER, duration: DURATION, timeToFirstToken: TIME_TO_FIRST_TOKEN, stride: RECORD_STRIDE } = STATS.record
const { slots: LATENCY_SLOTS } = LATENCY

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

/** The histogram at `f64` index `at`. */
function latencyAt(figures: Float64Array, at: number): LatencyStats {
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
    /** In `byModel`: the provider of the model's first request, which its metrics carry. */
    public provider: Provider | undefined = undefined,
    /** In `byModel` and `byProvider`, once a completed request had a `durationMs`. */
    public duration: LatencyStats | undefined = undefined,
    /** In `byModel` and `byProvider`, once a completed request had a `timeToFirstTokenMs`. */
    public timeToFirstToken: LatencyStats | undefined = undefined,
  ) {}

  costUsd(): number {
    return this.costMicros / MICROS_PER_USD
  }
}

/** The figures of one row (`layout::stats::row`) of `f64`s at `at`, as `agentStats` reads them. */
export function modelStatsAt(figures: Float64Array, at: number): ModelStats {
  return new ModelStats(
    figures[at + REQUESTS],
    figures[at + INPUT_TOKENS],
    figures[at + OUTPUT_TOKENS],
    figures[at + COST_MICROS],
    figures[at + FAILED],
    figures[at + CACHE_READ_TOKENS],
    figures[at + CACHE_WRITE_TOKENS],
    figures[at + CACHE_WRITE_1H_TOKENS],
    figures[at + REASONING_TOKENS],
  )
}

/** The figure in slot `at`: its value, or a reference to a large one among the `f64`s. */
function figureAt(slots: Int32Array, figures: Float64Array, at: number): number {
  const value = slots[at]
  return value >= 0 ? value : figures[-1 - value]
}

/** The figures of the row at slot `at`, with what its record adds. */
function rowAt(
  slots: Int32Array,
  figures: Float64Array,
  at: number,
  provider: Provider | undefined,
  duration: LatencyStats | undefined,
  timeToFirstToken: LatencyStats | undefined,
): ModelStats {
  return new ModelStats(
    figureAt(slots, figures, at + REQUESTS),
    figureAt(slots, figures, at + INPUT_TOKENS),
    figureAt(slots, figures, at + OUTPUT_TOKENS),
    figureAt(slots, figures, at + COST_MICROS),
    figureAt(slots, figures, at + FAILED),
    figureAt(slots, figures, at + CACHE_READ_TOKENS),
    figureAt(slots, figures, at + CACHE_WRITE_TOKENS),
    figureAt(slots, figures, at + CACHE_WRITE_1H_TOKENS),
    figureAt(slots, figures, at + REASONING_TOKENS),
    provider,
    duration,
    timeToFirstToken,
  )
}

/** The name of symbol `id`: from the cache's array while it has it, a call to refresh it else. */
function nameIn(names: readonly string[], cache: SymbolCache, id: number): string {
  return id < names.length ? names[id] : cache.nameOf(id)
}

function providerName(index: number): string {
  return PROVIDERS[index]
}

/**
 * Reads `count` model records (with `models`) or provider records from slot `at` into `ids` and
 * `rows`; returns the slot after them.
 */
function readRecords(
  slots: Int32Array,
  figures: Float64Array,
  at: number,
  count: number,
  ids: number[],
  rows: ModelStats[],
  byModel: boolean,
): number {
  for (let index = 0; index < count; index++) {
    const recordAt = at
    at += RECORD_STRIDE
    let duration: LatencyStats | undefined
    if (slots[recordAt + DURATION] !== 0) {
      duration = latencyAt(figures, at >> 1)
      at += LATENCY_SLOTS
    }
    let timeToFirstToken: LatencyStats | undefined
    if (slots[recordAt + TIME_TO_FIRST_TOKEN] !== 0) {
      timeToFirstToken = latencyAt(figures, at >> 1)
      at += LATENCY_SLOTS
    }
    const provider = byModel ? PROVIDERS[slots[recordAt + PROVIDER]] : undefined
    ids[index] = slots[recordAt + KEY]
    rows[index] = rowAt(slots, figures, recordAt, provider, duration, timeToFirstToken)
  }
  return at
}

// The native core writes the figures over this thread's point-read area when they fit, and else
// into a buffer reused by every read (fresh typed arrays from native code each cost an external
// allocation and a finalizer). Reads up to KEPT_LENGTH slots share this thread's buffer; a longer
// one belongs to its store's reads on this thread, and goes with the store: allocating tens of
// megabytes for every read of a store with a million keys costs more than the read itself, mostly
// in the collections the allocation sets off.
interface StatsBuffer {
  slots: Int32Array
  figures: Float64Array
}
const KEPT_LENGTH = 1 << 17
let threadBuffer: StatsBuffer | undefined

/** A buffer for a read of `length` slots, kept for the next reads. */
function keptBuffer(reads: StoreReads, length: number): StatsBuffer {
  // Headroom for keys that appear before the next attempt; even, for the f64s at the end.
  const slots = new Int32Array((length + (length >> 2) + 1) & ~1)
  const buffer = { slots, figures: new Float64Array(slots.buffer) }
  if (slots.length <= KEPT_LENGTH) threadBuffer = buffer
  else reads.buffer = buffer
  return buffer
}

/** A store's state for reads on this thread. */
class StoreReads {
  /** The buffer of reads longer than KEPT_LENGTH slots, once there was one. */
  buffer: StatsBuffer | undefined
  readonly byModel = new RecordShape<ModelStats>()
  readonly byProvider = new RecordShape<ModelStats>()
  readonly byAgent = new RecordShape<ModelStats>()
}
const storeReads = new WeakMap<StoreNames, StoreReads>()

// V8 keeps the hidden class of an object built field by field, and the optimized code of the loops
// that build such objects, only while one object of that class is alive: after a garbage
// collection that found no snapshot alive (a dashboard polling every few seconds meets one each
// time), the next read would run unoptimized until it warmed up again, at about twice the cost.
// An empty snapshot and a row of each kind, made at the first read, stay alive for that.
let residentSnapshot: readonly object[] | undefined

/**
 * Reads the store's figures (`handle` names it in point reads). The core writes them into the
 * slots it is given and returns their length; slots too short for them are left unfinished and
 * replaced by longer ones.
 */
export function readStats(names: StoreNames, store: NativeStore, handle: number): ComputedStats {
  residentSnapshot ??= [new ComputedStats(new Int32Array(STATS.head), new Float64Array(0), names, new StoreReads(), store), new ModelStats(0, 0, 0, 0, 0, 0, 0, 0, 0, PROVIDERS[0]), new ModelStats()]
  let reads = storeReads.get(names)
  if (reads === undefined) {
    reads = new StoreReads()
    storeReads.set(names, reads)
  }
  let buffer = reads.buffer
  if (buffer === undefined) {
    pointRead[READ_STORE] = handle
    const length = native.readStats()
    if (length <= pointReadSlots.length) return new ComputedStats(pointReadSlots, pointRead, names, reads, store)
    buffer = threadBuffer !== undefined && length <= threadBuffer.slots.length ? threadBuffer : keptBuffer(reads, length)
  }
  for (;;) {
    const length = store.stats(buffer.slots)
    if (length <= buffer.slots.length) return new ComputedStats(buffer.slots, buffer.figures, names, reads, store)
    buffer = keptBuffer(reads, length)
  }
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
  constructor(slots: Int32Array, figures: Float64Array, names: StoreNames, reads: StoreReads, store: NativeStore) {
    this.totalRequests = figureAt(slots, figures, STATS.requests)
    this.failedRequests = figureAt(slots, figures, STATS.failed)
    this.totalInputTokens = figureAt(slots, figures, STATS.inputTokens)
    this.totalOutputTokens = figureAt(slots, figures, STATS.outputTokens)
    this.totalCostMicros = figureAt(slots, figures, STATS.costMicros)
    this.totalCacheReadTokens = figureAt(slots, figures, STATS.cacheReadTokens)
    this.totalCacheWriteTokens = figureAt(slots, figures, STATS.cacheWriteTokens)
    this.totalCacheWrite1hTokens = figureAt(slots, figures, STATS.cacheWrite1hTokens)
    this.totalReasoningTokens = figureAt(slots, figures, STATS.reasoningTokens)
    this.unpricedRequests = figureAt(slots, figures, STATS.unpricedRequests)
    this.overflowedKeys = figureAt(slots, figures, STATS.overflowedKeys)
    const models = names.models
    const modelNames = models.names
    const modelCount = slots[STATS.modelRows]
    // Fresh arrays: storing new rows into an array that survived a collection costs a write barrier
    // each, more than the allocation.
    let ids = new Array<number>(modelCount)
    let rows = new Array<ModelStats>(modelCount)
    let at = readRecords(slots, figures, STATS.head, modelCount, ids, rows, true)
    this.byModel = reads.byModel.record(ids, rows, modelCount, (id) => nameIn(modelNames, models, id))
    const providerCount = slots[STATS.providerRows]
    ids = new Array<number>(providerCount)
    rows = new Array<ModelStats>(providerCount)
    at = readRecords(slots, figures, at, providerCount, ids, rows, false)
    this.byProvider = reads.byProvider.record(ids, rows, providerCount, providerName)
    const agents = names.agents
    const agentNames = agents.names
    const agentCount = slots[STATS.agentRows]
    ids = new Array<number>(agentCount)
    rows = new Array<ModelStats>(agentCount)
    for (let index = 0; index < agentCount; index++, at += ROW_STRIDE) {
      ids[index] = slots[at + KEY]
      rows[index] = rowAt(slots, figures, at, undefined, undefined, undefined)
    }
    this.byAgent = reads.byAgent.record(ids, rows, agentCount, (id) => nameIn(agentNames, agents, id))
    // Sorted by name in the core.
    const unpriced = slots[STATS.unpricedModels]
    this.unpricedModels = []
    for (let index = 0; index < unpriced; index++) this.unpricedModels.push(models.nameOf(slots[at + index]))
    this.failuresByCode = Object.create(null)
    if (slots[STATS.failureCodes] > 0) {
      for (const { code, count } of store.failuresByCode()) this.failuresByCode[code] = count
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
