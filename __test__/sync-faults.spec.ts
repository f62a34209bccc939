// The sync client against a Control API that fails: error bursts, resets, timeouts, rate limits
// and refused tokens. Whatever the mix, every recorded LLM event ends up stored exactly once.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type AnalyticsEvent, EventStore, PricingManager } from '../lib/index.js'
import { SyncClient, SyncConfig, type SyncMetrics } from '../lib/sync/index.js'
import { exitsOnItsOwn } from './helpers/child'
import { AGENT, type ControlApi, TOKEN, rows, startServer, storedCount } from './helpers/control-api'

const pricing = new PricingManager()
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet-20241022', 'claude-3-haiku-20240307', 'llama-3-70b']
const EVENTS = 3000

let api: ControlApi

beforeEach(async () => {
  api = await startServer()
})

afterEach(async () => {
  vi.useRealTimers()
  vi.restoreAllMocks()
  await api.close()
})

/** Unpaced, with short backoffs, so that a few thousand events and their faults take a second or two. */
function configFor(url: string, token = TOKEN): SyncConfig {
  return new SyncConfig(url, token)
    .withInterval(50)
    .withBatchThreshold(20)
    .withMaxEventsPerMinute(0)
    .withRetryDelay(5)
    .withMaxRetryDelay(40)
    .withTimeout(5_000)
}

interface Run {
  store: EventStore
  client: SyncClient
  metrics: SyncMetrics
  /** The LLM events recorded, oldest first. */
  llm: AnalyticsEvent[]
  /** How many router and budget events were recorded. */
  other: number
}

/**
 * Records `EVENTS` LLM events (and a few others) while a started client syncs, calling `inject`
 * as it goes; waits until the client has acknowledged every LLM event it could, then stops it.
 */
async function recordWhileSyncing(config: SyncConfig, inject: (i: number, client: SyncClient) => void): Promise<Run> {
  const [store, receiver] = EventStore.withStreaming(10_000, 10_000)
  const client = new SyncClient(store, config)
  const handle = client.start()
  let other = 0
  for (let i = 0; i < EVENTS; i++) {
    if (i % 4 === 3) store.recordLlmFailed(MODELS[i % MODELS.length], `agent-${i % 3}`, 'openai-us', 'timeout', 'upstream timed out')
    else store.recordLlmCompleted(pricing, MODELS[i % MODELS.length], 100 + i, 20 + (i % 50), i % 2 ? `agent-${i % 3}` : undefined)
    if (i % 500 === 250) {
      store.recordRouterStarted(8080)
      store.recordBudgetThreshold(80, 800_000, 1_000_000, 'agent-1')
      other += 2
    }
    inject(i, client)
    // Record in bursts spread over a few hundred ms, so the client's rounds run in between.
    if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 10))
  }
  const llm: AnalyticsEvent[] = []
  for (let event = receiver.tryRecv(); event; event = receiver.tryRecv()) {
    if (event.type === 'llm_request_completed' || event.type === 'llm_request_failed') llm.push(event)
  }
  expect(llm).toHaveLength(EVENTS)
  await vi.waitFor(
    () => {
      expect(store.unsyncedCount()).toBe(other)
      expect(client.metrics().delivered + client.metrics().rejected).toBe(EVENTS)
    },
    { timeout: 30_000, interval: 20 },
  )
  await handle.stop()
  expect(api.faults.pending()).toBe(0)
  // Late answers to requests the client gave up on are still to be written; wait for them.
  await vi.waitFor(() => expect(api.traffic.log.every((entry) => entry.status !== undefined)).toBe(true))
  return { store, client, metrics: client.metrics(), llm, other }
}

/** Requests per event id, in the order they arrived. */
function requestsByEvent(): Map<string, typeof api.traffic.log> {
  const byEvent = new Map<string, typeof api.traffic.log>()
  for (const entry of api.traffic.log) {
    const list = byEvent.get(entry.eventId!) ?? []
    list.push(entry)
    byEvent.set(entry.eventId!, list)
  }
  return byEvent
}

