// Bounded memory: a store aggregates at most maxKeys names per dimension, counting the rest under
// (other); refused calls keep nothing; dropped stores give their memory back. The figures are
// measured in child processes with --expose-gc, with bounds loose enough not to flake: they guard
// against unbounded growth (each case grew by hundreds of megabytes before), not against speed.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { EventStore, PricingManager } from '../lib/index'

const pricing = new PricingManager()
const ENTRY = fileURLToPath(new URL('../dist/index.cjs', import.meta.url))
const MIB = 2 ** 20

/** Runs `body` with EventStore, PricingManager, `settle()` (GC and a turn, then RSS) in a child. */
async function measure(body: string): Promise<Record<string, number>> {
  const script = `
    const { EventStore, PricingManager } = require(${JSON.stringify(ENTRY)})
    const turn = () => new Promise((resolve) => setImmediate(resolve))
    // Finalizers of native objects run after the collection, on a later turn.
    const settle = async () => { for (let i = 0; i < 3; i++) { gc(); await turn() } return process.memoryUsage().rss }
    ;(async () => { ${body} })().then((figures) => process.stdout.write(JSON.stringify(figures)))
  `
  const child = spawn(process.execPath, ['--expose-gc', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const [code] = await once(child, 'exit')
  if (code !== 0) throw new Error(`the child exited with ${code}: ${stderr}`)
  return JSON.parse(stdout)
}

describe('key limits', () => {
  it('counts names beyond maxKeys under (other), keeping every request and every event name', () => {
    const store = new EventStore(100, { maxKeys: 3 })
    for (let i = 0; i < 5; i++) store.recordLlmCompleted(pricing, `model-${i}`, 10, 1, `agent-${i}`, `edge-${i}`)
    store.recordLlmFailed('model-9', 'agent-9')
    const stats = store.stats()
    expect(Object.keys(stats.byModel).sort()).toEqual(['(other)', 'model-0', 'model-1', 'model-2'])
    expect(stats.byModel['(other)']).toMatchObject({ requestCount: 2, inputTokens: 20, failedRequests: 1 })
    expect(stats.byAgent['(other)']).toMatchObject({ requestCount: 2, failedRequests: 1 })
    expect(stats.totalRequests).toBe(6)
    // model, agent and provider id of two completed requests, model and agent of the failed one.
    expect(stats.overflowedKeys).toBe(8)
    const events = store.snapshotEvents()
    expect(events.map((event) => ('model' in event ? event.model : ''))).toEqual(['model-0', 'model-1', 'model-2', 'model-3', 'model-4', 'model-9'])
    expect(events[4]).toMatchObject({ agentId: 'agent-4', providerId: 'edge-4', inputTokens: 10 })
    expect(events[5]).toMatchObject({ type: 'llm_request_failed', agentId: 'agent-9' })
  })

  it('applies the limit to record() events too, and refuses a bad maxKeys', () => {
    const store = new EventStore(10, { maxKeys: 1 })
    store.record({ type: 'llm_request_completed', model: 'a', provider: 'openai', inputTokens: 1, outputTokens: 1, costMicros: 1 })
    store.record({ type: 'llm_request_completed', model: 'b', provider: 'openai', inputTokens: 1, outputTokens: 1, costMicros: 1 })
    expect(Object.keys(store.stats().byModel).sort()).toEqual(['(other)', 'a'])
    expect(store.snapshotEvents().map((event) => ('model' in event ? event.model : ''))).toEqual(['a', 'b'])
    expect(() => new EventStore(10, { maxKeys: 0 })).toThrow(/options\.maxKeys/)
    expect(() => new EventStore(10, 'many' as never)).toThrow(TypeError)
  })
})

describe('memory', () => {
  it('keeps nothing for 1,000,000 refused calls', async () => {
    const { grown } = await measure(`
      const pricing = new PricingManager()
      const store = new EventStore()
      const before = await settle()
      for (let i = 0; i < 1_000_000; i++) {
        try { store.recordLlmCompleted(pricing, 'refused-model-' + i, -1, 0) } catch {}
        try { store.recordLlmFailed('refused-model-' + i, 'agent-' + i, '') } catch {}
      }
      return { grown: (await settle()) - before }
    `)
    // Interning the refused names cost 416 MB before.
    expect(grown).toBeLessThan(96 * MIB)
  })

  it('keeps a bounded amount for 1,000,000 distinct agents through one store, and gives it back once the store is dropped', async () => {
    const { first, external, keys, collected } = await measure(`
      let collected = 0
      const dropped = new FinalizationRegistry(() => collected++)
      const pricing = new PricingManager()
      const flood = (round) => {
        const store = new EventStore()
        dropped.register(store, round)
        for (let i = 0; i < 1_000_000; i++) store.recordLlmCompleted(pricing, 'gpt-4o', 1, 1, 'agent-' + round + '-' + i)
        return Object.keys(store.stats().byAgent).length
      }
      const start = await settle()
      const externalAtStart = process.memoryUsage().external
      const keys = flood(1)
      const first = (await settle()) - start
      for (let round = 2; round <= 6; round++) flood(round)
      await settle()
      return { first, external: process.memoryUsage().external - externalAtStart, keys, collected }
    `)
    expect(keys).toBe(100_001)
    // Interning every name cost over 500 MB before, never given back. RSS also holds what V8 and
    // the allocator keep mapped (on Node 20 the first flood measures about 40 MiB).
    expect(first).toBeLessThan(128 * MIB)
    // Every dropped store was collected, and its native side finalized: the memory each store
    // reports to V8 while it lives (about 127 KiB with a full staging ring) is all given back.
    expect(collected).toBe(6)
    expect(external).toBeLessThan(100 * 1024)
  })

  it('stays under 256 MiB creating and dropping 10,000 stores in a loop', async () => {
    const { peak } = await measure(`
      const pricing = new PricingManager()
      let peak = 0
      for (let i = 0; i < 10_000; i++) {
        const store = new EventStore()
        store.recordLlmCompleted(pricing, 'gpt-4o', 1, 1)
        peak = Math.max(peak, process.memoryUsage().rss)
      }
      return { peak }
    `)
    expect(peak).toBeLessThan(256 * MIB)
  })
})
