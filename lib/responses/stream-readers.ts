// What each format's stream says about usage and errors (SPEC section 11). A reader names the
// substrings (needles) an event it needs must hold; the framer decodes and parses only those
// events, so the text deltas that make up most of a stream are never parsed. Each needle is
// searched for at its anchor, a byte chosen to be rare in the format's other events.
import type { LlmUsage } from '../usage.js'
import { errorInBody } from './errors.js'
import type { ApiFormat } from './formats.js'
import { readAnswer } from './from-response.js'
import { asObject, asText } from './json-body.js'
import { type CallError, type CallOutcome, STREAM_INCOMPLETE } from './outcome.js'
import { anthropicUsage, geminiUsage } from './provider-usage.js'
import { type Needle, needle, type Relevance } from './sse.js'

const STREAM_ERROR = 'stream_error'

// Every format's error object has a `"message"` key, and no text delta can hold `message"` but at
// the very end of its text (a quote inside a JSON string is escaped). A search stops at each
// occurrence of the anchor: an `m` comes a few times an event, an `e` or a quote dozens of times.
const ERROR = needle('message"', 'm')

abstract class StreamReader implements Relevance {
  abstract readonly needles: readonly Needle[]
  readonly closingNeedles: readonly Needle[] = []
  protected model: string | undefined
  protected usage: LlmUsage | undefined
  protected error: CallError | undefined
  /** Whether the usage read so far is the call's final one. */
  protected final = false

  /** Whether every event is needed for now, needles or not. */
  everything(): boolean {
    return false
  }

  abstract take(name: string, data: Record<string, unknown>): void
  /** Why a stream without its final usage lacks it. */
  protected abstract readonly missing: string

  protected fail(format: ApiFormat, value: unknown, fallbackCode: string): void {
    this.error ??= errorInBody(format, value, fallbackCode)
  }

  /** The outcome once the stream has ended; `cut` says why when it ended early. */
  outcome(cut: CallError | undefined): CallOutcome {
    const outcome: CallOutcome = { complete: false }
    if (this.model !== undefined) outcome.model = this.model
    if (this.error) {
      if (this.usage && this.final) outcome.usage = this.usage
      outcome.error = this.error
    } else if (this.usage && this.final) {
      outcome.usage = this.usage
      outcome.complete = true
    } else {
      outcome.error = cut ?? { errorCode: STREAM_INCOMPLETE, errorMessage: this.missing }
    }
    return outcome
  }
}

// Every chunk but the last has `"usage":null`; the last has an object with `prompt_tokens`. Its
// `k` is found once in other chunks (`chat.completion.chunk`), its other bytes several times; the
// key's `_` and closing quote keep a delta that ends with "tokens" from matching.
const CHAT_NEEDLES = [needle('_tokens"', 'k')]
// An `m` is in every chunk four times or more (`chatcmpl`, `chat.completion.chunk`, `model`,
// `system_fingerprint`), and the error object ends the stream (OpenAI, and the servers that copy
// its API, send at most a `[DONE]` after it): it is looked for in the last two events only.
const CHAT_CLOSING_NEEDLES = [ERROR]

/** Chat Completions: the last chunk carries `usage` when `stream_options.include_usage` was set. */
class OpenAiChatReader extends StreamReader {
  protected readonly missing =
    'the stream ended without its usage chunk: OpenAI sends one only when the request sets stream_options.include_usage (see withStreamUsage)'

  readonly needles = CHAT_NEEDLES
  override readonly closingNeedles = CHAT_CLOSING_NEEDLES

  // The first chunk is read for the model, so that a stream without usage still names it.
  override everything(): boolean {
    return this.model === undefined
  }

  take(_name: string, chunk: Record<string, unknown>): void {
    if (chunk.error !== undefined) this.fail('openai-chat', chunk, STREAM_ERROR)
    this.model ??= asText(chunk.model)
    if (asObject(chunk.usage) === undefined) return
    const read = readAnswer('openai-chat', chunk)
    if (!read) return
    this.usage = read.usage
    this.final = true
    if (read.model !== undefined) this.model = read.model
  }
}

