// Records of a spool segment: one JSON object per line, appended and never rewritten.
//   {"e": <AnalyticsEvent>}   an event not yet delivered when it was written
//   {"a": ["<eventId>", ...]}  events acknowledged since; their "e" records no longer count
// A line that does not parse (a torn write at a crash, a damaged disk block) is one corrupt
// record: the lines after it are read as usual.
import { open } from 'node:fs/promises'
import { StringDecoder } from 'node:string_decoder'
import type { AnalyticsEvent } from '../events.js'
import { toProtocol012, type Protocol012Request } from '../protocol012.js'

export type SpoolRecord =
  | { kind: 'event'; event: AnalyticsEvent; wire: Protocol012Request }
  | { kind: 'acks'; ids: string[] }
  | { kind: 'corrupt' }

const CHUNK_BYTES = 64 * 1024

export function eventLine(event: AnalyticsEvent): string {
  return `{"e":${JSON.stringify(event)}}\n`
}

export function acksLine(ids: readonly string[]): string {
  return `{"a":${JSON.stringify(ids)}}\n`
}

/** Whether a line is an acknowledgement record, without parsing the events around it. */
export function isAcksLine(line: string): boolean {
  return line.startsWith('{"a":')
}

export function parseRecord(line: string): SpoolRecord {
  let record: unknown
  try {
    record = JSON.parse(line)
  } catch {
    return { kind: 'corrupt' }
  }
  if (record === null || typeof record !== 'object') return { kind: 'corrupt' }
  const { e, a } = record as { e?: unknown; a?: unknown }
  if (Array.isArray(a)) return a.every((id) => typeof id === 'string') ? { kind: 'acks', ids: a } : { kind: 'corrupt' }
  try {
    const wire = toProtocol012(e as AnalyticsEvent, '')
    // Only LLM events are ever spooled; anything else here is damage.
    return wire === undefined ? { kind: 'corrupt' } : { kind: 'event', event: e as AnalyticsEvent, wire }
  } catch {
    return { kind: 'corrupt' }
  }
}

/**
 * The lines of a file, read in chunks: never the whole file in memory. A last line without its
 * newline is yielded too (the caller's parser decides whether it is whole).
 */
export async function* lines(path: string): AsyncGenerator<string> {
  const file = await open(path, 'r')
  try {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES)
    // A character split between two chunks is joined again by the decoder.
    const decoder = new StringDecoder('utf8')
    let carry = ''
    for (;;) {
      const { bytesRead } = await file.read(chunk, 0, CHUNK_BYTES, null)
      if (bytesRead === 0) break
      const text = carry + decoder.write(chunk.subarray(0, bytesRead))
      let start = 0
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        if (end > start) yield text.slice(start, end)
        start = end + 1
      }
      carry = text.slice(start)
    }
    if (carry.length > 0) yield carry
  } finally {
    await file.close()
  }
}
