// SPEC section 11: UsageTap reads the outcome of a streamed answer however the bytes are cut:
// every byte offset, random offsets, inside UTF-8 characters, with `\n`, `\r\n` or `\r` line ends.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type ApiFormat, type CallOutcome, UsageTap } from '../lib/index'
import { fixture, LINE_ENDS, randomPieces, seededRandom, withLineEnds } from './helpers/fixtures'
import { STREAMS } from './helpers/streams'

function tapped(format: ApiFormat, pieces: Iterable<Uint8Array | string>): CallOutcome {
  const tap = new UsageTap(format)
  for (const piece of pieces) tap.write(piece)
  return tap.end()
}

function* splitAt(bytes: Buffer, offset: number): Generator<Buffer> {
  yield bytes.subarray(0, offset)
  yield bytes.subarray(offset)
}

function* byteByByte(bytes: Buffer): Generator<Buffer> {
  for (let i = 0; i < bytes.length; i++) yield bytes.subarray(i, i + 1)
}

/** The shortest prefix of `bytes` after which the final usage event has been read. */
function finalUsageRead(text: string, finalEvent: string, end: string): number {
  const at = text.replaceAll('\n', end).indexOf(finalEvent)
  const blankLine = text.replaceAll('\n', end).indexOf(end + end, at)
  // The blank line is read once its own line end starts: a CR alone already ends a line.
  return Buffer.byteLength(text.replaceAll('\n', end).slice(0, blankLine + end.length)) + 1
}

describe('UsageTap: the outcome of each stream, however it is cut', () => {
  for (const stream of STREAMS) {
    for (const [ends, end] of Object.entries(LINE_ENDS)) {
      const bytes = withLineEnds(fixture(stream.file), end)

      it(`${stream.file} (${ends}): whole, split at every byte offset, byte by byte`, () => {
        expect(tapped(stream.format, [bytes])).toEqual(stream.outcome)
        for (let offset = 0; offset <= bytes.length; offset++) {
          const outcome = tapped(stream.format, splitAt(bytes, offset))
          if (JSON.stringify(outcome) !== JSON.stringify(tapped(stream.format, [bytes]))) {
            expect({ offset, outcome }).toEqual({ offset, outcome: stream.outcome })
          }
        }
        expect(tapped(stream.format, byteByByte(bytes))).toEqual(stream.outcome)
      })

      it(`${stream.file} (${ends}): 200 random cuts`, () => {
        const random = seededRandom(bytes.length)
        for (let round = 0; round < 200; round++) {
          const pieces = randomPieces(bytes, random, 1 + (round % 40) * 8)
          expect(tapped(stream.format, pieces)).toEqual(stream.outcome)
        }
      })
    }

    if ('finalEvent' in stream) {
      it(`${stream.file}: a stream cut before its final usage is incomplete, one cut after it is complete`, () => {
        for (const end of Object.values(LINE_ENDS)) {
          const bytes = withLineEnds(fixture(stream.file), end)
          const threshold = finalUsageRead(fixture(stream.file), stream.finalEvent, end)
          for (let length = 0; length <= bytes.length; length++) {
            const prefix = bytes.subarray(0, length)
            const ended = tapped(stream.format, splitAt(prefix, length >> 1))
            const tap = new UsageTap(stream.format)
            tap.write(prefix)
            const aborted = tap.abort(new Error('socket hang up'))
            if (length >= threshold) {
              expect({ length, ended, aborted }).toEqual({ length, ended: stream.outcome, aborted: stream.outcome })
              continue
            }
            expect({ length, ended, aborted }).toEqual({
              length,
              ended: expect.objectContaining({ complete: false, error: expect.objectContaining({ errorCode: 'stream_incomplete' }) }),
              aborted: expect.objectContaining({
                complete: false,
                error: { errorCode: 'stream_incomplete', errorMessage: 'the stream was cut before its final usage: socket hang up' },
              }),
            })
            expect(ended.usage).toBeUndefined()
          }
        }
      })
    }
  }

  it('takes strings as well as bytes, and Uint8Arrays that are not Buffers', () => {
    const text = fixture('anthropic-stream.sse')
    const anthropic = STREAMS.find((s) => s.file === 'anthropic-stream.sse')!
    expect(tapped('anthropic', [...text])).toEqual(anthropic.outcome)
    const bytes = new TextEncoder().encode(text)
    expect(tapped('anthropic', [bytes.subarray(0, 100), bytes.subarray(100)])).toEqual(anthropic.outcome)
  })
})

