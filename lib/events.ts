import type { EventRows } from '../index.js'
import { EVENT_ROW, layout } from './layout.js'
import { PROVIDERS, type Provider, providerIndex } from './provider.js'
import { nameIn, type StoreNames } from './symbols.js'
import {
  checkCount,
  checkIdentifier,
  checkIntegerInRange,
  checkOptionalMessage,
  checkString,
  describe,
} from './validate.js'

export interface EventBase {
  eventId: string
  timestampMs: number
  agentId?: string
}

export interface LlmRequestCompleted {
  type: 'llm_request_completed'
  model: string
  provider: Provider
  providerId?: string
  /** Every input token, cache reads and writes included. */
  inputTokens: number
  /** Every output token, reasoning included. */
  outputTokens: number
  costMicros: number
  /** Of `inputTokens`; 0 when not known. */
  cacheReadTokens: number
  cacheWriteTokens: number
  cacheWrite1hTokens: number
  /** Of `outputTokens`; 0 when not known. */
  reasoningTokens: number
  durationMs?: number
  timeToFirstTokenMs?: number
}

export interface LlmRequestFailed {
  type: 'llm_request_failed'
  model: string
  provider: Provider
  providerId?: string
  errorCode?: string
  errorMessage?: string
}

export interface BudgetThresholdReached {
  type: 'budget_threshold_reached'
  thresholdPercent: number
  currentSpendMicros: number
  budgetMicros: number
}

export interface RouterStarted {
  type: 'router_started'
  port: number
}

export interface RouterStopped {
  type: 'router_stopped'
  totalRequests: number
  totalCostMicros: number
}

export type EventPayload = LlmRequestCompleted | LlmRequestFailed | BudgetThresholdReached | RouterStarted | RouterStopped

export type AnalyticsEvent = EventBase & EventPayload

export type EventType = AnalyticsEvent['type']

/** An event to `record()`: a fresh `eventId` and the current `timestampMs` fill in when absent. */
export type EventInput = (
  | (Omit<LlmRequestCompleted, 'cacheReadTokens' | 'cacheWriteTokens' | 'cacheWrite1hTokens' | 'reasoningTokens'> &
      Partial<Pick<LlmRequestCompleted, 'cacheReadTokens' | 'cacheWriteTokens' | 'cacheWrite1hTokens' | 'reasoningTokens'>>)
  | LlmRequestFailed
  | BudgetThresholdReached
  | RouterStarted
  | RouterStopped
) & { eventId?: string; timestampMs?: number; agentId?: string | null }

/** An event and its place in the buffer (see `EventStore.eventsAfter`). */
export interface SequencedEvent {
  seq: number
  event: AnalyticsEvent
}

/** Event types in the order the native core numbers them. */
export const EVENT_TYPES = layout.eventKinds as readonly EventType[]

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const { stride: STRIDE } = EVENT_ROW
const ID_LENGTH = 36

/**
 * An event encoded for the native core: its figures as an `EVENT_ROW` row, and its words (the
 * names the store interns, its id, its failure's text) as the core's `EventText`.
 */
export class EventRowWriter {
  readonly row = new Float64Array(STRIDE)
  eventId: string | undefined
  model: string | undefined
  agentId: string | undefined
  providerId: string | undefined
  errorCode: string | undefined
  errorMessage: string | undefined

  constructor(kind: number, timestampMs: number) {
    this.row[EVENT_ROW.kind] = kind
    this.row[EVENT_ROW.timestampMs] = timestampMs
    this.row[EVENT_ROW.durationMs] = -1
    this.row[EVENT_ROW.timeToFirstTokenMs] = -1
  }

  static failed(model: string, provider: number, agentId?: string, providerId?: string, errorCode?: string, errorMessage?: string): EventRowWriter {
    const encoded = new EventRowWriter(EVENT_TYPES.indexOf('llm_request_failed'), -1)
    encoded.row[EVENT_ROW.provider] = provider
    encoded.model = model
    encoded.agentId = agentId
    encoded.providerId = providerId
    encoded.errorCode = errorCode
    encoded.errorMessage = errorMessage
    return encoded
  }
}

