import type { EventColumns, EventInput as NativeEventInput } from '../index.js'
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

/** Turns the native core's event columns into event objects, oldest first. */
export function decodeEvents(columns: EventColumns): AnalyticsEvent[] {
  const { numbers, ids, errorCodes, errorMessages } = columns
  const events: AnalyticsEvent[] = new Array(columns.count)
  for (let index = 0; index < columns.count; index++) {
    const at = index * STRIDE
    const event = {
      type: EVENT_TYPES[numbers[at]],
      eventId: ids.slice(index * ID_LENGTH, (index + 1) * ID_LENGTH),
      timestampMs: numbers[at + 1],
    } as AnalyticsEvent
    if (numbers[at + 2] !== 0) event.agentId = nameOf(numbers[at + 2])
    switch (event.type) {
      case 'llm_request_completed':
      case 'llm_request_failed': {
        const llm = event as EventBase & (LlmRequestCompleted | LlmRequestFailed)
        llm.model = nameOf(numbers[at + 3])
        llm.provider = PROVIDERS[numbers[at + 4]]
        if (numbers[at + 5] !== 0) llm.providerId = nameOf(numbers[at + 5])
        if (llm.type === 'llm_request_completed') {
          llm.inputTokens = numbers[at + 6]
          llm.outputTokens = numbers[at + 7]
          llm.costMicros = numbers[at + 8]
        } else if (numbers[at + 9] >= 0) {
          const code = errorCodes[numbers[at + 9]]
          const message = errorMessages[numbers[at + 9]]
          if (code != null) llm.errorCode = code
          if (message != null) llm.errorMessage = message
        }
        break
      }
      case 'budget_threshold_reached':
        Object.assign(event, {
          thresholdPercent: numbers[at + 6],
          currentSpendMicros: numbers[at + 7],
          budgetMicros: numbers[at + 8],
        })
        break
      case 'router_started':
        Object.assign(event, { port: numbers[at + 6] })
        break
      case 'router_stopped':
        Object.assign(event, { totalRequests: numbers[at + 6], totalCostMicros: numbers[at + 7] })
        break
    }
    events[index] = event
  }
  return events
}
