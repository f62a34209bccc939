import type { NativeReceiver } from '../index.js'
import { type AnalyticsEvent, decodeEvents, eventBuffers } from './events.js'

/** Returned by `#take` when nothing is waiting but more may come. */
const EMPTY = Symbol('empty')

/**
 * The consuming end of a streaming store: every event the channel had room for, in order.
 * `recv()` and `for await` wait without blocking the event loop and without a thread: the store
 * wakes a waiting receiver when it streams an event. A receiver that is waiting does not keep
 * the process alive, like an unref'd timer.
 */
export class EventReceiver implements AsyncIterable<AnalyticsEvent> {
  readonly #native: NativeReceiver
  readonly #publish: () => void
  #waiters: Array<() => void> = []

  /** @internal `publish` hands the store's staged events over before each read. */
  constructor(receiver: NativeReceiver, publish: () => void) {
    this.#native = receiver
    this.#publish = publish
    // The native side holds this callback for as long as the store lives; through a WeakRef it
    // does not hold the receiver too, so an abandoned receiver can be collected.
    const self = new WeakRef(this)
    receiver.setWaker(() => {
      const live = self.deref()
      if (live) live.#wake()
    })
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const resolve of waiters) resolve()
  }

  /** The next event, `undefined` once closed, or `EMPTY`. */
  #take(): AnalyticsEvent | undefined | typeof EMPTY {
    this.#publish()
    const buffers = eventBuffers()
    const received = this.#native.tryRecv(buffers.numbers, buffers.ids)
    if (received.events) return decodeEvents(received.events, buffers)[0]
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
      // Arming re-checks the channel, so an event streamed since `#take` is not waited for.
      if (this.#native.arm()) await new Promise<void>((resolve) => this.#waiters.push(resolve))
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
    this.#publish()
    return this.#native.len()
  }

  /** Events not streamed because the channel was full. */
  droppedCount(): number {
    this.#publish()
    return this.#native.droppedCount()
  }

  /** Stops the stream: pending and later `recv()` calls resolve `undefined`; recording goes on. */
  close(): void {
    this.#native.close()
    this.#wake()
  }
}
