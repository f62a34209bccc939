import type { LlmUsage } from '../usage.js'

/** Why a call failed, as the store records it. */
export interface CallError {
  errorCode: string
  errorMessage?: string
}

/**
 * What one call came to. `complete` is true when the provider's final usage arrived and no error
 * did; `model` is the model the provider says it billed. An outcome that is not complete has an
 * `error` and may still carry the usage the provider reported with it.
 */
export interface CallOutcome {
  model?: string
  usage?: LlmUsage
  error?: CallError
  complete: boolean
}

/** The code of a stream that ended, or was cut, before its final usage. */
export const STREAM_INCOMPLETE = 'stream_incomplete'
