// PARITY.md, group "concurrency (11)", and the rest of what threads and waiting involve: shared
// stores across worker_threads, the waiting side of EventReceiver, a stress run and shutdown with
// live workers. Threads are worker_threads recording into `EventStore.shared` stores; the worker
// scripts in __test__/workers/ import the built package (dist/), so the package must be built
// first (`.ci/run` does). What only native threads express is tested by `cargo test` as well:
// tests/store.rs (concurrent record/read/acknowledge/drain, concurrent_streaming) and
// tests/registry.rs. Time bounds here only guard against hangs.
import { spawn } from 'node:child_process'
import { pbkdf2 } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, readdirSync } from 'node:fs'
import { setImmediate } from 'node:timers'
import { setImmediate as turn } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { type AnalyticsEvent, EventStore, PricingManager } from '../lib/index'
import { exitsOnItsOwn } from './helpers/child'

const WORKERS = new URL('./workers/', import.meta.url)
const HANG_GUARD_MS = 20_000

let stores = 0
/** A name no other test uses: every test of this file shares the process-wide registry. */
function uniqueName(label: string): string {
  return `concurrency-${label}-${++stores}`
}

interface Running<T> {
  worker: Worker
  /** Resolves at the worker's first message; rejects if it fails or exits before. */
  started: Promise<void>
  /** Resolves with the worker's last message once it has exited with code 0. */
  done: Promise<T>
}

function start<T = unknown>(script: string, workerData: object): Running<T> {
  const worker = new Worker(new URL(script, WORKERS), { workerData })
  let last: unknown
  const done = new Promise<T>((resolve, reject) => {
    worker.on('message', (message) => (last = message))
    worker.once('error', reject)
    worker.once('exit', (code) => (code === 0 ? resolve(last as T) : reject(new Error(`${script} exited with code ${code}`))))
  })
  const started = Promise.race([
    once(worker, 'message').then(() => undefined),
    done.then(() => Promise.reject(new Error(`${script} exited before its first message`))),
  ])
  // A terminated worker's `done` rejects by design; whoever awaits it still sees the rejection.
  done.catch(() => {})
  started.catch(() => {})
  return { worker, started, done }
}

function run<T = unknown>(script: string, workerData: object): Promise<T> {
  return start<T>(script, workerData).done
}

/** `workers` recorder workers, each recording `each` requests into the shared store `name`. */
async function recordWith(name: string, workers: number, each: number, extra: (index: number) => object = () => ({})): Promise<void> {
  await Promise.all(Array.from({ length: workers }, (_, index) => run('recorder.mjs', { name, count: each, ...extra(index) })))
}

/** Rejects if `promise` has not settled within `ms`: a guard against hangs, not a speed goal. */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, limit])
  } finally {
    clearTimeout(timer)
  }
}

/** A full garbage collection: vitest.config.mts exposes `gc`. */
function collectGarbageNow(): void {
  ;(globalThis as { gc?: () => void }).gc!()
}

/** A full garbage collection after the current job, so that the WeakRefs it touched may be cleared. */
async function collectGarbage(): Promise<void> {
  await turn()
  collectGarbageNow()
}

function sharedInts(length = 1): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * length))
}

function sequenceOf(event: AnalyticsEvent): [string, number] {
  if (event.type !== 'llm_request_completed') throw new Error(`unexpected ${event.type}`)
  return [event.agentId!, event.inputTokens]
}

/** Events of each agent appear in the order that agent recorded them. */
function expectOrderedPerAgent(events: AnalyticsEvent[]): void {
  const last = new Map<string, number>()
  for (const event of events) {
    const [agent, sequence] = sequenceOf(event)
    expect(sequence).toBeGreaterThan(last.get(agent) ?? -1)
    last.set(agent, sequence)
  }
}

// 5 micros per input token and 10 per output token: 10 in + 5 out cost exactly 100 micros.
const UNIT_PRICING = JSON.stringify({ 'unit-model': { input_cost_per_token: 5e-6, output_cost_per_token: 1e-5 } })

