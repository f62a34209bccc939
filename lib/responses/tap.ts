import { describe } from '../validate.js'
import { callError } from './errors.js'
import { API_FORMATS, type ApiFormat, checkFormat } from './formats.js'
import { asObject } from './json-body.js'
import { type CallOutcome, STREAM_INCOMPLETE } from './outcome.js'
import { parseEvent, SseFramer } from './sse.js'
import { type StreamReader, streamReader } from './stream-readers.js'

/**
 * Reads usage out of a streamed answer (Server-Sent Events) chunk by chunk, as the bytes go by:
 * write every chunk, then `end()` when the stream ends or `abort(reason)` when it was cut. The tap
 * never changes or holds back the bytes. It keeps views of the one event in progress and, in an
 * OpenAI chat stream, of the two complete events before it (an error object there ends the stream).
 */
export class UsageTap {
  readonly #reader: StreamReader
  readonly #framer: SseFramer
  #outcome: CallOutcome | undefined

  constructor(format: ApiFormat) {
    const reader = streamReader(checkFormat('format', format))
    this.#reader = reader
    this.#framer = new SseFramer(reader, (event) => {
      const { name, data } = parseEvent(event)
      let parsed: unknown
      try {
        parsed = JSON.parse(data)
      } catch {
        return // `[DONE]`, or a payload that is not JSON: nothing to read.
      }
      const object = asObject(parsed)
      if (object) reader.take(name, object)
    })
    if (!residentTaps) keepResidentTaps()
  }

  /** Reads one chunk. The tap may keep a view of it for the events it holds: do not reuse its memory. */
  write(chunk: Uint8Array | string): void {
    if (this.#outcome) throw new Error('UsageTap: write after the tap has ended')
    if (typeof chunk === 'string') this.#framer.push(Buffer.from(chunk, 'utf8'))
    else if (Buffer.isBuffer(chunk)) this.#framer.push(chunk)
    else if (chunk instanceof Uint8Array) this.#framer.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    else throw new TypeError(`chunk must be a Uint8Array or a string, got ${describe(chunk)}`)
  }

  /** The call's outcome, once the stream has ended; later calls give the same outcome. */
  end(): CallOutcome {
    if (!this.#outcome) this.#framer.close()
    return (this.#outcome ??= this.#reader.outcome(undefined))
  }

  /**
   * The outcome of a stream cut short (the client went away, the upstream connection broke):
   * `stream_incomplete`, with `reason` in the message, unless the final usage had already come.
   */
  abort(reason?: unknown): CallOutcome {
    if (!this.#outcome) this.#framer.close()
    return (this.#outcome ??= this.#reader.outcome(callError(STREAM_INCOMPLETE, `the stream was cut before its final usage: ${reasonText(reason)}`)))
  }
}

// One tap of each format, read to its end, lives from the first tap on. V8 drops the hidden class of
// a kind of object once no object of that kind is alive, and with it the optimized code of every
// method that depends on it: without these, each full collection between two bursts of streams
// would leave the next streams to run unoptimized until they warmed up again.
let residentTaps: UsageTap[] | undefined

function keepResidentTaps(): void {
  residentTaps = []
  for (const format of API_FORMATS) {
    const tap = new UsageTap(format)
    tap.write('data: {}\n\n')
    tap.end()
    residentTaps.push(tap)
  }
}

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message || reason.name
  if (typeof reason === 'string' && reason.length > 0) return reason
  return 'aborted'
}