/** A copy of the event's own fields, each read exactly once, so a getter cannot change it later. */
function readFields(event: unknown): Record<string, unknown> {
  if (event === null || typeof event !== 'object') throw new TypeError(`event must be an object, got ${describe(event)}`)
  return { ...(event as Record<string, unknown>) }
}

function optionalCount(name: string, value: unknown): number {
  return value == null ? 0 : checkCount(name, value)
}

/** Validates an event for `record()` and encodes it; throws before anything is recorded. */
export function encodeEvent(event: EventInput): EventRowWriter {
  const fields = readFields(event)
  const type = fields.type
  const kind = EVENT_TYPES.indexOf(type as EventType)
  if (kind < 0) {
    throw new TypeError(`event.type must be one of ${EVENT_TYPES.join(', ')}, got ${describe(type)}`)
  }
  let eventId: string | undefined
  if (fields.eventId != null) {
    eventId = checkString('event.eventId', fields.eventId)
    if (!UUID.test(eventId)) throw new RangeError(`event.eventId must be a UUID, got ${describe(eventId)}`)
  }
  const timestampMs = fields.timestampMs == null ? -1 : checkCount('event.timestampMs', fields.timestampMs)
  const agentId = fields.agentId == null ? undefined : checkIdentifier('event.agentId', fields.agentId)
  const numbers: Array<[number, number]> = []
  let names: { model: string; providerId?: string } | undefined
  let errorCode: string | undefined
  let errorMessage: string | undefined
  switch (type) {
    case 'llm_request_completed':
    case 'llm_request_failed': {
      names = { model: checkIdentifier('event.model', fields.model) }
      numbers.push([EVENT_ROW.provider, providerIndex('event.provider', fields.provider)])
      if (fields.providerId != null) names.providerId = checkIdentifier('event.providerId', fields.providerId)
      if (type === 'llm_request_completed') {
        const input = checkCount('event.inputTokens', fields.inputTokens)
        const output = checkCount('event.outputTokens', fields.outputTokens)
        const cacheRead = optionalCount('event.cacheReadTokens', fields.cacheReadTokens)
        const cacheWrite = optionalCount('event.cacheWriteTokens', fields.cacheWriteTokens)
        const cacheWrite1h = optionalCount('event.cacheWrite1hTokens', fields.cacheWrite1hTokens)
        const reasoning = optionalCount('event.reasoningTokens', fields.reasoningTokens)
        if (cacheRead + cacheWrite + cacheWrite1h > input) {
          throw new RangeError('event: cacheReadTokens + cacheWriteTokens + cacheWrite1hTokens must not exceed inputTokens')
        }
        if (reasoning > output) throw new RangeError('event.reasoningTokens must not exceed event.outputTokens')
        numbers.push(
          [EVENT_ROW.inputTokens, input],
          [EVENT_ROW.outputTokens, output],
          [EVENT_ROW.costMicros, checkCount('event.costMicros', fields.costMicros)],
          [EVENT_ROW.cacheReadTokens, cacheRead],
          [EVENT_ROW.cacheWriteTokens, cacheWrite],
          [EVENT_ROW.cacheWrite1hTokens, cacheWrite1h],
          [EVENT_ROW.reasoningTokens, reasoning],
          [EVENT_ROW.durationMs, checkEventDuration('event.durationMs', fields.durationMs)],
          [EVENT_ROW.timeToFirstTokenMs, checkEventDuration('event.timeToFirstTokenMs', fields.timeToFirstTokenMs)],
        )
      } else {
        errorCode = fields.errorCode == null ? undefined : checkIdentifier('event.errorCode', fields.errorCode)
        errorMessage = checkOptionalMessage('event.errorMessage', fields.errorMessage)
      }
      break
    }
    case 'budget_threshold_reached':
      numbers.push(
        [EVENT_ROW.thresholdPercent, checkIntegerInRange('event.thresholdPercent', fields.thresholdPercent, 0, 255)],
        [EVENT_ROW.currentSpendMicros, checkCount('event.currentSpendMicros', fields.currentSpendMicros)],
        [EVENT_ROW.budgetMicros, checkCount('event.budgetMicros', fields.budgetMicros)],
      )
      break
    case 'router_started':
      numbers.push([EVENT_ROW.port, checkIntegerInRange('event.port', fields.port, 0, 65_535)])
      break
    case 'router_stopped':
      numbers.push(
        [EVENT_ROW.totalRequests, checkCount('event.totalRequests', fields.totalRequests)],
        [EVENT_ROW.totalCostMicros, checkCount('event.totalCostMicros', fields.totalCostMicros)],
      )
      break
  }
  const encoded = new EventRowWriter(kind, timestampMs)
  for (const [field, value] of numbers) encoded.row[field] = value
  encoded.agentId = agentId
  encoded.model = names?.model
  encoded.providerId = names?.providerId
  encoded.eventId = eventId
  encoded.errorCode = errorCode
  encoded.errorMessage = errorMessage
  return encoded
}

