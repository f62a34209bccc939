// Run by the memory suite in a fresh `node --expose-gc` process, one contender per process, so
// nothing else lives in the heap: prints how much memory 10,000 buffered events add.
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { ARG_MASK, ARGS } from './args.mjs'
import { BaselineEventStore, loadPricing } from './baseline.mjs'

const EVENTS = 10_000
// Small, so the freed warm-up events leave little reusable heap that would flatter the figure.
const WARM_UP_CAPACITY = 100
const WARM_UP_CALLS = 2_000

function record(store, pricing, count) {
  for (let i = 0; i < count; i++) {
    const a = ARGS[i & ARG_MASK]
    store.recordLlmCompleted(pricing, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
  }
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

const store = createStore(EVENTS)
record(createStore(WARM_UP_CAPACITY), pricing, WARM_UP_CALLS)
const before = await settle()
record(store, pricing, EVENTS)
const after = await settle()
if (store.len() !== EVENTS) throw new Error(`expected ${EVENTS} buffered events, found ${store.len()}`)
process.stdout.write(JSON.stringify({ rss: after.rss - before.rss, heap: after.heap - before.heap }))
