// PARITY.md, group "sync (16)": the crate's sync tests, against the reference Control API in
// examples/control-api (a real HTTP server and SQLite database, not a mock object).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { EventStore, PricingManager } from '../lib/index.js'
import { SyncClient, SyncConfig } from '../lib/sync/index.js'
import { AGENT, type ControlApi, TOKEN, rows, startServer, storedCount } from './helpers/control-api'
import { exitsOnItsOwn } from './helpers/child'

const pricing = new PricingManager()
let api: ControlApi

beforeEach(async () => {
  api = await startServer()
})

afterEach(async () => {
  vi.useRealTimers()
  await api.close()
})

/** A config for tests: short retries, nothing starts a round on its own unless asked. */
function configFor(url: string): SyncConfig {
  return new SyncConfig(url, TOKEN).withInterval(60_000).withBatchThreshold(1_000).withRetryDelay(5).withMaxRetryDelay(50).withTimeout(5_000)
}

describe('sync (16)', () => {
  it('sync_config_new', () => {
    const config = new SyncConfig('http://127.0.0.1:9', TOKEN)
    expect(config.serverUrl).toBe('http://127.0.0.1:9')
    expect(config.icToken).toBe(TOKEN)
    expect(config.syncInterval).toBe(30_000)
    expect(config.batchThreshold).toBe(10)
    expect(config.timeout).toBe(30_000)
    expect(config.maxEventsPerMinute).toBe(0)
    expect(config.maxRetryAfterMs).toBe(300_000)
    expect(config.spoolFlushMs).toBe(1_000)
    expect(config.maxSpoolBytes).toBe(1024 ** 3)
    expect(config.maxConcurrency).toBe(4)
    expect(config.spoolPath).toBeUndefined()
  })

  it('sync_config_with_interval', () => {
    expect(new SyncConfig('http://127.0.0.1:9', TOKEN).withInterval(60_000).syncInterval).toBe(60_000)
  })

  it('sync_config_with_batch_threshold', () => {
    expect(new SyncConfig('http://127.0.0.1:9', TOKEN).withBatchThreshold(50).batchThreshold).toBe(50)
  })

  it('sync_config_builder_chain', () => {
    const config = new SyncConfig('http://127.0.0.1:9', TOKEN)
      .withInterval(10_000)
      .withBatchThreshold(25)
      .withTimeout(5_000)
      .withMaxEventsPerMinute(0)
      .withMaxConcurrency(8)
      .withSpoolPath('/tmp/spool.json')
    expect(config).toBeInstanceOf(SyncConfig)
    expect([config.syncInterval, config.batchThreshold, config.timeout]).toEqual([10_000, 25, 5_000])
    expect([config.maxEventsPerMinute, config.maxConcurrency, config.spoolPath]).toEqual([0, 8, '/tmp/spool.json'])
  })

  it('sync_client_start_stop', async () => {
    const client = new SyncClient(new EventStore(), new SyncConfig('', TOKEN))
    const handle = client.start()
    await expect(handle.stop()).resolves.toEqual({ delivered: 0, remaining: 0, spooled: 0 })
  })

  it('sync_handle_drop_sends_shutdown', async () => {
    // Stopped twice: both stops resolve and not one of the client's timers is left.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const store = new EventStore()
    const handle = new SyncClient(store, configFor(api.url).withInterval(1_000)).start()
    expect(vi.getTimerCount()).toBeGreaterThan(0)
    await Promise.all([handle.stop(), handle.stop()])
    await handle.stop()
    expect(vi.getTimerCount()).toBe(0)
    store.recordLlmCompleted(pricing, 'gpt-4o', 100, 50)
    vi.advanceTimersByTime(10_000)
    expect(api.traffic.log).toHaveLength(0)
    vi.useRealTimers()
    // Never stopped: the process that started it still exits on its own.
    await exitsOnItsOwn(`
      const store = new EventStore()
      store.recordLlmCompleted(new PricingManager(), 'gpt-4o', 100, 50)
      new SyncClient(store, new SyncConfig(process.env.SERVER_URL, 'tok').withInterval(50).withBatchThreshold(1)).start()
    `, { SERVER_URL: api.url })
  })

  it('sync_client_with_empty_url_is_noop', async () => {
    const store = new EventStore()
    store.recordLlmCompleted(pricing, 'gpt-4o', 100, 50)
    store.recordLlmFailed('gpt-4o')
    const client = new SyncClient(store, new SyncConfig('', TOKEN).withInterval(1).withBatchThreshold(1))
    await expect(client.syncEvents()).resolves.toBe(0)
    await client.start().stop()
    expect(store.unsyncedCount()).toBe(2)
    expect(client.metrics()).toMatchObject({ delivered: 0, rejected: 0, retried: 0, inFlight: 0 })
    expect(api.traffic.log).toHaveLength(0)
  })

  it('sync_events_to_mock_server', async () => {
    const store = new EventStore()
    store.recordLlmCompleted(pricing, 'gpt-4o', 150, 50, 'agent-in-store', 'openai-us')
    store.recordLlmFailed('claude-3-opus-20240229', undefined, 'anthropic-primary', 'overloaded', 'Overloaded')
    const [completed, failed] = store.unsyncedEvents()
    const client = new SyncClient(store, configFor(api.url))
    await expect(client.syncEvents()).resolves.toBe(2)
    expect(store.unsyncedCount()).toBe(0)
    expect(rows(api)).toEqual([
      expect.objectContaining({
        event_id: completed.eventId,
        timestamp_ms: completed.timestampMs,
        event_type: 'llm_request_completed',
        model: 'gpt-4o',
        provider: 'openai',
        input_tokens: 150,
        output_tokens: 50,
        cost_micros: completed.type === 'llm_request_completed' ? completed.costMicros : -1,
        provider_id: 'openai-us',
        agent_id: AGENT,
      }),
      expect.objectContaining({
        event_id: failed.eventId,
        event_type: 'llm_request_failed',
        provider: 'anthropic',
        input_tokens: null,
        cost_micros: null,
        error_code: 'overloaded',
        error_message: 'Overloaded',
        agent_id: AGENT,
      }),
    ])
  })

  it('sync_filters_non_llm_events', async () => {
    const store = new EventStore()
    store.recordRouterStarted(8080)
    store.recordLlmCompleted(pricing, 'gpt-4o', 100, 50)
    store.recordBudgetThreshold(80, 800, 1_000)
    store.recordRouterStopped()
    const client = new SyncClient(store, configFor(api.url))
    await expect(client.syncEvents()).resolves.toBe(1)
    expect(api.traffic.log).toHaveLength(1)
    expect(store.unsyncedCount()).toBe(3)
    expect(store.unsyncedEvents().map((event) => event.type)).toEqual(['router_started', 'budget_threshold_reached', 'router_stopped'])
  })

  it('sync_retries_on_server_error', async () => {
    api.faults.failNext(1, 500)
    const store = new EventStore()
    store.recordLlmCompleted(pricing, 'gpt-4o', 100, 50)
    const [event] = store.unsyncedEvents()
    const client = new SyncClient(store, configFor(api.url).withBatchThreshold(1))
    const handle = client.start()
    await vi.waitFor(() => expect(store.unsyncedCount()).toBe(0), { timeout: 5_000 })
    await handle.stop()
    expect(api.traffic.count(event.eventId)).toBe(2)
    expect(storedCount(api)).toBe(1)
    expect(client.metrics()).toMatchObject({ delivered: 1, retried: 1, rejected: 0 })
  })

  it('sync_marks_synced_on_client_error', async () => {
    api.faults.failNext(1, 400)
    const store = new EventStore()
    store.recordLlmCompleted(pricing, 'gpt-4o', 100, 50)
    const client = new SyncClient(store, configFor(api.url))
    await expect(client.syncEvents()).resolves.toBe(0)
    expect(store.unsyncedCount()).toBe(0)
    expect(client.metrics()).toMatchObject({ delivered: 0, rejected: 1, lastError: expect.stringContaining('400') })
    await expect(client.syncEvents()).resolves.toBe(0)
    expect(api.traffic.log).toHaveLength(1)
  })

  it('sync_flushes_on_shutdown', async () => {
    const store = new EventStore()
    for (let i = 0; i < 3; i++) store.recordLlmCompleted(pricing, 'gpt-4o-mini', 10 + i, 5)
    const handle = new SyncClient(store, configFor(api.url)).start()
    await handle.stop()
    expect(storedCount(api)).toBe(3)
    expect(store.unsyncedCount()).toBe(0)
  })

  it('concurrent_recording_during_sync', async () => {
    const store = new EventStore()
    const client = new SyncClient(store, configFor(api.url).withBatchThreshold(5).withInterval(20))
    const handle = client.start()
    for (let i = 0; i < 50; i++) {
      store.recordLlmCompleted(pricing, 'gpt-4o', 100 + i, 50)
      // Let the client's rounds run between recordings.
      if (i % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await handle.stop()
    expect(store.stats().totalRequests).toBe(50)
    expect(store.unsyncedCount()).toBe(0)
    expect(storedCount(api)).toBe(50)
    expect(client.metrics().delivered).toBe(50)
  })

  it('multiple_sync_clients_same_store', async () => {
    const store = new EventStore()
    const clients = [new SyncClient(store, configFor(api.url).withBatchThreshold(3)), new SyncClient(store, configFor(api.url).withBatchThreshold(3))]
    const handles = clients.map((client) => client.start())
    for (let i = 0; i < 40; i++) {
      store.recordLlmCompleted(pricing, i % 2 ? 'gpt-4o' : 'claude-3-5-sonnet-20241022', 100, 50, `agent-${i % 4}`)
      if (i % 8 === 7) await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await Promise.all(handles.map((handle) => handle.stop()))
    const stats = store.stats()
    expect(stats.totalRequests).toBe(40)
    expect(Object.values(stats.byModel).reduce((sum, model) => sum + model.requestCount, 0)).toBe(40)
    expect(store.unsyncedCount()).toBe(0)
    expect(storedCount(api)).toBe(40)
    // An event both clients sent was stored once and answered 200 to the second sender.
    const [a, b] = clients.map((client) => client.metrics())
    expect(a.delivered - a.duplicates + b.delivered - b.duplicates).toBe(40)
  })

  it('manual_sync_events', async () => {
    const store = new EventStore()
    store.recordLlmCompleted(pricing, 'gpt-4o', 100, 50)
    store.recordLlmCompleted(pricing, 'claude-3-haiku-20240307', 200, 70)
    const client = new SyncClient(store, configFor(api.url))
    await expect(client.syncEvents()).resolves.toBe(2)
    expect(api.traffic.log).toHaveLength(2)
    expect(storedCount(api)).toBe(2)
  })

  it('manual_sync_empty_store', async () => {
    const client = new SyncClient(new EventStore(), configFor(api.url))
    await expect(client.syncEvents()).resolves.toBe(0)
    expect(api.traffic.log).toHaveLength(0)
  })
})
