// SyncClient: sends the LLM events of an EventStore to a Protocol 012 Control API.
//
// The client works in rounds. A round takes events from the send queue (queue.ts), which reads
// the buffer by cursor as far as sending needs, and sends them, at most maxConcurrency at once,
// each with its agent's token and paced per token (pacing.ts). The outcome policy (outcome.ts)
// is told every answer and decides the event's fate and the pauses that follow. Delivered and
// rejected events leave the buffer; kept ones go back to their place. With a spool (spool.ts),
// the events not delivered are also on disk within spoolFlushMs.
import type { AnalyticsEvent } from '../events.js'
import type { Protocol012Request } from '../protocol012.js'
import { EventStore } from '../store.js'
import { bufferOf, type BufferedEvents } from './buffer.js'
import { MAX_TIMER_MS, SyncConfig, settingsOf, type Settings } from './config.js'
import { OutcomePolicy, type Answer } from './outcome.js'
import { TokenPacer } from './pacing.js'
import { SendQueue, type Lane, type Pending } from './queue.js'
import { Spool } from './spool.js'
import { tokenFor } from './tokens.js'
import { HttpTransport, type TransportError } from './transport.js'

export interface SyncMetrics {
  /** Events the server acknowledged (202 accepted or 200 duplicate). */
  delivered: number
  /** Of those, the ones the server already had (200). */
  duplicates: number
  /** Events refused for good (400/422 about the event, or not encodable); they left the buffer. */
  rejected: number
  /** Attempts that failed and left their event queued for another (timeouts, 5xx, 401, 404, ...). */
  retried: number
  /** Requests in flight now. */
  inFlight: number
  /** Events the client holds waiting to be sent (the rest of the buffer is read as sending needs). */
  queued: number
  /** Events read that have no token at all (no agent token and no icToken); they stay buffered. */
  withoutToken: number
  /** Events on disk in the spool and not delivered yet. */
  spooled: number
  /** Spool records that could not be read back, each skipped on its own. */
  spoolCorrupt: number
  /** Events dropped from the spool, oldest first, to stay within maxSpoolBytes. */
  spoolDropped: number
  /** Why the spool is not in use, when it is not (e.g. an unwritable directory). */
  spoolError?: string
  /** The latest failure, e.g. `HTTP 503 Service Unavailable`; it never contains a token. */
  lastError?: string
}

/** What stop() left: events delivered while the client ran, LLM events left undelivered, and of those the ones in the spool. */
export interface StopReport {
  delivered: number
  remaining: number
  spooled: number
}

export interface SyncHandle {
  /** Flushes what is pending within the config's timeout, then stops; resolves, never rejects. */
  stop(): Promise<StopReport>
}

interface Round {
  delivered: number
  /** Keeps retrying after failures, as far as the deadline allows (stop's flush). */
  persistent: boolean
  /** Waits out pacing and pauses (a caller's round, stop's flush); a background round ends at a long wait instead. */
  sleeps: boolean
  /** Tokens refused in this round: a round that is not persistent does not wait for them. */
  failed: Set<string>
  halted: boolean
  finish?: () => void
}

// How often a started client looks at the buffer; the spec allows 250 ms.
const POLL_MS = 100
// Events held in memory (queued or in flight) at most; the rest stays in the buffer.
const MAX_HELD = 50_000
// How often a started client with a spool looks for files of writers that are gone.
const ADOPT_MS = 5_000
const SPOOL_READ_BATCH = 4_096

function kind(value: unknown): string {
  return value === null ? 'null' : typeof value
}

function isLlm(event: AnalyticsEvent): boolean {
  return event.type === 'llm_request_completed' || event.type === 'llm_request_failed'
}

function describeError(error: unknown): string {
  return (error as NodeJS.ErrnoException)?.code ?? (error as Error)?.message ?? String(error)
}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve))

export class SyncClient {
  readonly #store: EventStore
  readonly #config: SyncConfig
  readonly #buffer: BufferedEvents
  #settings: Settings | undefined
  #transport: HttpTransport | undefined
  #policy: OutcomePolicy | undefined
  #pacers = new Map<string, TokenPacer>()
  #queue: SendQueue

