import type { NativeStore } from '../index.js'
import { native } from './binding.js'
import { type AnalyticsEvent, EVENT_TYPES, type EventInput, EventRowWriter, encodeEvent, readEvents, type SequencedEvent } from './events.js'
import { BUDGET, EVENT_ROW, STAGING, STATS } from './layout.js'
import { checkAgentLabel, type MetricsOptions } from './metrics/scrape.js'
import { costOf, plainCostOf, type PricedModel, PricingManager } from './pricing.js'
import { PROVIDERS, providerIndex, type Provider } from './provider.js'
import { EventReceiver, wakeWaitingReceiver } from './receiver.js'
import { type ComputedStats, type ModelStats, modelStatsAt, readStats } from './stats.js'
import { StoreNames } from './symbols.js'
import { type CallOutcome, checkUsage, type LlmUsage, type RecordOptions } from './usage.js'
import { checkCount, checkIdentifier, checkIntegerInRange, checkOptionalMessage, describe } from './validate.js'

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

// Buffers the native core writes a budget status and an agent's figures into, reused by every call.
const budgetBuffer = new Float64Array(BUDGET.crossedAt + MAX_THRESHOLDS)
const agentBuffer = new Float64Array(STATS.row.stride)

/** The thresholds of a budget: integers from 1 to 255, each read once. */
function checkThresholds(thresholds: unknown): number[] {
  if (thresholds == null) return [...DEFAULT_BUDGET_THRESHOLDS]
  if (!Array.isArray(thresholds)) throw new TypeError(`thresholdsPercent must be an array of numbers, got ${describe(thresholds)}`)
  return Array.from(thresholds, (value, index) => checkIntegerInRange(`thresholdsPercent[${index}]`, value, 1, MAX_THRESHOLDS))
}

export const DEFAULT_CAPACITY = 10_000
export const MAX_CAPACITY = 10_000_000

// Completed requests are recorded without a native call each: a store hands this thread a
// staging area, memory the native store owns, and the facade writes each request as a row there
// and publishes it with one atomic store of the row count. Every read, on any thread, drains the
// published rows first, so a record is visible everywhere as soon as its call returns, and it
// outlives this thread (a terminated worker loses nothing). Only a full ring costs a native call:
// for a larger ring while the thread's is small, then to drain it (a thousand records that
// nobody read).
const {
  head: HEAD,
  tail: TAIL,
  bufferFull: BUFFER_FULL,
  rowsAt: ROWS_AT,
  firstRows: FIRST_ROWS,
  maxRows: MAX_ROWS,
  stride: STRIDE,
  // Each field's offset in a row, as constants: the hot path reads no layout object.
  model: F_MODEL,
  provider: F_PROVIDER,
  agent: F_AGENT,
  providerId: F_PROVIDER_ID,
  inputTokens: F_INPUT,
  outputTokens: F_OUTPUT,
  cacheReadTokens: F_CACHE_READ,
  cacheWriteTokens: F_CACHE_WRITE,
  cacheWrite1hTokens: F_CACHE_WRITE_1H,
  reasoningTokens: F_REASONING,
  costMicros: F_COST,
  timestampMs: F_TIMESTAMP,
  durationMs: F_DURATION,
  timeToFirstTokenMs: F_TIME_TO_FIRST_TOKEN,
  priced: F_PRICED,
} = STAGING

// Every figure is exact: the store refuses a record that would take a total past 2^53 - 1. Each
// thread takes room for its records from the native store in chunks, so that checking costs a
// comparison; room a thread took and never used is the only way to be refused a little early.
const ROOM_CHUNK = 2 ** 40
const EXHAUSTED_FIGURES = ['', 'input tokens', 'output tokens', 'cost in micros'] as const