describe('concurrency (11)', () => {
  it('concurrent_recording_10_threads', async () => {
    const name = uniqueName('ten')
    const store = EventStore.shared(name, 10_000)
    await recordWith(name, 10, 100)
    expect(store.stats().totalRequests).toBe(1_000)
    expect(store.len()).toBe(1_000)
    expect(store.droppedCount()).toBe(0)
  })

  it('concurrent_recording_100_threads', async () => {
    // 100 threads of 10 in the crate; 20 workers of 50 here, the same total: each worker is a
    // whole Node environment, and the machine may have two cores.
    const name = uniqueName('many')
    const store = EventStore.shared(name, 10_000)
    await recordWith(name, 20, 50)
    expect(store.stats().totalRequests).toBe(1_000)
    expect(store.len()).toBe(1_000)
  })

  it('atomic_counters_consistent_under_load', async () => {
    const name = uniqueName('atomic')
    const store = EventStore.shared(name)
    const gate = sharedInts()
    const recording = recordWith(name, 10, 100, () => ({ models: ['unit-model'], inputTokens: 10, outputTokens: 5, pricing: UNIT_PRICING, gate }))
    Atomics.store(gate, 0, 1)
    Atomics.notify(gate, 0)
    await recording
    const stats = store.stats()
    expect(stats.totalRequests).toBe(1_000)
    expect(stats.failedRequests).toBe(0)
    expect(stats.totalInputTokens).toBe(10_000)
    expect(stats.totalOutputTokens).toBe(5_000)
    expect(stats.totalCostMicros).toBe(100_000)
    expect(stats.byModel['unit-model']).toMatchObject({ requestCount: 1_000, inputTokens: 10_000, outputTokens: 5_000, costMicros: 100_000 })
  })

  it('per_model_stats_consistent_under_load', async () => {
    const name = uniqueName('per-model')
    const store = EventStore.shared(name)
    await recordWith(name, 10, 100, () => ({ models: ['gpt-4o', 'claude-3-5-sonnet-20241022'] }))
    const stats = store.stats()
    expect(stats.totalRequests).toBe(1_000)
    expect(stats.byModel['gpt-4o'].requestCount).toBe(500)
    expect(stats.byModel['claude-3-5-sonnet-20241022'].requestCount).toBe(500)
    expect(stats.byProvider.openai.requestCount).toBe(500)
    expect(stats.byProvider.anthropic.requestCount).toBe(500)
  })

  it('no_deadlock_under_heavy_load', async () => {
    // A small buffer, so the drop path is hammered as well.
    const name = uniqueName('heavy')
    const store = EventStore.shared(name, 1_000)
    const gate = sharedInts()
    const recording = recordWith(name, 20, 500, () => ({ gate }))
    Atomics.store(gate, 0, 1)
    Atomics.notify(gate, 0)
    await within(HANG_GUARD_MS, recording)
    expect(store.stats().totalRequests).toBe(10_000)
    expect(store.len()).toBe(1_000)
    expect(store.droppedCount()).toBe(9_000)
  })

  it('concurrent_record_and_read', async () => {
    const name = uniqueName('read')
    const store = EventStore.shared(name, 2_000)
    // Each worker counts a record here before making it: a reader may see less, never more.
    const attempted = sharedInts()
    let finished = false
    const recording = recordWith(name, 4, 5_000, () => ({ attempted })).finally(() => (finished = true))
    let reads = 0
    while (!finished) {
      const seen = store.stats().totalRequests
      const snapshot = store.snapshotEvents()
      const made = Atomics.load(attempted, 0)
      expect(seen).toBeLessThanOrEqual(made)
      expect(snapshot.length).toBeLessThanOrEqual(Math.min(made, store.capacity()))
      reads++
      await turn()
    }
    await recording
    expect(reads).toBeGreaterThan(0)
    expect(store.stats().totalRequests).toBe(20_000)
    expect(store.len() + store.droppedCount()).toBe(20_000)
  })

  it('concurrent_record_and_drain', async () => {
    const name = uniqueName('drain')
    const store = EventStore.shared(name, 2_000)
    let finished = false
    const recording = recordWith(name, 4, 5_000).finally(() => (finished = true))
    const drained: AnalyticsEvent[] = []
    while (!finished) {
      drained.push(...store.drainAll())
      await turn()
    }
    await recording
    drained.push(...store.drainAll())
    expect(drained.length).toBeGreaterThan(0)
    expect(store.stats().totalRequests).toBe(20_000)
    expect(drained.length + store.droppedCount()).toBe(20_000)
    expect(new Set(drained.map((event) => event.eventId)).size).toBe(drained.length)
    expect(store.isEmpty()).toBe(true)
  })

  it('concurrent_mark_synced', async () => {
    const name = uniqueName('mark-synced')
    const store = EventStore.shared(name)
    const pricing = new PricingManager()
    for (let i = 0; i < 100; i++) store.recordLlmCompleted(pricing, 'gpt-4o', 10, 5)
    const ids = store.unsyncedEvents().map((event) => event.eventId)
    expect(store.unsyncedCount()).toBe(100)
    const results = await Promise.all([
      run<{ acknowledged: number }>('acknowledger.mjs', { name, ids: ids.slice(0, 50) }),
      run<{ acknowledged: number }>('acknowledger.mjs', { name, ids: ids.slice(50) }),
    ])
    expect(results.map((result) => result.acknowledged)).toEqual([50, 50])
    expect(store.unsyncedCount()).toBe(0)
    expect(store.stats().totalRequests).toBe(100)
  })

  it('concurrent_streaming', async () => {
    // A streaming store belongs to the thread that made it, so producer and consumer share this
    // thread's event loop here, taking turns; tests/store.rs runs the row with native threads.
    const [store, receiver] = EventStore.withStreaming(10_000, 2_000)
    const pricing = new PricingManager()
    const received: AnalyticsEvent[] = []
    let producing = true
    let receivedWhileProducing = 0
    const consuming = (async () => {
      for await (const event of receiver) {
        received.push(event)
        if (producing) receivedWhileProducing++
        if (received.length === 1_000) return
      }
    })()
    for (let slice = 0; slice < 20; slice++) {
      for (let i = 0; i < 50; i++) store.recordLlmCompleted(pricing, 'gpt-4o', slice * 50 + i, 5, 'producer')
      await turn()
    }
    producing = false
    await within(HANG_GUARD_MS, consuming)
    expect(received.map((event) => sequenceOf(event)[1])).toEqual(Array.from({ length: 1_000 }, (_, i) => i))
    expect(receivedWhileProducing).toBeGreaterThan(0)
    expect(receiver.droppedCount()).toBe(0)
  })

  it('recording_throughput', async () => {
    const name = uniqueName('throughput')
    const store = EventStore.shared(name, 10_000)
    await within(HANG_GUARD_MS, recordWith(name, 4, 2_500))
    expect(store.stats().totalRequests).toBe(10_000)
    expect(store.len()).toBe(10_000)
  })

  it('stats_retrieval_is_fast', async () => {
    const name = uniqueName('stats')
    const store = EventStore.shared(name)
    const models = ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet-20241022', 'claude-3-haiku-20240307', 'o1-mini']
    await recordWith(name, 4, 250, (index) => ({ models, agentId: `agent-${index}` }))
    const reading = (async () => {
      let stats = store.stats()
      for (let i = 1; i < 1_000; i++) stats = store.stats()
      return stats
    })()
    const stats = await within(HANG_GUARD_MS, reading)
    expect(stats.totalRequests).toBe(1_000)
    expect(Object.keys(stats.byModel).sort()).toEqual([...models].sort())
    expect(Object.values(stats.byAgent).map((agent) => agent.requestCount)).toEqual([250, 250, 250, 250])
  })
})

