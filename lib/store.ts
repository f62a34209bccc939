import type { NativeStore } from '../index.js'
import { native } from './binding.js'
import { type AnalyticsEvent, EVENT_TYPES, type EventInput, EventRowWriter, encodeEvent, readEvents, type SequencedEvent } from './events.js'
import { BUDGET, EVENT_ROW } from './layout.js'
import { checkAgentLabel, type MetricsOptions } from './metrics/scrape.js'
import { costOf, plainCostOf, type PricedModel, PricingManager } from './pricing.js'
import { pointRead, READ_AGENT, READ_FIGURES, READ_STORE } from './point-read.js'
import { PROVIDERS, providerIndex, type Provider } from './provider.js'
import { EventReceiver, wakeWaitingReceiver } from './receiver.js'
import { type ComputedStats, type ModelStats, modelStatsAt, readStats } from './stats.js'
import { exhausted, StagingWriter } from './staging.js'
import { StoreNames } from './symbols.js'
import { type CallOutcome, checkUsage, type LlmUsage, type RecordOptions } from './usage.js'
import { checkCount, checkIdentifier, checkIntegerInRange, checkOptionalMessage, describe, isCount } from './validate.js'

export interface BudgetStatus {
  limitMicros: number
  spentMicros: number
  /** Never below 0. */
  remainingMicros: number
  /** May pass 100. */
  usedPercent: number
  /** The thresholds the spend has reached, ascending. */
  crossed: number[]
}

export const DEFAULT_BUDGET_THRESHOLDS: readonly number[] = [50, 80, 100]
const MAX_THRESHOLDS = 255

const BUDGET_LIMIT = READ_FIGURES + BUDGET.limitMicros
const BUDGET_SPENT = READ_FIGURES + BUDGET.spentMicros
const BUDGET_REMAINING = READ_FIGURES + BUDGET.remainingMicros
const BUDGET_USED = READ_FIGURES + BUDGET.usedPercent
const BUDGET_CROSSED_AT = READ_FIGURES + BUDGET.crossedAt

/** The thresholds of a budget: integers from 1 to 255, each read once. */
function checkThresholds(thresholds: unknown): number[] {
  if (thresholds == null) return [...DEFAULT_BUDGET_THRESHOLDS]
  if (!Array.isArray(thresholds)) throw new TypeError(`thresholdsPercent must be an array of numbers, got ${describe(thresholds)}`)
  return Array.from(thresholds, (value, index) => checkIntegerInRange(`thresholdsPercent[${index}]`, value, 1, MAX_THRESHOLDS))
}

export const DEFAULT_CAPACITY = 10_000
export const MAX_CAPACITY = 10_000_000

// Set only while a factory wraps a native store it already has, and whether other threads can
// reach it.
let adopted: { store: NativeStore; shared: boolean } | undefined

// This thread's wrapper of each shared store, so that one thread writes one staging area per
// shared store however often it asks for the store.
const sharedStores = new Map<string, WeakRef<EventStore>>()

function checkCapacity(name: string, capacity: unknown): number {
  return checkIntegerInRange(name, capacity, 1, MAX_CAPACITY)
}

function checkPricing(pricing: unknown): PricingManager {
  if (pricing instanceof PricingManager) return pricing
  throw new TypeError(`pricing must be a PricingManager, got ${describe(pricing)}`)
}

/** A duration in milliseconds, kept to the microsecond; -1 when absent. */
function checkDuration(name: string, value: unknown): number {
  if (value == null) return -1
  if (typeof value !== 'number' || !(value >= 0 && value <= MAX_DURATION_MS)) throw durationRefused(name, value)
  return Math.round(value * 1000) / 1000
}

/** Why `value` is not a duration; apart from `checkDuration`, so that its callers stay small enough to inline. */
function durationRefused(name: string, value: unknown): TypeError | RangeError {
  if (typeof value !== 'number') return new TypeError(`${name} must be a number, got ${describe(value)}`)
  return new RangeError(`${name} must be a finite number of milliseconds from 0 to ${MAX_DURATION_MS}, got ${describe(value)}`)
}

