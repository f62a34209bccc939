import { setImmediate } from 'node:timers'

import type { NativeStore } from '../index.js'
import { native } from './binding.js'
import { type AnalyticsEvent, type EventInput, encodeEvent, readEvents } from './events.js'
import { PricingManager } from './pricing.js'
import { inferProvider, PROVIDERS, providerIndex, type Provider } from './provider.js'
import { EventReceiver, wakeWaitingReceiver } from './receiver.js'
import { type ComputedStats, readStats } from './stats.js'
import { optionalSymbolFor, symbolFor } from './symbols.js'
import {
  checkCount,
  checkIdentifier,
  checkIntegerInRange,
  checkOptionalMessage,
  describe,
} from './validate.js'

export const DEFAULT_CAPACITY = 10_000
export const MAX_CAPACITY = 10_000_000

// Completed requests are staged here and handed to the native core in one call per batch: a
// single N-API call costs more than recording the request itself. A store hands its batch over
// when it is full, before any other call on the store, and otherwise at the end of the current
// event-loop turn: after that turn's I/O callbacks, so the requests a busy router completes in
// one turn share one native call. Batches still staged when the thread exits are handed over then.
// The staging buffer doubles each time it fills up within a turn, up to MAX_STAGED_ROWS: bursts
// get large batches (the core updates each aggregate once per key and batch), while a store that
// records a few requests per turn keeps a small buffer.
const FIRST_STAGED_ROWS = 32
const MAX_STAGED_ROWS = 1024
// Numbers per row, in the order `recording::STAGED_STRIDE` documents in the native core.
const STAGED_STRIDE = 9
const EMPTY_EVENT = { agent: 0, model: 0, provider: 0, providerId: 0, a: 0, b: 0, c: 0 }

// Stores with staged requests, and the one immediate that hands them all over. It comes from
// node:timers so that fake timers in a user's tests cannot hold staged requests back.
const staging = new Set<EventStore>()
let handOver: ReturnType<typeof setImmediate> | undefined

function handOverStaged(): void {
  handOver = undefined
  for (const store of staging) {
    try {
      store.flush()
    } catch (error) {
      // Rows are validated before they are staged, so this is a defect; it must not end the process.
      process.emitWarning(`iron-runtime-analytics could not hand over staged requests: ${(error as Error).message}`)
    }
  }
}

process.on('exit', handOverStaged)

// Set only while a factory wraps a native store it already has.
let adopted: NativeStore | undefined

// This thread's wrapper of each shared store: staged requests live in a wrapper, so two wrappers
// of one store in one thread would not see each other's latest records.
const sharedStores = new Map<string, WeakRef<EventStore>>()

function checkCapacity(name: string, capacity: unknown): number {
  return checkIntegerInRange(name, capacity, 1, MAX_CAPACITY)
}

function checkPricing(pricing: unknown): PricingManager {
  if (pricing instanceof PricingManager) return pricing
  throw new TypeError(`pricing must be a PricingManager, got ${describe(pricing)}`)
}

/**
 * Lock-free LLM usage analytics: running totals, per-model / per-provider / per-agent aggregates
 * and a bounded buffer of events that never blocks; a full buffer drops the new event and counts it.
 */
export class EventStore {
  readonly #native: NativeStore
  #staged = new Float64Array(FIRST_STAGED_ROWS * STAGED_STRIDE)
  #stagedRows = 0
  // The last hand-over found the buffer full. Until one finds room again, rows are stamped when
  // they are handed over rather than when they are recorded: most will be dropped, and a dropped
  // event's timestamp is never seen, so the drop path does not read the clock.
  #bufferFull = false

  constructor(capacity?: number | null) {
    this.#native = adopted ?? new native.NativeStore(checkCapacity('capacity', capacity ?? DEFAULT_CAPACITY))
  }

