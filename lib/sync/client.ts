// SyncClient: sends the LLM events of an EventStore to a Protocol 012 Control API.
//
// The client works in rounds. A round reads the unsynced events, queues those it is not already
// handling, sends them (at most maxConcurrency at once, paced to maxEventsPerMinute) and reads
// again until nothing new is left. Answers decide each event's fate (see retry.ts): delivered and
// rejected events are acknowledged in the store, so they leave the buffer and are never sent
// again; kept events go back into the queue in their place and sending pauses with backoff. Every
// event has one entry in `held` from the moment it is queued until its acknowledgement reached
// the store, which is what keeps a read from queueing it twice.
import { STATUS_CODES } from 'node:http'
import type { AnalyticsEvent } from '../events.js'
import { toProtocol012, type Protocol012Request } from '../protocol012.js'
import { EventStore } from '../store.js'
import { MAX_TIMER_MS, SyncConfig, settingsOf, type Settings } from './config.js'
import { Pacer } from './pacing.js'
import { backoffDelay, classify, parseRetryAfter, type Outcome } from './retry.js'
import { readSpool, removeSpool, writeSpool } from './spool.js'
import { HttpTransport, type Reply, type TransportError } from './transport.js'

export interface SyncMetrics {
  /** Events the server acknowledged (202 accepted or 200 duplicate). */
  delivered: number
  /** Of those, the ones the server already had (200). */
  duplicates: number
  /** Events refused for good (400 and other final 4xx); they left the buffer. */
  rejected: number
  /** Attempts that failed and left their event queued for another (timeouts, 5xx, 401, ...). */
  retried: number
  /** Requests in flight now. */
  inFlight: number
  /** The latest failure, e.g. `HTTP 503 Service Unavailable`; it never contains the icToken. */
  lastError?: string
}

export interface SyncHandle {
  /** Flushes what is pending within the config's timeout, then stops; resolves, never rejects. */
  stop(): Promise<void>
}

interface Pending {
  event: AnalyticsEvent
  wire: Protocol012Request
  fromSpool: boolean
  /** Queue order: the queue is kept sorted by it, also when failed events go back in. */
  seq: number
}

interface Round {
  delivered: number
  /** Keeps retrying after failures, as far as the deadline allows (stop's flush). */
  persistent: boolean
  /** A caller asked for this round now: the client's own backoff does not hold it back. */
  ignoresBackoff: boolean
  /** Someone awaits the round, so its timers must keep the process alive. */
  awaited: boolean
  /** How often the round may read the store; stop's flush reads once. */
  reads: number
  halted: boolean
  finish?: () => void
}

// How often a started client looks at unsyncedCount(); the spec allows 250 ms.
const POLL_MS = 100
// Acknowledgements are handed to the store in batches: markSynced walks the buffer once per call.
const ACK_BATCH = 256
const ACK_DELAY_MS = 20

