// The defects a production router hit (issue 13), one test each, against the reference Control API.
// (An event the client cannot encode: sync-unencodable.spec.ts.)
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { EventStore, PricingManager } from '../lib/index.js'
import { SyncClient, SyncConfig } from '../lib/sync/index.js'
import { exitsOnItsOwn } from './helpers/child'
import { AGENT, type ControlApi, TOKEN, rows, startServer, storedCount } from './helpers/control-api'

const pricing = new PricingManager()
let api: ControlApi
let folder: string

beforeEach(async () => {
  api = await startServer({ tokens: { [TOKEN]: AGENT, 'tok-b': 'agent-b' }, malformedTokens: ['tok-malformed'] })
  folder = mkdtempSync(join(tmpdir(), 'sync-regressions-'))
})

afterEach(async () => {
  vi.restoreAllMocks()
  await api.close()
  rmSync(folder, { recursive: true, force: true })
})

function configFor(url: string, token = TOKEN): SyncConfig {
  return new SyncConfig(url, token).withInterval(60_000).withBatchThreshold(100_000).withRetryDelay(5).withMaxRetryDelay(20).withTimeout(2_000)
}

function record(store: EventStore, count: number, agentId?: string): void {
  for (let i = 0; i < count; i++) store.recordLlmCompleted(pricing, 'gpt-4o', 100 + i, 10, agentId)
}

/** Rounds until `done()`; each is awaited, so nothing is timed. */
async function syncUntil(client: SyncClient, done: () => boolean, rounds = 100): Promise<void> {
  for (let i = 0; i < rounds && !done(); i++) await client.syncEvents()
}

function spoolText(path: string): string {
  return readdirSync(path).map((name) => readFileSync(join(path, name), 'utf8')).join('')
}

describe('a credential problem or a wrong URL deletes nothing', () => {
  it('400 INVALID_TOKEN keeps every event; they are delivered once the token is fixed', async () => {
    const store = new EventStore()
    record(store, 20)
    const config = configFor(api.url, 'tok-malformed')
    const client = new SyncClient(store, config)
    await expect(client.syncEvents()).resolves.toBe(0)
    expect(store.len()).toBe(20)
    expect(client.metrics()).toMatchObject({ rejected: 0, lastError: expect.stringContaining('INVALID_TOKEN') })
    config.icToken = TOKEN
    await syncUntil(client, () => store.len() === 0)
    expect(storedCount(api)).toBe(20)
  })

  it.each([
    ['404 from a wrong base path', (url: string) => `${url}/wrong-base`, 0, /HTTP 404/],
    ['413 from a proxy', (url: string) => url, 413, /HTTP 413/],
    ['405', (url: string) => url, 405, /HTTP 405/],
    ['410', (url: string) => url, 410, /HTTP 410/],
    ['415', (url: string) => url, 415, /HTTP 415/],
  ])('%s keeps every event and says which', async (_, urlOf, status, lastError) => {
    const store = new EventStore()
    record(store, 50)
    if (status) api.faults.failNext(5, status)
    const config = configFor(urlOf(api.url))
    const client = new SyncClient(store, config)
    await expect(client.syncEvents()).resolves.toBe(0)
    expect(store.len()).toBe(50)
    expect(client.metrics()).toMatchObject({ rejected: 0, lastError: expect.stringMatching(lastError) })
    config.serverUrl = api.url
    // A config is read at start: a new client on the same store picks the fixed URL up.
    const fixed = new SyncClient(store, config)
    await syncUntil(fixed, () => store.len() === 0)
    expect(storedCount(api)).toBe(50)
    expect(fixed.metrics().rejected).toBe(0)
  })
})

describe('Retry-After is honoured only up to maxRetryAfterMs', () => {
  it('Retry-After: 999999 waits maxRetryAfterMs, not 11.6 days', async () => {
    const store = new EventStore()
    record(store, 5)
    api.faults.failNext(1, 503, 999_999)
    const client = new SyncClient(store, configFor(api.url).withMaxConcurrency(1).withMaxRetryAfter(300))
    await expect(client.syncEvents()).resolves.toBe(0)
    const refusedAt = api.traffic.log[0].answeredAt!
    await expect(client.syncEvents()).resolves.toBe(5)
    expect(api.traffic.log[1].at).toBeGreaterThanOrEqual(refusedAt + 300)
  })

  it('an awaited syncEvents() keeps no process alive while it waits for a Retry-After', async () => {
    api.faults.failNext(10_000, 503, 999_999)
    await exitsOnItsOwn(`
      const store = new EventStore()
      for (let i = 0; i < 5; i++) store.recordLlmCompleted(new PricingManager(), 'gpt-4o', 100, i)
      const client = new SyncClient(store, new SyncConfig(process.env.URL, process.env.TOKEN).withRetryDelay(5))
      client.syncEvents().then(() => client.syncEvents())
    `, { URL: api.url, TOKEN })
  })
})

