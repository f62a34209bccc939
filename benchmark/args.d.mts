// Types of the shared benchmark arguments, for the vitest checks.

export interface RecordArgs {
  model: string
  inputTokens: number
  outputTokens: number
  agentId: string | undefined
  providerId: string | undefined
}

export const ARG_COUNT: number
export const ARG_MASK: number
export const TWENTY_MODELS: string[]
export function generateArgs(options?: { count?: number; seed?: number; models?: string[] }): RecordArgs[]
export const ARGS: RecordArgs[]
