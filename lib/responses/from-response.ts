import type { LlmUsage } from '../usage.js'
import { type ApiFormat, checkFormat } from './formats.js'
import { asObject, asText, readBody } from './json-body.js'
import { anthropicUsage, geminiUsage, openAiChatUsage, openAiResponsesUsage } from './provider-usage.js'

/** What a whole (non-streamed) answer says was billed. */
export interface ResponseUsage {
  model?: string
  usage: LlmUsage
}

/** The billed model and usage of one parsed answer (or one streamed event's object). */
export function readAnswer(format: ApiFormat, answer: Record<string, unknown>): ResponseUsage | undefined {
  const usage = format === 'gemini' ? geminiUsage(answer.usageMetadata) : USAGE_OF[format](answer.usage)
  if (usage === undefined) return undefined
  const model = asText(format === 'gemini' ? answer.modelVersion : answer.model)
  return model === undefined ? { usage } : { model, usage }
}

const USAGE_OF = {
  'openai-chat': openAiChatUsage,
  'openai-responses': openAiResponsesUsage,
  anthropic: anthropicUsage,
}

/**
 * The usage of a non-streamed answer, given parsed or as its text or bytes; undefined when the
 * body carries no readable usage. `model` is the answer's own: the model that was billed, which
 * may name a dated snapshot of the model that was asked for.
 */
export function usageFromResponse(format: ApiFormat, body: unknown): ResponseUsage | undefined {
  const checked = checkFormat('format', format)
  const { json } = readBody('body', body)
  // Gemini's streamGenerateContent without SSE answers one JSON array of the streamed chunks.
  const answer = checked === 'gemini' && Array.isArray(json) ? lastWithUsage(json) : asObject(json)
  return answer && readAnswer(checked, answer)
}

function lastWithUsage(chunks: unknown[]): Record<string, unknown> | undefined {
  for (let i = chunks.length - 1; i >= 0; i--) {
    const chunk = asObject(chunks[i])
    if (chunk?.usageMetadata !== undefined) return chunk
  }
  return undefined
}