const delivered = (status: unknown) => typeof status === 'number' && status >= 200 && status < 300

/**
 * The database holds exactly the recorded LLM events (less the rejected ones), each once, and
 * the client acknowledged each once. With `shortTimeout`, an answer the server wrote can still
 * lose the race against the client's timer (they share this process), so the server's log cannot
 * tell which answers the client saw; the client's own delivered count then carries that check.
 */
function expectExactlyOnce(run: Run, { rejected = new Set<string>(), shortTimeout = false } = {}): void {
  const stored = rows(api)
  const expected = run.llm.filter((event) => !rejected.has(event.eventId))
  expect(stored).toHaveLength(expected.length)
  expect(new Set(stored.map((row) => row.event_id))).toEqual(new Set(expected.map((event) => event.eventId)))
  // Only the non-LLM events remain unsynced.
  expect(run.store.unsyncedCount()).toBe(run.other)
  expect(run.store.unsyncedEvents().every((event) => !event.type.startsWith('llm_'))).toBe(true)
  expect(run.metrics.delivered).toBe(expected.length)
  expect(run.metrics.rejected).toBe(rejected.size)
  expect(run.metrics.inFlight).toBe(0)
  // Once the client has seen an event acknowledged, it never sends it again.
  if (shortTimeout) return
  for (const [eventId, requests] of requestsByEvent()) {
    const acknowledged = requests.findIndex((entry) => delivered(entry.status) || entry.status === 400)
    expect(acknowledged === -1 ? rejected.has(eventId) : acknowledged === requests.length - 1, eventId).toBe(true)
  }
}