  static #fromNative(store: NativeStore): EventStore {
    adopted = store
    try {
      return new EventStore()
    } finally {
      adopted = undefined
    }
  }

  static withCapacity(capacity: number): EventStore {
    return new EventStore(checkCapacity('capacity', capacity))
  }

  /** A store that also streams every buffered event to the returned receiver. */
  static withStreaming(capacity: number, channelSize: number): [EventStore, EventReceiver] {
    checkCapacity('capacity', capacity)
    checkCapacity('channelSize', channelSize)
    const store = EventStore.#fromNative(native.NativeStore.withStreaming(capacity, channelSize))
    return [store, new EventReceiver(store.#native.takeReceiver()!, store)]
  }

  /**
   * The store registered under `name` in this process, created with `capacity` (default 10,000)
   * if there is none: the same store in the main thread and in every worker thread. Within a
   * thread every call returns the same object, so what one caller recorded is seen by the next.
   * Asking for an existing store with a different capacity throws a RangeError.
   */
  static shared(name: string, capacity?: number | null): EventStore {
    checkIdentifier('name', name)
    const requested = capacity == null ? undefined : checkCapacity('capacity', capacity)
    let found: NativeStore
    try {
      found = native.NativeStore.shared(name, requested)
    } catch (error) {
      throw new RangeError((error as Error).message)
    }
    // The cached wrapper is stale if another thread removed the name and registered a new store.
    const cached = sharedStores.get(name)?.deref()
    if (cached && cached.#native.sameStore(found)) return cached
    const store = EventStore.#fromNative(found)
    sharedStores.set(name, new WeakRef(store))
    return store
  }

  /**
   * Forgets a shared store's name in every thread; those holding the store keep using it, and the
   * next `shared(name)` creates a new one. Returns whether the name was registered.
   */
  static removeShared(name: string): boolean {
    checkIdentifier('name', name)
    sharedStores.delete(name)
    return native.NativeStore.removeShared(name)
  }

  capacity(): number {
    return this.#native.capacity()
  }

  /** Hands this thread's staged requests to the native store, where every thread sees them. */
  flush(): void {
    const rows = this.#stagedRows
    if (rows === 0) return
    this.#stagedRows = 0
    staging.delete(this)
    this.#bufferFull = this.#native.recordCompletedBatch(this.#staged, rows) < rows
    wakeWaitingReceiver(this)
  }

  /** Hands the staged requests over first, so that events keep the order they were recorded in. */
  #recordEvent(input: Parameters<NativeStore['recordEvent']>[0]): void {
    this.flush()
    this.#native.recordEvent(input)
    wakeWaitingReceiver(this)
  }

  #stage(model: number, provider: number, agent: number, providerId: number, input: number, output: number, inputPerMillion: number, outputPerMillion: number): void {
    const rows = this.#stagedRows
    const staged = this.#staged
    const at = rows * STAGED_STRIDE
    staged[at] = model
    staged[at + 1] = provider
    staged[at + 2] = agent
    staged[at + 3] = providerId
    staged[at + 4] = input
    staged[at + 5] = output
    staged[at + 6] = inputPerMillion
    staged[at + 7] = outputPerMillion
    // 0: stamped when handed over.
    staged[at + 8] = this.#bufferFull ? 0 : Date.now()
    if (rows === 0) {
      staging.add(this)
      handOver ??= setImmediate(handOverStaged)
    }
    if (at + STAGED_STRIDE < staged.length) {
      this.#stagedRows = rows + 1
    } else if (staged.length < MAX_STAGED_ROWS * STAGED_STRIDE) {
      this.#stagedRows = rows + 1
      this.#staged = new Float64Array(staged.length * 2)
      this.#staged.set(staged)
    } else {
      this.#stagedRows = rows + 1
      this.flush()
    }
  }

  /** Records a completed request, inferring the provider from the model name and pricing it. */
  recordLlmCompleted(
    pricing: PricingManager,
    model: string,
    inputTokens: number,
    outputTokens: number,
    agentId?: string | null,
    providerId?: string | null,
  ): void {
    const priced = checkPricing(pricing).pricedModel(model)
    checkCount('inputTokens', inputTokens)
    checkCount('outputTokens', outputTokens)
    const agent = optionalSymbolFor('agentId', agentId)
    const provider = optionalSymbolFor('providerId', providerId)
    this.#stage(priced.symbol, priced.inferredProvider, agent, provider, inputTokens, outputTokens, priced.inputPerMillion, priced.outputPerMillion)
  }

  /** Records a completed request under an explicit provider. */
  recordLlmCompletedWithProvider(
    pricing: PricingManager,
    model: string,
    provider: Provider,
    inputTokens: number,
    outputTokens: number,
    agentId?: string | null,
    providerId?: string | null,
  ): void {
    const priced = checkPricing(pricing).pricedModel(model)
    const index = providerIndex('provider', provider)
    checkCount('inputTokens', inputTokens)
    checkCount('outputTokens', outputTokens)
    const agent = optionalSymbolFor('agentId', agentId)
    const providerSymbol = optionalSymbolFor('providerId', providerId)
    this.#stage(priced.symbol, index, agent, providerSymbol, inputTokens, outputTokens, priced.inputPerMillion, priced.outputPerMillion)
  }

  /** Records any event; a fresh `eventId` and the current `timestampMs` fill in when absent. */
  record(event: EventInput): void {
    const encoded = encodeEvent(event)
    this.#recordEvent(encoded)
  }

  recordLlmFailed(
    model: string,
    agentId?: string | null,
    providerId?: string | null,
    errorCode?: string | null,
    errorMessage?: string | null,
  ): void {
    const input = {
      ...EMPTY_EVENT,
      kind: 1,
      model: symbolFor('model', model),
      provider: PROVIDERS.indexOf(inferProvider(model)),
      agent: optionalSymbolFor('agentId', agentId),
      providerId: optionalSymbolFor('providerId', providerId),
      errorCode: errorCode == null ? undefined : checkIdentifier('errorCode', errorCode),
      errorMessage: checkOptionalMessage('errorMessage', errorMessage),
    }
    this.#recordEvent(input)
  }

  recordBudgetThreshold(
    thresholdPercent: number,
    currentSpendMicros: number,
    budgetMicros: number,
    agentId?: string | null,
  ): void {
    const input = {
      ...EMPTY_EVENT,
      kind: 2,
      a: checkIntegerInRange('thresholdPercent', thresholdPercent, 0, 255),
      b: checkCount('currentSpendMicros', currentSpendMicros),
      c: checkCount('budgetMicros', budgetMicros),
      agent: optionalSymbolFor('agentId', agentId),
    }
    this.#recordEvent(input)
  }

  recordRouterStarted(port: number): void {
    const input = { ...EMPTY_EVENT, kind: 3, a: checkIntegerInRange('port', port, 0, 65_535) }
    this.#recordEvent(input)
  }

  /** Records `router_stopped` with the store's totals at this moment. */
  recordRouterStopped(): void {
    this.flush()
    this.#native.recordRouterStopped()
    wakeWaitingReceiver(this)
  }

  stats(): ComputedStats {
    this.flush()
    const store = this.#native
    return readStats((figures) => store.stats(figures))
  }

  /** Buffered events. */
  len(): number {
    this.flush()
    return this.#native.len()
  }

  isEmpty(): boolean {
    return this.len() === 0
  }

  /** Events not buffered because the buffer was full (they still count in `stats()`). */
  droppedCount(): number {
    this.flush()
    return this.#native.droppedCount()
  }

  /** Buffered events not yet acknowledged by `markSynced`. */
  unsyncedCount(): number {
    return this.len()
  }

  /** Removes and returns every buffered event, oldest first. */
  drainAll(): AnalyticsEvent[] {
    this.flush()
    this.#bufferFull = false
    const store = this.#native
    return readEvents((numbers, ids) => store.drainAll(numbers, ids))
  }

  /** Copies of the buffered events, oldest first; the buffer is unchanged. */
  snapshotEvents(): AnalyticsEvent[] {
    this.flush()
    const store = this.#native
    return readEvents((numbers, ids) => store.snapshotEvents(numbers, ids))
  }

  /** The buffered events not yet acknowledged, oldest first. */
  unsyncedEvents(): AnalyticsEvent[] {
    return this.snapshotEvents()
  }

  /** Acknowledged events leave the buffer. Returns how many of the ids were buffered. */
  markSynced(eventIds: readonly string[]): number {
    if (!Array.isArray(eventIds)) throw new TypeError(`eventIds must be an array of strings, got ${describe(eventIds)}`)
    eventIds.forEach((id, index) => {
      if (typeof id !== 'string') throw new TypeError(`eventIds[${index}] must be a string, got ${describe(id)}`)
    })
    this.flush()
    const removed = this.#native.markSynced(eventIds as string[])
    if (removed > 0) this.#bufferFull = false
    return removed
  }
}
