// What the metrics bridges read from a store, once per scrape or collection, whatever the number
// of instruments asking: the figures `stats()` gives (SPEC section 13), turned into the rows of
// the series `store.prometheus()` writes.
import { layout } from '../layout.js'
import { type ComputedStats, LatencyStats, type ModelStats } from '../stats.js'
import { describe } from '../validate.js'

/** Upper bounds of the latency buckets in seconds: OpenTelemetry GenAI's, 0.01 s doubling to 81.92 s. */
export const LATENCY_BOUNDARIES_SECONDS: readonly number[] = layout.latencyBoundariesSeconds

/** The content type a `/metrics` endpoint serves `store.prometheus()` with. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** The token types of `llm_tokens_total`, as `gen_ai.token.type` also names them. */
export const TOKEN_TYPES = ['input', 'output', 'cache_read', 'cache_write', 'reasoning'] as const

/** The part of an `EventStore` the bridges read. */
export interface MetricsStore {
  stats(): ComputedStats
  len(): number
  droppedCount(): number
}

/** A model's figures and latency, labelled as its metrics are. */
export interface ModelRow {
  provider: string
  model: string
  figures: ModelStats
  duration: LatencyStats
  timeToFirstToken: LatencyStats
}

export interface Scrape {
  models: ModelRow[]
  agents: [agent: string, figures: ModelStats][]
  bufferedEvents: number
  droppedEvents: number
}

const NO_LATENCY = new LatencyStats(0, 0, [], Number.NaN, Number.NaN, Number.NaN)

export interface MetricsOptions {
  /** Adds the per-agent families (`llm_agent_…`, labelled `agent`): one series per agent id. */
  agentLabel?: boolean
}

export function checkAgentLabel(options: unknown): boolean {
  if (options == null) return false
  if (typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`)
  const { agentLabel } = options as MetricsOptions
  if (agentLabel == null || typeof agentLabel === 'boolean') return agentLabel ?? false
  throw new TypeError(`options.agentLabel must be a boolean, got ${describe(agentLabel)}`)
}

/** `value` when it has every one of `methods`, else a TypeError naming the argument and what it must be. */
export function checkMethods<T>(name: string, value: unknown, methods: readonly (keyof T & string)[], what: string): T {
  const candidate = value as Record<string, unknown> | null | undefined
  if (typeof candidate === 'object' && candidate !== null && methods.every((method) => typeof candidate[method] === 'function')) {
    return value as T
  }
  throw new TypeError(`${name} must be ${what}, got ${describe(value)}`)
}

export function checkMetricsStore(store: unknown): MetricsStore {
  return checkMethods<MetricsStore>('store', store, ['stats', 'len', 'droppedCount'], 'an EventStore')
}

/** The token counts of `figures` in the order of `TOKEN_TYPES`; cache writes of either TTL count as one type. */
export function tokenCounts(figures: ModelStats): number[] {
  return [
    figures.inputTokens,
    figures.outputTokens,
    figures.cacheReadTokens,
    figures.cacheWriteTokens + figures.cacheWrite1hTokens,
    figures.reasoningTokens,
  ]
}

/**
 * Reads a store once per scrape: every instrument of one scrape asks within the same synchronous
 * run (prom-client calls each metric's `get()` before awaiting any; OpenTelemetry runs one batch
 * callback), so the reading is kept until the next microtask and then let go.
 */
export class ScrapeReader {
  readonly #store: MetricsStore
  #current: Scrape | undefined

  constructor(store: MetricsStore) {
    this.#store = store
  }

  read(): Scrape {
    if (this.#current) return this.#current
    const stats = this.#store.stats()
    const scrape: Scrape = {
      models: Object.entries(stats.byModel).map(([model, figures]) => ({
        provider: figures.provider ?? 'unknown',
        model,
        figures,
        duration: figures.duration ?? NO_LATENCY,
        timeToFirstToken: figures.timeToFirstToken ?? NO_LATENCY,
      })),
      agents: Object.entries(stats.byAgent),
      bufferedEvents: this.#store.len(),
      droppedEvents: this.#store.droppedCount(),
    }
    this.#current = scrape
    queueMicrotask(() => {
      this.#current = undefined
    })
    return scrape
  }
}