// Set only while a factory wraps a native store it already has.
let adopted: NativeStore | undefined

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
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`)
  if (!(value >= 0 && value <= MAX_DURATION_MS)) {
    throw new RangeError(`${name} must be a finite number of milliseconds from 0 to ${MAX_DURATION_MS}, got ${describe(value)}`)
  }
  return Math.round(value * 1000) / 1000
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
  // This thread's staging area, opened on the first record: rows as numbers, and the header's
  // counters over the same memory.
  #rows: Float64Array | undefined
  #counters: Uint32Array | undefined
  #ringRows = 0
  #head = 0
  // Only a streaming store has a receiver to wake after a record.
  #streaming = false
  // The hot path's view of each model this store interned: its id here and its prices in the
  // pricing table last used with it. Bounded by the store's key limit.
  #models: Record<string, StoreModel | undefined> = Object.create(null)
  // The tail as last read: the ring has at least this much room, so the real tail is read only
  // when this says the ring is full.
  #tail = 0
  // Room this thread took in the store's totals (see ROOM_CHUNK).
  #inputRoom = 0
  #outputRoom = 0
  #costRoom = 0

  constructor(capacity?: number | null, options?: StoreOptions | null) {
    this.#native =
      adopted ?? new native.NativeStore(checkCapacity('capacity', capacity ?? DEFAULT_CAPACITY), checkMaxKeys(options) ?? DEFAULT_MAX_KEYS)
    this.names = new StoreNames(this.#native)
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
  static withStreaming(capacity: number, channelSize: number, options?: StoreOptions | null): [EventStore, EventReceiver] {
    checkCapacity('capacity', capacity)
    checkCapacity('channelSize', channelSize)
    const maxKeys = checkMaxKeys(options) ?? DEFAULT_MAX_KEYS
    const store = EventStore.#fromNative(native.NativeStore.withStreaming(capacity, maxKeys, channelSize))
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

  /**
   * Does nothing: every record is visible to every thread as soon as its call returns. Kept so
   * that code written for earlier versions, which had to call it, still runs.
   */
  flush(): void {}

  /** @internal Records what every thread staged, so that a read on this thread sees it. */
  drainStaged(): void {
    this.#native.drainStaged()
  }

  #openStaging(rows: number): Float64Array {
    const area = this.#native.stagingArea(rows)
    this.#ringRows = rows
    this.#counters = new Uint32Array(area)
    this.#head = 0
    this.#tail = 0
    this.#rows = new Float64Array(area)
    return this.#rows
  }

  /** Takes room in the totals for a record's figures, or throws naming the figure with none. */
  #takeRoom(input: number, output: number, cost: number, names: readonly [string, string, string]): void {
    const wanted = [input - this.#inputRoom, output - this.#outputRoom, cost - this.#costRoom].map((need) => Math.max(need, 0))
    // A chunk each where there is room for one, else just what this record needs.
    let refused = this.#native.reserve(...(wanted.map((need) => Math.max(need, ROOM_CHUNK)) as [number, number, number]))
    if (refused === 0) {
      this.#inputRoom += Math.max(wanted[0], ROOM_CHUNK)
      this.#outputRoom += Math.max(wanted[1], ROOM_CHUNK)
      this.#costRoom += Math.max(wanted[2], ROOM_CHUNK)
      return
    }
    refused = this.#native.reserve(wanted[0], wanted[1], wanted[2])
    if (refused !== 0) throw exhausted(-refused, names)
    this.#inputRoom += wanted[0]
    this.#outputRoom += wanted[1]
    this.#costRoom += wanted[2]
  }

  /** Writes a completed request into this thread's staging area and publishes it. */
  #stage(
    model: number,
    priced: boolean,
    provider: number,
    agent: number,
    providerId: number,
    input: number,
    output: number,
    cacheRead: number,
    cacheWrite: number,
    cacheWrite1h: number,
    reasoning: number,
    cost: number,
    durationMs: number,
    timeToFirstTokenMs: number,
    names: readonly [string, string, string],
  ): void {
    let rows = this.#rows ?? this.#openStaging(FIRST_ROWS)
    let counters = this.#counters!
    if (input > this.#inputRoom || output > this.#outputRoom || cost > this.#costRoom) this.#takeRoom(input, output, cost, names)
    this.#inputRoom -= input
    this.#outputRoom -= output
    this.#costRoom -= cost
    if (((this.#head - this.#tail) >>> 0) >= this.#ringRows) {
      this.#tail = Atomics.load(counters, TAIL)
      if (((this.#head - this.#tail) >>> 0) >= this.#ringRows) {
        if (this.#ringRows < MAX_ROWS) {
          rows = this.#openStaging(this.#ringRows * 2)
          counters = this.#counters!
        } else {
          this.#native.drainOwnStaging()
          this.#tail = Atomics.load(counters, TAIL)
        }
      }
    }
    const head = this.#head
    // Ring sizes are powers of two.
    const at = ROWS_AT + (head & (this.#ringRows - 1)) * STRIDE
    rows[at + F_MODEL] = model
    rows[at + F_PROVIDER] = provider
    rows[at + F_AGENT] = agent
    rows[at + F_PROVIDER_ID] = providerId
    rows[at + F_INPUT] = input
    rows[at + F_OUTPUT] = output
    rows[at + F_CACHE_READ] = cacheRead
    rows[at + F_CACHE_WRITE] = cacheWrite
    rows[at + F_CACHE_WRITE_1H] = cacheWrite1h
    rows[at + F_REASONING] = reasoning
    rows[at + F_COST] = cost
    // 0: stamped when drained. While the buffer is full, most rows will be dropped, and a dropped
    // event's timestamp is never seen, so the drop path does not read the clock.
    rows[at + F_TIMESTAMP] = counters[BUFFER_FULL] === 1 ? 0 : Date.now()
    rows[at + F_DURATION] = durationMs
    rows[at + F_TIME_TO_FIRST_TOKEN] = timeToFirstTokenMs
    rows[at + F_PRICED] = priced ? 1 : 0
    this.#head = (head + 1) >>> 0
    Atomics.store(counters, HEAD, this.#head)
    if (this.#streaming) wakeWaitingReceiver(this)
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
    this.#recordUsage(checkPricing(pricing), model, -1, inputTokens, outputTokens, 0, 0, 0, 0, agentId, providerId, -1, -1, POSITIONAL_NAMES)
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
    const checked = checkUsage('usage', usage)
    // Each option is read once, straight into the call: no copy of the options on the hot path.
    const given = optionsObject(options)
    const provider = given.provider
    this.#recordUsage(
      prices,
      model,
      provider == null ? -1 : providerIndex('options.provider', provider),
      checked.inputTokens,
      checked.outputTokens,
      checked.cacheReadTokens,
      checked.cacheWriteTokens,
      checked.cacheWrite1hTokens,
      checked.reasoningTokens,
      given.agentId,
      given.providerId,
      checkDuration('options.durationMs', given.durationMs),
      checkDuration('options.timeToFirstTokenMs', given.timeToFirstTokenMs),
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
    const agentName = names === USAGE_NAMES ? 'options.agentId' : 'agentId'
    const providerIdName = names === USAGE_NAMES ? 'options.providerId' : 'providerId'
    const symbols = this.names
    const known = typeof model === 'string' ? this.#models[model] : undefined
    let priced: PricedModel | undefined
    let modelId: number | undefined
    if (known !== undefined && known.prices === prices && known.version === prices.version) {
      priced = known.priced
      modelId = known.id
    }
    let agent = symbols.agents.cachedOptional(agentId)
    let provider = symbols.providerIds.cachedOptional(providerId)
    if (priced === undefined || modelId === undefined || agent === undefined || provider === undefined) {
      // Every name is checked before any is interned: a refused call leaves nothing behind.
      if (modelId === undefined) checkIdentifier('model', model)
      if (agent === undefined) checkIdentifier(agentName, agentId)
      if (provider === undefined) checkIdentifier(providerIdName, providerId)
      priced ??= prices.pricedModel(model)
      modelId ??= symbols.models.cached(model) ?? symbols.models.intern(model as string)
      agent ??= symbols.agents.intern(agentId as string)
      provider ??= symbols.providerIds.intern(providerId as string)
      // A model its dimension took is cached with its prices; one that overflowed asks again.
      if (modelId !== 0) this.#models[model as string] = { id: modelId, priced, prices, version: prices.version }
    }
    // Most calls have no cache or reasoning parts: two components instead of the rule's six.
    const cost =
      cacheRead + cacheWrite + cacheWrite1h + reasoning === 0
        ? plainCostOf(priced.tiers, input, output)
        : costOf(priced.tiers, input, output, cacheRead, cacheWrite, cacheWrite1h, reasoning)
    if (cost > Number.MAX_SAFE_INTEGER) throw costTooLarge(names === USAGE_NAMES ? 'usage' : 'inputTokens and outputTokens', cost)
    const providerIndexUsed = providerIndexOrInferred < 0 ? priced.inferredProvider : providerIndexOrInferred
    const isPriced = priced.resolved !== undefined
    if (modelId === 0 || agent === 0 && agentId != null || provider === 0 && providerId != null) {
      // A name its dimension has no room for: the event keeps it as a string, and the native core
      // counts it under (other).
      // One writer for every such call on this thread: the core reads it before the call returns.
      const encoded = OVERFLOWED
      const row = encoded.row
      row[EVENT_ROW.provider] = providerIndexUsed
      row[EVENT_ROW.inputTokens] = input
      row[EVENT_ROW.outputTokens] = output
      row[EVENT_ROW.cacheReadTokens] = cacheRead
      row[EVENT_ROW.cacheWriteTokens] = cacheWrite
      row[EVENT_ROW.cacheWrite1hTokens] = cacheWrite1h
      row[EVENT_ROW.reasoningTokens] = reasoning
      row[EVENT_ROW.costMicros] = cost
      row[EVENT_ROW.durationMs] = durationMs
      row[EVENT_ROW.timeToFirstTokenMs] = timeToFirstTokenMs
      encoded.model = model as string
      encoded.agentId = (agentId ?? undefined) as string | undefined
      encoded.providerId = (providerId ?? undefined) as string | undefined
      this.#recordRow(encoded, names, isPriced)
      return
    }
    this.#stage(modelId, isPriced, providerIndexUsed, agent, provider, input, output, cacheRead, cacheWrite, cacheWrite1h, reasoning, cost, durationMs, timeToFirstTokenMs, names)
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
    return readStats(this.names, this.#native)
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
    const agent = this.#agent(agentId)
    const length = agent === 0 ? 0 : this.#native.budgetStatus(agent, budgetBuffer)
    if (length === 0) return undefined
    // A plain loop: Array.from over a typed array walks an iterator, several times slower.
    const crossed: number[] = []
    for (let at = BUDGET.crossedAt; at < length; at++) crossed.push(budgetBuffer[at])
    return {
      limitMicros: budgetBuffer[BUDGET.limitMicros],
      spentMicros: budgetBuffer[BUDGET.spentMicros],
      remainingMicros: budgetBuffer[BUDGET.remainingMicros],
      usedPercent: budgetBuffer[BUDGET.usedPercent],
      crossed,
    }
  }

  /** One agent's figures, without a snapshot of the whole store; undefined if it has none. */
  agentStats(agentId: string): ModelStats | undefined {
    const agent = this.#agent(agentId)
    if (agent === 0 || !this.#native.agentStats(agent, agentBuffer)) return undefined
    return modelStatsAt(agentBuffer, 0)
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

function exhausted(figure: number, names: readonly [string, string, string]): RangeError {
  return new RangeError(
    `${names[figure - 1]} would take the store's total ${EXHAUSTED_FIGURES[figure]} past ${Number.MAX_SAFE_INTEGER}, ` +
      'the largest figure a JavaScript number holds exactly; nothing was recorded',
  )
}

function costTooLarge(argument: string, cost: number): RangeError {
  return new RangeError(`${argument} cost ${cost} micros, more than ${Number.MAX_SAFE_INTEGER} (the largest exact figure); nothing was recorded`)
}
