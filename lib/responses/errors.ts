import { checkIntegerInRange, MAX_ERROR_MESSAGE_LENGTH, MAX_IDENTIFIER_LENGTH } from '../validate.js'
import { type ApiFormat, checkFormat } from './formats.js'
import { asObject, asText, readBody } from './json-body.js'
import type { CallError } from './outcome.js'

/**
 * The code and message a provider's error object gives: OpenAI `error.code ?? error.type` (and the
 * top-level `code` of a Responses stream's `error` event), Anthropic `error.type`, Gemini
 * `error.status`. Undefined when the value is no error object of the format.
 */
function namedError(format: ApiFormat, value: unknown): { code?: string; message?: unknown } | undefined {
  const body = asObject(format === 'gemini' && Array.isArray(value) ? value[0] : value)
  if (!body) return undefined
  const error = asObject(body.error)
  if (!error) {
    return format === 'openai-responses' && body.type === 'error' ? { code: asText(body.code), message: body.message } : undefined
  }
  const code = format === 'anthropic' ? asText(error.type) : format === 'gemini' ? asText(error.status) : asText(error.code) ?? asText(error.type)
  return { code, message: error.message }
}

/** The error an object of the format carries, with `fallbackCode` when it names no code. */
export function errorInBody(format: ApiFormat, value: unknown, fallbackCode: string): CallError | undefined {
  const named = namedError(format, value)
  return named && callError(named.code ?? fallbackCode, named.message)
}

export function callError(code: string, message: unknown): CallError {
  // The store takes codes of up to 256 characters and cuts long messages; both are cut here already.
  const errorCode = code.slice(0, MAX_IDENTIFIER_LENGTH)
  const text = asText(message)
  return text === undefined ? { errorCode } : { errorCode, errorMessage: text.slice(0, MAX_ERROR_MESSAGE_LENGTH) }
}

/**
 * The error code and message of a failed answer. The code is the one the body names, else the
 * HTTP status as a string; the message is the body's own, else its text when it is not JSON.
 */
export function errorFromResponse(format: ApiFormat, status: number, body: unknown): CallError {
  const checked = checkFormat('format', format)
  const code = String(checkIntegerInRange('status', status, 100, 599))
  const { json, text } = readBody('body', body)
  const named = namedError(checked, json)
  if (named) return callError(named.code ?? code, named.message)
  return callError(code, json === undefined ? text?.trim() : undefined)
}