function checkEventDuration(name: string, value: unknown): number {
  if (value == null) return -1
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`)
  if (!(value >= 0 && value <= 86_400_000)) throw new RangeError(`${name} must be a finite number of milliseconds from 0 to 86400000, got ${describe(value)}`)
  return Math.round(value * 1000) / 1000
}

/** Buffers the native core writes events into: `STRIDE` numbers and `ID_LENGTH` characters each. */
export class EventBuffers {
  readonly numbers: Float64Array
  readonly ids: Buffer

  constructor(readonly capacity: number) {
    this.numbers = new Float64Array(capacity * STRIDE)
    this.ids = Buffer.allocUnsafeSlow(capacity * ID_LENGTH)
  }
}

// Reads reuse this thread's buffers, so a snapshot allocates nothing large outside the JS heap
// (fresh buffers of a megabyte each time cost page faults, and glibc often returns them to the
// kernel between snapshots). Buffers larger than KEPT_CAPACITY serve one read and are not kept,
// so a huge store does not pin its largest read's memory for the thread's lifetime.
const KEPT_CAPACITY = 16_384
let buffers = new EventBuffers(64)

/** This thread's event buffers, with room for at least one event. */
export function eventBuffers(): EventBuffers {
  return buffers
}

/**
 * Reads events with `read`, which writes them into the buffers it is given or, if they hold too
 * few, only reports how many there are; then it is called again with larger buffers.
 */
export function readEvents(names: StoreNames, read: (numbers: Float64Array, ids: Buffer) => EventRows): AnalyticsEvent[]
export function readEvents(names: StoreNames, read: (numbers: Float64Array, ids: Buffer) => EventRows, sequenced: true): SequencedEvent[]
export function readEvents(
  names: StoreNames,
  read: (numbers: Float64Array, ids: Buffer) => EventRows,
  sequenced = false,
): AnalyticsEvent[] | SequencedEvent[] {
  let target = buffers
  for (;;) {
    const rows = read(target.numbers, target.ids)
    if (rows.count <= target.capacity) {
      const events = decodeEvents(rows, target, names)
      return sequenced ? events.map((event, index) => ({ seq: target.numbers[index * STRIDE + EVENT_ROW.seq], event })) : events
    }
    // Headroom for events recorded before the next attempt.
    target = new EventBuffers(rows.count + (rows.count >> 3))
    if (target.capacity <= KEPT_CAPACITY) buffers = target
  }
}

// Ids become strings one chunk at a time, then one slice per id: a string of all 10,000 ids
// (360 KB) lands in V8's large-object space, pages mapped and unmapped per read, and measured
// 3.5 times slower than chunks of 72 KB, which the young generation takes.
const ID_CHUNK = 2048
const COMPLETED = EVENT_TYPES.indexOf('llm_request_completed')

/** Turns the rows the native core wrote into `source` into event objects, oldest first. */
export function decodeEvents(rows: EventRows, source: EventBuffers, names: StoreNames): AnalyticsEvent[] {
  const { count, errorCodes, errorMessages, overflowNames } = rows
  const { numbers, ids } = source
  const events: AnalyticsEvent[] = new Array(count)
  let chunk = ''
  for (let index = 0; index < count; index++) {
    const within = index % ID_CHUNK
    if (within === 0) chunk = ids.toString('latin1', index * ID_LENGTH, Math.min(count, index + ID_CHUNK) * ID_LENGTH)
    const eventId = chunk.slice(within * ID_LENGTH, (within + 1) * ID_LENGTH)
    const at = index * STRIDE
    events[index] =
      numbers[at + EVENT_ROW.kind] === COMPLETED
        ? decodeCompleted(numbers, at, eventId, names, overflowNames)
        : decodeOther(numbers, at, eventId, names, overflowNames, errorCodes, errorMessages)
  }
  return events
}

// Nearly every event is a completed request: one object literal builds its fields in one step,
// with a hidden class V8 keeps for it; the optional fields follow only when present.
function decodeCompleted(numbers: Float64Array, at: number, eventId: string, names: StoreNames, overflowNames: string[]): AnalyticsEvent {
  const event: LlmRequestCompleted & EventBase = {
    type: 'llm_request_completed',
    eventId,
    timestampMs: numbers[at + EVENT_ROW.timestampMs],
    model: nameIn(names.models, numbers[at + EVENT_ROW.model], overflowNames),
    provider: PROVIDERS[numbers[at + EVENT_ROW.provider]],
    inputTokens: numbers[at + EVENT_ROW.inputTokens],
    outputTokens: numbers[at + EVENT_ROW.outputTokens],
    costMicros: numbers[at + EVENT_ROW.costMicros],
    cacheReadTokens: numbers[at + EVENT_ROW.cacheReadTokens],
    cacheWriteTokens: numbers[at + EVENT_ROW.cacheWriteTokens],
    cacheWrite1hTokens: numbers[at + EVENT_ROW.cacheWrite1hTokens],
    reasoningTokens: numbers[at + EVENT_ROW.reasoningTokens],
  }
  const agent = numbers[at + EVENT_ROW.agent]
  if (agent !== 0) event.agentId = nameIn(names.agents, agent, overflowNames)
  const providerId = numbers[at + EVENT_ROW.providerId]
  if (providerId !== 0) event.providerId = nameIn(names.providerIds, providerId, overflowNames)
  const durationMs = numbers[at + EVENT_ROW.durationMs]
  if (durationMs >= 0) event.durationMs = durationMs
  const timeToFirstTokenMs = numbers[at + EVENT_ROW.timeToFirstTokenMs]
  if (timeToFirstTokenMs >= 0) event.timeToFirstTokenMs = timeToFirstTokenMs
  return event
}

function decodeOther(
  numbers: Float64Array,
  at: number,
  eventId: string,
  names: StoreNames,
  overflowNames: string[],
  errorCodes: Array<string | undefined | null>,
  errorMessages: Array<string | undefined | null>,
): AnalyticsEvent {
  const event = { type: EVENT_TYPES[numbers[at + EVENT_ROW.kind]], eventId, timestampMs: numbers[at + EVENT_ROW.timestampMs] } as AnalyticsEvent
  const agent = numbers[at + EVENT_ROW.agent]
  if (agent !== 0) event.agentId = nameIn(names.agents, agent, overflowNames)
  switch (event.type) {
    case 'llm_request_failed': {
      event.model = nameIn(names.models, numbers[at + EVENT_ROW.model], overflowNames)
      event.provider = PROVIDERS[numbers[at + EVENT_ROW.provider]]
      const providerId = numbers[at + EVENT_ROW.providerId]
      if (providerId !== 0) event.providerId = nameIn(names.providerIds, providerId, overflowNames)
      const failure = numbers[at + EVENT_ROW.failure]
      if (failure >= 0) {
        const code = errorCodes[failure]
        const message = errorMessages[failure]
        if (code != null) event.errorCode = code
        if (message != null) event.errorMessage = message
      }
      break
    }
    case 'budget_threshold_reached':
      event.thresholdPercent = numbers[at + EVENT_ROW.thresholdPercent]
      event.currentSpendMicros = numbers[at + EVENT_ROW.currentSpendMicros]
      event.budgetMicros = numbers[at + EVENT_ROW.budgetMicros]
      break
    case 'router_started':
      event.port = numbers[at + EVENT_ROW.port]
      break
    case 'router_stopped':
      event.totalRequests = numbers[at + EVENT_ROW.totalRequests]
      event.totalCostMicros = numbers[at + EVENT_ROW.totalCostMicros]
      break
  }
  return event
}
