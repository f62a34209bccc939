import type { AnalyticsEvent } from './events.js'
import type { Provider } from './provider.js'
import { checkCount, checkString, describe } from './validate.js'

/** One event as Protocol 012 sends it to `POST /api/v1/analytics/events`. */
export interface Protocol012Request {
  ic_token: string
  event_id: string
  timestamp_ms: number
  event_type: 'llm_request_completed' | 'llm_request_failed'
  model: string
  provider: Provider
  input_tokens?: number
  output_tokens?: number
  cost_micros?: number
  provider_id?: string
  error_code?: string
  error_message?: string
}

/**
 * The wire form of an LLM event; `undefined` for the other types, which are never sent. An LLM
 * event missing a field the server requires throws, rather than becoming a request the server
 * would reject for good.
 */
export function toProtocol012(event: AnalyticsEvent, icToken: string): Protocol012Request | undefined {
  if (event === null || typeof event !== 'object') throw new TypeError(`event must be an object, got ${describe(event)}`)
  checkString('icToken', icToken)
  if (event.type !== 'llm_request_completed' && event.type !== 'llm_request_failed') return undefined
  const request: Protocol012Request = {
    ic_token: icToken,
    event_id: checkString('event.eventId', event.eventId),
    timestamp_ms: checkCount('event.timestampMs', event.timestampMs),
    event_type: event.type,
    model: checkString('event.model', event.model),
    provider: checkString('event.provider', event.provider) as Provider,
  }
  if (event.type === 'llm_request_completed') {
    request.input_tokens = checkCount('event.inputTokens', event.inputTokens)
    request.output_tokens = checkCount('event.outputTokens', event.outputTokens)
    request.cost_micros = checkCount('event.costMicros', event.costMicros)
  }
  if (event.providerId != null) request.provider_id = checkString('event.providerId', event.providerId)
  if (event.type === 'llm_request_failed') {
    if (event.errorCode != null) request.error_code = checkString('event.errorCode', event.errorCode)
    if (event.errorMessage != null) request.error_message = checkString('event.errorMessage', event.errorMessage)
  }
  return request
}