interface Probe {
  capacity: number
  before: number
  after: number
  removed?: boolean
  error?: { name: string; message: string }
}

describe('EventStore.shared across worker threads', () => {
  it('gives the same store for the same name in the main thread and in every worker', async () => {
    const name = uniqueName('same')
    const store = EventStore.shared(name, 50)
    const pricing = new PricingManager()
    for (let i = 0; i < 3; i++) store.recordLlmCompleted(pricing, 'gpt-4o', 1, 1)
    expect(await run<Probe>('probe.mjs', { name, record: 2 })).toEqual({ capacity: 50, before: 3, after: 5 })
    expect(await run<Probe>('probe.mjs', { name, capacity: 50 })).toEqual({ capacity: 50, before: 5, after: 5 })
    expect(store.len()).toBe(5)
    expect(EventStore.shared(name)).toBe(store)
  })

  it('gives a different store for a different name', async () => {
    const name = uniqueName('one')
    EventStore.shared(name, 50).recordLlmFailed('gpt-4o')
    expect(await run<Probe>('probe.mjs', { name: uniqueName('other') })).toEqual({ capacity: 10_000, before: 0, after: 0 })
    expect(EventStore.shared(name).len()).toBe(1)
  })

  it('refuses an existing name with a different capacity, naming both capacities', async () => {
    const name = uniqueName('mismatch')
    EventStore.shared(name, 50)
    const probe = await run<Probe>('probe.mjs', { name, capacity: 60 })
    expect(probe.error?.name).toBe('RangeError')
    expect(probe.error?.message).toMatch(new RegExp(`"${name}".*capacity 50.*capacity 60`))
    expect(() => EventStore.shared(name, 70)).toThrow(RangeError)
    expect(() => EventStore.shared(name, 70)).toThrow(/capacity 50.*capacity 70/)
    expect(EventStore.shared(name, 50).capacity()).toBe(50)
    expect(EventStore.shared(name).capacity()).toBe(50)
  })

  it('removeShared removes the name for every thread; holders keep their store', async () => {
    const name = uniqueName('remove')
    const held = EventStore.shared(name, 50)
    held.recordLlmFailed('gpt-4o')
    expect(await run<Probe>('probe.mjs', { name, remove: true })).toEqual({ capacity: 50, before: 1, after: 1, removed: true })
    held.recordLlmFailed('gpt-4o')
    expect(held.len()).toBe(2)
    const fresh = EventStore.shared(name, 20)
    expect(fresh).not.toBe(held)
    expect(fresh.len()).toBe(0)
    expect(await run<Probe>('probe.mjs', { name, record: 1 })).toEqual({ capacity: 20, before: 0, after: 1 })
    expect(EventStore.removeShared(name)).toBe(true)
    expect(EventStore.removeShared(name)).toBe(false)
  })

  it('names every key right when other threads interned names between those of this thread', async () => {
    const name = uniqueName('interleaved-names')
    const store = EventStore.shared(name, 1_000, { maxKeys: 8 })
    const pricing = new PricingManager()
    // This thread's names, each followed by one from a worker: ids alternate between the threads.
    for (const round of [1, 2, 3]) {
      store.recordLlmCompleted(pricing, `main-model-${round}`, round, 1, `main-agent-${round}`)
      await run('recorder.mjs', { name, count: 1, models: [`worker-model-${round}`], agentId: `worker-agent-${round}`, inputTokens: 10 * round })
    }
    for (const round of [4, 5, 6]) store.recordLlmCompleted(pricing, `main-model-${round}`, round, 1, `main-agent-${round}`)
    const stats = store.stats()
    const inputTokens = (record: Record<string, { inputTokens: number }>) =>
      Object.fromEntries(Object.entries(record).map(([key, figures]) => [key, figures.inputTokens]))
    // Eight names fit each dimension: main's sixth is counted under (other).
    const expected = (dimension: string) => ({
      [`main-${dimension}-1`]: 1,
      [`worker-${dimension}-1`]: 10,
      [`main-${dimension}-2`]: 2,
      [`worker-${dimension}-2`]: 20,
      [`main-${dimension}-3`]: 3,
      [`worker-${dimension}-3`]: 30,
      [`main-${dimension}-4`]: 4,
      [`main-${dimension}-5`]: 5,
      '(other)': 6,
    })
    expect(inputTokens(stats.byModel)).toEqual(expected('model'))
    expect(inputTokens(stats.byAgent)).toEqual(expected('agent'))
    expect(stats.overflowedKeys).toBe(2)
  })

  it('within a thread, every call returns the one wrapper, so staged records are seen at once', () => {
    const name = uniqueName('one-wrapper')
    const first = EventStore.shared(name)
    first.recordLlmCompleted(new PricingManager(), 'gpt-4o', 1, 1)
    const second = EventStore.shared(name)
    expect(second).toBe(first)
    expect(second.len()).toBe(1)
  })

  it('keeps recording exact while other workers exit, finish or are terminated, and leaks no thread', async () => {
    const name = uniqueName('churn')
    const store = EventStore.shared(name, 1_000)
    const threads = () => (existsSync('/proc/self/task') ? readdirSync('/proc/self/task').length : 0)
    // A first worker starts whatever threads Node keeps for the life of the process.
    await run('recorder.mjs', { name, count: 1, agentId: 'warm-up' })
    const threadsBefore = threads()

    const stop = sharedInts()
    const endless = Array.from({ length: 3 }, (_, index) => start<{ recorded: number }>('endless.mjs', { name, agentId: `endless-${index}`, stop }))
    await Promise.all(endless.map((worker) => worker.started))
    for (let wave = 0; wave < 3; wave++) {
      const doomed = start('endless.mjs', { name, agentId: `terminated-${wave}` })
      await doomed.started
      await Promise.all([
        doomed.worker.terminate(),
        recordWith(name, 4, 200, (index) => ({ agentId: `short-${wave}-${index}` })),
      ])
    }
    Atomics.store(stop, 0, 1)
    const recorded = await within(HANG_GUARD_MS, Promise.all(endless.map((worker) => worker.done)))

    const byAgent = store.stats().byAgent
    recorded.forEach(({ recorded }, index) => expect(byAgent[`endless-${index}`].requestCount).toBe(recorded))
    for (let wave = 0; wave < 3; wave++) {
      for (let index = 0; index < 4; index++) expect(byAgent[`short-${wave}-${index}`].requestCount).toBe(200)
      expect(byAgent[`terminated-${wave}`].requestCount).toBeGreaterThan(0)
    }
    const total = Object.values(byAgent).reduce((sum, agent) => sum + agent.requestCount, 0)
    expect(store.stats().totalRequests).toBe(total)
    expect(store.len() + store.droppedCount()).toBe(total)
    expect(threads()).toBe(threadsBefore)
  })
})