describe('a fault mix while a few thousand events are recorded', () => {
  it('5xx bursts', async () => {
    const statuses = [500, 502, 503, 504]
    const run = await recordWhileSyncing(configFor(api.url), (i) => {
      if (i % 300 === 100) api.faults.failNext(6, statuses[(i / 300) % statuses.length | 0])
    })
    expect(api.faults.injected.status).toBe(60)
    expect(run.metrics.retried).toBeGreaterThanOrEqual(60)
    expectExactlyOnce(run)
  })

  it('connection resets', async () => {
    const run = await recordWhileSyncing(configFor(api.url), (i) => {
      if (i % 300 === 100) api.faults.resetNext(4)
    })
    expect(api.faults.injected.reset).toBe(40)
    expect(run.metrics.lastError).toMatch(/network error/)
    expectExactlyOnce(run)
  })

  it('timeouts: the server stores the event but answers after the client gave up', async () => {
    const run = await recordWhileSyncing(configFor(api.url).withTimeout(100), (i) => {
      if (i % 600 === 100) api.faults.delayNext(2, 400)
    })
    expect(api.faults.injected.delay).toBe(10)
    expect(api.traffic.log.some((entry) => entry.status === 'abandoned')).toBe(true)
    expect(run.metrics.retried).toBeGreaterThanOrEqual(10)
    // An event whose answer came too late was stored all the same: sent again, it is a duplicate.
    expect(run.metrics.duplicates).toBeGreaterThan(0)
    expect(run.metrics.duplicates).toBeLessThanOrEqual(10)
    expectExactlyOnce(run, { shortTimeout: true })
  })

  it('429 with Retry-After: no request for the event before it', async () => {
    // The first three requests, one at a time: nothing accepted yet, so Retry-After alone paces
    // (a 429 after acceptances paces at what the server took; see the pacing tests).
    const run = await recordWhileSyncing(configFor(api.url).withMaxConcurrency(1), (i) => {
      if (i < 3) api.faults.failNext(1, 429, 1)
    })
    expect(api.faults.injected.status).toBe(3)
    for (const requests of requestsByEvent().values()) {
      requests.forEach((entry, k) => {
        if (entry.status === 429) expect(requests[k + 1].at).toBeGreaterThanOrEqual(entry.answeredAt! + 1000)
      })
    }
    expectExactlyOnce(run)
  })

  it('401 until the token is replaced by a valid one: nothing is thrown away', async () => {
    const config = configFor(api.url, 'ic_tok_expired')
    let refused = 0
    const run = await recordWhileSyncing(config, () => {
      // The token is replaced once the client has been refused a few times.
      if (config.icToken !== TOKEN && (refused = api.traffic.log.filter((entry) => entry.status === 401).length) >= 3) {
        config.icToken = TOKEN
      }
    })
    expect(config.icToken).toBe(TOKEN)
    expect(run.metrics.retried).toBeGreaterThanOrEqual(refused)
    expect(run.metrics.rejected).toBe(0)
    expect(new Set(rows(api).map((row) => row.agent_id))).toEqual(new Set([AGENT]))
    expectExactlyOnce(run)
  })

  it('400 is final: the event is counted in rejected and never sent again', async () => {
    const run = await recordWhileSyncing(configFor(api.url), (i) => {
      if (i % 1000 === 500) api.faults.failNext(1, 400)
    })
    const rejected = new Set(api.traffic.log.filter((entry) => entry.status === 400).map((entry) => entry.eventId!))
    expect(rejected.size).toBe(3)
    for (const eventId of rejected) expect(api.traffic.count(eventId)).toBe(1)
    expect(run.metrics.lastError).toMatch(/^HTTP 400/)
    expectExactlyOnce(run, { rejected })
  })

  it('everything at once, and the icToken shows up in no output, error or metric', async () => {
    const output: string[] = []
    const capture = (...args: unknown[]) => void output.push(args.map((arg) => inspect(arg)).join(' '))
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) vi.spyOn(console, method).mockImplementation(capture)
    vi.spyOn(process, 'emitWarning').mockImplementation(capture)
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream)
      vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
        output.push(String(chunk))
        return (write as (...args: unknown[]) => boolean)(chunk, ...rest)
      }) as typeof stream.write)
    }
    const errors: string[] = []
    const config = configFor(api.url).withTimeout(100)
    const run = await recordWhileSyncing(config, (i, client) => {
      if (i % 50 === 49) errors.push(JSON.stringify(client.metrics()))
      switch (i % 400) {
        case 50:
          return api.faults.failNext(3, 503, 0)
        case 150:
          return api.faults.resetNext(2)
        case 250:
          return api.faults.delayNext(1, 300)
        case 300:
          api.faults.failNext(1, 401)
          return api.faults.failNext(1, 403)
      }
      // Once, late: from then on the client paces at what the server took in the last minute.
      if (i === EVENTS - 50) api.faults.failNext(1, 429, 1)
    })
    expect(run.metrics.lastError).toEqual(expect.any(String))
    expectExactlyOnce(run, { shortTimeout: true })
    expect(run.metrics.retried).toBeGreaterThan(0)

    for (const attempt of [
      () => new SyncConfig('not a url', TOKEN),
      () => new SyncConfig(TOKEN, TOKEN),
      () => new SyncConfig(api.url, TOKEN).withTimeout(-1),
      () => {
        config.icToken = 42 as unknown as string
      },
      () => new SyncClient(run.store, { serverUrl: api.url, icToken: TOKEN } as unknown as SyncConfig),
      () => {
        const broken = new SyncConfig(api.url, TOKEN)
        broken.maxConcurrency = 0
        new SyncClient(run.store, broken).start()
      },
    ]) {
      let thrown: unknown
      try {
        attempt()
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(Error)
      errors.push(inspect(thrown, { showHidden: true, depth: Infinity }), JSON.stringify(thrown))
    }
    const seen = [
      ...output,
      ...errors,
      JSON.stringify(run.metrics),
      inspect(run.client, { showHidden: true, depth: Infinity }),
      inspect(config, { showHidden: true, depth: Infinity }),
      JSON.stringify(config),
      String(config),
    ].join('\n')
    expect(seen).not.toContain(TOKEN)
    expect(config.icToken).toBe(TOKEN)
  })
})

