// The store's figures as OpenTelemetry observable instruments on an application's meter, with
// the GenAI semantic conventions' attribute names. `@opentelemetry/api` is an optional peer
// dependency: this file never loads it, it only calls the meter it is given.
//
// The API has no asynchronous histogram, so the latency histograms cannot be handed over as
// histograms: each becomes a count and a sum (`….count`, `….sum`, observable counters), from
// which a backend derives the mean latency of any interval. Their buckets and quantiles are in
// `store.prometheus()` and `stats()`.
import {
  checkAgentLabel,
  checkMethods,
  checkMetricsStore,
  type MetricsOptions,
  type MetricsStore,
  type ModelRow,
  type Scrape,
  ScrapeReader,
  TOKEN_TYPES,
  tokenCounts,
} from './scrape.js'
import type { LatencyStats, ModelStats } from '../stats.js'

type Attributes = Record<string, string>

/** What an `@opentelemetry/api` meter's batch callback is handed. */
export interface OpenTelemetryObserver {
  observe(observable: object, value: number, attributes?: Attributes): void
}

type BatchCallback = (observer: OpenTelemetryObserver) => void

interface InstrumentOptions {
  description?: string
  unit?: string
}

/** The part of an `@opentelemetry/api` `Meter` the bridge uses. */
export interface OpenTelemetryMeter {
  createObservableCounter(name: string, options?: InstrumentOptions): object
  createObservableGauge(name: string, options?: InstrumentOptions): object
  addBatchObservableCallback(callback: BatchCallback, observables: object[]): void
  removeBatchObservableCallback(callback: BatchCallback, observables: object[]): void
}

const PROVIDER = 'gen_ai.provider.name'
const MODEL = 'gen_ai.request.model'
const TOKEN_TYPE = 'gen_ai.token.type'
const AGENT = 'gen_ai.agent.id'
const OUTCOME = 'llm.request.outcome'

/** An instrument and what it observes in one reading of the store. */
interface Instrument {
  observable: object
  observe(observer: OpenTelemetryObserver, observable: object, scrape: Scrape): void
}

function checkMeter(meter: unknown): OpenTelemetryMeter {
  const methods = ['createObservableCounter', 'createObservableGauge', 'addBatchObservableCallback', 'removeBatchObservableCallback'] as const
  return checkMethods<OpenTelemetryMeter>('meter', meter, methods, 'an @opentelemetry/api Meter')
}

type Rows = (scrape: Scrape) => [attributes: Attributes, figures: ModelStats][]

function figureInstruments(meter: OpenTelemetryMeter, prefix: string, scope: string, rows: Rows): Instrument[] {
  return [
    {
      observable: meter.createObservableCounter(`${prefix}.requests`, {
        description: `LLM requests${scope}, by outcome.`,
        unit: '{request}',
      }),
      observe(observer, observable, scrape) {
        for (const [attributes, figures] of rows(scrape)) {
          observer.observe(observable, figures.requestCount, { ...attributes, [OUTCOME]: 'completed' })
          observer.observe(observable, figures.failedRequests, { ...attributes, [OUTCOME]: 'failed' })
        }
      },
    },
    {
      observable: meter.createObservableCounter(`${prefix}.tokens`, {
        description: `LLM tokens${scope}, by type: input includes cache reads and writes, output includes reasoning.`,
        unit: '{token}',
      }),
      observe(observer, observable, scrape) {
        for (const [attributes, figures] of rows(scrape)) {
          const counts = tokenCounts(figures)
          TOKEN_TYPES.forEach((type, at) => observer.observe(observable, counts[at], { ...attributes, [TOKEN_TYPE]: type }))
        }
      },
    },
    {
      observable: meter.createObservableCounter(`${prefix}.cost`, { description: `LLM cost${scope} in US dollars.`, unit: 'USD' }),
      observe(observer, observable, scrape) {
        for (const [attributes, figures] of rows(scrape)) observer.observe(observable, figures.costMicros / 1e6, attributes)
      },
    },
  ]
}

function latencyInstruments(
  meter: OpenTelemetryMeter,
  name: string,
  description: string,
  pick: (row: ModelRow) => LatencyStats,
): Instrument[] {
  return [
    {
      observable: meter.createObservableCounter(`${name}.count`, { description: `${description} Observations.`, unit: '{request}' }),
      observe(observer, observable, scrape) {
        for (const row of scrape.models) {
          const histogram = pick(row)
          if (histogram.count > 0) observer.observe(observable, histogram.count, { [PROVIDER]: row.provider, [MODEL]: row.model })
        }
      },
    },
    {
      observable: meter.createObservableCounter(`${name}.sum`, { description: `${description} Sum.`, unit: 's' }),
      observe(observer, observable, scrape) {
        for (const row of scrape.models) {
          const histogram = pick(row)
          if (histogram.count > 0) {
            observer.observe(observable, Math.round(histogram.sumMs * 1000) / 1e6, { [PROVIDER]: row.provider, [MODEL]: row.model })
          }
        }
      },
    },
  ]
}

/**
 * Adds observable instruments reporting the store's figures to `meter`; each collection reads
 * `store.stats()` once. Returns a function that stops the reporting.
 */
export function registerOpenTelemetry(meter: OpenTelemetryMeter, store: MetricsStore, options?: MetricsOptions): () => void {
  const target = checkMeter(meter)
  const reader = new ScrapeReader(checkMetricsStore(store))
  const agentLabel = checkAgentLabel(options)
  const instruments: Instrument[] = [
    ...figureInstruments(target, 'llm', '', (scrape) =>
      scrape.models.map((row) => [{ [PROVIDER]: row.provider, [MODEL]: row.model }, row.figures]),
    ),
    ...latencyInstruments(target, 'llm.request.duration', 'LLM request duration, from request start to last byte.', (row) => row.duration),
    ...latencyInstruments(
      target,
      'llm.time_to_first_token',
      'Time from request start to the first content of a streamed response.',
      (row) => row.timeToFirstToken,
    ),
    ...(agentLabel
      ? figureInstruments(target, 'llm.agent', ' per agent', (scrape) => scrape.agents.map(([agent, figures]) => [{ [AGENT]: agent }, figures]))
      : []),
    {
      observable: target.createObservableGauge('llm.analytics.buffered_events', {
        description: "Events in the store's buffer, not yet drained or acknowledged.",
        unit: '{event}',
      }),
      observe: (observer, observable, scrape) => observer.observe(observable, scrape.bufferedEvents),
    },
    {
      observable: target.createObservableCounter('llm.analytics.dropped_events', {
        description: 'Events the store could not buffer because its buffer was full.',
        unit: '{event}',
      }),
      observe: (observer, observable, scrape) => observer.observe(observable, scrape.droppedEvents),
    },
  ]
  const observables = instruments.map((instrument) => instrument.observable)
  const callback: BatchCallback = (observer) => {
    const scrape = reader.read()
    for (const instrument of instruments) instrument.observe(observer, instrument.observable, scrape)
  }
  target.addBatchObservableCallback(callback, observables)
  return () => target.removeBatchObservableCallback(callback, observables)
}
