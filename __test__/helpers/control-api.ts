// Starting the reference Control API (examples/control-api) for a test, and reading what it stored.
import { type ControlApi, type ControlApiOptions, EVENTS_PATH, startControlApi } from '../../examples/control-api/server.mjs'

export type { ControlApi } from '../../examples/control-api/server.mjs'

/** A token distinctive enough that finding it anywhere in a text means it leaked. */
export const TOKEN = 'ic_tok_7Q2xVb9LmZ4r'
export const AGENT = 'agent-7'

export interface StoredRow {
  event_id: string
  timestamp_ms: number
  event_type: string
  model: string
  provider: string
  input_tokens: number | null
  output_tokens: number | null
  cost_micros: number | null
  agent_id: string
  provider_id: string | null
  error_code: string | null
  error_message: string | null
  received_at: number
}

export function startServer(options: ControlApiOptions = {}): Promise<ControlApi> {
  return startControlApi({ tokens: { [TOKEN]: AGENT }, ...options })
}

export function rows(api: ControlApi): StoredRow[] {
  return api.db.prepare('SELECT * FROM analytics_events ORDER BY id').all() as StoredRow[]
}

export function storedCount(api: ControlApi): number {
  return api.db.prepare('SELECT count(*) FROM analytics_events').pluck().get() as number
}

/** A valid completed event in wire form, with overrides. */
export function wireEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ic_token: TOKEN,
    event_id: crypto.randomUUID(),
    timestamp_ms: Date.now(),
    event_type: 'llm_request_completed',
    model: 'gpt-4o',
    provider: 'openai',
    input_tokens: 150,
    output_tokens: 50,
    cost_micros: 6000,
    ...overrides,
  }
}

export async function post(api: ControlApi, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(api.url + EVENTS_PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}
