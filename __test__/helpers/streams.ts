import type { CallOutcome } from '../../lib/index'

/** The streamed fixtures with the outcome each must give, however it is cut into chunks. */
export const STREAMS = [
  {
    format: 'openai-chat',
    file: 'openai-chat-stream.sse',
    // The final usage is complete once the blank line after this event has been read.
    finalEvent: '"choices":[],"usage":{',
    outcome: { complete: true, model: 'gpt-4o-2024-08-06', usage: { inputTokens: 1536, outputTokens: 9, cacheReadTokens: 1280 } },
  },
  {
    format: 'openai-chat',
    file: 'openai-chat-stream-no-usage.sse',
    outcome: {
      complete: false,
      model: 'gpt-4o-mini-2024-07-18',
      error: {
        errorCode: 'stream_incomplete',
        errorMessage:
          'the stream ended without its usage chunk: OpenAI sends one only when the request sets stream_options.include_usage (see withStreamUsage)',
      },
    },
  },
  {
    format: 'openai-chat',
    file: 'openai-chat-stream-error.sse',
    outcome: {
      complete: false,
      model: 'gpt-4o-2024-08-06',
      error: { errorCode: 'server_error', errorMessage: 'The server had an error while processing your request. Sorry about that!' },
    },
  },
  {
    format: 'openai-responses',
    file: 'openai-responses-stream.sse',
    finalEvent: 'event: response.completed',
    outcome: { complete: true, model: 'gpt-4.1-2025-04-14', usage: { inputTokens: 1437, outputTokens: 4, cacheReadTokens: 1152 } },
  },
  {
    // A failed response reports what it used, but the call was not answered: it is a failure.
    format: 'openai-responses',
    file: 'openai-responses-stream-failed.sse',
    outcome: {
      complete: false,
      model: 'gpt-4.1-2025-04-14',
      usage: { inputTokens: 120, outputTokens: 0 },
      error: { errorCode: 'server_error', errorMessage: 'The model failed to generate a response.' },
    },
  },
  {
    format: 'openai-responses',
    file: 'openai-responses-stream-error.sse',
    outcome: {
      complete: false,
      model: 'gpt-4.1-mini-2025-04-14',
      error: { errorCode: 'rate_limit_exceeded', errorMessage: 'Rate limit reached for gpt-4.1-mini on tokens per min.' },
    },
  },
  {
    format: 'anthropic',
    file: 'anthropic-stream.sse',
    finalEvent: 'event: message_delta',
    // message_start: 25 uncached + 20,480 read + 4,096 written for an hour; message_delta: 15 out.
    outcome: {
      complete: true,
      model: 'claude-opus-4-1-20250805',
      usage: { inputTokens: 24601, outputTokens: 15, cacheReadTokens: 20480, cacheWrite1hTokens: 4096 },
    },
  },
  {
    format: 'anthropic',
    file: 'anthropic-stream-error.sse',
    outcome: { complete: false, model: 'claude-sonnet-4-5-20250929', error: { errorCode: 'overloaded_error', errorMessage: 'Overloaded' } },
  },
  {
    // Only the last chunk has the finish reason and the full usage.
    format: 'gemini',
    file: 'gemini-stream.sse',
    finalEvent: '"finishReason": "STOP"',
    outcome: { complete: true, model: 'gemini-2.5-flash', usage: { inputTokens: 812, outputTokens: 398, cacheReadTokens: 512, reasoningTokens: 387 } },
  },
] as const satisfies readonly { format: string; file: string; finalEvent?: string; outcome: CallOutcome }[]