describe('EventReceiver: waiting', () => {
  const pricing = new PricingManager()

  it('recv() resolves with an event recorded after it began to wait, in the same turn of the event loop', async () => {
    const [store, receiver] = EventStore.withStreaming(100, 10)
    let received: AnalyticsEvent | undefined
    void receiver.recv().then((event) => {
      received = event
    })
    store.recordLlmCompleted(pricing, 'gpt-4o', 7, 5, 'late')
    expect(received).toBeUndefined()
    // The store hands the request over at the end of this turn and resumes the receiver then: no
    // poll interval, no thread, nothing later than the next immediate.
    await turn()
    expect(received).toMatchObject({ type: 'llm_request_completed', inputTokens: 7, agentId: 'late' })
  })

  it('a consumer that nothing but its waiting recv() holds keeps receiving while its store lives, across garbage collection', async () => {
    const seen: string[] = []
    let allSeen!: () => void
    const delivered = new Promise<void>((resolve) => {
      allSeen = resolve
    })
    // As in a router: the store is kept, the consumer loop is started and forgotten.
    const store = (() => {
      const [store, receiver] = EventStore.withStreaming(100, 10)
      void (async () => {
        for await (const event of receiver) {
          seen.push(event.agentId ?? '')
          if (seen.length === 2) allSeen()
        }
      })()
      return store
    })()
    await collectGarbage()
    store.recordLlmCompleted(pricing, 'gpt-4o', 1, 1, 'after-one-collection')
    await turn()
    await collectGarbage()
    store.recordLlmCompleted(pricing, 'gpt-4o', 1, 1, 'after-two-collections')
    await within(HANG_GUARD_MS, delivered)
    expect(seen).toEqual(['after-one-collection', 'after-two-collections'])
  })

  it('a waiting recv() gets its event when nothing but the wait holds its store and receiver, across garbage collection', async () => {
    const consume = async () => {
      const [store, receiver] = EventStore.withStreaming(10, 10)
      const waiting = receiver.recv()
      store.recordLlmCompleted(pricing, 'gpt-4o', 3, 2, 'held-by-nothing-else')
      // Runs just after the store hands the request over, within the same turn of the event loop.
      setImmediate(collectGarbageNow)
      return (await waiting)?.agentId
    }
    expect(await within(HANG_GUARD_MS, consume())).toBe('held-by-nothing-else')
  })

  it('several waiting recv() calls each get their own event, in order', async () => {
    const [store, receiver] = EventStore.withStreaming(100, 10)
    const waiting = [receiver.recv(), receiver.recv(), receiver.recv()]
    for (let i = 0; i < 3; i++) store.recordLlmCompleted(pricing, 'gpt-4o', i, 5, 'many')
    const events = await within(HANG_GUARD_MS, Promise.all(waiting))
    expect(events.map((event) => event && sequenceOf(event)[1])).toEqual([0, 1, 2])
  })

  it('close() resolves a waiting recv() with undefined, and every later one', async () => {
    const [store, receiver] = EventStore.withStreaming(100, 10)
    const waiting = receiver.recv()
    receiver.close()
    expect(await within(HANG_GUARD_MS, waiting)).toBeUndefined()
    store.recordLlmCompleted(pricing, 'gpt-4o', 1, 1)
    expect(await receiver.recv()).toBeUndefined()
    expect(receiver.tryRecv()).toBeUndefined()
    expect(store.len()).toBe(1)
  })

  it('for await yields each event until close(); leaving a loop early keeps the receiver open', async () => {
    const [store, receiver] = EventStore.withStreaming(100, 10)
    for (let i = 0; i < 3; i++) store.recordLlmCompleted(pricing, 'gpt-4o', i, 5, 'loop')
    for await (const event of receiver) {
      expect(sequenceOf(event)[1]).toBe(0)
      break
    }
    const seen: number[] = []
    const looping = (async () => {
      for await (const event of receiver) seen.push(sequenceOf(event)[1])
    })()
    store.recordLlmCompleted(pricing, 'gpt-4o', 3, 5, 'loop')
    await within(HANG_GUARD_MS, (async () => {
      while (seen.length < 3) await turn()
    })())
    receiver.close()
    await within(HANG_GUARD_MS, looping)
    expect(seen).toEqual([1, 2, 3])
  })

  it('a full channel never blocks recording and counts every event it could not take', async () => {
    const [store, receiver] = EventStore.withStreaming(1_000, 4)
    const waiting = receiver.recv()
    for (let i = 0; i < 100; i++) store.recordLlmCompleted(pricing, 'gpt-4o', i, 5, 'full')
    expect(store.len()).toBe(100)
    const streamed = [await waiting]
    for (let event = receiver.tryRecv(); event; event = receiver.tryRecv()) streamed.push(event)
    expect(streamed.map((event) => event && sequenceOf(event)[1])).toEqual([0, 1, 2, 3])
    expect(receiver.droppedCount()).toBe(96)
  })

  it('waiting receivers hold no thread-pool thread', async () => {
    // More waiting receivers than libuv has pool threads (4 by default); pool work still runs.
    const receivers = Array.from({ length: 8 }, () => EventStore.withStreaming(10, 10))
    const waiting = receivers.map(([, receiver]) => receiver.recv())
    const hash = promisify(pbkdf2)
    await within(HANG_GUARD_MS, Promise.all(Array.from({ length: 8 }, () => hash('secret', 'salt', 1_000, 32, 'sha256'))))
    receivers.forEach(([, receiver]) => receiver.close())
    expect(await Promise.all(waiting)).toEqual(Array(8).fill(undefined))
  })

  it('an idle or abandoned receiver does not keep the process or a worker alive', async () => {
    await exitsOnItsOwn(`
      const [store, receiver] = EventStore.withStreaming(10, 10)
      receiver.recv().then(() => process.exit(3))
      ;(async () => { for await (const event of EventStore.withStreaming(10, 10)[1]) process.exit(4) })()
    `)
    await within(HANG_GUARD_MS, run('idle-receiver.mjs', {}))
  })
})

