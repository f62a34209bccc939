import { type Readable, Transform } from 'node:stream'
import { type Transformer, TransformStream } from 'node:stream/web'
import type { ApiFormat } from './formats.js'
import type { CallOutcome } from './outcome.js'
import { UsageTap } from './tap.js'

/**
 * A web TransformStream that passes every chunk through unchanged and reads the call's usage on
 * the way. `outcome` resolves when the stream ends, and also when either side is cancelled or
 * aborted (complete: false unless the final usage had come); it never rejects.
 */
export function usageTapStream(format: ApiFormat): { stream: TransformStream<Uint8Array, Uint8Array>; outcome: Promise<CallOutcome> } {
  const tap = new UsageTap(format)
  let settle!: (outcome: CallOutcome) => void
  const outcome = new Promise<CallOutcome>((resolve) => (settle = resolve))
  // `cancel` runs when the readable side is cancelled or the writable side aborted (the Streams
  // standard's transformer `cancel`); Node's own typings do not list it yet.
  const transformer: Transformer<Uint8Array, Uint8Array> & { cancel(reason: unknown): void } = {
    transform(chunk, controller) {
      try {
        tap.write(chunk)
      } catch (error) {
        settle(tap.abort(error))
        throw error
      }
      controller.enqueue(chunk)
    },
    flush() {
      settle(tap.end())
    },
    cancel(reason) {
      settle(tap.abort(reason))
    },
  }
  return { stream: new TransformStream(transformer), outcome }
}

/**
 * A Node Transform that passes every chunk through unchanged and reads the call's usage on the
 * way. `outcome` resolves when the stream ends, and also when it is destroyed first (as
 * `pipeline` does when the client goes away or the upstream breaks): complete: false unless the
 * final usage had come. It never rejects.
 */
export function usageTapTransform(format: ApiFormat): { transform: Transform; outcome: Promise<CallOutcome> } {
  const tap = new UsageTap(format)
  let settle!: (outcome: CallOutcome) => void
  const outcome = new Promise<CallOutcome>((resolve) => (settle = resolve))
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        tap.write(chunk)
      } catch (error) {
        return callback(error as Error)
      }
      callback(null, chunk)
    },
    flush(callback) {
      settle(tap.end())
      callback()
    },
  })
  // After flush the outcome is settled already; before it, the stream was destroyed.
  transform.once('close', () => settle(tap.abort(transform.errored ?? 'the stream was destroyed before it ended')))
  // `source.pipe(transform)` neither ends nor destroys the transform when the source breaks:
  // the outcome settles anyway, and the transform is left to its owner.
  transform.on('pipe', (source: Readable) => {
    source.once('close', () => {
      if (!source.readableEnded) settle(tap.abort(source.errored ?? 'the source closed before it ended'))
    })
  })
  return { transform, outcome }
}
