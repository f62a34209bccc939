import type { AnalyticsEvent } from './events.js'
import type { Provider } from './provider.js'

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

/** The wire form of an LLM event; `undefined` for the other types, which are never sent. */
export function toProtocol012(event: AnalyticsEvent, icToken: string): Protocol012Request | undefined {
  if (event.type !== 'llm_request_completed' && event.type !== 'llm_request_failed') return undefined
  const request: Protocol012Request = {
    ic_token: icToken,
    event_id: event.eventId,
    timestamp_ms: event.timestampMs,
    event_type: event.type,
    model: event.model,
    provider: event.provider,
  }
  if (event.type === 'llm_request_completed') {
    request.input_tokens = event.inputTokens
    request.output_tokens = event.outputTokens
    request.cost_micros = event.costMicros
  }
  if (event.providerId !== undefined) request.provider_id = event.providerId
  if (event.type === 'llm_request_failed') {
    if (event.errorCode !== undefined) request.error_code = event.errorCode
    if (event.errorMessage !== undefined) request.error_message = event.errorMessage
  }
  return request
}
