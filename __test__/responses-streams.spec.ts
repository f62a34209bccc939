// SPEC section 11: the taps as streams. Bytes pass unchanged and in order; the outcome promise
// settles on every path (end, client gone, upstream broken) and never rejects.
import { PassThrough, Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, expect, it } from 'vitest'
import { usageTapStream, usageTapTransform, withStreamUsage } from '../lib/index'
import { fixture, LINE_ENDS, randomPieces, seededRandom, withLineEnds } from './helpers/fixtures'
import { STREAMS } from './helpers/streams'

function collect(): { sink: Writable; received: Buffer[] } {
  const received: Buffer[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk)
      callback()
    },
  })
  return { sink, received }
}

describe('usageTapTransform', () => {
  for (const stream of STREAMS) {
    it(`${stream.file}: every chunk passes as it came, and the outcome is the stream's`, async () => {
      for (const end of Object.values(LINE_ENDS)) {
        const pieces = randomPieces(withLineEnds(fixture(stream.file), end), seededRandom(3), 97)
        const { transform, outcome } = usageTapTransform(stream.format)
        const { sink, received } = collect()
        await pipeline(Readable.from(pieces, { objectMode: false }), transform, sink)
        expect(Buffer.concat(received).equals(Buffer.concat(pieces))).toBe(true)
        // The very chunk objects, in order: nothing is copied, merged or held back.
        expect(received).toHaveLength(pieces.length)
        received.forEach((chunk, i) => expect(chunk).toBe(pieces[i]))
        await expect(outcome).resolves.toEqual(stream.outcome)
      }
    })
  }

  it('a client that goes away mid-stream: the outcome settles incomplete, the pipeline rejects as usual', async () => {
    const text = fixture('anthropic-stream.sse')
    const bytes = Buffer.from(text)
    const upstream = new PassThrough()
    const { transform, outcome } = usageTapTransform('anthropic')
    const client = new Writable({
      write(_chunk, _encoding, callback) {
        callback()
        client.destroy(new Error('client closed the connection'))
      },
    })
    const piped = pipeline(upstream, transform, client)
    upstream.write(bytes.subarray(0, Buffer.byteLength(text.slice(0, text.indexOf('event: content_block_delta')))))
    await expect(piped).rejects.toThrow('client closed the connection')
    await expect(outcome).resolves.toEqual({
      complete: false,
      model: 'claude-opus-4-1-20250805',
      error: { errorCode: 'stream_incomplete', errorMessage: 'the stream was cut before its final usage: client closed the connection' },
    })
  })

  it('an upstream that breaks before the usage: incomplete, with the upstream error', async () => {
    const bytes = Buffer.from(fixture('openai-chat-stream.sse'))
    const upstream = new PassThrough()
    const { transform, outcome } = usageTapTransform('openai-chat')
    const piped = pipeline(upstream, transform, collect().sink)
    upstream.write(bytes.subarray(0, bytes.length - 500))
    upstream.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))
    await expect(piped).rejects.toThrow('read ECONNRESET')
    await expect(outcome).resolves.toEqual({
      complete: false,
      model: 'gpt-4o-2024-08-06',
      error: { errorCode: 'stream_incomplete', errorMessage: 'the stream was cut before its final usage: read ECONNRESET' },
    })
  })

  it('destroyed without an error, and cut after the final usage', async () => {
    const bare = usageTapTransform('gemini')
    bare.transform.destroy()
    await expect(bare.outcome).resolves.toEqual({
      complete: false,
      error: { errorCode: 'stream_incomplete', errorMessage: 'the stream was cut before its final usage: the stream was destroyed before it ended' },
    })
    // The usage came before [DONE]: the call was answered and billed, whatever happens next.
    const text = fixture('openai-chat-stream.sse')
    const late = usageTapTransform('openai-chat')
    late.transform.resume()
    const failed = new Promise((resolve) => late.transform.once('error', resolve))
    late.transform.write(text.slice(0, text.indexOf('data: [DONE]')))
    await new Promise((resolve) => setImmediate(resolve))
    late.transform.destroy(new Error('client went away'))
    await expect(failed).resolves.toHaveProperty('message', 'client went away')
    await expect(late.outcome).resolves.toEqual(STREAMS[0].outcome)
  })

  it('a source piped with .pipe() that breaks: the outcome settles though pipe() leaves the transform open', async () => {
    const bytes = Buffer.from(fixture('anthropic-stream.sse'))
    const upstream = new PassThrough()
    const { transform, outcome } = usageTapTransform('anthropic')
    upstream.pipe(transform).resume()
    upstream.write(bytes.subarray(0, bytes.length - 200))
    const failed = new Promise((resolve) => upstream.once('error', resolve))
    upstream.destroy(new Error('socket hang up'))
    await failed
    await expect(outcome).resolves.toEqual({
      complete: false,
      model: 'claude-opus-4-1-20250805',
      error: { errorCode: 'stream_incomplete', errorMessage: 'the stream was cut before its final usage: socket hang up' },
    })
    expect(transform.destroyed).toBe(false)
    transform.destroy()
  })

  it('refuses an unknown format', () => {
    expect(() => usageTapTransform('vertex' as never)).toThrow(new RangeError('format must be one of openai-chat, openai-responses, anthropic, gemini, got "vertex"'))
  })
})