// The longest duration a buffered event keeps inline is 2^32 - 2 microseconds; longer ones are
// kept too, up to a day, which no LLM call outlasts.
const MAX_DURATION_MS = 86_400_000

/**
 * Lock-free LLM usage analytics: running totals, per-model / per-provider / per-agent aggregates
 * and a bounded buffer of events that never blocks; a full buffer drops the new event and counts it.
 */
interface StoreModel {
  readonly id: number
  readonly priced: PricedModel
  readonly prices: PricingManager
  readonly version: number
}

/** How a store is set up beyond its capacity. */
export interface StoreOptions {
  /**
   * Names aggregated per dimension (models, agents, provider ids); further names are counted
   * under `(other)` and in `stats().overflowedKeys`, and their events keep them. Default 100,000.
   */
  maxKeys?: number | null
}

export const DEFAULT_MAX_KEYS = 100_000
const MAX_KEYS = 10_000_000

function checkMaxKeys(options: unknown): number | undefined {
  if (options == null) return undefined
  if (typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`)
  const { maxKeys } = options as StoreOptions
  return maxKeys == null ? undefined : checkIntegerInRange('options.maxKeys', maxKeys, 1, MAX_KEYS)
}

export class EventStore {
  readonly #native: NativeStore
  /** @internal This thread's view of the store's names. */
  readonly names: StoreNames
  // Only a streaming store has a receiver to wake after a record.
  #streaming = false
  // The hot path's view of each model this store interned: its id here and its prices in the
  // pricing table last used with it. Bounded by the store's key limit.
  #models: Record<string, StoreModel | undefined> = Object.create(null)
  // This thread's staging area of the store.
  readonly #staging: StagingWriter
  // How this thread's point reads name the store.
  readonly #pointReadHandle: number

  constructor(capacity?: number | null, options?: StoreOptions | null) {
    this.#native =
      adopted?.store ??
      new native.NativeStore(checkCapacity('capacity', capacity ?? DEFAULT_CAPACITY), checkMaxKeys(options) ?? DEFAULT_MAX_KEYS)
    this.names = new StoreNames(this.#native)
    this.#staging = new StagingWriter(this.#native, adopted?.shared ?? false)
    this.#pointReadHandle = this.#native.pointReadHandle()
  }

  static #fromNative(store: NativeStore, shared: boolean): EventStore {
    adopted = { store, shared }
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
  static withStreaming(capacity: number, channelSize: number, options?: StoreOptions | null): [EventStore, EventReceiver] {
    checkCapacity('capacity', capacity)
    checkCapacity('channelSize', channelSize)
    const maxKeys = checkMaxKeys(options) ?? DEFAULT_MAX_KEYS
    const store = EventStore.#fromNative(native.NativeStore.withStreaming(capacity, maxKeys, channelSize), false)
    store.#streaming = true
    return [store, new EventReceiver(store.#native.takeReceiver()!, store)]
  }

  /**
   * The store registered under `name` in this process, created with `capacity` (default 10,000)
   * if there is none: the same store in the main thread and in every worker thread, where every
   * record is visible as soon as its call returns. Asking for an existing store with a different
   * capacity throws a RangeError; `options` apply when the store is created.
   */
  static shared(name: string, capacity?: number | null, options?: StoreOptions | null): EventStore {
    checkIdentifier('name', name)
    const requested = capacity == null ? undefined : checkCapacity('capacity', capacity)
    const maxKeys = checkMaxKeys(options)
    let found: NativeStore
    try {
      found = native.NativeStore.shared(name, requested, maxKeys)
    } catch (error) {
      throw new RangeError((error as Error).message)
    }
    // The cached wrapper is stale if another thread removed the name and registered a new store.
    const cached = sharedStores.get(name)?.deref()
    if (cached && cached.#native.sameStore(found)) return cached
    const store = EventStore.#fromNative(found, true)
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

  /**
   * Does nothing: every record is visible to every thread as soon as its call returns. Kept so
   * that code written for earlier versions, which had to call it, still runs.
   */
  flush(): void {}

  /** @internal Records what every thread staged, so that a read on this thread sees it. */
  drainStaged(): void {
    this.#native.drainStaged()
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
    const prices = checkPricing(pricing)
    // The common call (names this thread cached, counts, room to spare) on a path that V8
    // compiles whole, its constants folded: a call to the general path costs a sixth of the call.
    // Anything else takes the general path, which checks, refuses and makes room.
    // The counts first, as the general path checks them: a call they refuse looks no name up,
    // which would have V8 internalize each fresh string a hostile client sends.
    if (isCount(inputTokens) && isCount(outputTokens)) {
      const known = this.#cachedModel(prices, model)
      const agent = this.names.agents.cachedOptional(agentId)
      const provider = this.names.providerIds.cachedOptional(providerId)
      if (known !== undefined && agent !== undefined && provider !== undefined) {
        const { priced } = known
        const cost = plainCostOf(priced.tiers, inputTokens, outputTokens)
        // Room is never above 2^53 - 1, so a cost past it does not fit.
        if (this.#staging.fits(inputTokens, outputTokens, cost)) {
          this.#staging.write(known.id, priced.resolved !== undefined, priced.inferredProvider, agent, provider, inputTokens, outputTokens, 0, 0, 0, 0, cost, -1, -1)
          if (this.#streaming) wakeWaitingReceiver(this)
          return
        }
      }
    }
    this.#recordUsage(prices, model, -1, inputTokens, outputTokens, 0, 0, 0, 0, agentId, providerId, -1, -1, POSITIONAL_NAMES)
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
    const index = providerIndex('provider', provider)
    this.#recordUsage(checkPricing(pricing), model, index, inputTokens, outputTokens, 0, 0, 0, 0, agentId, providerId, -1, -1, POSITIONAL_NAMES)
  }

  /**
   * Records a completed request from its usage, priced as the provider bills it: cache reads and
   * writes, reasoning and long-context tiers (see `LlmUsage` for what each count includes).
   */
  recordLlmUsage(pricing: PricingManager, model: string, usage: LlmUsage, options?: RecordOptions | null): void {
    const prices = checkPricing(pricing)
    const { inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, cacheWrite1hTokens, reasoningTokens } = checkUsage('usage', usage)
    // Each option is read once: no copy of the options on the hot path.
    const given = optionsObject(options)
    const providerOption = given.provider
    const index = providerOption == null ? -1 : providerIndex('options.provider', providerOption)
    const { agentId, providerId } = given
    const durationMs = checkDuration('options.durationMs', given.durationMs)
    const timeToFirstTokenMs = checkDuration('options.timeToFirstTokenMs', given.timeToFirstTokenMs)
    // The common call, as recordLlmCompleted records it. Each writes it out: a method both called
    // would spend V8's inlining budget before the staging writer, which then costs each a call.
    const known = index === -1 ? this.#cachedModel(prices, model) : undefined
    const agent = this.names.agents.cachedOptional(agentId)
    const provider = this.names.providerIds.cachedOptional(providerId)
    if (known !== undefined && agent !== undefined && provider !== undefined) {
      const { priced } = known
      const cost = partsCostOf(priced.tiers, inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, cacheWrite1hTokens, reasoningTokens)
      if (this.#staging.fits(inputTokens, outputTokens, cost)) {
        this.#staging.write(known.id, priced.resolved !== undefined, priced.inferredProvider, agent, provider, inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, cacheWrite1hTokens, reasoningTokens, cost, durationMs, timeToFirstTokenMs)
        if (this.#streaming) wakeWaitingReceiver(this)
        return
      }
    }
    this.#recordUsage(
      prices,
      model,
      index,
      inputTokens,
      outputTokens,
      cacheReadTokens,
      cacheWriteTokens,
      cacheWrite1hTokens,
      reasoningTokens,
      agentId,
      providerId,
      durationMs,
      timeToFirstTokenMs,
      USAGE_NAMES,
    )
  }

  #recordUsage(
    prices: PricingManager,
    model: unknown,
    providerIndexOrInferred: number,
    input: number,
    output: number,
    cacheRead: number,
    cacheWrite: number,
    cacheWrite1h: number,
    reasoning: number,
    agentId: unknown,
    providerId: unknown,
    durationMs: number,
    timeToFirstTokenMs: number,
    names: readonly [string, string, string],
  ): void {
    checkCount(names[0], input)
    checkCount(names[1], output)
    const symbols = this.names
    let known = this.#cachedModel(prices, model)
    let agent = symbols.agents.cachedOptional(agentId)
    let provider = symbols.providerIds.cachedOptional(providerId)
    if (known === undefined || agent === undefined || provider === undefined) {
      // Out of line, so the common call stays small enough for V8 to inline.
      known = this.#resolve(prices, model, agentId, providerId, names)
      agent = symbols.agents.cachedOptional(agentId)
      provider = symbols.providerIds.cachedOptional(providerId)
      if (known.id === 0 || agent === undefined || provider === undefined) {
        this.#recordOverflowed(known.priced, model as string, providerIndexOrInferred, input, output, cacheRead, cacheWrite, cacheWrite1h, reasoning, agentId, providerId, durationMs, timeToFirstTokenMs, names)
        return
      }
    }
    const { priced } = known
    const cost = costOfCall(priced, input, output, cacheRead, cacheWrite, cacheWrite1h, reasoning, names)
    const providerIndexUsed = providerIndexOrInferred < 0 ? priced.inferredProvider : providerIndexOrInferred
    const staging = this.#staging
    if (!staging.fits(input, output, cost)) staging.makeRoom(input, output, cost, names)
    staging.write(known.id, priced.resolved !== undefined, providerIndexUsed, agent, provider, input, output, cacheRead, cacheWrite, cacheWrite1h, reasoning, cost, durationMs, timeToFirstTokenMs)
    if (this.#streaming) wakeWaitingReceiver(this)
  }

  /** The model as this thread cached it, with its prices in `prices` as they are now; else undefined. */
  #cachedModel(prices: PricingManager, model: unknown): StoreModel | undefined {
    const known = typeof model === 'string' ? this.#models[model] : undefined
    return known !== undefined && known.prices === prices && known.version === prices.version ? known : undefined
  }

  /**
   * Checks and interns the names of a call this thread has not cached, and caches the model with
   * its current prices; a name its dimension has no room for stays uncached (id 0 for the model).
   */
  #resolve(prices: PricingManager, model: unknown, agentId: unknown, providerId: unknown, names: readonly [string, string, string]): StoreModel {
    const symbols = this.names
    const current = this.#cachedModel(prices, model)
    const agentMissing = symbols.agents.cachedOptional(agentId) === undefined
    const providerMissing = symbols.providerIds.cachedOptional(providerId) === undefined
    // Every name is checked before any is interned: a refused call leaves nothing behind.
    if (current === undefined) checkIdentifier('model', model)
    if (agentMissing) checkIdentifier(names === USAGE_NAMES ? 'options.agentId' : 'agentId', agentId)
    if (providerMissing) checkIdentifier(names === USAGE_NAMES ? 'options.providerId' : 'providerId', providerId)
    if (agentMissing) symbols.agents.intern(agentId as string)
    if (providerMissing) symbols.providerIds.intern(providerId as string)
    if (current !== undefined) return current
    const priced = prices.pricedModel(model)
    const resolved = { id: symbols.models.cached(model) ?? symbols.models.intern(model as string), priced, prices, version: prices.version }
    // A model its dimension took is cached with its prices; one that overflowed asks again.
    if (resolved.id !== 0) this.#models[model as string] = resolved
    return resolved
  }

  /**
   * A call with a name its dimension has no room for: the event keeps the name as a string, and
   * the native core counts it under (other).
   */
  #recordOverflowed(
    priced: PricedModel,
    model: string,
    providerIndexOrInferred: number,
    input: number,
    output: number,
    cacheRead: number,
    cacheWrite: number,
    cacheWrite1h: number,
    reasoning: number,
    agentId: unknown,
    providerId: unknown,
    durationMs: number,
    timeToFirstTokenMs: number,
    names: readonly [string, string, string],
  ): void {
    const cost = costOfCall(priced, input, output, cacheRead, cacheWrite, cacheWrite1h, reasoning, names)
    // One writer for every such call on this thread: the core reads it before the call returns.
    const encoded = OVERFLOWED
    const row = encoded.row
    row[EVENT_ROW.provider] = providerIndexOrInferred < 0 ? priced.inferredProvider : providerIndexOrInferred
    row[EVENT_ROW.inputTokens] = input
    row[EVENT_ROW.outputTokens] = output
    row[EVENT_ROW.cacheReadTokens] = cacheRead
    row[EVENT_ROW.cacheWriteTokens] = cacheWrite
    row[EVENT_ROW.cacheWrite1hTokens] = cacheWrite1h
    row[EVENT_ROW.reasoningTokens] = reasoning
    row[EVENT_ROW.costMicros] = cost
    row[EVENT_ROW.durationMs] = durationMs
    row[EVENT_ROW.timeToFirstTokenMs] = timeToFirstTokenMs
    encoded.model = model
    encoded.agentId = (agentId ?? undefined) as string | undefined
    encoded.providerId = (providerId ?? undefined) as string | undefined
    this.#recordRow(encoded, names, priced.resolved !== undefined)
  }

  /**
   * Records what a call came to: a complete outcome with usage as `recordLlmUsage`, any other as
   * `recordLlmError` (with `stream_incomplete` when the outcome names no error). The model is the
   * outcome's, the one the provider billed, else `options.model`.
   */
  recordOutcome(pricing: PricingManager, outcome: CallOutcome, options?: (RecordOptions & { model?: string | null }) | null): void {
    if (outcome === null || typeof outcome !== 'object') throw new TypeError(`outcome must be an object, got ${describe(outcome)}`)
    const { model: billed, usage, error, complete } = outcome
    const fallback = options == null ? undefined : (options as { model?: unknown }).model
    const model = billed ?? fallback
    if (model == null) throw new TypeError('outcome.model or options.model must name the model, got neither')
    if (complete === true && usage != null) {
      this.recordLlmUsage(pricing, model as string, usage, options)
      return
    }
    checkPricing(pricing)
    const failure = error ?? { errorCode: 'stream_incomplete' }
    if (typeof failure !== 'object') throw new TypeError(`outcome.error must be an object, got ${describe(failure)}`)
    const { errorCode, errorMessage } = failure
    this.recordLlmError(model as string, { ...readOptions(options), errorCode, errorMessage })
  }

  /** Records any event; a fresh `eventId` and the current `timestampMs` fill in when absent. */
  record(event: EventInput): void {
    const encoded = encodeEvent(event)
    this.#recordRow(encoded, EVENT_NAMES, true)
  }

  #recordRow(encoded: EventRowWriter, names: readonly [string, string, string], priced: boolean): void {
    const outcome = this.#native.recordEvent(encoded.row, encoded, priced)
    if (outcome < 0) throw exhausted(-outcome, names)
    wakeWaitingReceiver(this)
  }

  recordLlmFailed(
    model: string,
    agentId?: string | null,
    providerId?: string | null,
    errorCode?: string | null,
    errorMessage?: string | null,
  ): void {
    this.#recordFailure(model, agentId, providerId, -1, errorCode, errorMessage, FAILED_NAMES)
  }

  /** Records a failed request; its model's provider is inferred unless `options.provider` says. */
  recordLlmError(model: string, options?: (RecordOptions & { errorCode?: string | null; errorMessage?: string | null }) | null): void {
    const { agentId, providerId, provider, errorCode, errorMessage } = readOptions(options)
    const index = provider == null ? -1 : providerIndex('options.provider', provider)
    this.#recordFailure(model, agentId, providerId, index, errorCode, errorMessage, ERROR_NAMES)
  }

  #recordFailure(
    model: unknown,
    agentId: unknown,
    providerId: unknown,
    provider: number,
    errorCode: unknown,
    errorMessage: unknown,
    names: readonly [string, string, string, string, string],
  ): void {
    const checkedModel = checkIdentifier(names[0], model)
    const agent = agentId == null ? undefined : checkIdentifier(names[1], agentId)
    const checkedProviderId = providerId == null ? undefined : checkIdentifier(names[2], providerId)
    const code = errorCode == null ? undefined : checkIdentifier(names[3], errorCode)
    const message = checkOptionalMessage(names[4], errorMessage)
    const row = EventRowWriter.failed(
      checkedModel,
      provider < 0 ? providerIndex('model', native.inferProvider(checkedModel)) : provider,
      agent,
      checkedProviderId,
      code,
      message,
    )
    this.#recordRow(row, EVENT_NAMES, true)
  }

  recordBudgetThreshold(
    thresholdPercent: number,
    currentSpendMicros: number,
    budgetMicros: number,
    agentId?: string | null,
  ): void {
    this.record({ type: 'budget_threshold_reached', thresholdPercent, currentSpendMicros, budgetMicros, agentId: agentId ?? undefined })
  }

  recordRouterStarted(port: number): void {
    this.record({ type: 'router_started', port })
  }

  /** Records `router_stopped` with the store's totals at this moment. */
  recordRouterStopped(): void {
    this.#native.recordRouterStopped()
    wakeWaitingReceiver(this)
  }

  stats(): ComputedStats {
    return readStats(this.names, this.#native, this.#pointReadHandle)
  }

  /**
   * Sets (or replaces) an agent's budget: a limit in microdollars and the percentages of it at
   * which the store records `budget_threshold_reached`, once each until the budget is set again.
   * Thresholds the agent's spend has already reached are recorded now.
   */
  setBudget(agentId: string, limitMicros: number, thresholdsPercent?: readonly number[] | null): void {
    checkIdentifier('agentId', agentId)
    if (checkCount('limitMicros', limitMicros) === 0) {
      throw new RangeError('limitMicros must be a positive safe integer, got 0')
    }
    const thresholds = checkThresholds(thresholdsPercent)
    // Interned only once every argument is known good: a refused call takes no key.
    const agent = this.#agent(agentId)
    if (agent === 0) {
      throw new RangeError(`agentId ${describe(agentId)} is beyond the store's agent key limit: it is counted under (other), which has no budget`)
    }
    this.#native.setBudget(agent, limitMicros, thresholds)
    wakeWaitingReceiver(this)
  }

  /** Removes an agent's budget; false if it had none. */
  removeBudget(agentId: string): boolean {
    const agent = this.#agent(agentId)
    return agent !== 0 && this.#native.removeBudget(agent)
  }

  /** Where an agent stands against its budget; undefined if it has none. */
  budgetStatus(agentId: string): BudgetStatus | undefined {
    if (!this.#pointRead(agentId)) return undefined
    const end = READ_FIGURES + native.readBudgetStatus()
    if (end === READ_FIGURES) return undefined
    // A plain loop: Array.from over a typed array walks an iterator, several times slower.
    const crossed: number[] = []
    for (let at = BUDGET_CROSSED_AT; at < end; at++) crossed.push(pointRead[at])
    return {
      limitMicros: pointRead[BUDGET_LIMIT],
      spentMicros: pointRead[BUDGET_SPENT],
      remainingMicros: pointRead[BUDGET_REMAINING],
      usedPercent: pointRead[BUDGET_USED],
      crossed,
    }
  }

  /** One agent's figures, without a snapshot of the whole store; undefined if it has none. */
  agentStats(agentId: string): ModelStats | undefined {
    if (!this.#pointRead(agentId) || !native.readAgentStats()) return undefined
    return modelStatsAt(pointRead, READ_FIGURES)
  }

  /** Names this store and the agent in the point-read area; false when the agent counts under (other). */
  #pointRead(agentId: unknown): boolean {
    const agent = this.#agent(agentId)
    if (agent === 0) return false
    pointRead[READ_STORE] = this.#pointReadHandle
    pointRead[READ_AGENT] = agent
    return true
  }

  /** The symbol id of an agent argument; 0 when the store's agent table is full. */
  #agent(agentId: unknown): number {
    const agents = this.names.agents
    return agents.cached(agentId) ?? agents.intern(checkIdentifier('agentId', agentId))
  }

  /**
   * The store's figures in the Prometheus text exposition format (0.0.4), for a `/metrics`
   * endpoint (content type `PROMETHEUS_CONTENT_TYPE`); per-agent series with `agentLabel`.
   */
  prometheus(options?: MetricsOptions | null): string {
    return EventStore.prometheusOf([this], options)
  }

  /** Like `prometheus()`, for several stores together: a label set's figures are summed over them. */
  static prometheusOf(stores: readonly EventStore[], options?: MetricsOptions | null): string {
    if (!Array.isArray(stores)) throw new TypeError(`stores must be an array of EventStores, got ${describe(stores)}`)
    const natives = stores.map((store, index) => {
      if (!(store instanceof EventStore)) throw new TypeError(`stores[${index}] must be an EventStore, got ${describe(store)}`)
      return store.#native
    })
    return native.prometheus(natives, checkAgentLabel(options))
  }

  /** Buffered events. */
  len(): number {
    return this.#native.len()
  }

  isEmpty(): boolean {
    return this.len() === 0
  }

  /** Events not buffered because the buffer was full (they still count in `stats()`). */
  droppedCount(): number {
    return this.#native.droppedCount()
  }

  /** Buffered events not yet acknowledged by `markSynced`. */
  unsyncedCount(): number {
    return this.len()
  }

  /** Removes and returns every buffered event, oldest first. */
  drainAll(): AnalyticsEvent[] {
    const store = this.#native
    return readEvents(this.names, (numbers, ids) => store.drainAll(numbers, ids))
  }

  /** Copies of the buffered events, oldest first; the buffer is unchanged. */
  snapshotEvents(): AnalyticsEvent[] {
    const store = this.#native
    return readEvents(this.names, (numbers, ids) => store.snapshotEvents(numbers, ids))
  }

  /** The buffered events not yet acknowledged, oldest first. */
  unsyncedEvents(): AnalyticsEvent[] {
    return this.snapshotEvents()
  }

  /**
   * @internal At most `max` buffered events recorded after the one numbered `afterSeq`, oldest
   * first, each with its sequence number (increasing, never reused, from 1): a reader that asks
   * after the last number it saw reads each event once.
   */
  eventsAfter(afterSeq: number, max: number): SequencedEvent[] {
    checkCount('afterSeq', afterSeq)
    checkIntegerInRange('max', max, 1, MAX_CAPACITY)
    const store = this.#native
    return readEvents(this.names, (numbers, ids) => store.eventsAfter(afterSeq, max, numbers, ids), true)
  }

  /** @internal Removes the buffered events with these sequence numbers; returns how many there were. */
  acknowledge(seqs: readonly number[]): number {
    if (!Array.isArray(seqs)) throw new TypeError(`seqs must be an array of numbers, got ${describe(seqs)}`)
    const checked = Float64Array.from(seqs, (seq, index) => checkCount(`seqs[${index}]`, seq))
    return this.#native.acknowledge(checked)
  }

  /** Acknowledged events leave the buffer. Returns how many of the ids were buffered. */
  markSynced(eventIds: readonly string[]): number {
    // One read of each element, into a plain array: a Proxy or a sparse array cannot show the
    // check one value and the core another.
    if (!Array.isArray(eventIds)) throw new TypeError(`eventIds must be an array of strings, got ${describe(eventIds)}`)
    const ids: string[] = []
    for (let index = 0; index < eventIds.length; index++) {
      const id: unknown = eventIds[index]
      if (typeof id !== 'string') throw new TypeError(`eventIds[${index}] must be a string, got ${describe(id)}`)
      ids.push(id)
    }
    return this.#native.markSynced(ids)
  }
}

