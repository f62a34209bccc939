// The spool: a directory where undelivered events survive restarts and crashes (SPEC section 15).
//
// A client appends the LLM events it has not delivered to its own segment files, and an
// acknowledgement record once each is delivered; every flush is fsync'd. Segments rotate at a
// fraction of maxSpoolBytes and are deleted, oldest first, once nothing in them is live. The
// files of writers that are gone are taken over and streamed back, as far as the store has room;
// each event taken back is copied into the taker's own segment before the file it came from is
// deleted, so a crash at any moment leaves every event on disk at least once. Events hold no
// credential: the IC token is never written.
import { closeSync, fsync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { AnalyticsEvent } from '../events.js'
import type { Protocol012Request } from '../protocol012.js'
import { acksLine, eventLine, isAcksLine, lines, parseRecord } from './spool-records.js'
import { claimGoneWriters, newWriterId, releaseClaim, segmentName, segmentsOf, writeLock } from './spool-writers.js'

const WRITE_CHUNK_BYTES = 1024 * 1024
const MIN_SEGMENT_BYTES = 64 * 1024
const MAX_SEGMENT_BYTES = 16 * 1024 * 1024

interface Segment {
  name: string
  bytes: number
  /** Events written to it and not acknowledged since. */
  live: number
}

/** Files taken over together, streamed back in order; acknowledged events are skipped. */
interface Takeover {
  files: string[]
  acked: Set<string> | undefined
  seen: Set<string>
  reading: AsyncGenerator<string> | undefined
}

export class SpoolError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SpoolError'
  }
}

export class Spool {
  readonly dir: string
  readonly writer = newWriterId()
  /** Records that could not be read back (skipped one by one). */
  corrupt = 0
  /** Events dropped, oldest first, to keep the spool within maxSpoolBytes. */
  dropped = 0

  readonly #maxBytes: number
  readonly #segmentBytes: number
  readonly #segments: Segment[] = []
  #nextSegment = 0
  #fd = -1
  readonly #live = new Map<string, Segment>()
  #unwritten: string[] = []
  #unwrittenBytes = 0
  #acks: string[] = []
  readonly #takeovers: Takeover[] = []
  // Two loads at once would both reach the end of a file and each delete one. A flush that
  // rotates closes the descriptor another flush's pending fsync was given. A flush does not wait
  // for a load, which can take long: the events it writes would wait with it.
  readonly #loads = new InTurn()
  readonly #flushes = new InTurn()

