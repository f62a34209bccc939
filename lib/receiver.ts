import type { NativeReceiver } from '../index.js'
import { type AnalyticsEvent, decodeEvents } from './events.js'

/** The consuming end of a streaming store: every event the channel had room for, in order. */
export class EventReceiver {
  readonly #native: NativeReceiver
  readonly #publish: () => void

  /** @internal `publish` hands the store's staged events over before each read. */
  constructor(receiver: NativeReceiver, publish: () => void) {
    this.#native = receiver
    this.#publish = publish
  }

  /** The next event if one is waiting; never waits. */
  tryRecv(): AnalyticsEvent | undefined {
    this.#publish()
    const received = this.#native.tryRecv()
    return received.events ? decodeEvents(received.events)[0] : undefined
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

  /** Stops the stream; recording goes on unaffected. */
  close(): void {
    this.#native.close()
  }
}