describe('sync behaviour', () => {
  it('stop() flushes everything pending through failures before it resolves', async () => {
    const store = new EventStore()
    for (let i = 0; i < 500; i++) store.recordLlmCompleted(pricing, 'gpt-4o', 100, i)
    api.faults.failNext(3, 503)
    const handle = new SyncClient(store, configFor(api.url).withInterval(600_000).withBatchThreshold(100_000)).start()
    await handle.stop()
    expect(storedCount(api)).toBe(500)
    expect(store.unsyncedCount()).toBe(0)
  })

  it('keeps at most maxConcurrency requests in flight', async () => {
    const store = new EventStore()
    for (let i = 0; i < 40; i++) store.recordLlmCompleted(pricing, 'gpt-4o', 100, i)
    api.faults.delayNext(40, 20)
    const client = new SyncClient(store, configFor(api.url).withMaxConcurrency(3))
    await expect(client.syncEvents()).resolves.toBe(40)
    expect(api.traffic.peakConcurrency).toBe(3)
  })

  it('a manual round after a 429 waits for its Retry-After date', async () => {
    const store = new EventStore()
    for (let i = 0; i < 5; i++) store.recordLlmCompleted(pricing, 'gpt-4o', 100, i)
    // Retry-After as an HTTP date, which has whole seconds.
    const until = new Date(Math.ceil((Date.now() + 1_200) / 1_000) * 1_000)
    api.faults.failNext(1, 429, until)
    const client = new SyncClient(store, configFor(api.url).withMaxConcurrency(1))
    await expect(client.syncEvents()).resolves.toBe(0)
    expect(client.metrics()).toMatchObject({ retried: 1, lastError: expect.stringContaining('429') })
    await expect(client.syncEvents()).resolves.toBe(5)
    const [refused, ...later] = api.traffic.log
    expect(refused.status).toBe(429)
    for (const entry of later) expect(entry.at).toBeGreaterThanOrEqual(until.getTime())
  })

  it('paces sends to maxEventsPerMinute', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
    const store = new EventStore()
    for (let i = 0; i < 8; i++) store.recordLlmCompleted(pricing, 'gpt-4o', 100, i)
    const client = new SyncClient(store, configFor(api.url).withMaxEventsPerMinute(5))
    const round = client.syncEvents()
    await vi.waitFor(() => expect(client.metrics().delivered).toBe(5))
    // A send happens synchronously when its timer fires; nothing is in flight, so nothing was sent.
    vi.advanceTimersByTime(55_000)
    expect(client.metrics().inFlight).toBe(0)
    expect(api.traffic.log).toHaveLength(5)
    vi.advanceTimersByTime(10_000)
    expect(client.metrics().inFlight).toBeGreaterThan(0)
    await expect(round).resolves.toBe(8)
    expect(storedCount(api)).toBe(8)
  })

  it('a started client keeps no process alive: delivering, retrying or pacing', async () => {
    const closed = await startServer()
    await closed.close()
    const record = `
      const store = new EventStore()
      const pricing = new PricingManager()
      for (let i = 0; i < 20; i++) store.recordLlmCompleted(pricing, 'gpt-4o', 100, i)
      store.recordRouterStarted(8080)
    `
    // Each child stays up a moment on its own timer, so the client is mid-work when it ends.
    const linger = 'setTimeout(() => {}, 300)'
    await Promise.all([
      exitsOnItsOwn(`${record}
        new SyncClient(store, new SyncConfig(process.env.URL, process.env.TOKEN).withBatchThreshold(1)).start()
        ${linger}`, { URL: api.url, TOKEN }),
      exitsOnItsOwn(`${record}
        new SyncClient(store, new SyncConfig(process.env.URL, process.env.TOKEN).withBatchThreshold(1).withRetryDelay(50)).start()
        ${linger}`, { URL: closed.url, TOKEN }),
      exitsOnItsOwn(`${record}
        new SyncClient(store, new SyncConfig(process.env.URL, process.env.TOKEN).withBatchThreshold(1).withMaxEventsPerMinute(2)).start()
        ${linger}`, { URL: api.url, TOKEN }),
    ])
  })

  describe('spool', () => {
    let folder: string

    beforeEach(() => {
      folder = mkdtempSync(join(tmpdir(), 'sync-spool-'))
    })

    afterEach(() => {
      rmSync(folder, { recursive: true, force: true })
    })

    it('a client stopped while the server is down leaves a spool that the next client delivers', async () => {
      const spoolPath = join(folder, 'spool')
      const down = await startServer()
      await down.close()
      const first = new EventStore()
      for (let i = 0; i < 200; i++) first.recordLlmCompleted(pricing, 'gpt-4o', 100, i, `agent-${i % 5}`)
      first.recordLlmFailed('claude-3-opus-20240229', undefined, undefined, 'overloaded')
      first.recordRouterStarted(8080)
      const recorded = first.unsyncedEvents().filter((event) => event.type !== 'router_started')
      const stopped = new SyncClient(first, configFor(down.url).withTimeout(300).withSpoolPath(spoolPath))
      await expect(stopped.start().stop()).resolves.toEqual({ delivered: 0, remaining: 201, spooled: 201 })
      expect(stopped.metrics().delivered).toBe(0)
      // What could not be delivered stays in the buffer, and also in the spool.
      expect(first.unsyncedCount()).toBe(202)
      const spoolText = readdirSync(spoolPath).map((name) => readFileSync(join(spoolPath, name), 'utf8')).join('')
      expect(spoolText).toContain(recorded[0].eventId)
      expect(spoolText).not.toContain(TOKEN)

      // The next process: a new store, the server back up.
      const next = new EventStore()
      next.recordLlmCompleted(pricing, 'gpt-4o-mini', 1, 1)
      const [fresh] = next.unsyncedEvents()
      // One request at a time, so the database's order is the order of sending.
      const handle = new SyncClient(next, configFor(api.url).withMaxConcurrency(1).withSpoolPath(spoolPath)).start()
      await vi.waitFor(() => expect(storedCount(api)).toBe(202), { timeout: 10_000 })
      await handle.stop()
      const stored = rows(api)
      // Spooled events go first, with their original ids and figures.
      expect(stored.slice(0, 201).map((row) => row.event_id)).toEqual(recorded.map((event) => event.eventId))
      expect(stored.slice(0, 201).map((row) => row.timestamp_ms)).toEqual(recorded.map((event) => event.timestampMs))
      expect(stored[201].event_id).toBe(fresh.eventId)
      expect(readdirSync(spoolPath)).toEqual([])
    })

    it('a client restarted on the same store sends what is both spooled and buffered once', async () => {
      const spoolPath = join(folder, 'spool')
      const store = new EventStore()
      for (let i = 0; i < 50; i++) store.recordLlmCompleted(pricing, 'gpt-4o', 100, i)
      const config = configFor('http://127.0.0.1:9').withTimeout(200).withSpoolPath(spoolPath)
      const client = new SyncClient(store, config)
      await expect(client.start().stop()).resolves.toEqual({ delivered: 0, remaining: 50, spooled: 50 })
      config.serverUrl = api.url
      await expect(client.start().stop()).resolves.toEqual({ delivered: 50, remaining: 0, spooled: 0 })
      expect(storedCount(api)).toBe(50)
      expect(api.traffic.log).toHaveLength(50)
      expect(store.unsyncedCount()).toBe(0)
      expect(readdirSync(spoolPath)).toEqual([])
    })
  })
})
