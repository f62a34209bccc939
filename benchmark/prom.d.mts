// Types of the prom-client comparison recorder, for the vitest checks of its figures.
import type { Counter, Registry } from 'prom-client'
import type { RecordLlmCompleted } from './baseline.mjs'

export class PromRecorder {
  readonly registry: Registry
  readonly requests: Counter<'model' | 'provider'>
  readonly inputTokens: Counter<'model' | 'provider'>
  readonly outputTokens: Counter<'model' | 'provider'>
  readonly costMicros: Counter<'model' | 'provider'>
  recordLlmCompleted: RecordLlmCompleted
}