  /** Opens (creating it if missing) the spool directory as a new writer; throws a SpoolError when it cannot. */
  constructor(dir: string, maxBytes: number) {
    this.dir = dir
    this.#maxBytes = maxBytes
    this.#segmentBytes = Math.min(MAX_SEGMENT_BYTES, Math.max(MIN_SEGMENT_BYTES, Math.floor(maxBytes / 8)))
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      writeLock(dir, this.writer, false)
      this.#openSegment()
    } catch (error) {
      this.#closeFd()
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message
      throw new SpoolError(`the spool directory ${dir} cannot be written (${code}): undelivered events will not survive a restart`, { cause: error })
    }
  }

  /** Events on disk and not yet acknowledged. */
  get live(): number {
    return this.#live.size
  }

  /** Whether files taken over still hold events not streamed back. */
  get loading(): boolean {
    return this.#takeovers.length > 0
  }

  /** Takes over the files of writers that are gone; their events are streamed back by load(). */
  adopt(): void {
    const names = readdirSync(this.dir)
    for (const writer of claimGoneWriters(this.dir, this.writer, names)) {
      const files: string[] = []
      // Renamed into this writer's names: if it is gone in turn, its taker finds them.
      for (const { name } of segmentsOf(writer, names)) {
        const mine = segmentName(this.writer, this.#nextSegment++)
        renameSync(join(this.dir, name), join(this.dir, mine))
        files.push(mine)
      }
      releaseClaim(this.dir, writer, this.writer)
      if (files.length > 0) this.#takeovers.push({ files, acked: undefined, seen: new Set(), reading: undefined })
    }
  }

  append(event: AnalyticsEvent): void {
    if (this.#live.has(event.eventId)) return
    const current = this.#segments[this.#segments.length - 1]
    const line = eventLine(event)
    this.#unwritten.push(line)
    this.#unwrittenBytes += line.length
    current.live++
    this.#live.set(event.eventId, current)
    if (this.#unwrittenBytes >= WRITE_CHUNK_BYTES) this.#write()
  }

  acknowledge(eventId: string): void {
    const segment = this.#live.get(eventId)
    if (!segment) return
    this.#live.delete(eventId)
    segment.live--
    this.#acks.push(eventId)
  }

  /**
   * Writes what is pending and fsyncs it, off the event loop (a sync can take tens of ms); then
   * rotates, compacts and bounds the segments. Runs after the flush under way.
   */
  flush(): Promise<void> {
    return this.#flushes.run(() => this.#flushNow())
  }

  /** Resolves once the loads and flushes asked for so far have settled: before a flushSync() or close(). */
  async idle(): Promise<void> {
    await this.#loads.settled()
    await this.#flushes.settled()
  }

  async #flushNow(): Promise<void> {
    this.#write()
    const fd = this.#fd
    await new Promise<void>((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())))
    this.#tidy()
  }

  /** flush(), on the event loop: for stop, when nothing else is to run. */
  flushSync(): void {
    this.#write()
    fsyncSync(this.#fd)
    this.#tidy()
  }

  #tidy(): void {
    const current = this.#segments[this.#segments.length - 1]
    if (current.bytes >= this.#segmentBytes) this.#openSegment()
    while (this.#segments.length > 1 && this.#segments[0].live === 0) this.#removeOldest()
    let total = this.#segments.reduce((sum, segment) => sum + segment.bytes, 0)
    while (this.#segments.length > 1 && total > this.#maxBytes) {
      total -= this.#segments[0].bytes
      this.#dropOldest()
    }
  }

  /**
   * Streams back up to `room()` events of the files taken over, oldest first, handing each to
   * `take`; resolves to how many. Each is written into this writer's segment before the file it
   * came from is deleted. Runs after the load under way; `room` is asked then.
   */
  load(room: () => number, take: (event: AnalyticsEvent, wire: Protocol012Request) => void): Promise<number> {
    return this.#loads.run(() => this.#loadNow(room(), take))
  }

  async #loadNow(room: number, take: (event: AnalyticsEvent, wire: Protocol012Request) => void): Promise<number> {
    let taken = 0
    while (taken < room && this.#takeovers.length > 0) {
      const takeover = this.#takeovers[0]
      takeover.acked ??= await this.#ackedIn(takeover.files)
      takeover.reading ??= lines(join(this.dir, takeover.files[0]))
      const next = await takeover.reading.next()
      if (next.done) {
        await this.flush()
        rmSync(join(this.dir, takeover.files.shift()!), { force: true })
        takeover.reading = undefined
        if (takeover.files.length === 0) this.#takeovers.shift()
        continue
      }
      if (isAcksLine(next.value)) continue
      const record = parseRecord(next.value)
      if (record.kind === 'corrupt') this.corrupt++
      if (record.kind !== 'event') continue
      const id = record.event.eventId
      if (takeover.acked.has(id) || takeover.seen.has(id)) continue
      takeover.seen.add(id)
      this.append(record.event)
      take(record.event, record.wire)
      taken++
    }
    return taken
  }

  /**
   * Stops writing. With nothing live, the writer's files are removed; otherwise its lock is
   * marked released, so that the next client on the directory takes them over.
   */
  close(): void {
    try {
      this.flushSync()
    } finally {
      this.#closeFd()
    }
    if (this.#live.size === 0 && this.#takeovers.length === 0) {
      for (const segment of this.#segments) rmSync(join(this.dir, segment.name), { force: true })
      rmSync(join(this.dir, `${this.writer}.lock`), { force: true })
    } else {
      for (const takeover of this.#takeovers) void takeover.reading?.return(undefined)
      writeLock(this.dir, this.writer, true)
    }
  }

  async #ackedIn(files: readonly string[]): Promise<Set<string>> {
    const acked = new Set<string>()
    for (const file of files) {
      for await (const line of lines(join(this.dir, file))) {
        if (!isAcksLine(line)) continue
        const record = parseRecord(line)
        if (record.kind === 'acks') for (const id of record.ids) acked.add(id)
        else this.corrupt++
      }
    }
    return acked
  }

  #write(): void {
    if (this.#acks.length > 0) {
      const line = acksLine(this.#acks)
      this.#acks = []
      this.#unwritten.push(line)
    }
    if (this.#unwritten.length === 0) return
    const current = this.#segments[this.#segments.length - 1]
    const text = this.#unwritten.join('')
    this.#unwritten = []
    this.#unwrittenBytes = 0
    const bytes = Buffer.from(text, 'utf8')
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(this.#fd, bytes, offset)
    current.bytes += bytes.length
  }

  #openSegment(): void {
    this.#closeFd()
    const name = segmentName(this.writer, this.#nextSegment++)
    this.#fd = openSync(join(this.dir, name), 'a', 0o600)
    this.#segments.push({ name, bytes: 0, live: 0 })
  }

  #closeFd(): void {
    if (this.#fd === -1) return
    closeSync(this.#fd)
    this.#fd = -1
  }

  #removeOldest(): void {
    const segment = this.#segments.shift()!
    rmSync(join(this.dir, segment.name), { force: true })
  }

  #dropOldest(): void {
    const segment = this.#segments[0]
    for (const [id, where] of this.#live) {
      if (where !== segment) continue
      this.#live.delete(id)
      this.dropped++
    }
    this.#removeOldest()
  }
}

/** Steps run one after another: each starts once the one before it has settled, however it did. */
class InTurn {
  #last: Promise<void> = Promise.resolve()

  run<T>(step: () => Promise<T>): Promise<T> {
    const result = this.#last.then(step)
    this.#last = result.then(
      () => undefined,
      () => undefined,
    )
    return result
  }

  /** Resolves once every step run so far has settled. */
  settled(): Promise<void> {
    return this.#last
  }
}