// A delta event has an `m` or two (`item_id` values, `sequence_number`), and an `f` seldom.
const RESPONSES_NEEDLES = [needle('response.completed', 'm'), needle('response.incomplete', 'm'), needle('response.failed', 'f'), ERROR]

/** Responses API: the terminal `response.completed`, `response.incomplete` or `response.failed` event. */
class OpenAiResponsesReader extends StreamReader {
  protected readonly missing = 'the stream ended before response.completed'

  readonly needles = RESPONSES_NEEDLES

  // `response.created` comes first and names the model, so that a cut stream still names it.
  override everything(): boolean {
    return this.model === undefined
  }

  take(name: string, event: Record<string, unknown>): void {
    const type = asText(event.type) ?? name
    if (type === 'error') return this.fail('openai-responses', event, STREAM_ERROR)
    const response = asObject(event.response)
    if (!response) return
    this.model ??= asText(response.model)
    if (type !== 'response.completed' && type !== 'response.incomplete' && type !== 'response.failed') return
    const read = readAnswer('openai-responses', response)
    if (read) {
      this.usage = read.usage
      this.final = true
      if (read.model !== undefined) this.model = read.model
    }
    // An incomplete response (max_output_tokens, content filter) was answered and billed; a failed one was not answered.
    if (type === 'response.failed') this.fail('openai-responses', response, 'response_failed')
  }
}

// One search finds message_start, message_delta and an error's `"message"` (and message_stop,
// read for nothing); no other event has an `m` outside its text.
const ANTHROPIC_NEEDLES = [needle('message', 'm')]

/** Messages API: `message_start` has the input side, each `message_delta` the cumulative totals. */
class AnthropicReader extends StreamReader {
  protected readonly missing = 'the stream ended before its message_delta usage'
  #reported: Record<string, unknown> = {}

  readonly needles = ANTHROPIC_NEEDLES

  take(name: string, event: Record<string, unknown>): void {
    const type = asText(event.type) ?? name
    if (type === 'error') return this.fail('anthropic', event, STREAM_ERROR)
    if (type === 'message_start') {
      const message = asObject(event.message)
      this.model = asText(message?.model) ?? this.model
      this.#merge(message?.usage)
    } else if (type === 'message_delta') {
      this.#merge(event.usage)
      this.usage = anthropicUsage(this.#reported)
      this.final = this.usage !== undefined
    }
  }

  /** Figures a later event reports replace earlier ones; a null one leaves the earlier figure. */
  #merge(usage: unknown): void {
    const figures = asObject(usage)
    if (!figures) return
    for (const [key, value] of Object.entries(figures)) if (value != null) this.#reported[key] = value
  }
}

const GEMINI_NEEDLES = [needle('usageMetadata', 'M'), needle('finishReason', 'R'), needle('blockReason', 'R'), ERROR]

/**
 * Gemini (`streamGenerateContent?alt=sse`): chunks carry running `usageMetadata`, the last one the
 * totals. The stream has no end marker, so the call is complete once a candidate has a
 * `finishReason` (or the prompt was blocked) and the usage has been reported.
 */
class GeminiReader extends StreamReader {
  protected readonly missing = 'the stream ended before a chunk with a finishReason and the usageMetadata'

  readonly needles = GEMINI_NEEDLES

  take(_name: string, chunk: Record<string, unknown>): void {
    if (chunk.error !== undefined) return this.fail('gemini', chunk, STREAM_ERROR)
    this.model = asText(chunk.modelVersion) ?? this.model
    const usage = geminiUsage(chunk.usageMetadata)
    if (usage) this.usage = usage
    const candidates = Array.isArray(chunk.candidates) ? chunk.candidates : []
    if (candidates.some((candidate) => asText(asObject(candidate)?.finishReason) !== undefined)) this.final = true
    if (asText(asObject(chunk.promptFeedback)?.blockReason) !== undefined) this.final = true
  }
}

export type { StreamReader }

export function streamReader(format: ApiFormat): StreamReader {
  switch (format) {
    case 'openai-chat':
      return new OpenAiChatReader()
    case 'openai-responses':
      return new OpenAiResponsesReader()
    case 'anthropic':
      return new AnthropicReader()
    case 'gemini':
      return new GeminiReader()
  }
}