describe('stop() reports what it left', () => {
  it('resolves to { delivered, remaining, spooled } and warns once when events are lost', async () => {
    const down = await startServer()
    await down.close()
    const store = new EventStore()
    record(store, 40)
    const warnings: unknown[] = []
    vi.spyOn(process, 'emitWarning').mockImplementation((warning) => void warnings.push(warning))
    const handle = new SyncClient(store, configFor(down.url).withTimeout(200)).start()
    await expect(handle.stop()).resolves.toEqual({ delivered: 0, remaining: 40, spooled: 0 })
    expect(warnings).toHaveLength(1)
    expect(String(warnings[0])).toMatch(/^40 LLM events were neither delivered nor spooled/)
  })

  it('no warning when every event is delivered or spooled', async () => {
    const store = new EventStore()
    record(store, 10)
    const warn = vi.spyOn(process, 'emitWarning')
    const client = new SyncClient(store, configFor(api.url))
    await expect(client.start().stop()).resolves.toEqual({ delivered: 10, remaining: 0, spooled: 0 })
    expect(warn).not.toHaveBeenCalled()
  })
})

describe('one store, one client, many agents', () => {
  it('sends each event with its agent\'s token; a refused token pauses only its own agent', async () => {
    const store = new EventStore()
    record(store, 30, 'a')
    record(store, 30, 'b')
    record(store, 5, 'c')
    record(store, 2)
    const tokens: Record<string, string> = { a: TOKEN, b: 'tok-wrong' }
    const client = new SyncClient(store, configFor(api.url, '').withAgentTokens((agentId) => tokens[agentId ?? '']))
    await syncUntil(client, () => storedCount(api) === 30)
    expect(new Set(rows(api).map((row) => row.agent_id))).toEqual(new Set([AGENT]))
    expect(client.metrics()).toMatchObject({ rejected: 0, withoutToken: 7 })
    tokens.b = 'tok-b'
    await syncUntil(client, () => storedCount(api) === 60)
    expect(rows(api).filter((row) => row.agent_id === 'agent-b')).toHaveLength(30)
    expect(store.len()).toBe(7)
  })

  it('is unpaced by default: no cap of 1,000 events a minute per token', async () => {
    expect(new SyncConfig(api.url, TOKEN).maxEventsPerMinute).toBe(0)
    const store = new EventStore()
    record(store, 1_500)
    await expect(new SyncClient(store, configFor(api.url)).syncEvents()).resolves.toBe(1_500)
  })
})

