// The spool: events that stop() could not deliver, kept on disk for the next start() on the path.
// It holds events, not wire requests, so the IC token is never written to disk.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import type { AnalyticsEvent } from '../events.js'

const FORMAT = 'iron-runtime-analytics/spool'
const VERSION = 1

/**
 * The events of the spool at `path`; none when there is no spool. A spool that cannot be read is
 * moved aside to `<path>.corrupt` (never deleted) and reported through the thrown error.
 */
export function readSpool(path: string): AnalyticsEvent[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  try {
    const spool = JSON.parse(text)
    if (spool?.format !== FORMAT || spool.version !== VERSION || !Array.isArray(spool.events)) {
      throw new Error('not a spool of this package')
    }
    return spool.events
  } catch (error) {
    renameSync(path, `${path}.corrupt`)
    throw new Error(`the spool could not be read and was moved to ${path}.corrupt: ${(error as Error).message}`)
  }
}

/** Replaces the spool at `path` atomically: a crash leaves the old spool or the new one, whole. */
export function writeSpool(path: string, events: readonly AnalyticsEvent[]): void {
  const temporary = `${path}.${process.pid}.tmp`
  const fd = openSync(temporary, 'w', 0o600)
  try {
    writeSync(fd, JSON.stringify({ format: FORMAT, version: VERSION, events }))
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(temporary, path)
}

export function removeSpool(path: string): void {
  rmSync(path, { force: true })
}
