// Server-Sent Events framing over raw bytes, for a reader that needs only a few of the events.
// Events are cut at blank lines whatever the chunking (`\n`, `\r\n` or `\r` line ends, each possibly
// split between two chunks); only the bytes of the event in progress are kept between chunks, and
// those of the two events before it for a reader with closing needles (below).
//
// Most chunks of a streamed answer are text deltas that matter to no reader. A chunk in which no
// needle occurs (nor across its junction with the event in progress) is therefore not framed
// event by event: only whether an event ends in it is looked at, and where its last event ends is
// found only if the event after it turns out to matter. Such a chunk is never decoded nor copied:
// a needle is looked for at each occurrence of its anchor, a byte the other events seldom hold,
// with Buffer.indexOf on the chunk itself, and a blank line from the chunk's last line end back.
// Other chunks are framed line by line, and only the events holding a needle are handed on; text
// is decoded only for those, and an event always ends on an ASCII line end, so it never cuts a
// UTF-8 character.
//
// A closing needle marks an event that ends the stream (an error object). Skimmed chunks are not
// searched for it: they are kept back to the start of the last two complete events, and when the
// stream ends those are framed again and the ones holding it handed on.

const LF = 0x0a
const CR = 0x0d
const BLANK_LINE = Buffer.from('\n\n')
// #firstStart of a skimmed chunk: its event starts after its last blank line, found only if needed.
const AFTER_LAST_BLANK_LINE = -1

/** One event larger than this is dropped (its bytes still pass): it cannot be a usage event. */
export const MAX_EVENT_BYTES = 4 * 1024 * 1024

/**
 * An ASCII substring an event must hold to matter, and the index in it of its anchor: the byte a
 * chunk is searched for, so the rarer it is in the events that do not matter, the cheaper the search.
 */
export interface Needle {
  readonly text: string
  readonly anchor: number
}

/** A needle searched for at each occurrence of `anchor`, the first of its characters that is that one. */
export function needle(text: string, anchor: string): Needle {
  return { text, anchor: text.indexOf(anchor) }
}

/**
 * Which events a reader needs: those holding one of `needles`, or all while `everything()`; and
 * those holding one of `closingNeedles` if they are among the last two of the stream (or in a
 * chunk that is framed anyway).
 */
export interface Relevance {
  readonly needles: readonly Needle[]
  readonly closingNeedles: readonly Needle[]
  everything(): boolean
}

/** A needle as bytes, with its anchor byte. */
interface NeedleBytes {
  readonly bytes: Buffer
  readonly anchor: number
  readonly anchorByte: number
}

export class SseFramer {
  readonly #relevance: Relevance
  readonly #onEvent: (event: Buffer) => void
  readonly #needles: readonly NeedleBytes[]
  readonly #closingNeedles: readonly Buffer[]
  // What the end of the stream is framed again for: the closing needles, as ordinary ones.
  readonly #closingRelevance: Relevance
  readonly #longestNeedle: number
  // 1 for each byte a needle starts with.
  readonly #firstBytes = new Uint8Array(256)
  // The event in progress: the chunks it spans, from #firstStart in the first one. They are kept
  // as they are, not copied: a chunk is not written to once it has been written.
  readonly #pieces: Buffer[] = []
  #firstStart = 0
  // The bytes of the event in progress; while #firstStart is AFTER_LAST_BLANK_LINE, at most this.
  #pendingBytes = 0
  // Whether a needle occurs in the event in progress.
  #pendingMatters = false
  #oversized = false
  // Whether the bytes so far end with a line end (true before any byte), and with a CR in particular.
  #atLineStart = true
  #lastWasCR = false
  // With closing needles: the chunks since the start of the last two complete events, from
  // #tailStart in the first (AFTER_LAST_BLANK_LINE: after its last blank line), and the indices in
  // it of the last two chunks in which an event ended.
  #tail: Buffer[] = []
  #tailStart = 0
  #tailEnd = -1
  #tailEndBefore = -1

