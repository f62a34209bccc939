// Types of the prom-client comparison recorder, for the vitest checks of its figures.
import type { Counter, Registry } from 'prom-client'
import type { LiteLlmPrices } from './baseline.mjs'

export class PromRecorder {
  readonly registry: Registry
  readonly requests: Counter<'model' | 'provider'>
  readonly inputTokens: Counter<'model' | 'provider'>
  readonly outputTokens: Counter<'model' | 'provider'>
  readonly costMicros: Counter<'model' | 'provider'>
  recordLlmCompleted(
    pricing: LiteLlmPrices,
    model: string,
    inputTokens: number,
    outputTokens: number,
    agentId?: string | null,
    providerId?: string | null,
  ): void
}
