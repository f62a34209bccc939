import type { NativeReceiver } from '../index.js'
import { type AnalyticsEvent, decodeEvents, eventBuffers } from './events.js'
import type { StoreNames } from './symbols.js'

/** The store a receiver reads from: what was staged is drained into it before each read. */
interface StreamingStore {
  drainStaged(): void
  readonly names: StoreNames
}

/** Returned by `#take` when nothing is waiting but more may come. */
const EMPTY = Symbol('empty')

// Only the facade records into a streaming store, always on the thread that owns it, so the
// store resumes its receiver's waiting recv() calls itself, right after each record: resolved,
// they are held by the microtask queue. Until then, a waiting consumer (a `for await` loop
// started and forgotten, say) is often referenced by nothing but the promise it waits on, which
// only the receiver reaches: keyed by the store, the waiting receiver lives as long as the store
// that can still feed it, and no longer.
const waitingOn = new WeakMap<StreamingStore, () => void>()

/** Resumes the recv() calls waiting on `store`'s stream, if any: the store just recorded. */
export function wakeWaitingReceiver(store: StreamingStore): void {
  waitingOn.get(store)?.()
}

/**
 * The consuming end of a streaming store: every event the channel had room for, in order.
 * `recv()` and `for await` wait without blocking the event loop, without a thread and without
 * polling: the store resumes a waiting receiver as soon as it records. A receiver that is waiting
 * does not keep the process alive.
 */
export class EventReceiver implements AsyncIterable<AnalyticsEvent> {
  readonly #native: NativeReceiver
  readonly #store: StreamingStore
  #waiters: Array<() => void> = []
  readonly #wakeUp = (): void => this.#wake()

  /** @internal */
  constructor(receiver: NativeReceiver, store: StreamingStore) {
    this.#native = receiver
    this.#store = store
  }

  #wake(): void {
    waitingOn.delete(this.#store)
    const waiters = this.#waiters
    this.#waiters = []
    for (const resolve of waiters) resolve()
  }

  /** The next event, `undefined` once closed, or `EMPTY`. */
  #take(): AnalyticsEvent | undefined | typeof EMPTY {
    this.#store.drainStaged()
    const buffers = eventBuffers()
    const received = this.#native.tryRecv(buffers.numbers, buffers.ids)
    if (received.events) return decodeEvents(received.events, buffers, this.#store.names)[0]
    return received.closed ? undefined : EMPTY
  }

  /** The next event if one is waiting; never waits. */
  tryRecv(): AnalyticsEvent | undefined {
    const event = this.#take()
    return event === EMPTY ? undefined : event
  }

  /** The next event, as soon as there is one; `undefined` once the receiver is closed. */
  async recv(): Promise<AnalyticsEvent | undefined> {
    for (;;) {
      const event = this.#take()
      if (event !== EMPTY) return event
      // Nothing records between `#take` and here: records happen on this thread.
      waitingOn.set(this.#store, this.#wakeUp)
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
  }

  /**
   * Every event until the receiver is closed. Leaving the loop early keeps the receiver open;
   * `close()` ends every loop.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<AnalyticsEvent, void, undefined> {
    for (;;) {
      const event = await this.recv()
      if (event === undefined) return
      yield event
    }
  }

  /** Events waiting to be received. */
  len(): number {
    this.#store.drainStaged()
    return this.#native.len()
  }

  /** Events not streamed because the channel was full. */
  droppedCount(): number {
    this.#store.drainStaged()
    return this.#native.droppedCount()
  }

  /** Stops the stream: pending and later `recv()` calls resolve `undefined`; recording goes on. */
  close(): void {
    this.#native.close()
    this.#wake()
  }
}