  /** `onEvent` gets each relevant event's lines, line ends included, without the blank line that ended it. */
  constructor(relevance: Relevance, onEvent: (event: Buffer) => void) {
    this.#relevance = relevance
    this.#onEvent = onEvent
    this.#needles = relevance.needles.map(({ text, anchor }) => ({ bytes: Buffer.from(text, 'latin1'), anchor, anchorByte: text.charCodeAt(anchor) }))
    this.#closingNeedles = relevance.closingNeedles.map(({ text }) => Buffer.from(text, 'latin1'))
    this.#closingRelevance = { needles: relevance.closingNeedles, closingNeedles: [], everything: nothingElse }
    this.#longestNeedle = Math.max(...this.#needles.map((needle) => needle.bytes.length))
    for (const needle of this.#needles) this.#firstBytes[needle.bytes[0]] = 1
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return
    if (this.#pendingMatters || this.#lastWasCR || this.#relevance.everything()) return this.#frame(chunk)
    // Line ends with CRs are framed line by line: the blank-line search in #skim knows only LF.
    if (chunk.indexOf(CR) !== -1 || this.#holdsNeedle(chunk)) return this.#frame(chunk)
    if (this.#pendingBytes > 0 && this.#needleAcross(chunk)) return this.#frame(chunk)
    this.#skim(chunk)
  }

  /** Whether a needle lies wholly inside `chunk` (one across its start is #needleAcross's to find). */
  #holdsNeedle(chunk: Buffer): boolean {
    for (const { bytes, anchor, anchorByte } of this.#needles) {
      const lastAnchor = chunk.length - bytes.length + anchor
      for (let at = chunk.indexOf(anchorByte, anchor); at !== -1 && at <= lastAnchor; at = chunk.indexOf(anchorByte, at + 1)) {
        const start = at - anchor
        let j = 0
        while (j < bytes.length && chunk[start + j] === bytes[j]) j++
        if (j === bytes.length) return true
      }
    }
    return false
  }

  /** Whether a needle may start in the event in progress and end in `chunk`. */
  #needleAcross(chunk: Buffer): boolean {
    const last = this.#pieces[this.#pieces.length - 1]
    const from = this.#pieces.length === 1 ? Math.max(this.#firstStart, 0) : 0
    // A short last piece leaves the needle's start in an earlier one: frame this chunk to be sure.
    if (last.length - from < this.#longestNeedle - 1 && this.#pieces.length > 1) return true
    for (let at = Math.max(from, last.length - this.#longestNeedle + 1); at < last.length; at++) {
      if (this.#firstBytes[last[at]] === 0) continue
      for (const { bytes } of this.#needles) {
        if (bytes.length <= last.length - at || bytes.length - (last.length - at) > chunk.length) continue
        let j = 0
        while (j < bytes.length && (at + j < last.length ? last[at + j] : chunk[at + j - last.length]) === bytes[j]) j++
        if (j === bytes.length) return true
      }
    }
    return false
  }

  /**
   * A chunk no reader needs, without CRs: only whether an event ends in it matters. Where the last
   * one ends is looked for only if the event after it turns out to matter.
   */
  #skim(chunk: Buffer): void {
    const endsEvent = this.#endsEvent(chunk)
    if (this.#closingNeedles.length > 0) this.#retain(chunk, endsEvent)
    if (endsEvent) {
      if (this.#pieces.length === 1) {
        // The usual case, a new event in progress after one that was in one chunk: no array to resize.
        this.#pieces[0] = chunk
        this.#firstStart = AFTER_LAST_BLANK_LINE
        this.#pendingBytes = chunk.length
        this.#oversized = false
      } else {
        this.#drop()
        this.#keep(chunk, AFTER_LAST_BLANK_LINE)
      }
    } else {
      this.#keep(chunk, 0)
    }
    this.#atLineStart = chunk[chunk.length - 1] === LF
    this.#pendingMatters = false
  }

  /** Keeps a skimmed chunk for the closing needles' search, and forgets what is before the last two events. */
  #retain(chunk: Buffer, endsEvent: boolean): void {
    if (this.#oversized) {
      // An event too large to hold: the events after it are kept from the end of the chunk it ends in.
      this.#tail = []
      this.#tailStart = AFTER_LAST_BLANK_LINE
      this.#tailEnd = this.#tailEndBefore = -1
      if (!endsEvent) return
    }
    this.#tail.push(chunk)
    if (!endsEvent) return
    if (this.#tailEndBefore !== -1) {
      // The last two complete events start after the last blank line of the chunk the one before them ended in.
      const from = this.#tailEndBefore
      for (let i = 0; i < from; i++) this.#tail.shift()
      this.#tailStart = AFTER_LAST_BLANK_LINE
      this.#tailEnd -= from
    }
    this.#tailEndBefore = this.#tailEnd
    this.#tailEnd = this.#tail.length - 1
  }

  /**
   * The stream has ended: hands on those of its last two complete events that hold a closing needle,
   * unless they were framed already.
   */
  close(): void {
    if (this.#tail.length === 0) return
    const reader = new SseFramer(this.#closingRelevance, this.#onEvent)
    const [first] = this.#tail
    reader.push(first.subarray(this.#tailStart === AFTER_LAST_BLANK_LINE ? afterLastBlankLine(first) : this.#tailStart))
    for (let i = 1; i < this.#tail.length; i++) reader.push(this.#tail[i])
  }

  /** Whether a blank line ends in `chunk`, a chunk without CRs: looked for from its last line end back. */
  #endsEvent(chunk: Buffer): boolean {
    let lf = chunk.lastIndexOf(LF)
    while (lf > 0) {
      if (chunk[lf - 1] === LF) return true
      // The byte before this LF is not one, so an earlier LF is at least two bytes back.
      if (lf < 2) return false
      lf = chunk.lastIndexOf(LF, lf - 2)
    }
    // A first byte that is a LF ends a blank line when the chunk before ended a line.
    return lf === 0 && this.#atLineStart
  }

  /** Finds where the event in progress starts in a skimmed chunk. */
  #findFirstStart(): void {
    if (this.#firstStart !== AFTER_LAST_BLANK_LINE) return
    const first = this.#pieces[0]
    this.#firstStart = afterLastBlankLine(first)
    this.#pendingBytes -= this.#firstStart
    if (this.#firstStart < first.length) return
    this.#pieces.shift()
    this.#firstStart = 0
  }

  /** A chunk framed line by line. */
  #frame(chunk: Buffer): void {
    this.#findFirstStart()
    const length = chunk.length
    let eventStart = 0
    // Where the current line began: -1 when it began in an earlier chunk with some bytes.
    let lineStart = this.#atLineStart ? 0 : -1
    let nextLF = chunk.indexOf(LF)
    let nextCR = chunk.indexOf(CR)
    while (nextLF !== -1 || nextCR !== -1) {
      let end: number
      if (nextCR === -1 || (nextLF !== -1 && nextLF < nextCR)) {
        end = nextLF
        nextLF = chunk.indexOf(LF, end + 1)
        // The LF of a CRLF ends nothing: the CR already ended the line.
        if (end === 0 ? this.#lastWasCR : chunk[end - 1] === CR) {
          if (eventStart === end) eventStart = end + 1
          lineStart = end + 1
          continue
        }
      } else {
        end = nextCR
        nextCR = chunk.indexOf(CR, end + 1)
      }
      if (end === lineStart) {
        this.#dispatch(chunk, eventStart, end)
        eventStart = end + 1
      }
      lineStart = end + 1
    }
    this.#keep(chunk, eventStart)
    this.#atLineStart = lineStart === length
    this.#lastWasCR = chunk[length - 1] === CR
    this.#pendingMatters = this.#pendingBytes > 0 && this.#matters(this.#pending(undefined, 0, 0))
    if (this.#closingNeedles.length > 0) {
      // Every event that ended so far was searched for the closing needles too: keep only the one in progress.
      this.#tail = this.#pieces.slice()
      this.#tailStart = this.#pieces.length > 0 ? this.#firstStart : 0
      this.#tailEnd = this.#tailEndBefore = -1
    }
  }

  #matters(event: Buffer): boolean {
    return (
      this.#relevance.everything() ||
      this.#needles.some((needle) => event.indexOf(needle.bytes) !== -1) ||
      this.#closingNeedles.some((needle) => event.indexOf(needle) !== -1)
    )
  }

  /** The event in progress with `chunk` from `start` to `end` added, as one buffer. */
  #pending(chunk: Buffer | undefined, start: number, end: number): Buffer {
    const parts = this.#pieces.map((piece, i) => (i === 0 ? piece.subarray(this.#firstStart) : piece))
    if (chunk) parts.push(chunk.subarray(start, end))
    return Buffer.concat(parts, this.#pendingBytes + end - start)
  }

  #dispatch(chunk: Buffer, start: number, end: number): void {
    if (this.#oversized) return this.#drop()
    if (this.#pendingBytes === 0) {
      if (end > start) this.#handOn(chunk.subarray(start, end))
      return
    }
    const event = this.#pending(chunk, start, end)
    this.#drop()
    this.#handOn(event)
  }

  #handOn(event: Buffer): void {
    if (this.#matters(event)) this.#onEvent(event)
  }

  /** Forgets the event in progress: it has ended. */
  #drop(): void {
    this.#oversized = false
    this.#pieces.length = 0
    this.#pendingBytes = 0
  }

  /** Keeps the start of the event in progress, from `start` in `chunk` (or after its last blank line). */
  #keep(chunk: Buffer, start: number): void {
    if (this.#oversized || start >= chunk.length) return
    this.#pendingBytes += chunk.length - Math.max(start, 0)
    if (this.#pendingBytes > MAX_EVENT_BYTES) {
      this.#drop()
      this.#oversized = true
      return
    }
    if (this.#pieces.length === 0) this.#firstStart = start
    this.#pieces.push(chunk)
  }
}

/** The closing read needs no event but those holding a closing needle. */
function nothingElse(): boolean {
  return false
}

/** Where the bytes after the last blank line of a skimmed chunk (one without CRs) start. */
function afterLastBlankLine(chunk: Buffer): number {
  const last = chunk.lastIndexOf(BLANK_LINE)
  // No blank line inside: the chunk's first byte was one, after a line end in the chunk before.
  return last !== -1 ? last + 2 : 1
}

/** An event's name (`''` when it has none) and its `data` lines joined with `\n`. */
export function parseEvent(bytes: Buffer): { name: string; data: string } {
  let text = bytes.toString('utf8')
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  let name = ''
  let data: string | undefined
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '' || line.charCodeAt(0) === 0x3a) continue
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 0x20) value = value.slice(1)
    if (field === 'data') data = data === undefined ? value : `${data}\n${value}`
    else if (field === 'event') name = value
  }
  return { name, data: data ?? '' }
}
