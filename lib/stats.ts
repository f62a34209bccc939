import type { StatsColumns } from '../index.js'
import { PROVIDERS } from './provider.js'
import { nameOf } from './symbols.js'

const MICROS_PER_USD = 1_000_000
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

/** Maps with no prototype, so any model or agent name (even `__proto__`) is a safe key. */
function byKey(rows: Float64Array, keyOf: (key: number) => string): Record<string, ModelStats> {
  const map: Record<string, ModelStats> = Object.create(null)
  for (let at = 0; at < rows.length; at += ROW) {
    map[keyOf(rows[at])] = new ModelStats(rows[at + 1], rows[at + 2], rows[at + 3], rows[at + 4])
  }
  return map
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
  constructor(columns: StatsColumns) {
    const totals = columns.totals
    this.totalRequests = totals[0]
    this.failedRequests = totals[1]
    this.totalInputTokens = totals[2]
    this.totalOutputTokens = totals[3]
    this.totalCostMicros = totals[4]
    this.byModel = byKey(columns.byModel, nameOf)
    this.byProvider = byKey(columns.byProvider, (index) => PROVIDERS[index])
    this.byAgent = byKey(columns.byAgent, nameOf)
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