const OVERFLOWED = new EventRowWriter(EVENT_TYPES.indexOf('llm_request_completed'), -1)
const POSITIONAL_NAMES = ['inputTokens', 'outputTokens', 'inputTokens and outputTokens'] as const
const USAGE_NAMES = ['usage.inputTokens', 'usage.outputTokens', 'usage'] as const
const EVENT_NAMES = ['event.inputTokens', 'event.outputTokens', 'event.costMicros'] as const
const FAILED_NAMES = ['model', 'agentId', 'providerId', 'errorCode', 'errorMessage'] as const
const ERROR_NAMES = ['model', 'options.agentId', 'options.providerId', 'options.errorCode', 'options.errorMessage'] as const

interface ReadOptions extends RecordOptions {
  errorCode?: string | null
  errorMessage?: string | null
}

const NO_OPTIONS: ReadOptions = Object.freeze({})

/** The options object itself, checked to be one; absent options read as none. */
function optionsObject(options: unknown): ReadOptions {
  if (options == null) return NO_OPTIONS
  if (typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`)
  return options as ReadOptions
}

/** Each option read once, so that a getter cannot show a check one value and the core another. */
function readOptions(options: unknown): ReadOptions {
  const { agentId, providerId, provider, durationMs, timeToFirstTokenMs, errorCode, errorMessage } = optionsObject(options)
  return { agentId, providerId, provider, durationMs, timeToFirstTokenMs, errorCode, errorMessage }
}

/** `costOf`, in two components instead of the rule's six for a call without cache or reasoning parts, as most are. */
function partsCostOf(tiers: Float64Array, input: number, output: number, cacheRead: number, cacheWrite: number, cacheWrite1h: number, reasoning: number): number {
  return cacheRead + cacheWrite + cacheWrite1h + reasoning === 0
    ? plainCostOf(tiers, input, output)
    : costOf(tiers, input, output, cacheRead, cacheWrite, cacheWrite1h, reasoning)
}

/** A call's cost in micros, refused when it passes 2^53 - 1. */
function costOfCall(
  priced: PricedModel,
  input: number,
  output: number,
  cacheRead: number,
  cacheWrite: number,
  cacheWrite1h: number,
  reasoning: number,
  names: readonly [string, string, string],
): number {
  const cost = partsCostOf(priced.tiers, input, output, cacheRead, cacheWrite, cacheWrite1h, reasoning)
  if (cost > Number.MAX_SAFE_INTEGER) throw costTooLarge(names === USAGE_NAMES ? 'usage' : 'inputTokens and outputTokens', cost)
  return cost
}

function costTooLarge(argument: string, cost: number): RangeError {
  return new RangeError(`${argument} cost ${cost} micros, more than ${Number.MAX_SAFE_INTEGER} (the largest exact figure); nothing was recorded`)
}
