// How stats() reads the figures the core writes (src/layout.rs `stats`, lib/stats.ts): histograms
// only for keys with observations, figures past 2^31 (which travel as f64s), key rows of every
// kind side by side, and stores too large for the reused buffer.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type ComputedStats, EventStore, ModelStats, PricingManager } from '../lib/index'

const pricing = new PricingManager()

// Names a generated record builder must write as the very same keys (lib/record-shape.ts).
const AWKWARD_NAMES = ['__proto__', 'constructor', '0', '17', 'say "hi"', 'back\\slash', 'new\nline', '\u2028', 'replaced-\uFFFD', '${x}', '`tick`', 'é', '🙂']

/** Every record of a snapshot as [key, figures] pairs in its own order, with its prototype. */
function records(stats: ComputedStats): unknown[] {
  return [stats.byModel, stats.byProvider, stats.byAgent].map((record) => [
    Object.getPrototypeOf(record),
    Object.entries(record).map(([key, figures]) => [key, figures instanceof ModelStats, { ...figures }]),
  ])
}

describe('stats() snapshot', () => {
  it('shows latency on the keys that observed it, and none on their neighbours', () => {
    const store = new EventStore(100)
    store.recordLlmUsage(pricing, 'gpt-4o', { inputTokens: 100, outputTokens: 10 }, { durationMs: 150, timeToFirstTokenMs: 30 })
    store.recordLlmUsage(pricing, 'gpt-4o', { inputTokens: 100, outputTokens: 10 }, { durationMs: 300 })
    store.recordLlmUsage(pricing, 'gpt-4o-mini', { inputTokens: 5, outputTokens: 1 })
    store.recordLlmUsage(pricing, 'claude-3-5-haiku-20241022', { inputTokens: 7, outputTokens: 2 }, { timeToFirstTokenMs: 12 })
    store.recordLlmUsage(pricing, 'llama-3-70b', { inputTokens: 3, outputTokens: 4 })
    const { byModel, byProvider } = store.stats()

    const timed = byModel['gpt-4o']
    expect(timed).toBeInstanceOf(ModelStats)
    expect([timed.requestCount, timed.inputTokens, timed.outputTokens, timed.provider]).toEqual([2, 200, 20, 'openai'])
    expect(timed.duration).toMatchObject({ count: 2, sumMs: 450 })
    // 150 ms is in the 160 ms bucket, 300 ms in the 320 ms one; both below every later boundary.
    expect(timed.duration?.buckets).toEqual([0, 0, 0, 0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2])
    expect(timed.timeToFirstToken).toMatchObject({ count: 1, sumMs: 30 })

    // Read after a record with histograms: its own figures, none of its neighbour's.
    const untimed = byModel['gpt-4o-mini']
    expect([untimed.requestCount, untimed.inputTokens, untimed.outputTokens, untimed.provider]).toEqual([1, 5, 1, 'openai'])
    expect(untimed.duration).toBeUndefined()
    expect(untimed.timeToFirstToken).toBeUndefined()

    const firstTokenOnly = byModel['claude-3-5-haiku-20241022']
    expect(firstTokenOnly.provider).toBe('anthropic')
    expect(firstTokenOnly.duration).toBeUndefined()
    // 12 ms is past the first boundary (10 ms).
    expect(firstTokenOnly.timeToFirstToken).toMatchObject({ count: 1, sumMs: 12, buckets: [0, ...Array(13).fill(1)] })
    expect([byModel['llama-3-70b'].inputTokens, byModel['llama-3-70b'].duration]).toEqual([3, undefined])

    expect(byProvider.openai.duration).toMatchObject({ count: 2, sumMs: 450 })
    expect(byProvider.openai.timeToFirstToken).toMatchObject({ count: 1, sumMs: 30 })
    expect(byProvider.anthropic.duration).toBeUndefined()
    expect(byProvider.anthropic.timeToFirstToken).toMatchObject({ count: 1 })
    expect([byProvider.unknown.requestCount, byProvider.unknown.duration, byProvider.unknown.provider]).toEqual([1, undefined, undefined])
  })

  it('adds up every timing of a batch in its histograms, per model and per provider', () => {
    const store = new EventStore(100)
    const models = ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-haiku-20241022']
    const boundaries = [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480, 40960, 81920]
    const expected = new Map(models.map((model) => [model, { count: 0, sumMs: 0, buckets: boundaries.map(() => 0) }]))
    for (let index = 0; index < 3_000; index++) {
      const model = models[index % 3]
      // Up to 100 s, to the microsecond, some on a boundary.
      const durationMs = index % 7 === 0 ? boundaries[index % 14] : ((index * 7_919) % 100_000_000) / 1_000
      store.recordLlmUsage(pricing, model, { inputTokens: 1, outputTokens: 1 }, { durationMs })
      const figures = expected.get(model)!
      figures.count++
      figures.sumMs += durationMs
      boundaries.forEach((boundary, at) => (figures.buckets[at] += durationMs <= boundary ? 1 : 0))
    }
    const { byModel, byProvider } = store.stats()
    for (const model of models) {
      const { count, sumMs, buckets } = expected.get(model)!
      expect(byModel[model].duration).toMatchObject({ count, buckets })
      expect(byModel[model].duration?.sumMs).toBeCloseTo(sumMs, 6)
      expect(byModel[model].timeToFirstToken).toBeUndefined()
    }
    const openai = [expected.get('gpt-4o')!, expected.get('gpt-4o-mini')!]
    expect(byProvider.openai.duration?.count).toBe(2_000)
    expect(byProvider.openai.duration?.buckets).toEqual(boundaries.map((_, at) => openai[0].buckets[at] + openai[1].buckets[at]))
    expect(byProvider.anthropic.duration).toMatchObject({ count: 1_000, buckets: expected.get('claude-3-5-haiku-20241022')!.buckets })
  })

  it('counts an agent with failures only, next to agents with figures', () => {
    const store = new EventStore(100)
    store.recordLlmCompleted(pricing, 'gpt-4o', 100, 10, 'busy')
    store.recordLlmFailed('gpt-4o', 'failing', null, 'rate_limit_exceeded')
    store.recordLlmFailed('claude-3-opus-20240229', 'failing', null, 'overloaded_error')
    store.recordLlmCompleted(pricing, 'gpt-4o-mini', 3, 1, 'quiet')
    const stats = store.stats()

    const failing = stats.byAgent.failing
    expect(failing).toBeInstanceOf(ModelStats)
    expect([failing.requestCount, failing.failedRequests, failing.inputTokens, failing.costMicros]).toEqual([0, 2, 0, 0])
    expect([failing.provider, failing.duration, failing.timeToFirstToken]).toEqual([undefined, undefined, undefined])
    expect([stats.byAgent.busy.requestCount, stats.byAgent.busy.inputTokens, stats.byAgent.busy.failedRequests]).toEqual([1, 100, 0])
    expect([stats.byAgent.quiet.requestCount, stats.byAgent.quiet.inputTokens]).toEqual([1, 3])
    expect(Object.keys(stats.byAgent).sort()).toEqual(['busy', 'failing', 'quiet'])
    expect(stats.byModel['claude-3-opus-20240229']).toMatchObject({ requestCount: 0, failedRequests: 1, provider: 'anthropic' })
    expect(stats.failuresByCode).toEqual({ rate_limit_exceeded: 1, overloaded_error: 1 })
  })

  it('gives figures past 2^31 exactly, next to small ones', () => {
    const store = new EventStore(100)
    const large = 2 ** 31 + 7
    const larger = 2 ** 52 + 3
    store.recordLlmCompleted(pricing, 'unpriced-large', large, 1, 'agent')
    store.recordLlmCompleted(pricing, 'unpriced-large', larger, 2 ** 31, 'agent')
    store.recordLlmCompleted(pricing, 'unpriced-small', 2 ** 31 - 1, 5)
    const stats = store.stats()

    expect([stats.byModel['unpriced-large'].inputTokens, stats.byModel['unpriced-large'].outputTokens]).toEqual([large + larger, 2 ** 31 + 1])
    expect([stats.byModel['unpriced-small'].inputTokens, stats.byModel['unpriced-small'].outputTokens]).toEqual([2 ** 31 - 1, 5])
    expect(stats.byAgent.agent.inputTokens).toBe(large + larger)
    expect(stats.byProvider.unknown.inputTokens).toBe(large + larger + 2 ** 31 - 1)
    expect([stats.totalInputTokens, stats.totalOutputTokens, stats.totalRequests]).toEqual([large + larger + 2 ** 31 - 1, 2 ** 31 + 6, 3])
    expect(stats.unpricedModels).toEqual(['unpriced-large', 'unpriced-small'])
  })

  it('lists the unpriced models sorted at every read while new ones come in between reads', () => {
    const store = new EventStore(100)
    for (const model of ['unpriced-m', 'unpriced-c']) store.recordLlmCompleted(pricing, model, 1, 1)
    expect(store.stats().unpricedModels).toEqual(['unpriced-c', 'unpriced-m'])
    expect(store.stats().unpricedModels).toEqual(['unpriced-c', 'unpriced-m'])
    // Known models and repeats change nothing; new names join in their place.
    for (const model of ['gpt-4o', 'unpriced-m', 'unpriced-a', 'unpriced-x']) store.recordLlmCompleted(pricing, model, 1, 1)
    const first = store.stats().unpricedModels
    expect(first).toEqual(['unpriced-a', 'unpriced-c', 'unpriced-m', 'unpriced-x'])
    // Each read gives its own array.
    first.length = 0
    expect(store.stats().unpricedModels).toEqual(['unpriced-a', 'unpriced-c', 'unpriced-m', 'unpriced-x'])
  })

  it('reads a store larger than the reused buffer, then a small one again', () => {
    const store = new EventStore(100, { maxKeys: 20_000 })
    for (let index = 0; index < 15_000; index++) {
      store.recordLlmUsage(pricing, `model-${index}`, { inputTokens: index, outputTokens: 1 }, index % 3 === 0 ? { durationMs: index } : undefined)
    }
    const stats = store.stats()
    expect(Object.keys(stats.byModel)).toHaveLength(15_000)
    for (const index of [0, 1, 2, 3, 7_777, 14_999]) {
      const figures = stats.byModel[`model-${index}`]
      expect([figures.requestCount, figures.inputTokens, figures.duration?.count]).toEqual([1, index, index % 3 === 0 ? 1 : undefined])
    }
    expect(stats.totalInputTokens).toBe((14_999 * 15_000) / 2)
    expect(stats.unpricedModels).toHaveLength(15_000)
    expect(stats.unpricedModels).toEqual([...stats.unpricedModels].sort())

    const small = new EventStore(100)
    small.recordLlmCompleted(pricing, 'gpt-4o', 1, 2)
    expect(Object.keys(small.stats().byModel)).toEqual(['gpt-4o'])

    // The large store's reads keep their own buffer: read again, after more records and after
    // another large store's read, each sees its own figures only.
    store.recordLlmCompleted(pricing, 'model-7777', 5, 5)
    const other = new EventStore(100, { maxKeys: 20_000 })
    for (let index = 0; index < 14_000; index++) other.recordLlmCompleted(pricing, `other-${index}`, 1, 1)
    expect(Object.keys(other.stats().byModel)).toHaveLength(14_000)
    const again = store.stats()
    expect(Object.keys(again.byModel)).toHaveLength(15_000)
    expect(again.byModel['model-7777'].requestCount).toBe(2)
    expect(again.totalInputTokens).toBe((14_999 * 15_000) / 2 + 5)
    expect(again.byModel['other-0']).toBeUndefined()
    expect(Object.keys(small.stats().byModel)).toEqual(['gpt-4o'])
  })

  it('reads stores past the point-read area, and small ones again, each with its own figures', () => {
    // 1,000 models take about 14,000 slots: more than the area, less than a store's own buffer.
    const middle = new EventStore(100)
    for (let index = 0; index < 1_000; index++) middle.recordLlmCompleted(pricing, `model-${index}`, index, 1, `agent-${index % 300}`)
    const small = new EventStore(100)
    small.recordLlmCompleted(pricing, 'gpt-4o', 7, 3, 'only')
    for (let read = 0; read < 2; read++) {
      const stats = middle.stats()
      expect([Object.keys(stats.byModel).length, Object.keys(stats.byAgent).length]).toEqual([1_000, 300])
      expect(stats.byModel['model-999'].inputTokens).toBe(999)
      expect(stats.byAgent['agent-299'].requestCount).toBe(3)
      expect(stats.totalInputTokens).toBe((999 * 1_000) / 2)
      const few = small.stats()
      expect(Object.keys(few.byModel)).toEqual(['gpt-4o'])
      expect([few.byAgent.only.inputTokens, few.totalRequests, few.byModel['model-1']]).toEqual([7, 1, undefined])
      expect(small.agentStats('only')?.outputTokens).toBe(3)
    }
  })

  it('names keys that look like numbers or Object.prototype members as they were recorded', () => {
    const store = new EventStore(100)
    const names = ['0', '123', '-1', '1e3', '__proto__', 'constructor', 'toString', 'é']
    for (const name of names) store.recordLlmCompleted(pricing, name, 1, 1, name)
    const stats = store.stats()
    expect(Object.keys(stats.byModel).sort()).toEqual([...names].sort())
    expect(Object.keys(stats.byAgent).sort()).toEqual([...names].sort())
    expect(stats.byModel.__proto__).toBeInstanceOf(ModelStats)
    expect(stats.byAgent['1e3'].requestCount).toBe(1)
  })

  it('gives the same records at every read, as their key sets change and grow past the shaped size', () => {
    const store = new EventStore(100)
    AWKWARD_NAMES.forEach((name, index) => store.recordLlmCompleted(pricing, name, index + 1, 1, name))
    const first = store.stats()
    expect(Object.keys(first.byModel).sort()).toEqual([...AWKWARD_NAMES].sort())
    expect(Object.hasOwn(first.byModel, '__proto__')).toBe(true)
    expect(first.byAgent['say "hi"'].inputTokens).toBe(AWKWARD_NAMES.indexOf('say "hi"') + 1)
    // Later reads of the same key set are built by generated code (lib/record-shape.ts).
    for (let read = 0; read < 3; read++) expect(records(store.stats())).toEqual(records(first))
    expect(Object.getPrototypeOf(store.stats().byAgent)).toBeNull()

    // A new key, then the same set again, then past what a generated builder takes.
    store.recordLlmCompleted(pricing, 'gpt-4o', 10, 10, 'late')
    const grown = store.stats()
    expect(Object.keys(grown.byAgent)).toHaveLength(AWKWARD_NAMES.length + 1)
    expect(records(store.stats())).toEqual(records(grown))
    expect(store.stats().byAgent.late.inputTokens).toBe(10)
    for (let index = 0; index < 200; index++) store.recordLlmCompleted(pricing, 'gpt-4o', 1, 1, `agent-${index}`)
    const wide = store.stats()
    expect(Object.keys(wide.byAgent)).toHaveLength(AWKWARD_NAMES.length + 201)
    expect(records(store.stats())).toEqual(records(wide))
    expect(wide.byAgent['agent-199'].requestCount).toBe(1)
    expect(wide.byModel['gpt-4o'].requestCount).toBe(201)
  })

  it('builds the same records where Node refuses to generate code', () => {
    const script = `
      const { EventStore, PricingManager } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.cjs'))})
      const pricing = new PricingManager()
      const store = new EventStore(100)
      for (const name of ${JSON.stringify(AWKWARD_NAMES)}) store.recordLlmCompleted(pricing, name, 2, 1, name)
      const reads = [store.stats(), store.stats(), store.stats()]
      const keys = reads.map((stats) => [Object.keys(stats.byModel), Object.getPrototypeOf(stats.byAgent), stats.byAgent['__proto__'].inputTokens])
      process.stdout.write(JSON.stringify(keys))
    `
    const output = execFileSync(process.execPath, ['--disallow-code-generation-from-strings', '-e', script], { encoding: 'utf8' })
    const reads = JSON.parse(output)
    expect(reads).toHaveLength(3)
    for (const [keys, prototype, inputTokens] of reads) {
      expect(keys).toEqual(reads[0][0])
      expect([...keys].sort()).toEqual([...AWKWARD_NAMES].sort())
      expect([prototype, inputTokens]).toEqual([null, 2])
    }
  })
})