/** `HTTP 503 Service Unavailable`, in Node's words rather than the server's. */
function statusLine(status: number): string {
  return `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd()
}

function kind(value: unknown): string {
  return value === null ? 'null' : typeof value
}

export class SyncClient {
  readonly #store: EventStore
  readonly #config: SyncConfig
  #settings: Settings | undefined
  #transport: HttpTransport | undefined
  #pacer: Pacer | undefined

  readonly #held = new Map<string, Pending>()
  #queue: Pending[] = []
  #seq = 0
  #acked: string[] = []
  #ackTimer: NodeJS.Timeout | undefined
  // Non-LLM events seen in the store at the last read: never sent, so never a reason for a round.
  #unsendable = 0
  #spoolLeft = 0

  #round: Round | undefined
  #current: Promise<number> | undefined
  #wakeTimer: NodeJS.Timeout | undefined
  #pollTimer: NodeJS.Timeout | undefined
  #lastRoundAt = 0
  #deadline: number | undefined
  #handle: SyncHandle | undefined
  #stopping = false

  #failures = 0
  #lastFailureAt = 0
  #backoffUntil = 0
  #retryAfterUntil = 0

  #inFlight = 0
  #delivered = 0
  #duplicates = 0
  #rejected = 0
  #retried = 0
  #lastError: string | undefined

  constructor(store: EventStore, config: SyncConfig) {
    // Only types are described: a misplaced argument may be a credential.
    if (!(store instanceof EventStore)) throw new TypeError(`store must be an EventStore, got ${kind(store)}`)
    if (!(config instanceof SyncConfig)) throw new TypeError(`config must be a SyncConfig, got ${kind(config)}`)
    this.#store = store
    this.#config = config
  }

  /**
   * Starts syncing in the background and returns the handle that stops it; a client already
   * started returns its handle. Timers are unref'd: a started client keeps no process alive.
   * Settings are read now; the icToken is read at every request, so a rotated token applies at once.
   */
  start(): SyncHandle {
    if (this.#stopping) throw new Error('SyncClient is stopping; await stop() before starting it again')
    if (this.#handle) return this.#handle
    const settings = this.#prepare()
    let stopped: Promise<void> | undefined
    const handle: SyncHandle = { stop: () => (stopped ??= this.#shutdown()) }
    this.#handle = handle
    if (settings.serverUrl === '') return handle
    if (settings.spoolPath !== undefined) this.#loadSpool(settings.spoolPath)
    this.#lastRoundAt = Date.now()
    this.#pollTimer = setInterval(() => this.#tick(), POLL_MS).unref()
    if (this.#queue.length > 0) this.#background()
    return handle
  }

  /**
   * One round now: sends every unsynced LLM event (paced, and never before a server's
   * Retry-After) and resolves to the number the server acknowledged. A round already running
   * is joined rather than doubled. After a failure the round ends; the events stay queued.
   */
  syncEvents(): Promise<number> {
    // While stopping, the flush is the round; no new one may start under it.
    if (this.#stopping) return this.#current ?? Promise.resolve(0)
    if (this.#prepare().serverUrl === '') return Promise.resolve(0)
    if (this.#round && this.#current) {
      this.#awaitRound(this.#round)
      return this.#current
    }
    return this.#startRound({ persistent: false, ignoresBackoff: true, awaited: true, reads: Infinity })
  }

  metrics(): SyncMetrics {
    const metrics: SyncMetrics = {
      delivered: this.#delivered,
      duplicates: this.#duplicates,
      rejected: this.#rejected,
      retried: this.#retried,
      inFlight: this.#inFlight,
    }
    if (this.#lastError !== undefined) metrics.lastError = this.#lastError
    return metrics
  }

  #prepare(): Settings {
    if (!this.#settings) {
      const settings = settingsOf(this.#config)
      if (settings.serverUrl !== '') {
        this.#transport = new HttpTransport(settings.serverUrl, settings.maxConcurrency)
        this.#pacer = new Pacer(settings.maxEventsPerMinute)
      }
      this.#settings = settings
    }
    return this.#settings
  }

  #loadSpool(path: string): void {
    let events: AnalyticsEvent[]
    try {
      events = readSpool(path)
    } catch (error) {
      this.#lastError = (error as Error).message
      return
    }
    for (const event of events) {
      if (typeof event?.eventId !== 'string' || this.#held.has(event.eventId)) continue
      const wire = toProtocol012(event, this.#config.icToken)
      if (wire === undefined) continue
      this.#enqueue(event, wire, true)
      this.#spoolLeft++
    }
  }

  #tick(): void {
    if (this.#round || this.#stopping) return
    const settings = this.#settings!
    const now = Date.now()
    if (now < Math.max(this.#backoffUntil, this.#retryAfterUntil)) return
    if (
      this.#queue.length > 0 ||
      now - this.#lastRoundAt >= settings.syncInterval ||
      this.#store.unsyncedCount() - this.#unsendable >= settings.batchThreshold
    ) {
      this.#background()
    }
  }

  #background(): void {
    if (this.#round) return
    // A failed background round has already recorded its error in lastError.
    this.#startRound({ persistent: false, ignoresBackoff: false, awaited: false, reads: Infinity }).catch(() => {})
  }

  #startRound(options: Omit<Round, 'delivered' | 'halted'>): Promise<number> {
    const round: Round = { ...options, delivered: 0, halted: false }
    this.#round = round
    this.#lastRoundAt = Date.now()
    const current = this.#runRound(round).finally(() => {
      this.#round = undefined
      this.#current = undefined
    })
    this.#current = current
    return current
  }

  async #runRound(round: Round): Promise<number> {
    try {
      while (round.reads-- > 0 && !round.halted) {
        this.#read()
        if (this.#queue.length === 0) break
        await new Promise<void>((resolve) => {
          round.finish = resolve
          this.#pump(round)
        })
      }
      return round.delivered
    } catch (error) {
      this.#lastError = `sync round failed: ${(error as Error)?.message ?? String(error)}`
      throw error
    } finally {
      this.#clearWake()
      this.#flushAcks()
    }
  }

  /** Queues the store's unsynced LLM events that are not held yet, oldest first. */
  #read(): void {
    this.#flushAcks()
    const token = this.#config.icToken
    let unsendable = 0
    for (const event of this.#store.unsyncedEvents()) {
      if (this.#held.has(event.eventId)) continue
      const wire = toProtocol012(event, token)
      if (wire === undefined) {
        unsendable++
        continue
      }
      this.#enqueue(event, wire, false)
    }
    this.#unsendable = unsendable
  }

  #enqueue(event: AnalyticsEvent, wire: Protocol012Request, fromSpool: boolean): void {
    const pending = { event, wire, fromSpool, seq: this.#seq++ }
    this.#held.set(event.eventId, pending)
    this.#queue.push(pending)
  }

  /** Puts a failed event back in its place: ahead of every later one, so order survives retries. */
  #requeue(pending: Pending): void {
    const queue = this.#queue
    let at = 0
    while (at < queue.length && queue[at].seq < pending.seq) at++
    queue.splice(at, 0, pending)
  }

  /** Sends while the limits allow; finishes the round once it has nothing in flight and nothing it may still send. */
  #pump(round: Round): void {
    const settings = this.#settings!
    while (!round.halted && this.#inFlight < settings.maxConcurrency && this.#queue.length > 0) {
      const now = Date.now()
      const wait = Math.max(
        this.#pacer!.wait(now),
        this.#retryAfterUntil - now,
        round.ignoresBackoff ? 0 : this.#backoffUntil - now,
      )
      if (wait > 0) {
        if (this.#deadline !== undefined && now + wait > this.#deadline) round.halted = true
        else this.#sleep(round, wait)
        break
      }
      this.#pacer!.take(now)
      this.#send(round, this.#queue.shift()!, now)
    }
    if (this.#inFlight === 0 && (round.halted || this.#queue.length === 0)) {
      this.#clearWake()
      round.finish?.()
    }
  }

  #sleep(round: Round, ms: number): void {
    if (this.#wakeTimer) return
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = undefined
      this.#pump(round)
    }, Math.min(ms, MAX_TIMER_MS))
    if (!round.awaited) this.#wakeTimer.unref()
  }

  #clearWake(): void {
    clearTimeout(this.#wakeTimer)
    this.#wakeTimer = undefined
  }

  #awaitRound(round: Round): void {
    round.awaited = true
    this.#wakeTimer?.ref()
  }

  #send(round: Round, pending: Pending, now: number): void {
    this.#inFlight++
    const body = JSON.stringify({ ...pending.wire, ic_token: this.#config.icToken })
    this.#transport!.post(body, this.#settings!.timeout).then(
      (reply) => this.#settle(round, pending, now, classify(reply.status), reply),
      (error: TransportError) => this.#settle(round, pending, now, 'retry', undefined, error),
    )
  }

  #settle(round: Round, pending: Pending, sentAt: number, outcome: Outcome, reply?: Reply, error?: TransportError): void {
    this.#inFlight--
    if (outcome === 'delivered') {
      this.#delivered++
      if (reply!.status === 200) this.#duplicates++
      round.delivered++
      this.#failures = 0
      this.#backoffUntil = 0
      this.#acknowledge(pending)
    } else if (outcome === 'rejected') {
      this.#rejected++
      this.#lastError = `${statusLine(reply!.status)}: event rejected`
      this.#acknowledge(pending)
    } else {
      this.#retried++
      this.#lastError = reply
        ? `${statusLine(reply.status)}${outcome === 'auth' ? ': the IC token was refused' : ''}`
        : error?.message ?? 'network error'
      this.#requeue(pending)
      this.#pause(sentAt, reply)
      if (!round.persistent) round.halted = true
    }
    this.#pump(round)
  }

  /**
   * Pauses sending after a failure. Requests that were already in flight when an earlier one
   * failed belong to the same outage and do not lengthen the backoff again.
   */
  #pause(sentAt: number, reply: Reply | undefined): void {
    const now = Date.now()
    if (sentAt >= this.#lastFailureAt) {
      this.#failures++
      this.#lastFailureAt = now
      const { retryDelay, maxRetryDelay } = this.#settings!
      this.#backoffUntil = now + backoffDelay(this.#failures, retryDelay, maxRetryDelay)
    }
    const retryAfter = parseRetryAfter(reply?.retryAfter, now)
    if (retryAfter !== undefined) this.#retryAfterUntil = Math.max(this.#retryAfterUntil, now + retryAfter)
  }

  #acknowledge(pending: Pending): void {
    this.#acked.push(pending.event.eventId)
    if (pending.fromSpool && --this.#spoolLeft === 0 && this.#settings!.spoolPath !== undefined) {
      this.#removeSpool(this.#settings!.spoolPath)
    }
    if (this.#acked.length >= ACK_BATCH) this.#flushAcks()
    else this.#ackTimer ??= setTimeout(() => this.#flushAcks(), ACK_DELAY_MS).unref()
  }

  #flushAcks(): void {
    clearTimeout(this.#ackTimer)
    this.#ackTimer = undefined
    if (this.#acked.length === 0) return
    const ids = this.#acked
    this.#acked = []
    this.#store.markSynced(ids)
    for (const id of ids) this.#held.delete(id)
  }

  #removeSpool(path: string): void {
    try {
      removeSpool(path)
    } catch (error) {
      this.#lastError = `the delivered spool could not be removed: ${(error as NodeJS.ErrnoException).code ?? 'error'}`
    }
  }

  async #shutdown(): Promise<void> {
    const settings = this.#settings!
    if (settings.serverUrl === '') {
      this.#reset()
      return
    }
    this.#stopping = true
    clearInterval(this.#pollTimer)
    // The flush is awaited, so its timers are ref'd; the deadline bounds it.
    this.#deadline = Date.now() + settings.timeout
    const deadlineTimer = setTimeout(() => {
      this.#transport!.abortAll()
      if (this.#round) {
        this.#round.halted = true
        this.#pump(this.#round)
      }
    }, settings.timeout)
    try {
      if (this.#round && this.#current) {
        // A background round may be waiting far past the deadline; the flush below takes over.
        this.#awaitRound(this.#round)
        this.#round.halted = true
        this.#clearWake()
        this.#pump(this.#round)
        await this.#current.catch(() => {})
      }
      await this.#startRound({ persistent: true, ignoresBackoff: false, awaited: true, reads: 1 }).catch(() => {})
      if (settings.spoolPath !== undefined) this.#spool(settings.spoolPath)
    } finally {
      clearTimeout(deadlineTimer)
      this.#reset()
    }
  }

  /** Leaves every LLM event not delivered, from the old spool and from the store, in the spool. */
  #spool(path: string): void {
    try {
      this.#read()
      if (this.#queue.length === 0) removeSpool(path)
      else writeSpool(path, this.#queue.map((pending) => pending.event))
    } catch (error) {
      this.#lastError = `the spool could not be written: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`
    }
  }

  #reset(): void {
    this.#flushAcks()
    this.#transport?.close()
    this.#transport = undefined
    this.#pacer = undefined
    this.#settings = undefined
    this.#held.clear()
    this.#queue = []
    this.#spoolLeft = 0
    this.#deadline = undefined
    this.#handle = undefined
    this.#stopping = false
  }
}
