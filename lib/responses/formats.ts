import { describe } from '../validate.js'

/** The wire formats whose answers and streams the package reads usage from. */
export type ApiFormat = 'openai-chat' | 'openai-responses' | 'anthropic' | 'gemini'

export const API_FORMATS: readonly ApiFormat[] = Object.freeze(['openai-chat', 'openai-responses', 'anthropic', 'gemini'])

export function checkFormat(name: string, format: unknown): ApiFormat {
  if (API_FORMATS.includes(format as ApiFormat)) return format as ApiFormat
  if (typeof format !== 'string') throw new TypeError(`${name} must be a string, got ${describe(format)}`)
  throw new RangeError(`${name} must be one of ${API_FORMATS.join(', ')}, got ${describe(format)}`)
}