  #spool: Spool | undefined
  #spoolCursor = 0
  #spoolHeld = 0
  #spoolReady: Promise<void> = Promise.resolve()
  #spoolWork: Promise<void> | undefined
  #spoolTimer: NodeJS.Timeout | undefined
  #lastAdoptAt = 0
  #spoolError: string | undefined

  #round: Round | undefined
  #current: Promise<number> | undefined
  #wakeTimer: NodeJS.Timeout | undefined
  #pollTimer: NodeJS.Timeout | undefined
  #lastRoundAt = 0
  #deadline: number | undefined
  #handle: SyncHandle | undefined
  #stopping = false

  #inFlight = 0
  #delivered = 0
  #deliveredAtStart = 0
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
    this.#buffer = bufferOf(store)
    this.#queue = this.#newQueue()
  }

  #newQueue(): SendQueue {
    return new SendQueue(this.#buffer, (event) => tokenFor(this.#config, event.agentId))
  }

  /**
   * Starts syncing in the background and returns the handle that stops it; a client already
   * started returns its handle. Timers are unref'd: a started client keeps no process alive.
   * Settings are read now; tokens are read at every request, so a corrected token applies at once.
   * A spool that cannot be used is reported (a process warning, metrics().spoolError); start()
   * throws only for a config it cannot run with, and then changes nothing.
   */
  start(): SyncHandle {
    if (this.#stopping) throw new Error('SyncClient is stopping; await stop() before starting it again')
    if (this.#handle) return this.#handle
    const settings = this.#prepare()
    let stopped: Promise<StopReport> | undefined
    const handle: SyncHandle = { stop: () => (stopped ??= this.#shutdown()) }
    this.#handle = handle
    this.#deliveredAtStart = this.#delivered
    if (settings.serverUrl === '') return handle
    if (settings.spoolPath !== undefined) this.#openSpool(settings.spoolPath)
    this.#lastRoundAt = Date.now()
    this.#pollTimer = setInterval(() => this.#tick(), POLL_MS).unref()
    this.#background()
    return handle
  }

  /**
   * One round now: sends the unsynced LLM events that may be sent now (paced, never before a
   * server's Retry-After, which is honoured up to maxRetryAfterMs) and resolves to the number the
   * server acknowledged. A round already running is joined rather than doubled. After a failure
   * the round ends; the events stay queued. Its timers are unref'd, like every timer of the client.
   */
  syncEvents(): Promise<number> {
    // While stopping, the flush is the round; no new one may start under it.
    if (this.#stopping) return this.#current ?? Promise.resolve(0)
    if (this.#prepare().serverUrl === '') return Promise.resolve(0)
    if (this.#round && this.#current) {
      this.#round.sleeps = true
      return this.#current
    }
    this.#policy!.forgiveBackoff()
    return this.#startRound({ persistent: false, sleeps: true })
  }

  metrics(): SyncMetrics {
    const metrics: SyncMetrics = {
      delivered: this.#delivered,
      duplicates: this.#duplicates,
      rejected: this.#rejected,
      retried: this.#retried,
      inFlight: this.#inFlight,
      queued: this.#queue.queued,
      withoutToken: this.#withoutToken(),
      spooled: this.#spool?.live ?? 0,
      spoolCorrupt: this.#spool?.corrupt ?? 0,
      spoolDropped: this.#spool?.dropped ?? 0,
    }
    if (this.#spoolError !== undefined) metrics.spoolError = this.#spoolError
    if (this.#lastError !== undefined) metrics.lastError = this.#lastError
    return metrics
  }

  #prepare(): Settings {
    if (!this.#settings) {
      const settings = settingsOf(this.#config)
      if (settings.serverUrl !== '') {
        this.#transport = new HttpTransport(settings.serverUrl, settings.maxConcurrency)
        this.#policy = new OutcomePolicy(settings)
      }
      this.#settings = settings
    }
    return this.#settings
  }

  #pacer(token: string): TokenPacer {
    let pacer = this.#pacers.get(token)
    if (!pacer) this.#pacers.set(token, (pacer = new TokenPacer(this.#settings!.maxEventsPerMinute)))
    return pacer
  }

  #withoutToken(): number {
    let count = 0
    for (const lane of this.#queue.lanes()) if (lane.items.length > 0 && this.#tokenNow(lane) === undefined) count += lane.items.length
    return count
  }

  // --- spool -------------------------------------------------------------------------------

  #openSpool(path: string): void {
    try {
      this.#spool = new Spool(path, this.#settings!.maxSpoolBytes)
      this.#spool.adopt()
    } catch (error) {
      this.#spoolFailed(error)
      return
    }
    this.#lastAdoptAt = Date.now()
    this.#spoolReady = this.#loadSpool().catch((error) => this.#spoolFailed(error))
    this.#spoolTimer = setInterval(() => this.#spoolTick(), this.#settings!.spoolFlushMs).unref()
  }

  /** The spool stops being used; said once, loudly, not only in lastError. */
  #spoolFailed(error: unknown): void {
    const message = error instanceof Error && error.name === 'SpoolError' ? error.message : `the spool failed (${describeError(error)}): undelivered events will not survive a restart`
    this.#lastError = message
    if (this.#spoolError === undefined) process.emitWarning(message, { code: 'IRON_ANALYTICS_SPOOL' })
    this.#spoolError = message
    clearInterval(this.#spoolTimer)
    try {
      this.#spool?.close()
    } catch {
      // Already reported.
    }
    this.#spool = undefined
  }

  #spoolTick(): void {
    if (this.#spoolWork || !this.#spool) return
    this.#spoolWork = this.#spoolRound()
      .catch((error) => this.#spoolFailed(error))
      .finally(() => (this.#spoolWork = undefined))
  }

  async #spoolRound(): Promise<void> {
    for (;;) {
      const more = this.#spoolNewEvents(SPOOL_READ_BATCH)
      if (!this.#spool) return
      if (!more) break
      await nextTick()
    }
    await this.#spool?.flush()
    if (!this.#spool) return
    if (Date.now() - this.#lastAdoptAt >= ADOPT_MS) {
      this.#lastAdoptAt = Date.now()
      this.#spool!.adopt()
    }
    await this.#loadSpool()
  }

  /** Appends up to `max` events recorded since the last call; true when there may be more. */
  #spoolNewEvents(max: number): boolean {
    const spool = this.#spool
    if (!spool) return false
    const batch = this.#buffer.eventsAfter(this.#spoolCursor, max)
    for (const { seq, event } of batch) {
      this.#spoolCursor = seq
      // One the send queue cannot encode is acknowledged in the spool when the queue rejects it.
      if (isLlm(event)) spool.append(event)
    }
    return batch.length === max
  }

  /** Streams spooled events of writers that are gone into the queue, as far as the store has room. */
  async #loadSpool(): Promise<void> {
    const spool = this.#spool
    if (!spool?.loading) return
    // Counted when this load's turn comes: one under way before it takes room too.
    const room = () => this.#buffer.capacity() - this.#buffer.len() - this.#spoolHeld
    await spool.load(room, (event: AnalyticsEvent, wire: Protocol012Request) => {
      this.#queue.addFromSpool(event, wire)
      this.#spoolHeld++
    })
    if (this.#queue.queued > 0) this.#background()
  }

  // --- rounds ------------------------------------------------------------------------------

  #tick(): void {
    if (this.#round || this.#stopping) return
    const settings = this.#settings!
    const now = Date.now()
    const unread = this.#buffer.len() - this.#queue.queued - this.#inFlight - this.#queue.skipped
    if (
      (this.#queue.queued > 0 && this.#minWait(now, undefined) === 0) ||
      now - this.#lastRoundAt >= settings.syncInterval ||
      (unread >= settings.batchThreshold && this.#policy!.serverWait(now) === 0)
    ) {
      this.#background()
    }
  }

  #background(): void {
    if (this.#round || this.#stopping) return
    // A failed background round has already recorded its error in lastError.
    this.#startRound({ persistent: false, sleeps: false }).catch(() => {})
  }

  #startRound(options: Pick<Round, 'persistent' | 'sleeps'>): Promise<number> {
    const round: Round = { ...options, delivered: 0, failed: new Set(), halted: false }
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
      await this.#spoolReady
      this.#queue.rewind()
      await new Promise<void>((resolve) => {
        round.finish = resolve
        this.#pump(round)
      })
      return round.delivered
    } catch (error) {
      this.#lastError = `sync round failed: ${(error as Error)?.message ?? String(error)}`
      throw error
    } finally {
      this.#clearWake()
      this.#queue.flushAcks()
    }
  }

  /** The token a lane's next event goes with now: a token corrected since it was read applies. */
  #tokenNow(lane: Lane): string | undefined {
    return tokenFor(this.#config, lane.items[0].event.agentId)
  }

  /** The token of a lane when it may send now; undefined otherwise. */
  #readyToken(lane: Lane, now: number, round: Round | undefined): string | undefined {
    const token = this.#tokenNow(lane)
    if (token === undefined || round?.failed.has(token)) return undefined
    if (this.#policy!.waitFor(token, now) > 0 || this.#pacer(token).wait(now, !this.#stopping) > 0) return undefined
    return token
  }

  /** ms until some queued event may be sent; undefined when none ever may in this round. */
  #minWait(now: number, round: Round | undefined): number | undefined {
    let min: number | undefined
    for (const lane of this.#queue.lanes()) {
      if (lane.items.length === 0) continue
      const token = this.#tokenNow(lane)
      if (token === undefined || (round && !round.persistent && round.failed.has(token))) continue
      const wait = Math.max(this.#policy!.waitFor(token, now), this.#pacer(token).wait(now, !this.#stopping))
      min = min === undefined ? wait : Math.min(min, wait)
    }
    return min
  }

  /** The next event that may be sent now, reading the buffer further only when none is queued. */
  #take(round: Round, now: number): { pending: Pending; token: string } | undefined {
    for (;;) {
      let token: string | undefined
      const pending = this.#queue.take((lane) => (token = this.#readyToken(lane, now, round.persistent ? undefined : round)) !== undefined)
      if (pending) return { pending, token: token! }
      if (this.#queue.exhausted || this.#queue.queued + this.#inFlight >= MAX_HELD || this.#policy!.serverWait(now) > 0) return undefined
      for (const { event, error } of this.#queue.read()) {
        this.#spool?.acknowledge(event.eventId)
        this.#rejected++
        this.#lastError = `event ${event.eventId} cannot be sent and was rejected: ${error.message}`
      }
    }
  }

  /** Sends while the limits allow; finishes the round once it has nothing in flight and nothing it may still send. */
  #pump(round: Round): void {
    const settings = this.#settings!
    while (!round.halted && this.#inFlight < settings.maxConcurrency) {
      const now = Date.now()
      const next = this.#take(round, now)
      if (!next) break
      this.#send(round, next.pending, next.token, now)
    }
    if (this.#inFlight > 0 || this.#wakeTimer) return
    const now = Date.now()
    const wait = round.halted ? undefined : this.#minWait(now, round)
    // A background round waits out short waits (pacing) only; the poll picks up after long ones.
    const tooLong = !round.sleeps && wait !== undefined && wait > POLL_MS
    if (wait === undefined || tooLong || (this.#deadline !== undefined && now + wait > this.#deadline)) {
      round.finish?.()
      return
    }
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = undefined
      this.#pump(round)
    }, Math.min(Math.max(wait, 1), MAX_TIMER_MS)).unref()
  }

  #clearWake(): void {
    clearTimeout(this.#wakeTimer)
    this.#wakeTimer = undefined
  }

  #send(round: Round, pending: Pending, token: string, now: number): void {
    this.#inFlight++
    this.#pacer(token).take(now)
    const body = JSON.stringify({ ...pending.wire, ic_token: token })
    this.#transport!.post(body, this.#settings!.timeout).then(
      (reply) => this.#settle(round, pending, token, now, { kind: 'reply', ...reply }),
      (error: TransportError) => this.#settle(round, pending, token, now, { kind: 'failure', message: error?.message ?? 'network error' }),
    )
  }

  #settle(round: Round, pending: Pending, token: string, sentAt: number, answer: Answer): void {
    this.#inFlight--
    const now = Date.now()
    const decision = this.#policy!.decide(answer, token, sentAt, now)
    switch (decision.kind) {
      case 'delivered':
        this.#delivered++
        if (decision.duplicate) this.#duplicates++
        round.delivered++
        this.#pacer(token).accepted(now)
        this.#acknowledge(pending)
        break
      case 'rejected':
        this.#rejected++
        this.#lastError = `${decision.reason} (event ${pending.event.eventId})`
        this.#acknowledge(pending)
        break
      default:
        this.#retried++
        this.#lastError = decision.reason
        this.#queue.giveBack(pending)
        if (decision.kind === 'retry' && decision.rateLimited) this.#pacer(token).rateLimited(now)
        round.failed.add(token)
        // A failure of the server as a whole ends a round; one token's lets the others go on.
        const tokenOnly = decision.kind === 'credential' || (decision.kind === 'retry' && decision.rateLimited)
        if (!round.persistent && !tokenOnly) round.halted = true
    }
    this.#pump(round)
  }

  #acknowledge(pending: Pending): void {
    this.#queue.acknowledge(pending)
    this.#spool?.acknowledge(pending.event.eventId)
    if (pending.fromSpool) this.#spoolHeld--
  }

  // --- stop --------------------------------------------------------------------------------

  async #shutdown(): Promise<StopReport> {
    const settings = this.#settings!
    if (settings.serverUrl === '') {
      this.#reset()
      return { delivered: 0, remaining: 0, spooled: 0 }
    }
    this.#stopping = true
    clearInterval(this.#pollTimer)
    clearInterval(this.#spoolTimer)
    this.#deadline = Date.now() + settings.timeout
    const deadlineTimer = setTimeout(() => {
      this.#transport!.abortAll()
      if (this.#round) {
        this.#round.halted = true
        this.#clearWake()
        this.#pump(this.#round)
      }
    }, settings.timeout).unref()
    try {
      await this.#spoolWork
      await this.#spool?.idle()
      // On disk first: whatever becomes of the flush, nothing pending is only in memory.
      this.#spoolCatchUp()
      if (this.#round && this.#current) {
        // A background round may be waiting far past the deadline; the flush below takes over.
        this.#round.halted = true
        this.#clearWake()
        this.#pump(this.#round)
        await this.#current.catch(() => {})
      }
      await this.#startRound({ persistent: true, sleeps: true }).catch(() => {})
      this.#spoolCatchUp()
      return this.#report()
    } finally {
      clearTimeout(deadlineTimer)
      this.#closeSpool()
      this.#reset()
    }
  }

  #spoolCatchUp(): void {
    try {
      while (this.#spoolNewEvents(SPOOL_READ_BATCH));
      this.#spool?.flushSync()
    } catch (error) {
      this.#spoolFailed(error)
    }
  }

  #report(): StopReport {
    this.#queue.flushAcks()
    const remaining = this.#queue.queued + this.#queue.unread()
    const spooled = Math.min(remaining, this.#spool?.live ?? 0)
    const lost = remaining - spooled
    if (lost > 0) {
      process.emitWarning(`${lost} LLM event${lost === 1 ? ' was' : 's were'} neither delivered nor spooled when sync stopped`, {
        code: 'IRON_ANALYTICS_UNSYNCED',
      })
    }
    return { delivered: this.#delivered - this.#deliveredAtStart, remaining, spooled }
  }

  #closeSpool(): void {
    try {
      this.#spool?.close()
    } catch (error) {
      this.#spoolFailed(error)
    }
    this.#spool = undefined
  }

  #reset(): void {
    this.#queue.flushAcks()
    this.#transport?.close()
    this.#transport = undefined
    this.#policy = undefined
    this.#pacers = new Map()
    this.#settings = undefined
    // A restarted client reads the buffer from its start again, and the spool anew.
    this.#queue = this.#newQueue()
    this.#spoolCursor = 0
    this.#spoolHeld = 0
    this.#spoolReady = Promise.resolve()
    this.#deadline = undefined
    this.#handle = undefined
    this.#stopping = false
  }
}