describe('UsageTap: Server-Sent Events details', () => {
  it('multi-line data, fields without a space, id and retry fields, comments and a byte order mark', () => {
    const stream = [
      '\uFEFF: keep-alive',
      'retry: 3000',
      'event:message_start',
      'id: 1',
      'data:{"type":"message_start","message":{"model":"claude-haiku-4-5",',
      'data: "usage":{"input_tokens":7,"output_tokens":1}}}',
      '',
      'event: message_delta',
      'data: {"type": "message_delta",',
      'data:  "usage": {"output_tokens": 5}}',
      '',
      '',
      '',
    ].join('\r\n')
    expect(tapped('anthropic', [stream])).toEqual({ complete: true, model: 'claude-haiku-4-5', usage: { inputTokens: 7, outputTokens: 5 } })
  })

  it('message_delta figures replace those of message_start, null ones leave them', () => {
    const stream =
      'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-sonnet-4-5","usage":{"input_tokens":10,"cache_read_input_tokens":90,"output_tokens":1}}}\n\n' +
      'event: message_delta\ndata: {"type":"message_delta","usage":{"input_tokens":12,"cache_read_input_tokens":null,"output_tokens":40}}\n\n'
    expect(tapped('anthropic', [stream])).toEqual({
      complete: true,
      model: 'claude-sonnet-4-5',
      usage: { inputTokens: 102, outputTokens: 40, cacheReadTokens: 90 },
    })
  })

  it('an event the tap cannot hold (over 4 MiB) is passed over; later events are still read', () => {
    const text = fixture('openai-chat-stream.sse')
    const huge = `data: {"choices":[{"delta":{"content":"${'x'.repeat(5 * 1024 * 1024)} prompt_tokens message\\""}}]}\n\n`
    const pieces = randomPieces(Buffer.from(huge + text), seededRandom(7), 64 * 1024)
    expect(tapped('openai-chat', pieces)).toEqual(STREAMS[0].outcome)
  })

  it('a Gemini chunk with usage but no finish reason yet is not the end of the call', () => {
    const [first] = fixture('gemini-stream.sse').split('\n\n')
    expect(tapped('gemini', [`${first}\n\n`])).toEqual({
      complete: false,
      model: 'gemini-2.5-flash',
      error: { errorCode: 'stream_incomplete', errorMessage: 'the stream ended before a chunk with a finishReason and the usageMetadata' },
    })
  })

  it('a Gemini error payload mid-stream', () => {
    const [first] = fixture('gemini-stream.sse').split('\n\n')
    const error = 'data: {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}\n\n'
    expect(tapped('gemini', [`${first}\n\n${error}`])).toEqual({
      complete: false,
      model: 'gemini-2.5-flash',
      error: { errorCode: 'UNAVAILABLE', errorMessage: 'The model is overloaded.' },
    })
  })
})

/** The stream as one chunk per event, blank line included. */
function eventByEvent(text: string): Buffer[] {
  return text.split(/(?<=\n\n)/).map((event) => Buffer.from(event))
}

/** An OpenAI chat chunk, as one event, with `content` as its delta. */
function chatChunk(content: string): string {
  const delta = { content }
  return `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'gpt-4o-2024-08-06', choices: [{ index: 0, delta, finish_reason: null }], usage: null })}\n\n`
}