describe('the spool loses nothing', () => {
  it('is written while the client runs, not only at stop()', async () => {
    const down = await startServer()
    await down.close()
    const spoolPath = join(folder, 'spool')
    const store = new EventStore()
    const client = new SyncClient(store, configFor(down.url).withSpoolPath(spoolPath).withSpoolFlush(20))
    const handle = client.start()
    record(store, 25)
    const ids = store.snapshotEvents().map((event) => event.eventId)
    await vi.waitFor(() => expect(client.metrics().spooled).toBe(25))
    const text = spoolText(spoolPath)
    for (const id of ids) expect(text).toContain(id)
    await handle.stop()
  })

  it('skips a corrupt record on its own: start() never throws, the good records around it are delivered', async () => {
    const spoolPath = join(folder, 'spool')
    const donor = new EventStore()
    record(donor, 3)
    const [a, b, c] = donor.snapshotEvents()
    const { model, ...missingModel } = b as Extract<typeof b, { model: string }>
    const writer = 'w00000000000000aa'
    const lines = [a, missingModel, c].map((event) => JSON.stringify({ e: event })).join('\n') + '\n{"e":{"torn'
    mkdirSync(spoolPath)
    writeFileSync(join(spoolPath, `${writer}.lock`), JSON.stringify({ released: true }))
    writeFileSync(join(spoolPath, `${writer}-0.seg`), lines)
    writeFileSync(join(spoolPath, `${writer}.lock.tmp`), 'left by a crash')
    const client = new SyncClient(new EventStore(), configFor(api.url).withSpoolPath(spoolPath))
    const handle = client.start()
    await syncUntil(client, () => storedCount(api) === 2)
    expect(rows(api).map((row) => row.event_id)).toEqual([a.eventId, c.eventId])
    expect(client.metrics().spoolCorrupt).toBe(2)
    await expect(handle.stop()).resolves.toEqual({ delivered: 2, remaining: 0, spooled: 0 })
    // The taken-over files, the temporary file and this writer's own files are gone.
    expect(readdirSync(spoolPath)).toEqual([])
  })

  it('a restart onto a spool of several segments delivers each of its events once, while the spool timer loads too', async () => {
    const spoolPath = join(folder, 'spool')
    const donor = new EventStore(5_000)
    record(donor, 5_000)
    const events = donor.snapshotEvents()
    const writer = 'w00000000000000bb'
    mkdirSync(spoolPath)
    writeFileSync(join(spoolPath, `${writer}.lock`), JSON.stringify({ released: true }))
    for (let n = 0; n < 5; n++) {
      const lines = events.slice(n * 1_000, (n + 1) * 1_000).map((event) => `${JSON.stringify({ e: event })}\n`)
      writeFileSync(join(spoolPath, `${writer}-${n}.seg`), lines.join(''))
    }
    // A spool timer of 1 ms starts its loads while start()'s first load is still streaming.
    const client = new SyncClient(new EventStore(100_000), configFor(api.url).withSpoolPath(spoolPath).withSpoolFlush(1))
    const handle = client.start()
    await syncUntil(client, () => storedCount(api) >= events.length)
    await expect(handle.stop()).resolves.toEqual({ delivered: events.length, remaining: 0, spooled: 0 })
    expect(client.metrics().spoolError).toBeUndefined()
    expect(rows(api).map((row) => row.event_id).sort()).toEqual(events.map((event) => event.eventId).sort())
    expect(readdirSync(spoolPath)).toEqual([])
  })

  it('an unwritable path is reported loudly, and start() still starts', async () => {
    const file = join(folder, 'a-file')
    writeFileSync(file, '')
    const warnings: unknown[] = []
    vi.spyOn(process, 'emitWarning').mockImplementation((warning) => void warnings.push(warning))
    const store = new EventStore()
    record(store, 3)
    const client = new SyncClient(store, configFor(api.url).withSpoolPath(join(file, 'spool')))
    const handle = client.start()
    expect(warnings).toHaveLength(1)
    expect(String(warnings[0])).toMatch(/spool directory .* cannot be written \(ENOTDIR\)/)
    expect(client.metrics().spoolError).toMatch(/cannot be written/)
    await syncUntil(client, () => store.len() === 0)
    await expect(handle.stop()).resolves.toEqual({ delivered: 3, remaining: 0, spooled: 0 })
  })

  it('650,000 events go to disk and come back, loaded only as far as the store has room', async () => {
    const down = await startServer()
    await down.close()
    const spoolPath = join(folder, 'spool')
    const big = new EventStore(650_000)
    record(big, 650_000)
    const first = new SyncClient(big, configFor(down.url).withTimeout(50).withSpoolPath(spoolPath))
    await expect(first.start().stop()).resolves.toEqual({ delivered: 0, remaining: 650_000, spooled: 650_000 })
    const small = new EventStore(1_000)
    const second = new SyncClient(small, configFor(down.url).withTimeout(50).withSpoolPath(spoolPath))
    const handle = second.start()
    await vi.waitFor(() => expect(second.metrics().queued).toBe(1_000), { timeout: 20_000 })
    // What was not loaded is still on disk: the report counts what the client held.
    await expect(handle.stop()).resolves.toEqual({ delivered: 0, remaining: 1_000, spooled: 1_000 })
    const third = new SyncClient(new EventStore(1_000), configFor(down.url).withTimeout(50).withSpoolPath(spoolPath))
    const again = third.start()
    await vi.waitFor(() => expect(third.metrics().queued).toBe(1_000), { timeout: 20_000 })
    await again.stop()
  }, 120_000)
})
