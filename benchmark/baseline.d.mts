// Types of the pure-JS comparison store, for the vitest checks of its figures.
import type { LlmUsage } from '../lib/usage'

export type { LlmUsage }

export interface LiteLlmEntry {
  input_cost_per_token?: number | null
  output_cost_per_token?: number | null
  max_output_tokens?: number | null
  max_tokens?: number | null
}
export type LiteLlmPrices = Record<string, LiteLlmEntry | unknown>
export type Provider = 'openai' | 'anthropic' | 'unknown'

export interface RecordOptions {
  agentId?: string | null
  providerId?: string | null
}

export interface Figures {
  requestCount: number
  inputTokens: number
  outputTokens: number
  failedRequests: number
  cacheReadTokens: number
  cacheWriteTokens: number
  cacheWrite1hTokens: number
  reasoningTokens: number
  costMicros: number
  /** In byModel only. */
  provider: string | undefined
  duration: undefined
  timeToFirstToken: undefined
}

export interface BaselineStats {
  totalRequests: number
  failedRequests: number
  totalInputTokens: number
  totalOutputTokens: number
  totalCacheReadTokens: number
  totalCacheWriteTokens: number
  totalCacheWrite1hTokens: number
  totalReasoningTokens: number
  totalCostMicros: number
  unpricedRequests: number
  unpricedModels: string[]
  overflowedKeys: number
  byModel: Record<string, Figures>
  byProvider: Record<string, Figures>
  byAgent: Record<string, Figures>
  failuresByCode: Record<string, number>
}

export interface BaselineEvent {
  eventId: string
  timestampMs: number
  type: 'llm_request_completed'
  model: string
  provider: Provider
  agentId: string | undefined
  providerId: string | undefined
  inputTokens: number
  outputTokens: number
  /** Present on events recorded with recordLlmUsage. */
  cacheReadTokens?: number
  cacheWriteTokens?: number
  cacheWrite1hTokens?: number
  reasoningTokens?: number
  costMicros: number
}

export const MEMO_LIMIT: number
export const INLINE_PRICES: LiteLlmPrices
export function loadPricing(): LiteLlmPrices
export function inferProvider(model: string): Provider
export function pricePerMillion(pricing: LiteLlmPrices, model: string): [number, number]
export function costMicros(tokens: number, perMillion: number): number
export function checkRecordArgs(
  model: unknown,
  inputTokens: unknown,
  outputTokens: unknown,
  agentId: unknown,
  providerId: unknown,
): void
export function checkPricing(pricing: unknown): void

/** The call every contender answers: recordLlmCompleted priced from a LiteLLM table. */
export type RecordLlmCompleted = (
  pricing: LiteLlmPrices,
  model: string,
  inputTokens: number,
  outputTokens: number,
  agentId?: string | null,
  providerId?: string | null,
) => void

export class BaselineEventStore {
  constructor(capacity?: number)
  capacity(): number
  len(): number
  droppedCount(): number
  recordLlmCompleted: RecordLlmCompleted
  /** SPEC section 10's recordLlmUsage, with the options recordLlmCompleted takes positionally. */
  recordLlmUsage(pricing: LiteLlmPrices, model: string, usage: LlmUsage, options?: RecordOptions | null): void
  stats(): BaselineStats
  snapshotEvents(): BaselineEvent[]
  drainAll(): BaselineEvent[]
}
