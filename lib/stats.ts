import { PROVIDERS } from './provider.js'
import { nameOf } from './symbols.js'
import { MICROS_PER_USD } from './units.js'

const ROW = 5

/** Figures of one model, provider or agent; completed requests only. */
export class ModelStats {
  constructor(
    public requestCount = 0,
    public inputTokens = 0,
    public outputTokens = 0,
    public costMicros = 0,
  ) {}

  costUsd(): number {
    return this.costMicros / MICROS_PER_USD
  }
}

/** Length of the figures' head: the five totals, then how many model, provider and agent rows. */
const HEAD = 8

/** Maps with no prototype, so any model or agent name (even `__proto__`) is a safe key. */
function byKey(
  figures: Float64Array,
  from: number,
  rows: number,
  keyOf: (key: number) => string,
): Record<string, ModelStats> {
  const map: Record<string, ModelStats> = Object.create(null)
  for (let at = from; at < from + rows * ROW; at += ROW) {
    map[keyOf(figures[at])] = new ModelStats(figures[at + 1], figures[at + 2], figures[at + 3], figures[at + 4])
  }
  return map
}

// The native core writes the figures into this buffer, reused by every read on this thread
// (fresh typed arrays from native code each cost an external allocation and a finalizer).
let buffer = new Float64Array(512)

/**
 * Reads figures with `read`, which writes them into the buffer it is given and returns their
 * length; a buffer too short for them is left unwritten and replaced by a longer one.
 */
export function readStats(read: (figures: Float64Array) => number): ComputedStats {
  for (;;) {
    const length = read(buffer)
    if (length <= buffer.length) return new ComputedStats(buffer)
    // Headroom for keys that appear before the next attempt.
    buffer = new Float64Array(length + (length >> 2))
  }
}

function providerName(index: number): string {
  return PROVIDERS[index]
}

/** A point-in-time copy of a store's figures. */
export class ComputedStats {
  totalRequests: number
  failedRequests: number
  totalInputTokens: number
  totalOutputTokens: number
  totalCostMicros: number
  byModel: Record<string, ModelStats>
  byProvider: Record<string, ModelStats>
  /** Events with an agent id only. */
  byAgent: Record<string, ModelStats>

  /** @internal */
  constructor(figures: Float64Array) {
    this.totalRequests = figures[0]
    this.failedRequests = figures[1]
    this.totalInputTokens = figures[2]
    this.totalOutputTokens = figures[3]
    this.totalCostMicros = figures[4]
    const providersAt = HEAD + figures[5] * ROW
    const agentsAt = providersAt + figures[6] * ROW
    this.byModel = byKey(figures, HEAD, figures[5], nameOf)
    this.byProvider = byKey(figures, providersAt, figures[6], providerName)
    this.byAgent = byKey(figures, agentsAt, figures[7], nameOf)
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
