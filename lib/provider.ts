import { native } from './binding.js'
import { checkString, describe } from './validate.js'

export type Provider = 'openai' | 'anthropic' | 'unknown'

export const Provider = Object.freeze({
  OpenAI: 'openai',
  Anthropic: 'anthropic',
  Unknown: 'unknown',
} as const)

/** In the native core's order: a provider crosses the boundary as its index here. */
export const PROVIDERS: readonly Provider[] = Object.freeze(['openai', 'anthropic', 'unknown'])

export function providerIndex(name: string, provider: unknown): number {
  const index = PROVIDERS.indexOf(provider as Provider)
  if (index >= 0) return index
  if (typeof provider !== 'string') throw new TypeError(`${name} must be a string, got ${describe(provider)}`)
  throw new RangeError(`${name} must be one of ${PROVIDERS.join(', ')}, got ${describe(provider)}`)
}

/**
 * In any letter case: `gpt-`, `o1-`, `o3-`, `chatgpt-` and any `o<digit>` name (`o1`, `o4-mini`)
 * -> openai; `claude-` -> anthropic; also through routing prefixes and cloud ids (`openai/…`,
 * `azure/…` -> openai; `anthropic/…`, `bedrock/anthropic.claude-…`, `us.anthropic.claude-…`,
 * `vertex_ai/claude-…` -> anthropic). Anything else -> unknown.
 */
export function inferProvider(model: string): Provider {
  return native.inferProvider(checkString('model', model)) as Provider
}

/** Case-insensitive; any other name is `unknown`. */
export function parseProvider(name: string): Provider {
  return native.parseProvider(checkString('name', name)) as Provider
}
