// SPEC section 13: latency histograms and failures in stats(), the native Prometheus exposition
// (parsed back with a strict parser and compared with stats()), and the prom-client and
// OpenTelemetry bridges reporting the same figures.
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import {
  type ComputedStats,
  EventStore,
  LATENCY_BOUNDARIES_SECONDS,
  PricingManager,
  registerOpenTelemetry,
  registerPromClient,
} from '../lib/index'
import { type Family, parsePrometheusText, sampleValue } from './helpers/prometheus-text.js'

const pricing = new PricingManager()

/** A store with three models, two providers, two agents, timings, failures and cache tokens. */
function busyStore(): EventStore {
  const store = new EventStore(1_000)
  const calls: [string, number, number | undefined, string][] = [
    ['gpt-4o', 8, undefined, 'agent-a'],
    ['gpt-4o', 130, 25, 'agent-b'],
    ['gpt-4o', 2_700, 400, 'agent-a'],
    ['claude-3-5-haiku-20241022', 55, 12, 'agent-a'],
    ['claude-3-5-haiku-20241022', 95_000, 9_000, 'agent-b'],
  ]
  for (const [model, durationMs, timeToFirstTokenMs, agentId] of calls) {
    store.recordLlmUsage(
      pricing,
      model,
      { inputTokens: 1_200, outputTokens: 300, cacheReadTokens: 200, cacheWriteTokens: 100, cacheWrite1hTokens: 50, reasoningTokens: 20 },
      { agentId, durationMs, timeToFirstTokenMs },
    )
  }
  store.recordLlmUsage(pricing, 'llama-3.1-8b-instruct', { inputTokens: 10, outputTokens: 5 })
  store.recordLlmError('gpt-4o', { agentId: 'agent-a', errorCode: 'rate_limit_exceeded' })
  store.recordLlmError('gpt-4o', { errorCode: 'rate_limit_exceeded' })
  store.recordLlmError('claude-3-5-haiku-20241022', { errorCode: 'overloaded_error' })
  store.recordLlmError('llama-3.1-8b-instruct')
  return store
}

/** Every sample as `name{labels}` -> value, for comparing two expositions whatever their order. */
function samples(families: Family[]): Map<string, number> {
  const map = new Map<string, number>()
  for (const family of families) {
    for (const sample of family.samples) {
      map.set(`${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`, sample.value)
    }
  }
  return map
}

/** Checks the parsed exposition against `stats`, series by series, and that nothing else is there. */
function expectExpositionOf(families: Family[], stats: ComputedStats, buffered: number, dropped: number): void {
  const models = Object.entries(stats.byModel)
  for (const [model, figures] of models) {
    const labels = { provider: figures.provider!, model }
    expect(sampleValue(families, 'llm_requests_total', { ...labels, outcome: 'completed' })).toBe(figures.requestCount)
    expect(sampleValue(families, 'llm_requests_total', { ...labels, outcome: 'failed' })).toBe(figures.failedRequests)
    const tokens = {
      input: figures.inputTokens,
      output: figures.outputTokens,
      cache_read: figures.cacheReadTokens,
      cache_write: figures.cacheWriteTokens + figures.cacheWrite1hTokens,
      reasoning: figures.reasoningTokens,
    }
    for (const [type, count] of Object.entries(tokens)) {
      expect(sampleValue(families, 'llm_tokens_total', { ...labels, type })).toBe(count)
    }
    expect(sampleValue(families, 'llm_cost_usd_total', labels)).toBe(figures.costMicros / 1e6)
    for (const [name, histogram] of [
      ['llm_request_duration_seconds', figures.duration],
      ['llm_time_to_first_token_seconds', figures.timeToFirstToken],
    ] as const) {
      if (histogram === undefined) {
        expect(sampleValue(families, `${name}_count`, labels)).toBeUndefined()
        continue
      }
      expect(sampleValue(families, `${name}_count`, labels)).toBe(histogram.count)
      expect(sampleValue(families, `${name}_sum`, labels)).toBeCloseTo(histogram.sumMs / 1000, 9)
      LATENCY_BOUNDARIES_SECONDS.forEach((le, at) => {
        expect(sampleValue(families, `${name}_bucket`, { ...labels, le: String(le) })).toBe(histogram.buckets[at])
      })
      expect(sampleValue(families, `${name}_bucket`, { ...labels, le: '+Inf' })).toBe(histogram.count)
    }
  }
  const family = (name: string) => families.find((candidate) => candidate.name === name)!
  expect(family('llm_requests_total').samples).toHaveLength(2 * models.length)
  expect(family('llm_tokens_total').samples).toHaveLength(5 * models.length)
  expect(family('llm_cost_usd_total').samples).toHaveLength(models.length)
  expect(sampleValue(families, 'llm_analytics_buffered_events')).toBe(buffered)
  expect(sampleValue(families, 'llm_analytics_dropped_events_total')).toBe(dropped)
}

