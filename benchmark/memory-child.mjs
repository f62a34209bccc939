// Run by the memory suite in a fresh `node --expose-gc` process, one contender per process, so
// nothing else lives in the heap: prints, as JSON, how much resident memory (and JS heap plus
// external memory) the store adds at each stage, all against one baseline taken before the store
// exists, so the store's own allocation counts:
//   created   the empty store of capacity 10,000;
//   buffered  after 10,000 recorded events;
//   snapshot  after snapshotEvents() of those 10,000 (the copies collected): what a store holds
//             once a sync round has read its buffer.
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { ARG_MASK, ARGS } from './args.mjs'
import { BaselineEventStore, loadPricing } from './baseline.mjs'

const EVENTS = 10_000
// Small, so the freed warm-up events leave little reusable native heap that would flatter the figure.
const WARM_UP_CAPACITY = 100
const WARM_UP_CALLS = 2_000

function record(store, pricing, count) {
  for (let i = 0; i < count; i++) {
    const a = ARGS[i & ARG_MASK]
    store.recordLlmCompleted(pricing, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
  }
}

// A snapshot of 10,000 events makes as many short-lived JS objects, and V8 keeps the young
// generation it grew for them. Growing it the same way before the baseline, with garbage of the
// same shape that no store owns, keeps that growth out of every contender's figures alike.
function growYoungGeneration() {
  const garbage = new Array(EVENTS)
  for (let i = 0; i < EVENTS; i++) {
    const a = ARGS[i & ARG_MASK]
    garbage[i] = { eventId: randomUUID(), timestampMs: Date.now(), type: 'llm_request_completed', ...a, costMicros: i }
  }
  return garbage.length
}

// Full collections with a pause between, so background sweeping has returned what it frees.
async function settle() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc()
    await sleep(50)
  }
  const { rss, heapUsed, external } = process.memoryUsage()
  return { rss, heap: heapUsed + external }
}

const prices = loadPricing()
let createStore
let pricing
if (process.argv[2] === 'ours') {
  const { EventStore, PricingManager } = createRequire(import.meta.url)('../dist/index.cjs')
  createStore = (capacity) => new EventStore(capacity)
  pricing = PricingManager.fromJson(JSON.stringify(prices))
} else {
  createStore = (capacity) => new BaselineEventStore(capacity)
  pricing = prices
}

{
  const warmUp = createStore(WARM_UP_CAPACITY)
  record(warmUp, pricing, WARM_UP_CALLS)
  warmUp.snapshotEvents()
  warmUp.drainAll()
  growYoungGeneration()
}
const base = await settle()
const store = createStore(EVENTS)
const created = await settle()
record(store, pricing, EVENTS)
const buffered = await settle()
if (store.len() !== EVENTS) throw new Error(`expected ${EVENTS} buffered events, found ${store.len()}`)
if (store.snapshotEvents().length !== EVENTS) throw new Error('the snapshot lost events')
const snapshot = await settle()

const delta = (stage) => ({ rss: stage.rss - base.rss, heap: stage.heap - base.heap })
process.stdout.write(JSON.stringify({ created: delta(created), buffered: delta(buffered), snapshot: delta(snapshot) }))
