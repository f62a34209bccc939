// The spool on its own (lib/sync/spool.ts): what it keeps when its asynchronous steps overlap.
// A started client loads the spool from its start and from its spool timer, and flushes it from
// both, so loads and flushes of one spool can be under way at once.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { EventStore, PricingManager } from '../lib/index.js'
import type { AnalyticsEvent } from '../lib/events.js'
import { Spool } from '../lib/sync/spool.js'

// Small enough for the writer's events to span several segments, which rotate at an eighth.
const WRITER_MAX_BYTES = 512 * 1024
const TAKER_MAX_BYTES = 64 * 1024 * 1024
let dir: string

beforeEach(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'spool-')), 'spool')
})

afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

function llmEvents(count: number): AnalyticsEvent[] {
  const pricing = new PricingManager()
  const store = new EventStore(count)
  for (let i = 0; i < count; i++) store.recordLlmCompleted(pricing, 'gpt-4o', 100 + i, 10, `agent-${i % 3}`)
  return store.snapshotEvents()
}

/** A writer that stopped with `events` undelivered, written over several segments. */
function leftBehind(events: AnalyticsEvent[]): void {
  const writer = new Spool(dir, WRITER_MAX_BYTES)
  for (const [i, event] of events.entries()) {
    writer.append(event)
    if (i % 100 === 99) writer.flushSync()
  }
  expect(writer.dropped).toBe(0)
  writer.close()
}

describe('Spool', () => {
  it('streams back every event of the files it took over once when loads and flushes overlap', async () => {
    const events = llmEvents(1_200)
    leftBehind(events)
    const segments = readdirSync(dir).filter((name) => name.endsWith('.seg'))
    expect(segments.length).toBeGreaterThan(2)

    const taker = new Spool(dir, TAKER_MAX_BYTES)
    taker.adopt()
    const taken: string[] = []
    const take = (event: AnalyticsEvent) => taken.push(event.eventId)
    const counts = await Promise.all([taker.load(() => 10_000, take), taker.flush(), taker.load(() => 10_000, take), taker.flush()])

    expect(counts[0] + counts[2]).toBe(events.length)
    expect(taken.sort()).toEqual(events.map((event) => event.eventId).sort())
    expect(taker.loading).toBe(false)
    expect(taker.live).toBe(events.length)
    // Only the taker's own segment and lock are left: it holds the events now.
    expect(readdirSync(dir).sort()).toEqual([`${taker.writer}-0.seg`, `${taker.writer}.lock`])
    for (const id of taken) taker.acknowledge(id)
    taker.close()
    expect(readdirSync(dir)).toEqual([])
  })
})
