import type { EventRows, EventInput as NativeEventInput } from '../index.js'
import { PROVIDERS, type Provider, providerIndex } from './provider.js'
import { nameOf, optionalSymbolFor, symbolFor } from './symbols.js'
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
  inputTokens: number
  outputTokens: number
  costMicros: number
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
export type EventInput = EventPayload & { eventId?: string; timestampMs?: number; agentId?: string | null }

/** Index of each type in the native core's columns. */
export const EVENT_TYPES: readonly EventType[] = [
  'llm_request_completed',
  'llm_request_failed',
  'budget_threshold_reached',
  'router_started',
  'router_stopped',
]

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const STRIDE = 10
const ID_LENGTH = 36

/** Validates an event for `record()`; throws before anything is recorded. */
export function encodeEvent(event: EventInput): NativeEventInput {
  if (event === null || typeof event !== 'object') throw new TypeError(`event must be an object, got ${describe(event)}`)
  const kind = EVENT_TYPES.indexOf(event.type)
  if (kind < 0) {
    throw new TypeError(`event.type must be one of ${EVENT_TYPES.join(', ')}, got ${describe(event.type)}`)
  }
  let eventId: string | undefined
  if (event.eventId != null) {
    eventId = checkString('event.eventId', event.eventId)
    if (!UUID.test(eventId)) throw new RangeError(`event.eventId must be a UUID, got ${describe(eventId)}`)
  }
  const timestampMs = event.timestampMs == null ? undefined : checkCount('event.timestampMs', event.timestampMs)
  const encoded: NativeEventInput = {
    kind,
    eventId,
    timestampMs,
    agent: optionalSymbolFor('event.agentId', event.agentId),
    model: 0,
    provider: 0,
    providerId: 0,
    a: 0,
    b: 0,
    c: 0,
  }
  switch (event.type) {
    case 'llm_request_completed':
    case 'llm_request_failed':
      encoded.model = symbolFor('event.model', event.model)
      encoded.provider = providerIndex('event.provider', event.provider)
      encoded.providerId = optionalSymbolFor('event.providerId', event.providerId)
      if (event.type === 'llm_request_completed') {
        encoded.a = checkCount('event.inputTokens', event.inputTokens)
        encoded.b = checkCount('event.outputTokens', event.outputTokens)
        encoded.c = checkCount('event.costMicros', event.costMicros)
      } else {
        encoded.errorCode = event.errorCode == null ? undefined : checkIdentifier('event.errorCode', event.errorCode)
        encoded.errorMessage = checkOptionalMessage('event.errorMessage', event.errorMessage)
      }
      break
    case 'budget_threshold_reached':
      encoded.a = checkIntegerInRange('event.thresholdPercent', event.thresholdPercent, 0, 255)
      encoded.b = checkCount('event.currentSpendMicros', event.currentSpendMicros)
      encoded.c = checkCount('event.budgetMicros', event.budgetMicros)
      break
    case 'router_started':
      encoded.a = checkIntegerInRange('event.port', event.port, 0, 65_535)
      break
    case 'router_stopped':
      encoded.a = checkCount('event.totalRequests', event.totalRequests)
      encoded.b = checkCount('event.totalCostMicros', event.totalCostMicros)
      break
  }
  return encoded
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
export function readEvents(read: (numbers: Float64Array, ids: Buffer) => EventRows): AnalyticsEvent[] {
  let target = buffers
  for (;;) {
    const rows = read(target.numbers, target.ids)
    if (rows.count <= target.capacity) return decodeEvents(rows, target)
    // Headroom for events recorded before the next attempt.
    target = new EventBuffers(rows.count + (rows.count >> 3))
    if (target.capacity <= KEPT_CAPACITY) buffers = target
  }
}

// Ids become strings one chunk at a time, then one slice per id: a string of all 10,000 ids
// (360 KB) lands in V8's large-object space, pages mapped and unmapped per read, and measured
// 3.5 times slower than chunks of 72 KB, which the young generation takes.
const ID_CHUNK = 2048

/** Turns the rows the native core wrote into `source` into event objects, oldest first. */
export function decodeEvents(rows: EventRows, source: EventBuffers): AnalyticsEvent[] {
  const { count, errorCodes, errorMessages } = rows
  const { numbers, ids } = source
  const events: AnalyticsEvent[] = new Array(count)
  let chunk = ''
  for (let index = 0; index < count; index++) {
    const within = index % ID_CHUNK
    if (within === 0) chunk = ids.toString('latin1', index * ID_LENGTH, Math.min(count, index + ID_CHUNK) * ID_LENGTH)
    const eventId = chunk.slice(within * ID_LENGTH, (within + 1) * ID_LENGTH)
    const at = index * STRIDE
    events[index] =
      numbers[at] === 0
        ? decodeCompleted(numbers, at, eventId)
        : decodeOther(numbers, at, eventId, errorCodes, errorMessages)
  }
  return events
}

// Nearly every event is a completed request: one object literal per combination of the optional
// fields builds it in one step, with a hidden class V8 keeps per literal.
function decodeCompleted(numbers: Float64Array, at: number, eventId: string): AnalyticsEvent {
  const timestampMs = numbers[at + 1]
  const agent = numbers[at + 2]
  const model = nameOf(numbers[at + 3])
  const provider = PROVIDERS[numbers[at + 4]]
  const providerId = numbers[at + 5]
  const inputTokens = numbers[at + 6]
  const outputTokens = numbers[at + 7]
  const costMicros = numbers[at + 8]
  const type = 'llm_request_completed'
  if (agent !== 0) {
    const agentId = nameOf(agent)
    return providerId !== 0
      ? {
          type,
          eventId,
          timestampMs,
          agentId,
          model,
          provider,
          providerId: nameOf(providerId),
          inputTokens,
          outputTokens,
          costMicros,
        }
      : { type, eventId, timestampMs, agentId, model, provider, inputTokens, outputTokens, costMicros }
  }
  if (providerId === 0) return { type, eventId, timestampMs, model, provider, inputTokens, outputTokens, costMicros }
  return {
    type,
    eventId,
    timestampMs,
    model,
    provider,
    providerId: nameOf(providerId),
    inputTokens,
    outputTokens,
    costMicros,
  }
}

function decodeOther(
  numbers: Float64Array,
  at: number,
  eventId: string,
  errorCodes: Array<string | undefined | null>,
  errorMessages: Array<string | undefined | null>,
): AnalyticsEvent {
  const event = { type: EVENT_TYPES[numbers[at]], eventId, timestampMs: numbers[at + 1] } as AnalyticsEvent
  if (numbers[at + 2] !== 0) event.agentId = nameOf(numbers[at + 2])
  switch (event.type) {
    case 'llm_request_failed':
      event.model = nameOf(numbers[at + 3])
      event.provider = PROVIDERS[numbers[at + 4]]
      if (numbers[at + 5] !== 0) event.providerId = nameOf(numbers[at + 5])
      if (numbers[at + 9] >= 0) {
        const code = errorCodes[numbers[at + 9]]
        const message = errorMessages[numbers[at + 9]]
        if (code != null) event.errorCode = code
        if (message != null) event.errorMessage = message
      }
      break
    case 'budget_threshold_reached':
      event.thresholdPercent = numbers[at + 6]
      event.currentSpendMicros = numbers[at + 7]
      event.budgetMicros = numbers[at + 8]
      break
    case 'router_started':
      event.port = numbers[at + 6]
      break
    case 'router_stopped':
      event.totalRequests = numbers[at + 6]
      event.totalCostMicros = numbers[at + 7]
      break
  }
  return event
}