describe('latency and failures in stats()', () => {
  it('keeps duration and time-to-first-token histograms per model and provider, with quantiles', () => {
    const stats = busyStore().stats()
    const gpt = stats.byModel['gpt-4o']
    expect(gpt.provider).toBe('openai')
    // 8 ms falls in the first bucket (up to 10 ms), 130 ms in (80, 160] ms, 2.7 s in (2.56, 5.12] s.
    expect(gpt.duration).toMatchObject({ count: 3, sumMs: 2_838 })
    expect(gpt.duration!.buckets).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3])
    // Rank 1.5 falls in (80, 160] ms, the bucket holding the second observation: 80 + 80 * 0.5.
    expect(gpt.duration!.p50Ms).toBe(120)
    // Rank 2.97 falls in (2560, 5120] ms: 2560 + 2560 * 0.97.
    expect(gpt.duration!.p99Ms).toBeCloseTo(5_043.2, 9)
    expect(gpt.timeToFirstToken).toMatchObject({ count: 2, sumMs: 425 })
    const haiku = stats.byModel['claude-3-5-haiku-20241022']
    // 95 s is above the last boundary: its rank reports the last boundary.
    expect(haiku.duration!.p99Ms).toBe(81_920)
    expect(haiku.duration!.count - haiku.duration!.buckets[13]).toBe(1)
    expect(stats.byProvider.openai.duration).toEqual(gpt.duration)
    expect(stats.byProvider.anthropic.timeToFirstToken).toEqual(haiku.timeToFirstToken)
    const untimed = stats.byModel['llama-3.1-8b-instruct']
    expect(untimed.duration).toBeUndefined()
    expect(untimed.timeToFirstToken).toBeUndefined()
    expect(stats.byAgent['agent-a'].duration).toBeUndefined()
  })

  it('counts failures per model and per error code', () => {
    const stats = busyStore().stats()
    expect(stats.byModel['gpt-4o'].failedRequests).toBe(2)
    expect(stats.byModel['llama-3.1-8b-instruct'].failedRequests).toBe(1)
    expect({ ...stats.failuresByCode }).toEqual({ rate_limit_exceeded: 2, overloaded_error: 1 })
    expect(Object.getPrototypeOf(stats.failuresByCode)).toBeNull()
  })
})

describe('store.prometheus()', () => {
  it('parses back, strictly, into exactly the figures stats() shows', () => {
    const store = new EventStore(6)
    for (let round = 0; round < 2; round++) {
      const busy = busyStore()
      // A small buffer: some events are dropped, and the gauge and counter say so.
      for (const event of busy.snapshotEvents()) store.record(event)
    }
    const text = store.prometheus()
    expectExpositionOf(parsePrometheusText(text), store.stats(), store.len(), store.droppedCount())
    expect(store.droppedCount()).toBeGreaterThan(0)
    expect(text).not.toContain('agent')
  })

  it('escapes quotes, backslashes and newlines in model names, and keeps every character', () => {
    const store = new EventStore(100)
    const names = ['say "hi"', 'C:\\models\\llm', 'two\nlines', '\\"\n\\n', 'é ünicode ✓']
    names.forEach((model, index) => store.recordLlmUsage(pricing, model, { inputTokens: index + 1, outputTokens: 1 }, { durationMs: 5 }))
    const families = parsePrometheusText(store.prometheus())
    for (const [index, model] of names.entries()) {
      expect(sampleValue(families, 'llm_tokens_total', { provider: 'unknown', model, type: 'input' })).toBe(index + 1)
      expect(sampleValue(families, 'llm_request_duration_seconds_count', { provider: 'unknown', model })).toBe(1)
    }
  })

  it('adds per-agent families only when asked for', () => {
    const store = busyStore()
    const families = parsePrometheusText(store.prometheus({ agentLabel: true }))
    const { byAgent } = store.stats()
    expect(sampleValue(families, 'llm_agent_requests_total', { agent: 'agent-a', outcome: 'failed' })).toBe(1)
    expect(sampleValue(families, 'llm_agent_cost_usd_total', { agent: 'agent-b' })).toBe(byAgent['agent-b'].costMicros / 1e6)
    expect(sampleValue(families, 'llm_agent_tokens_total', { agent: 'agent-a', type: 'input' })).toBe(byAgent['agent-a'].inputTokens)
    expect(() => store.prometheus({ agentLabel: 'yes' as unknown as boolean })).toThrow(
      new TypeError('options.agentLabel must be a boolean, got "yes"'),
    )
  })

  it('sums a label set over several stores with EventStore.prometheusOf', () => {
    const [first, second] = [busyStore(), busyStore()]
    const families = parsePrometheusText(EventStore.prometheusOf([first, second]))
    const one = first.stats().byModel['gpt-4o']
    const labels = { provider: 'openai', model: 'gpt-4o' }
    expect(sampleValue(families, 'llm_cost_usd_total', labels)).toBe((2 * one.costMicros) / 1e6)
    expect(sampleValue(families, 'llm_request_duration_seconds_count', labels)).toBe(2 * one.duration!.count)
    expect(sampleValue(families, 'llm_analytics_buffered_events')).toBe(first.len() + second.len())
    expect(() => EventStore.prometheusOf([first, {} as EventStore])).toThrow(new TypeError('stores[1] must be an EventStore, got an object'))
  })
})

