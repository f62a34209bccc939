import { describe } from '../validate.js'
import { type ApiFormat, checkFormat } from './formats.js'
import { asObject } from './json-body.js'

/**
 * A copy of a request body that asks for the usage a streamed answer should end with. OpenAI chat
 * completions report usage in a stream only with `stream_options.include_usage`, and take
 * `stream_options` only when `stream` is true, so the option is set on streamed requests alone.
 * The other formats always report it: their copy is unchanged.
 */
export function withStreamUsage<T extends object>(format: ApiFormat, requestBody: T): T {
  const checked = checkFormat('format', format)
  const body = asObject(requestBody)
  if (!body) throw new TypeError(`requestBody must be the request's JSON object, got ${describe(requestBody)}`)
  if (checked !== 'openai-chat' || body.stream !== true) return { ...requestBody }
  return { ...requestBody, stream_options: { ...asObject(body.stream_options), include_usage: true } }
}
