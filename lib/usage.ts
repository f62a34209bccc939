import type { Provider } from './provider.js'
import { checkCount, describe } from './validate.js'

/** One call's token counts, the same for every provider (OpenTelemetry GenAI semantics). */
export interface LlmUsage {
  /** Every input token: cache reads and cache writes included. */
  inputTokens: number
  /** Every output token: reasoning included. */
  outputTokens: number
  /** Of `inputTokens`: read from the prompt cache. */
  cacheReadTokens?: number | null
  /** Of `inputTokens`: written to the prompt cache (the default, 5-minute TTL). */
  cacheWriteTokens?: number | null
  /** Of `inputTokens`: written to the prompt cache with a 1-hour TTL. */
  cacheWrite1hTokens?: number | null
  /** Of `outputTokens`: reasoning ("thinking") tokens. */
  reasoningTokens?: number | null
}

/** How a request is attributed and timed. */
export interface RecordOptions {
  agentId?: string | null
  providerId?: string | null
  /** Overrides the provider inferred from the model name. */
  provider?: Provider | null
  /** Request start to last byte. */
  durationMs?: number | null
  /** Streaming: request start to first content. */
  timeToFirstTokenMs?: number | null
}

/** What one call to a provider came to, as read from its response or stream. */
export interface CallOutcome {
  /** The model the provider billed, from the response itself. */
  model?: string
  usage?: LlmUsage
  error?: { errorCode: string; errorMessage?: string }
  /** False for an error, or a stream that ended before its usage. */
  complete: boolean
}

/** A usage whose every figure was read once and checked: the six counts, absent parts as 0. */
export interface CheckedUsage {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly cacheReadTokens: number
  readonly cacheWriteTokens: number
  readonly cacheWrite1hTokens: number
  readonly reasoningTokens: number
}

// The field's full name is built only for a refusal: joining it on every call costs more than
// the check.
function count(argument: string, field: string, value: unknown): number {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : checkCount(`${argument}.${field}`, value)
}

function part(argument: string, field: string, value: unknown): number {
  return value == null ? 0 : count(argument, field, value)
}

/**
 * Reads each field of `usage` exactly once (a getter cannot change it between check and use) and
 * checks it: counts as section 6 says, cache parts within `inputTokens`, reasoning within
 * `outputTokens`.
 */
export function checkUsage(argument: string, usage: unknown): CheckedUsage {
  if (typeof usage !== 'object' || usage === null || Array.isArray(usage)) throw usageRefused(argument, usage)
  const fields = usage as Record<string, unknown>
  const checked: CheckedUsage = {
    inputTokens: count(argument, 'inputTokens', fields.inputTokens),
    outputTokens: count(argument, 'outputTokens', fields.outputTokens),
    cacheReadTokens: part(argument, 'cacheReadTokens', fields.cacheReadTokens),
    cacheWriteTokens: part(argument, 'cacheWriteTokens', fields.cacheWriteTokens),
    cacheWrite1hTokens: part(argument, 'cacheWrite1hTokens', fields.cacheWrite1hTokens),
    reasoningTokens: part(argument, 'reasoningTokens', fields.reasoningTokens),
  }
  const { inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, cacheWrite1hTokens, reasoningTokens } = checked
  if (cacheReadTokens + cacheWriteTokens + cacheWrite1hTokens > inputTokens || reasoningTokens > outputTokens) throw partsRefused(argument, checked)
  return checked
}

// The refusals out of line, so that checkUsage stays small enough for V8 to inline into a caller.
function usageRefused(argument: string, usage: unknown): TypeError {
  return new TypeError(`${argument} must be an object with inputTokens and outputTokens, got ${describe(usage)}`)
}

function partsRefused(argument: string, usage: CheckedUsage): RangeError {
  const cached = usage.cacheReadTokens + usage.cacheWriteTokens + usage.cacheWrite1hTokens
  if (cached > usage.inputTokens) {
    return new RangeError(`${argument}: cacheReadTokens + cacheWriteTokens + cacheWrite1hTokens (${cached}) must not exceed inputTokens (${usage.inputTokens})`)
  }
  return new RangeError(`${argument}.reasoningTokens (${usage.reasoningTokens}) must not exceed outputTokens (${usage.outputTokens})`)
}