describe('stress', () => {
  it('workers record into one shared store while the main thread snapshots, acknowledges and drains: every buffered event is read out exactly once', async () => {
    const WORKERS_COUNT = 4
    const ROUNDS = 60
    const name = uniqueName('stress')
    const store = EventStore.shared(name, 2_000)
    // The workers record numbered requests until the reader has done all its rounds.
    const stop = sharedInts()
    const workers = Array.from({ length: WORKERS_COUNT }, (_, index) =>
      start<{ recorded: number }>('endless.mjs', { name, agentId: `stress-${index}`, stop }),
    )
    await within(HANG_GUARD_MS, Promise.all(workers.map((worker) => worker.started)))

    const removed: AnalyticsEvent[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const snapshot = store.snapshotEvents()
      expect(snapshot.length).toBeLessThanOrEqual(store.capacity())
      expectOrderedPerAgent(snapshot)
      if (round % 3 === 0) {
        const half = snapshot.filter((_, index) => index % 2 === 0)
        // Only this thread removes events, so every id of its snapshot is still buffered.
        expect(store.markSynced(half.map((event) => event.eventId))).toBe(half.length)
        removed.push(...half)
      } else if (round % 3 === 1) {
        removed.push(...store.drainAll())
      } else {
        expectOrderedPerAgent(store.unsyncedEvents())
      }
      await turn()
    }
    const removedWhileRecording = removed.length
    Atomics.store(stop, 0, 1)
    const reports = await within(HANG_GUARD_MS, Promise.all(workers.map((worker) => worker.done)))
    removed.push(...store.drainAll())

    const total = reports.reduce((sum, report) => sum + report.recorded, 0)
    // Each worker flushed its first request before it started: the first round removed some.
    expect(removedWhileRecording).toBeGreaterThan(0)
    expect(store.stats().totalRequests).toBe(total)
    expect(removed.length + store.droppedCount()).toBe(total)
    expect(new Set(removed.map((event) => event.eventId)).size).toBe(removed.length)
    expect(new Set(removed.map((event) => sequenceOf(event).join(':'))).size).toBe(removed.length)
    for (const [index, report] of reports.entries()) {
      const last = removed.map(sequenceOf).reduce((max, [agent, sequence]) => (agent === `stress-${index}` ? Math.max(max, sequence) : max), -1)
      expect(last).toBeLessThan(report.recorded)
    }
    expect(store.isEmpty()).toBe(true)
  })
})

describe('shutdown with live workers', () => {
  const EXIT_CHILD = fileURLToPath(new URL('exit-child.mjs', WORKERS))

  // exit: process.exit(0) while workers record; natural: the workers are unref'd and the main
  // thread runs out of work; terminate: half are terminated mid-recording, then process.exit(0).
  it.each(['exit', 'natural', 'terminate'])('a process whose workers are recording exits cleanly (%s)', async (mode) => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const child = spawn(process.execPath, [EXIT_CHILD, mode, '4'], { stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (chunk) => (stderr += chunk))
      const guard = setTimeout(() => child.kill('SIGKILL'), HANG_GUARD_MS)
      const [code, signal] = await once(child, 'exit')
      clearTimeout(guard)
      expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' })
    }
  })
})
