import { checkUsage, type LlmUsage } from '../usage.js'
import { checkCount, describe } from '../validate.js'
import { asObject } from './json-body.js'

/** A figure the AI SDK leaves `undefined` when the provider did not report it. */
function optional(name: string, value: unknown): number | undefined {
  return value === undefined || value === null ? undefined : checkCount(name, value)
}

/**
 * LlmUsage from the Vercel AI SDK's `LanguageModelUsage` (what `onFinish`, `generateText` and
 * `streamText` report). AI SDK 6 details the input as `inputTokenDetails` (`noCacheTokens`,
 * `cacheReadTokens`, `cacheWriteTokens`) and the output as `outputTokenDetails` (`textTokens`,
 * `reasoningTokens`); AI SDK 5 has the flat `cachedInputTokens` and `reasoningTokens`, which 6 keeps
 * as deprecated aliases. `inputTokens` and `outputTokens` are totals in both; when a total is
 * missing it is the sum of its details.
 */
export function usageFromAiSdk(usage: object): LlmUsage {
  const fields = asObject(usage)
  if (!fields) throw new TypeError(`usage must be the AI SDK's LanguageModelUsage object, got ${describe(usage)}`)
  const inputDetails = asObject(fields.inputTokenDetails) ?? {}
  const outputDetails = asObject(fields.outputTokenDetails) ?? {}
  const noCache = optional('usage.inputTokenDetails.noCacheTokens', inputDetails.noCacheTokens)
  const cacheRead =
    optional('usage.inputTokenDetails.cacheReadTokens', inputDetails.cacheReadTokens) ??
    optional('usage.cachedInputTokens', fields.cachedInputTokens)
  const cacheWrite = optional('usage.inputTokenDetails.cacheWriteTokens', inputDetails.cacheWriteTokens)
  const text = optional('usage.outputTokenDetails.textTokens', outputDetails.textTokens)
  const reasoning =
    optional('usage.outputTokenDetails.reasoningTokens', outputDetails.reasoningTokens) ??
    optional('usage.reasoningTokens', fields.reasoningTokens)
  const input = optional('usage.inputTokens', fields.inputTokens) ?? (noCache ?? 0) + (cacheRead ?? 0) + (cacheWrite ?? 0)
  const output = optional('usage.outputTokens', fields.outputTokens) ?? (text ?? 0) + (reasoning ?? 0)
  const result: LlmUsage = { inputTokens: input, outputTokens: output }
  if (cacheRead) result.cacheReadTokens = cacheRead
  if (cacheWrite) result.cacheWriteTokens = cacheWrite
  if (reasoning) result.reasoningTokens = reasoning
  // Parts beyond their totals are refused with the same RangeError recordLlmUsage would give.
  checkUsage('usage', result)
  return result
}
