import type { CallOutcome } from '../usage.js'

export type { CallOutcome }

/** Why a call failed, as the store records it. */
export type CallError = NonNullable<CallOutcome['error']>

/** The code of a stream that ended, or was cut, before its final usage. */
export const STREAM_INCOMPLETE = 'stream_incomplete'
