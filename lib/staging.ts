import type { NativeStore } from '../index.js'
import { STAGING } from './layout.js'

// Completed requests are recorded without a native call each: a store hands this thread a
// staging area, memory the native store owns, and the facade writes each request as a row there
// and publishes it with one atomic store of the row count. Every read, on any thread, drains the
// published rows first, so a record is visible everywhere as soon as its call returns, and it
// outlives this thread (a terminated worker loses nothing). Only a full ring costs a native call:
// for a larger ring while the thread's is small, then to drain it (four thousand records that
// nobody read).
//
// Only a store other threads can reach (`EventStore.shared`) needs the atomic store: the readers
// of any other store run on this thread, in native calls that follow the row in program order,
// so a plain store of the row count publishes it to them (and costs a sixth of the call less).
const {
  head: HEAD,
  tail: TAIL,
  bufferFull: BUFFER_FULL,
  rowsAt: ROWS_AT,
  firstRows: FIRST_ROWS,
  maxRows: MAX_ROWS,
  stride: STRIDE,
  // Each field's offset in a row, as constants: the hot path reads no layout object.
  model: F_MODEL,
  provider: F_PROVIDER,
  agent: F_AGENT,
  providerId: F_PROVIDER_ID,
  inputTokens: F_INPUT,
  outputTokens: F_OUTPUT,
  cacheReadTokens: F_CACHE_READ,
  cacheWriteTokens: F_CACHE_WRITE,
  cacheWrite1hTokens: F_CACHE_WRITE_1H,
  reasoningTokens: F_REASONING,
  costMicros: F_COST,
  timestampMs: F_TIMESTAMP,
  durationMs: F_DURATION,
  timeToFirstTokenMs: F_TIME_TO_FIRST_TOKEN,
  unpriced: F_UNPRICED,
} = STAGING

// Every figure is exact: the store refuses a record that would take a total past 2^53 - 1. Each
// thread takes room for its records from the native store in chunks, so that checking costs a
// comparison; room a thread took and never used is the only way to be refused a little early.
const ROOM_CHUNK = 2 ** 40
const EXHAUSTED_FIGURES = ['', 'input tokens', 'output tokens', 'cost in micros'] as const

/** The refusal of a record that would take total `figure` (1: input, 2: output, 3: cost) past 2^53 - 1. */
export function exhausted(figure: number, names: readonly [string, string, string]): RangeError {
  return new RangeError(
    `${names[figure - 1]} would take the store's total ${EXHAUSTED_FIGURES[figure]} past ${Number.MAX_SAFE_INTEGER}, ` +
      'the largest figure a JavaScript number holds exactly; nothing was recorded',
  )
}

/**
 * This thread's staging area of one store, opened on the first record, and the room it took in
 * the store's totals. Plain fields and no private names: the recording calls inline `fits` and
 * `write`, and V8 inlines only small functions, which named fields keep them.
 */
export class StagingWriter {
  // The rows as numbers, and the header's counters over the same memory.
  rows: Float64Array | undefined = undefined
  counters: Uint32Array | undefined = undefined
  ringRows = 0
  head = 0
  // The tail as last read: the ring has at least this much room, so the real tail is read only
  // when this says the ring is full.
  tail = 0
  inputRoom = 0
  outputRoom = 0
  costRoom = 0

  /** @param shared whether threads other than this one can reach the store */
  constructor(
    readonly native: NativeStore,
    readonly shared: boolean,
  ) {}

  /**
   * Whether a row of these figures fits, in the room this thread took and in its ring as it is:
   * then `write` records it without a native call; else `makeRoom` first.
   */
  fits(input: number, output: number, cost: number): boolean {
    return input <= this.inputRoom && output <= this.outputRoom && cost <= this.costRoom && ((this.head - this.tail) >>> 0) < this.ringRows
  }

