// The send queue: what the client holds between reading an event and its acknowledgement.
//
// Events are read from the buffer by cursor, a batch at a time and only as far ahead as sending
// needs, so a round costs what it sends, not what is buffered. They wait in one lane per agent
// per token (a paused or tokenless agent never blocks another), oldest first; a failed event goes
// back to its place. Acknowledgements reach the buffer in batches.
import type { AnalyticsEvent } from '../events.js'
import { toProtocol012, type Protocol012Request } from '../protocol012.js'
import type { BufferedEvents } from './buffer.js'

export interface Pending {
  /** Queue order: lanes stay sorted by it, also when failed events go back in. */
  order: number
  /** The buffer's sequence number; undefined for an event known only from the spool. */
  seq: number | undefined
  event: AnalyticsEvent
  /** The wire form, with an empty ic_token: the token is chosen at each send. */
  wire: Protocol012Request
  fromSpool: boolean
  /** The key of its lane: the token it had when read. */
  lane: string | undefined
}

/** Events sent with one token (as it was when they were read), oldest first. */
export interface Lane {
  token: string | undefined
  items: Pending[]
}

/** An event that could not be put on the wire; it was taken out of the buffer on its own. */
export interface Unencodable {
  event: AnalyticsEvent
  error: Error
}

const READ_BATCH = 512
const ACK_BATCH = 256
const ACK_DELAY_MS = 20

export class SendQueue {
  readonly #buffer: BufferedEvents
  readonly #tokenOf: (event: AnalyticsEvent) => string | undefined
  readonly #lanes = new Map<string | undefined, Lane>()
  #laneOrder: Lane[] = []
  #next = 0
  #cursor = 0
  #order = 0
  #queued = 0
  #exhausted = false
  /** Events from the spool, by id, so that the same event read from the buffer is not sent twice. */
  readonly #fromSpool = new Map<string, Pending>()
  /** Ids of spooled events already acknowledged: a copy still in the buffer just leaves it. */
  readonly #spoolDone = new Set<string>()
  #acked: number[] = []
  #ackTimer: NodeJS.Timeout | undefined
  /** Events read that are never sent (not LLM events); they stay in the buffer. */
  #skipped = 0

  constructor(buffer: BufferedEvents, tokenOf: (event: AnalyticsEvent) => string | undefined) {
    this.#buffer = buffer
    this.#tokenOf = tokenOf
  }

  /** Events waiting to be sent (not in flight). */
  get queued(): number {
    return this.#queued
  }

  /** Whether the last read found the end of the buffer; a new round reads again. */
  get exhausted(): boolean {
    return this.#exhausted
  }

  /** Events read from the buffer that are never sent. */
  get skipped(): number {
    return this.#skipped
  }

  /** LLM events in the buffer past the cursor (not read yet); the cursor does not move. */
  unread(): number {
    let count = 0
    for (let after = this.#cursor; ; ) {
      const batch = this.#buffer.eventsAfter(after, READ_BATCH)
      for (const { event } of batch) if (event.type === 'llm_request_completed' || event.type === 'llm_request_failed') count++
      if (batch.length < READ_BATCH) return count
      after = batch[batch.length - 1].seq
    }
  }

  lanes(): readonly Lane[] {
    return this.#laneOrder
  }

  rewind(): void {
    this.#exhausted = false
  }

  /**
   * Reads up to one batch of events after the cursor into their lanes; returns the events that
   * cannot be encoded, already taken out of the buffer.
   */
  read(): Unencodable[] {
    this.flushAcks()
    const batch = this.#buffer.eventsAfter(this.#cursor, READ_BATCH)
    if (batch.length < READ_BATCH) this.#exhausted = true
    const unencodable: Unencodable[] = []
    for (const { seq, event } of batch) {
      this.#cursor = seq
      const spooled = this.#fromSpool.get(event.eventId)
      if (spooled) {
        spooled.seq = seq
        continue
      }
      if (this.#spoolDone.delete(event.eventId)) {
        this.#acked.push(seq)
        continue
      }
      let wire: Protocol012Request | undefined
      try {
        wire = toProtocol012(event, '')
      } catch (error) {
        unencodable.push({ event, error: error as Error })
        this.#acked.push(seq)
        continue
      }
      if (wire === undefined) this.#skipped++
      else this.#push({ order: this.#order++, seq, event, wire, fromSpool: false, lane: this.#tokenOf(event) })
    }
    if (unencodable.length > 0) this.flushAcks()
    return unencodable
  }

  /** Queues an event loaded from the spool, ahead of what is read from the buffer afterwards. */
  addFromSpool(event: AnalyticsEvent, wire: Protocol012Request): void {
    if (this.#fromSpool.has(event.eventId)) return
    const pending = { order: this.#order++, seq: undefined, event, wire, fromSpool: true, lane: this.#tokenOf(event) }
    this.#fromSpool.set(event.eventId, pending)
    this.#push(pending)
  }

  /** The first event of the first lane (round-robin) that `ready` accepts; it is now in flight. */
  take(ready: (lane: Lane) => boolean): Pending | undefined {
    const lanes = this.#laneOrder
    for (let i = 0; i < lanes.length; i++) {
      const lane = lanes[(this.#next + i) % lanes.length]
      if (lane.items.length === 0 || !ready(lane)) continue
      this.#next = (this.#next + i + 1) % lanes.length
      this.#queued--
      return lane.items.shift()
    }
    return undefined
  }

  /** Puts a failed event back in its place: ahead of every later one, so order survives retries. */
  giveBack(pending: Pending): void {
    const items = this.#laneOf(pending.lane).items
    let at = 0
    while (at < items.length && items[at].order < pending.order) at++
    items.splice(at, 0, pending)
    this.#queued++
  }

  /** The event left the client for good (delivered or rejected): it leaves the buffer too. */
  acknowledge(pending: Pending): void {
    if (pending.fromSpool) {
      this.#fromSpool.delete(pending.event.eventId)
      if (pending.seq === undefined) this.#spoolDone.add(pending.event.eventId)
    }
    if (pending.seq === undefined) return
    this.#acked.push(pending.seq)
    if (this.#acked.length >= ACK_BATCH) this.flushAcks()
    else this.#ackTimer ??= setTimeout(() => this.flushAcks(), ACK_DELAY_MS).unref()
  }

  flushAcks(): void {
    clearTimeout(this.#ackTimer)
    this.#ackTimer = undefined
    if (this.#acked.length === 0) return
    const seqs = this.#acked
    this.#acked = []
    this.#buffer.acknowledge(seqs)
  }

  #push(pending: Pending): void {
    this.#laneOf(pending.lane).items.push(pending)
    this.#queued++
  }

  #laneOf(token: string | undefined): Lane {
    let lane = this.#lanes.get(token)
    if (!lane) {
      lane = { token, items: [] }
      this.#lanes.set(token, lane)
      this.#laneOrder.push(lane)
    }
    return lane
  }
}