function webSource(pieces: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const piece of pieces) controller.enqueue(piece)
      controller.close()
    },
  })
}

async function readAll(readable: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = []
  for await (const chunk of readable) chunks.push(chunk)
  return chunks
}

describe('usageTapStream', () => {
  for (const stream of STREAMS) {
    it(`${stream.file}: every chunk passes as it came, and the outcome is the stream's`, async () => {
      for (const end of Object.values(LINE_ENDS)) {
        const bytes = new Uint8Array(withLineEnds(fixture(stream.file), end))
        const pieces = randomPieces(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), seededRandom(5), 61).map(
          (piece) => new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength),
        )
        const { stream: tap, outcome } = usageTapStream(stream.format)
        const received = await readAll(webSource(pieces).pipeThrough(tap))
        expect(received).toHaveLength(pieces.length)
        received.forEach((chunk, i) => expect(chunk).toBe(pieces[i]))
        await expect(outcome).resolves.toEqual(stream.outcome)
      }
    })
  }

  it('a reader that cancels mid-stream (the client went away) settles the outcome', async () => {
    const text = fixture('anthropic-stream.sse')
    const bytes = new TextEncoder().encode(text)
    const cut = Buffer.byteLength(text.slice(0, text.indexOf('event: content_block_delta')))
    const { stream, outcome } = usageTapStream('anthropic')
    const reader = webSource([bytes.subarray(0, cut), bytes.subarray(cut)]).pipeThrough(stream).getReader()
    await reader.read()
    await reader.cancel('client went away')
    await expect(outcome).resolves.toEqual({
      complete: false,
      model: 'claude-opus-4-1-20250805',
      error: { errorCode: 'stream_incomplete', errorMessage: 'the stream was cut before its final usage: client went away' },
    })
  })

  it('an upstream that errors mid-stream settles the outcome', async () => {
    const text = fixture('openai-responses-stream.sse')
    const bytes = new TextEncoder().encode(text)
    const { stream, outcome } = usageTapStream('openai-responses')
    let pulls = 0
    // The first read gets the first events, the second finds the connection gone.
    const upstream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls++ === 0) controller.enqueue(bytes.subarray(0, Buffer.byteLength(text.slice(0, text.indexOf('event: response.output_text.delta')))))
        else controller.error(new TypeError('terminated'))
      },
    })
    await expect(readAll(upstream.pipeThrough(stream))).rejects.toThrow('terminated')
    await expect(outcome).resolves.toEqual({
      complete: false,
      model: 'gpt-4.1-2025-04-14',
      error: { errorCode: 'stream_incomplete', errorMessage: 'the stream was cut before its final usage: terminated' },
    })
  })

  it('a chunk that is not bytes errors the stream and settles the outcome', async () => {
    const { stream, outcome } = usageTapStream('gemini')
    // A TransformStream transforms only what its reader asks for.
    const reading = readAll(stream.readable)
    const written = stream.writable.getWriter().write(7 as never)
    await expect(written).rejects.toThrow(new TypeError('chunk must be a Uint8Array or a string, got 7'))
    await expect(reading).rejects.toThrow(TypeError)
    await expect(outcome).resolves.toMatchObject({ complete: false, error: { errorCode: 'stream_incomplete' } })
  })
})

describe('withStreamUsage', () => {
  it('openai-chat: a streamed request asks for the usage chunk, keeping its other stream options', () => {
    const request = { model: 'gpt-4o', stream: true, stream_options: { include_obfuscation: false }, messages: [] }
    const sent = withStreamUsage('openai-chat', request)
    expect(sent).toEqual({ ...request, stream_options: { include_obfuscation: false, include_usage: true } })
    expect(request.stream_options).toEqual({ include_obfuscation: false })
    expect(withStreamUsage('openai-chat', { model: 'gpt-4o', stream: true, stream_options: { include_usage: false } })).toEqual({
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
    })
  })

  it('openai-chat without stream: true, and the other formats: an unchanged copy (OpenAI refuses stream_options there)', () => {
    for (const [format, request] of [
      ['openai-chat', { model: 'gpt-4o', messages: [] }],
      ['anthropic', { model: 'claude-sonnet-4-5', stream: true, max_tokens: 10, messages: [] }],
      ['openai-responses', { model: 'gpt-4.1', stream: true, input: 'hi' }],
      ['gemini', { contents: [] }],
    ] as const) {
      const sent = withStreamUsage(format, request)
      expect(sent).toEqual(request)
      expect(sent).not.toBe(request)
    }
  })

  it('refuses bad arguments, naming them', () => {
    expect(() => withStreamUsage('openai' as never, {})).toThrow(new RangeError('format must be one of openai-chat, openai-responses, anthropic, gemini, got "openai"'))
    expect(() => withStreamUsage('openai-chat', '{"stream":true}' as never)).toThrow(
      new TypeError(`requestBody must be the request's JSON object, got "{\\"stream\\":true}"`),
    )
    expect(() => withStreamUsage('openai-chat', [] as never)).toThrow(new TypeError("requestBody must be the request's JSON object, got an array"))
  })
})
