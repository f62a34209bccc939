import { describe } from '../validate.js'

const decoder = new TextDecoder()

/**
 * A response body as given: parsed JSON, its text or its bytes. Text that is not JSON gives
 * `undefined` for `json` and keeps the text, so an error page can still say what went wrong.
 */
export function readBody(name: string, body: unknown): { json: unknown; text?: string } {
  if (typeof body === 'string') return parseText(body)
  if (body instanceof Uint8Array) return parseText(decoder.decode(body))
  if (typeof body === 'object' && body !== null) return { json: body }
  if (body == null) return { json: undefined }
  throw new TypeError(`${name} must be the parsed JSON body, its text or its bytes, got ${describe(body)}`)
}

function parseText(text: string): { json: unknown; text: string } {
  try {
    return { json: JSON.parse(text), text }
  } catch {
    return { json: undefined, text }
  }
}

/** `value` as a record when it is a JSON object. */
export function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}

/** A non-empty string, or undefined. */
export function asText(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined
}