describe('registerPromClient', () => {
  it('adds the same series to a prom-client registry, reading stats() once per scrape', async () => {
    const store = busyStore()
    const registry = new Registry()
    registerPromClient(registry, store, { agentLabel: true })
    let reads = 0
    const stats = store.stats.bind(store)
    store.stats = () => {
      reads += 1
      return stats()
    }
    const fromPromClient = parsePrometheusText(await registry.metrics())
    expect(reads).toBe(1)
    const native = parsePrometheusText(store.prometheus({ agentLabel: true }))
    expect(samples(fromPromClient)).toEqual(samples(native))
    expect(fromPromClient.map((family) => [family.name, family.type, family.help])).toEqual(
      native.map((family) => [family.name, family.type, family.help]),
    )
    expectExpositionOf(fromPromClient, stats(), store.len(), store.droppedCount())
  })

  it('registers nothing when a name is taken, and unregisters what it registered', async () => {
    const registry = new Registry()
    const store = busyStore()
    const unregister = registerPromClient(registry, store)
    expect(() => registerPromClient(registry, store)).toThrow(new RangeError('registry already has a metric named llm_requests_total'))
    unregister()
    expect(await registry.metrics()).toBe('\n')
    expect(() => registerPromClient({} as Registry, store)).toThrow(new TypeError('registry must be a prom-client Registry, got an object'))
    expect(() => registerPromClient(registry, null as unknown as EventStore)).toThrow(new TypeError('store must be an EventStore, got null'))
    expect(registry.getMetricsAsArray()).toHaveLength(0)
  })
})

describe('registerOpenTelemetry', () => {
  async function collect(store: EventStore, agentLabel = false) {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
    const provider = new MeterProvider({ readers: [reader] })
    const unregister = registerOpenTelemetry(provider.getMeter('iron-runtime-analytics-test'), store, { agentLabel })
    await reader.forceFlush()
    const metrics = exporter.getMetrics().at(-1)!.scopeMetrics.flatMap((scope) => scope.metrics)
    return { metrics, unregister, reader, exporter, provider }
  }

  it('reports the same totals as stats() with GenAI attribute names', async () => {
    const store = busyStore()
    const { metrics, provider } = await collect(store, true)
    const stats = store.stats()
    const points = (name: string) => metrics.find((metric) => metric.descriptor.name === name)!.dataPoints
    const total = (name: string, where: (attributes: Record<string, unknown>) => boolean = () => true) =>
      points(name)
        .filter((point) => where(point.attributes))
        .reduce((sum, point) => sum + (point.value as number), 0)
    expect(total('llm.requests')).toBe(stats.totalRequests)
    expect(total('llm.requests', (a) => a['llm.request.outcome'] === 'failed')).toBe(stats.failedRequests)
    expect(total('llm.tokens', (a) => a['gen_ai.token.type'] === 'input')).toBe(stats.totalInputTokens)
    expect(total('llm.tokens', (a) => a['gen_ai.token.type'] === 'reasoning')).toBe(stats.totalReasoningTokens)
    expect(total('llm.cost')).toBeCloseTo(stats.totalCostMicros / 1e6, 9)
    const gpt = points('llm.cost').find((point) => point.attributes['gen_ai.request.model'] === 'gpt-4o')!
    expect(gpt.attributes).toEqual({ 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o' })
    expect(gpt.value).toBe(stats.byModel['gpt-4o'].costMicros / 1e6)
    expect(total('llm.request.duration.count')).toBe(stats.byProvider.openai.duration!.count + stats.byProvider.anthropic.duration!.count)
    expect(total('llm.time_to_first_token.sum')).toBeCloseTo((stats.byProvider.openai.timeToFirstToken!.sumMs + stats.byProvider.anthropic.timeToFirstToken!.sumMs) / 1000, 9)
    expect(total('llm.agent.cost', (a) => a['gen_ai.agent.id'] === 'agent-a')).toBe(stats.byAgent['agent-a'].costMicros / 1e6)
    expect(total('llm.analytics.buffered_events')).toBe(store.len())
    expect(total('llm.analytics.dropped_events')).toBe(0)
    await provider.shutdown()
  })

  it('stops reporting once unregistered, and refuses what is not a meter', async () => {
    const store = busyStore()
    const { unregister, reader, provider } = await collect(store)
    let reads = 0
    const stats = store.stats.bind(store)
    store.stats = () => {
      reads += 1
      return stats()
    }
    await reader.forceFlush()
    expect(reads).toBe(1)
    unregister()
    await reader.forceFlush()
    expect(reads).toBe(1)
    expect(() => registerOpenTelemetry({} as never, store)).toThrow(new TypeError('meter must be an @opentelemetry/api Meter, got an object'))
    await provider.shutdown()
  })
})
