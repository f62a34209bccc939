// The store's series (SPEC section 13) in an application's own prom-client registry, for apps
// that already serve `registry.metrics()`. prom-client is an optional peer dependency: this file
// never loads it, it only hands the registry collectors shaped as prom-client's metrics are.
import {
  checkAgentLabel,
  checkMethods,
  checkMetricsStore,
  LATENCY_BOUNDARIES_SECONDS,
  type MetricsOptions,
  type MetricsStore,
  type ModelRow,
  type Scrape,
  ScrapeReader,
  TOKEN_TYPES,
  tokenCounts,
} from './scrape.js'
import type { LatencyStats, ModelStats } from '../stats.js'

/** The part of a prom-client `Registry` the bridge uses. */
export interface PromClientRegistry {
  // `never`: prom-client types the parameter as its own metric classes, while the registry only
  // needs the shape a `PromClientCollector` has.
  registerMetric(metric: never): void
  getSingleMetric(name: string): unknown
  removeSingleMetric(name: string): void
}

interface PromValue {
  labels: Record<string, string>
  value: number
  metricName?: string
}

type MetricType = 'counter' | 'gauge' | 'histogram'

/** One family, read from the store when the registry asks: what prom-client calls a metric. */
export class PromClientCollector {
  readonly aggregator = 'sum'
  readonly #values: (scrape: Scrape) => PromValue[]
  readonly #reader: ScrapeReader

  constructor(
    // Not read-only: an OpenMetrics registry renames counters as it writes them.
    public name: string,
    readonly help: string,
    readonly type: MetricType,
    values: (scrape: Scrape) => PromValue[],
    reader: ScrapeReader,
  ) {
    this.#values = values
    this.#reader = reader
  }

  async get(): Promise<{ name: string; help: string; type: MetricType; aggregator: string; values: PromValue[] }> {
    const { name, help, type, aggregator } = this
    return { name, help, type, aggregator, values: this.#values(this.#reader.read()) }
  }

  /** `registry.resetMetrics()` resets what the registry counts; these figures are the store's. */
  reset(): void {
    // Nothing of the store's is the registry's to reset.
  }
}

const modelLabels = (row: ModelRow): Record<string, string> => ({ provider: row.provider, model: row.model })

function figureFamilies(
  prefix: string,
  scope: string,
  rows: (scrape: Scrape) => [labels: Record<string, string>, figures: ModelStats][],
): [string, string, MetricType, (scrape: Scrape) => PromValue[]][] {
  return [
    [
      `${prefix}_requests_total`,
      `LLM requests${scope}, by outcome.`,
      'counter',
      (scrape) =>
        rows(scrape).flatMap(([labels, figures]) => [
          { labels: { ...labels, outcome: 'completed' }, value: figures.requestCount },
          { labels: { ...labels, outcome: 'failed' }, value: figures.failedRequests },
        ]),
    ],
    [
      `${prefix}_tokens_total`,
      `LLM tokens${scope}, by type: input includes cache reads and writes, output includes reasoning.`,
      'counter',
      (scrape) =>
        rows(scrape).flatMap(([labels, figures]) => {
          const counts = tokenCounts(figures)
          return TOKEN_TYPES.map((type, at) => ({ labels: { ...labels, type }, value: counts[at] }))
        }),
    ],
    [
      `${prefix}_cost_usd_total`,
      `LLM cost${scope} in US dollars.`,
      'counter',
      (scrape) => rows(scrape).map(([labels, figures]) => ({ labels, value: figures.costMicros / 1e6 })),
    ],
  ]
}

function histogramValues(name: string, pick: (row: ModelRow) => LatencyStats): (scrape: Scrape) => PromValue[] {
  return (scrape) =>
    scrape.models.flatMap((row) => {
      const histogram = pick(row)
      if (histogram.count === 0) return []
      const labels = modelLabels(row)
      const values: PromValue[] = LATENCY_BOUNDARIES_SECONDS.map((le, at) => ({
        metricName: `${name}_bucket`,
        labels: { ...labels, le: String(le) },
        value: histogram.buckets[at],
      }))
      values.push(
        { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: histogram.count },
        // Whole microseconds, as the store sums them, then seconds: the exposition's exact value.
        { metricName: `${name}_sum`, labels, value: Math.round(histogram.sumMs * 1000) / 1e6 },
        { metricName: `${name}_count`, labels, value: histogram.count },
      )
      return values
    })
}

/** Every family, in the order `store.prometheus()` writes them. */
function families(agentLabel: boolean): [string, string, MetricType, (scrape: Scrape) => PromValue[]][] {
  return [
    ...figureFamilies('llm', '', (scrape) => scrape.models.map((row) => [modelLabels(row), row.figures])),
    [
      'llm_request_duration_seconds',
      'LLM request duration, from request start to last byte.',
      'histogram',
      histogramValues('llm_request_duration_seconds', (row) => row.duration),
    ],
    [
      'llm_time_to_first_token_seconds',
      'Time from request start to the first content of a streamed response.',
      'histogram',
      histogramValues('llm_time_to_first_token_seconds', (row) => row.timeToFirstToken),
    ],
    ...(agentLabel
      ? figureFamilies('llm_agent', ' per agent', (scrape) => scrape.agents.map(([agent, figures]) => [{ agent }, figures]))
      : []),
    [
      'llm_analytics_buffered_events',
      "Events in the store's buffer, not yet drained or acknowledged.",
      'gauge',
      (scrape) => [{ labels: {}, value: scrape.bufferedEvents }],
    ],
    [
      'llm_analytics_dropped_events_total',
      'Events the store could not buffer because its buffer was full.',
      'counter',
      (scrape) => [{ labels: {}, value: scrape.droppedEvents }],
    ],
  ]
}

function checkRegistry(registry: unknown): PromClientRegistry {
  const methods = ['registerMetric', 'getSingleMetric', 'removeSingleMetric'] as const
  return checkMethods<PromClientRegistry>('registry', registry, methods, 'a prom-client Registry')
}

/**
 * Adds the store's series to a prom-client registry: each scrape reads `store.stats()` once.
 * Returns a function that removes them again. Refuses, registering nothing, when the registry
 * already has a metric of one of these names.
 */
export function registerPromClient(registry: PromClientRegistry, store: MetricsStore, options?: MetricsOptions): () => void {
  const target = checkRegistry(registry)
  const reader = new ScrapeReader(checkMetricsStore(store))
  const agentLabel = checkAgentLabel(options)
  const collectors = families(agentLabel).map(
    ([name, help, type, values]) => new PromClientCollector(name, help, type, values, reader),
  )
  const taken = collectors.find((collector) => target.getSingleMetric(collector.name) !== undefined)
  if (taken) throw new RangeError(`registry already has a metric named ${taken.name}`)
  for (const collector of collectors) target.registerMetric(collector as never)
  // The names they were registered under: an OpenMetrics registry renames counters later.
  const registered = collectors.map((collector) => [collector.name, collector] as const)
  return () => {
    for (const [name, collector] of registered) {
      if (target.getSingleMetric(name) === collector) target.removeSingleMetric(name)
    }
  }
}