  /** Writes a row that `fits`, and publishes it. */
  write(
    model: number,
    priced: boolean,
    provider: number,
    agent: number,
    providerId: number,
    input: number,
    output: number,
    cacheRead: number,
    cacheWrite: number,
    cacheWrite1h: number,
    reasoning: number,
    cost: number,
    durationMs: number,
    timeToFirstTokenMs: number,
  ): void {
    this.inputRoom -= input
    this.outputRoom -= output
    this.costRoom -= cost
    const rows = this.rows!
    const counters = this.counters!
    const head = this.head
    // Ring sizes are powers of two.
    const at = ROWS_AT + (head & (this.ringRows - 1)) * STRIDE
    rows[at + F_MODEL] = model
    rows[at + F_PROVIDER] = provider
    rows[at + F_AGENT] = agent
    rows[at + F_PROVIDER_ID] = providerId
    rows[at + F_INPUT] = input
    rows[at + F_OUTPUT] = output
    rows[at + F_CACHE_READ] = cacheRead
    rows[at + F_CACHE_WRITE] = cacheWrite
    rows[at + F_CACHE_WRITE_1H] = cacheWrite1h
    rows[at + F_REASONING] = reasoning
    rows[at + F_COST] = cost
    // 0: stamped when drained. While the buffer is full, most rows will be dropped, and a dropped
    // event's timestamp is never seen, so the drop path does not read the clock.
    rows[at + F_TIMESTAMP] = counters[BUFFER_FULL] === 1 ? 0 : Date.now()
    rows[at + F_DURATION] = durationMs
    rows[at + F_TIME_TO_FIRST_TOKEN] = timeToFirstTokenMs
    rows[at + F_UNPRICED] = priced ? 0 : 1
    this.head = (head + 1) >>> 0
    if (this.shared) Atomics.store(counters, HEAD, this.head)
    else counters[HEAD] = this.head
  }

  /** Takes room for a row that does not fit, or throws naming the figure the store has no room for. */
  makeRoom(input: number, output: number, cost: number, names: readonly [string, string, string]): void {
    if (input > this.inputRoom || output > this.outputRoom || cost > this.costRoom) this.takeRoom(input, output, cost, names)
    if (((this.head - this.tail) >>> 0) >= this.ringRows) this.roomForRow()
  }

  /** Room in the ring for one more row: the first ring, a larger one, or the same ring drained. */
  roomForRow(): void {
    const counters = this.counters
    if (this.rows === undefined || counters === undefined) return this.open(FIRST_ROWS)
    this.tail = Atomics.load(counters, TAIL)
    if (((this.head - this.tail) >>> 0) >= this.ringRows) {
      if (this.ringRows < MAX_ROWS) return this.open(this.ringRows * 2)
      this.native.drainOwnStaging()
      this.tail = Atomics.load(counters, TAIL)
    }
  }

  /** A ring of `rows` rows; the store drains the previous one first. */
  open(rows: number): void {
    const area = this.native.stagingArea(rows)
    this.ringRows = rows
    this.counters = new Uint32Array(area)
    this.head = 0
    this.tail = 0
    this.rows = new Float64Array(area)
  }

  /** Takes room in the totals for a record's figures, or throws naming the figure with none. */
  takeRoom(input: number, output: number, cost: number, names: readonly [string, string, string]): void {
    const wanted = [input - this.inputRoom, output - this.outputRoom, cost - this.costRoom].map((need) => Math.max(need, 0))
    // A chunk each where there is room for one, else just what this record needs.
    let refused = this.native.reserve(...(wanted.map((need) => Math.max(need, ROOM_CHUNK)) as [number, number, number]))
    if (refused === 0) {
      this.inputRoom += Math.max(wanted[0], ROOM_CHUNK)
      this.outputRoom += Math.max(wanted[1], ROOM_CHUNK)
      this.costRoom += Math.max(wanted[2], ROOM_CHUNK)
      return
    }
    refused = this.native.reserve(wanted[0], wanted[1], wanted[2])
    if (refused !== 0) throw exhausted(-refused, names)
    this.inputRoom += wanted[0]
    this.outputRoom += wanted[1]
    this.costRoom += wanted[2]
  }
}
