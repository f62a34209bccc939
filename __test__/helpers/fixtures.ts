import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export { seededRandom } from '../../examples/support.mjs'

const FOLDER = join(__dirname, '..', 'fixtures')

/** A fixture's text, as written (`\n` line ends). */
export function fixture(name: string): string {
  return readFileSync(join(FOLDER, name), 'utf8')
}

export function fixtureJson(name: string): Record<string, unknown> {
  return JSON.parse(fixture(name))
}

/** The line ends an SSE stream may use; fixtures are written with `\n`. */
export const LINE_ENDS = { LF: '\n', CRLF: '\r\n', CR: '\r' } as const

export function withLineEnds(text: string, end: string): Buffer {
  return Buffer.from(text.replaceAll('\n', end), 'utf8')
}

/** `bytes` cut at random offsets into pieces of 1 to `maxPiece` bytes. */
export function randomPieces(bytes: Buffer, random: () => number, maxPiece: number): Buffer[] {
  const pieces: Buffer[] = []
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(random() * maxPiece)
    pieces.push(bytes.subarray(at, at + size))
    at += size
  }
  return pieces
}
