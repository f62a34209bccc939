// One event the client cannot put on the wire never stops the others. The store refuses what has
// no exact wire form today, so the encoder is made to fail for one model here.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { EventStore, PricingManager } from '../lib/index.js'
import { SyncClient, SyncConfig } from '../lib/sync/index.js'
import { type ControlApi, TOKEN, startServer, storedCount } from './helpers/control-api'

vi.mock('../lib/protocol012.js', async (original) => {
  const actual = await original<typeof import('../lib/protocol012.js')>()
  return {
    ...actual,
    toProtocol012: (event: Parameters<typeof actual.toProtocol012>[0], icToken: string) => {
      if ((event as { model?: string }).model === 'unencodable') throw new RangeError('event.costMicros must be a non-negative safe integer')
      return actual.toProtocol012(event, icToken)
    },
  }
})

let api: ControlApi
let folder: string

beforeEach(async () => {
  api = await startServer()
  folder = mkdtempSync(join(tmpdir(), 'sync-unencodable-'))
})

afterEach(async () => {
  await api.close()
  rmSync(folder, { recursive: true, force: true })
})

it('an event the client cannot encode is rejected on its own, counted and named; the others are delivered and spooled', async () => {
  const pricing = new PricingManager()
  const store = new EventStore()
  store.recordLlmCompleted(pricing, 'unencodable', 1, 1)
  const [bad] = store.snapshotEvents()
  for (let i = 0; i < 300; i++) store.recordLlmCompleted(pricing, 'gpt-4o', 100 + i, 10)
  const config = new SyncConfig(api.url, TOKEN).withInterval(60_000).withBatchThreshold(100_000).withSpoolPath(join(folder, 'spool'))
  const client = new SyncClient(store, config)
  const handle = client.start()
  for (let round = 0; round < 50 && store.len() > 0; round++) await client.syncEvents()
  expect(storedCount(api)).toBe(300)
  expect(store.len()).toBe(0)
  expect(client.metrics()).toMatchObject({ delivered: 300, rejected: 1, lastError: expect.stringContaining(bad.eventId) })
  await expect(handle.stop()).resolves.toEqual({ delivered: 300, remaining: 0, spooled: 0 })
})