describe('UsageTap: only the events that can carry the model, usage or an error are parsed', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('openai-chat: the first chunk and the usage chunk, whatever the deltas say and however the stream is cut', () => {
    const usage = fixture('openai-chat-stream.sse').split('\n\n').at(-3)!
    // Deltas holding the needles' words as text: a quote inside a JSON string is escaped.
    const deltas = [' tokens', ' "prompt_tokens": 5', '{"usage":{"completion_tokens":7}}', 'the message board', 'an "error" message: ok', 'Grüße 🚀']
    const text = chatChunk('') + deltas.map(chatChunk).join('') + `${usage}\n\ndata: [DONE]\n\n`
    const bytes = Buffer.from(text)
    const expected = { complete: true, model: 'gpt-4o-2024-08-06', usage: { inputTokens: 1536, outputTokens: 9, cacheReadTokens: 1280 } }
    for (const pieces of [[bytes], eventByEvent(text), [...byteByByte(bytes)], randomPieces(bytes, seededRandom(11), 40)]) {
      const parse = vi.spyOn(JSON, 'parse')
      expect(tapped('openai-chat', pieces)).toEqual(expected)
      expect(parse).toHaveBeenCalledTimes(2)
      parse.mockRestore()
    }
  })

  it('anthropic: the message events only, none of the deltas', () => {
    const text = fixture('anthropic-stream.sse')
    const messageEvents = text.split('\n\n').filter((event) => event.includes('message')).length
    for (const pieces of [[Buffer.from(text)], eventByEvent(text)]) {
      const parse = vi.spyOn(JSON, 'parse')
      tapped('anthropic', pieces)
      expect(parse).toHaveBeenCalledTimes(messageEvents)
      parse.mockRestore()
    }
  })
})

describe('UsageTap: an OpenAI error object, looked for at the end of the stream', () => {
  const broken = STREAMS.find((s) => s.file === 'openai-chat-stream-error.sse')!

  it('followed by [DONE], cut anywhere, with every line end', () => {
    for (const end of Object.values(LINE_ENDS)) {
      const bytes = withLineEnds(`${fixture(broken.file)}data: [DONE]\n\n`, end)
      for (let offset = 0; offset <= bytes.length; offset++) {
        const outcome = tapped('openai-chat', splitAt(bytes, offset))
        if (JSON.stringify(outcome) !== JSON.stringify(broken.outcome)) expect({ end, offset, outcome }).toEqual({ end, offset, outcome: broken.outcome })
      }
      expect(tapped('openai-chat', byteByByte(bytes))).toEqual(broken.outcome)
      expect(tapped('openai-chat', eventByEvent(bytes.toString()))).toEqual(broken.outcome)
    }
  })

  it('when the stream is cut after it, the error is the outcome, not the cut', () => {
    const bytes = Buffer.from(fixture(broken.file))
    const tap = new UsageTap('openai-chat')
    for (const piece of eventByEvent(bytes.toString())) tap.write(piece)
    expect(tap.abort(new Error('socket hang up'))).toEqual(broken.outcome)
  })

  it('after many deltas that were only skimmed', () => {
    const text = chatChunk('') + Array.from({ length: 50 }, (_, i) => chatChunk(`word ${i}`)).join('') + fixture(broken.file).split('\n\n').at(-2)! + '\n\n'
    for (const pieces of [eventByEvent(text), randomPieces(Buffer.from(text), seededRandom(4), 300)]) {
      expect(tapped('openai-chat', pieces)).toEqual({ ...broken.outcome, model: 'gpt-4o-2024-08-06' })
    }
  })
})

describe('UsageTap: use and misuse', () => {
  it('end() and abort() after the end give the first outcome; a write after it throws', () => {
    const tap = new UsageTap('openai-chat')
    tap.write(fixture('openai-chat-stream.sse'))
    const outcome = tap.end()
    expect(tap.end()).toBe(outcome)
    expect(tap.abort('late')).toBe(outcome)
    expect(() => tap.write('data: {}\n\n')).toThrow(new Error('UsageTap: write after the tap has ended'))
  })

  it('abort() without a reason, or with a string', () => {
    expect(new UsageTap('gemini').abort().error).toEqual({ errorCode: 'stream_incomplete', errorMessage: 'the stream was cut before its final usage: aborted' })
    expect(new UsageTap('gemini').abort('client closed').error?.errorMessage).toBe('the stream was cut before its final usage: client closed')
  })

  it('refuses an unknown format and chunks that are not bytes or text, naming the argument', () => {
    expect(() => new UsageTap('openai' as never)).toThrow(new RangeError('format must be one of openai-chat, openai-responses, anthropic, gemini, got "openai"'))
    const tap = new UsageTap('anthropic')
    expect(() => tap.write(42 as never)).toThrow(new TypeError('chunk must be a Uint8Array or a string, got 42'))
    expect(() => tap.write(new ArrayBuffer(4) as never)).toThrow(new TypeError('chunk must be a Uint8Array or a string, got an object'))
    // A refused chunk changes nothing.
    tap.write(fixture('anthropic-stream.sse'))
    expect(tap.end().complete).toBe(true)
  })
})
