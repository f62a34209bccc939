// Each provider's usage block mapped onto LlmUsage (SPEC section 11). A figure that is present but
// not a count, or parts that exceed their whole, make the block unreadable: a wrong figure is
// never recorded.
import type { LlmUsage } from '../usage.js'
import { asObject } from './json-body.js'

const INVALID = -1

/** A count, 0 when the provider left it out, INVALID when it is anything else. */
function count(value: unknown): number {
  if (value == null) return 0
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : INVALID
}

function usage(input: number, output: number, cacheRead: number, cacheWrite: number, cacheWrite1h: number, reasoning: number): LlmUsage | undefined {
  const figures = [input, output, cacheRead, cacheWrite, cacheWrite1h, reasoning]
  if (figures.includes(INVALID) || !figures.every(Number.isSafeInteger)) return undefined
  if (cacheRead + cacheWrite + cacheWrite1h > input || reasoning > output) return undefined
  const result: LlmUsage = { inputTokens: input, outputTokens: output }
  if (cacheRead > 0) result.cacheReadTokens = cacheRead
  if (cacheWrite > 0) result.cacheWriteTokens = cacheWrite
  if (cacheWrite1h > 0) result.cacheWrite1hTokens = cacheWrite1h
  if (reasoning > 0) result.reasoningTokens = reasoning
  return result
}

function has(block: Record<string, unknown>, ...fields: string[]): boolean {
  return fields.every((field) => typeof block[field] === 'number')
}

/** Chat Completions `usage`: `prompt_tokens` already include the cached ones. */
export function openAiChatUsage(value: unknown): LlmUsage | undefined {
  const block = asObject(value)
  if (!block || !has(block, 'prompt_tokens', 'completion_tokens')) return undefined
  return usage(
    count(block.prompt_tokens),
    count(block.completion_tokens),
    count(asObject(block.prompt_tokens_details)?.cached_tokens),
    0,
    0,
    count(asObject(block.completion_tokens_details)?.reasoning_tokens),
  )
}

/** Responses API `usage`: `input_tokens` already include the cached ones. */
export function openAiResponsesUsage(value: unknown): LlmUsage | undefined {
  const block = asObject(value)
  if (!block || !has(block, 'input_tokens', 'output_tokens')) return undefined
  return usage(
    count(block.input_tokens),
    count(block.output_tokens),
    count(asObject(block.input_tokens_details)?.cached_tokens),
    0,
    0,
    count(asObject(block.output_tokens_details)?.reasoning_tokens),
  )
}

/**
 * Messages API `usage`: `input_tokens` are only the uncached ones, so cache reads and writes are
 * added to make the whole input. Writes split by TTL when `cache_creation` says how, else they are
 * all 5-minute writes.
 */
export function anthropicUsage(value: unknown): LlmUsage | undefined {
  const block = asObject(value)
  if (!block || !has(block, 'input_tokens', 'output_tokens')) return undefined
  const uncached = count(block.input_tokens)
  const cacheRead = count(block.cache_read_input_tokens)
  const written = count(block.cache_creation_input_tokens)
  const split = asObject(block.cache_creation)
  const written1h = split ? count(split.ephemeral_1h_input_tokens) : 0
  const written5m = split ? count(split.ephemeral_5m_input_tokens) : written
  if ([uncached, cacheRead, written, written1h, written5m].includes(INVALID)) return undefined
  // The split must account for the writes the total reports; one that does not is not trusted.
  if (split && written5m + written1h !== written) return undefined
  return usage(uncached + cacheRead + written, count(block.output_tokens), cacheRead, written5m, written1h, 0)
}

/**
 * Gemini `usageMetadata`: thoughts are billed as output but not counted in
 * `candidatesTokenCount`, and tool-use prompts are input not counted in `promptTokenCount`.
 * Zero figures are often left out, so every one is optional.
 */
export function geminiUsage(value: unknown): LlmUsage | undefined {
  const block = asObject(value)
  if (!block) return undefined
  const prompt = count(block.promptTokenCount)
  const toolPrompt = count(block.toolUsePromptTokenCount)
  const candidates = count(block.candidatesTokenCount)
  const thoughts = count(block.thoughtsTokenCount)
  if ([prompt, toolPrompt, candidates, thoughts].includes(INVALID)) return undefined
  return usage(prompt + toolPrompt, candidates + thoughts, count(block.cachedContentTokenCount), 0, 0, thoughts)
}
