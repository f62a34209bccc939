// Who writes which files of a spool directory, and whether that writer is still there.
//
// Each writer (one client in one process) has a random id and owns `<id>.lock` and its segments
// `<id>-<n>.seg`. The lock holds the writer's pid and that process's start time, so a pid reused
// by another process (a restarted container's pid 1) is not taken for the old writer. A writer
// that stops with events left marks its lock released. A writer that is gone or released is
// taken over by renaming its lock to `<id>.claim.<taker>`: a rename succeeds for one taker only.
import { randomBytes } from 'node:crypto'
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const LOCK = /^(w[0-9a-f]{16})\.lock$/
const CLAIM = /^(w[0-9a-f]{16})\.claim\.(w[0-9a-f]{16})$/
const SEGMENT = /^(w[0-9a-f]{16})-(\d+)\.seg$/
const TEMPORARY = /^(w[0-9a-f]{16})\..*\.tmp$/

interface LockContent {
  pid?: number
  start?: string
  released?: boolean
}

export function newWriterId(): string {
  return `w${randomBytes(8).toString('hex')}`
}

export function lockName(writer: string): string {
  return `${writer}.lock`
}

export function segmentName(writer: string, n: number): string {
  return `${writer}-${n}.seg`
}

/** The segments of `writer` among `names`, oldest first. */
export function segmentsOf(writer: string, names: readonly string[]): { name: string; n: number }[] {
  const found: { name: string; n: number }[] = []
  for (const name of names) {
    const match = SEGMENT.exec(name)
    if (match && match[1] === writer) found.push({ name, n: Number(match[2]) })
  }
  return found.sort((a, b) => a.n - b.n)
}

/** The start time of a process, from /proc where there is one; undefined elsewhere. */
function startOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Field 22, counted after the command name, which may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

function isRunning(pid: number, start: string | undefined): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  return start === undefined || startOf(pid) === undefined || startOf(pid) === start
}

function readLock(path: string): LockContent | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockContent
  } catch {
    return undefined
  }
}

/** Writes `<writer>.lock` atomically (a temporary file renamed over it). */
export function writeLock(dir: string, writer: string, released: boolean): void {
  const content: LockContent = released ? { released: true } : { pid: process.pid, start: startOf(process.pid) }
  const temporary = join(dir, `${writer}.lock.tmp`)
  writeFileSync(temporary, JSON.stringify(content), { mode: 0o600 })
  renameSync(temporary, join(dir, lockName(writer)))
}

/** Whether the writer holding this lock (or claim) file is gone or has released it. */
function isGone(dir: string, lockFile: string, holder: string, names: ReadonlySet<string>): boolean {
  if (lockFile.endsWith('.lock')) {
    const lock = readLock(join(dir, lockFile))
    // A lock that cannot be read was torn by a crash while it was written: its writer is gone.
    if (lock === undefined || lock.released) return true
    return lock.pid === undefined || !isRunning(lock.pid, lock.start)
  }
  // A claim is held as long as its taker's own lock is.
  const takerLock = lockName(holder)
  return !names.has(takerLock) || isGone(dir, takerLock, holder, names)
}

/**
 * Takes over every writer of `dir` that is gone: renames its lock (or a gone taker's claim) to a
 * claim of `taker`, and returns the writers now claimed. Temporary files of gone writers are removed.
 */
export function claimGoneWriters(dir: string, taker: string, names: readonly string[]): string[] {
  const present = new Set(names)
  const claimed: string[] = []
  for (const name of names) {
    const lock = LOCK.exec(name)
    const claim = CLAIM.exec(name)
    const writer = lock?.[1] ?? claim?.[1]
    if (writer === undefined || writer === taker) continue
    const holder = lock ? writer : claim![2]
    if (holder === taker || !isGone(dir, name, holder, present)) continue
    try {
      renameSync(join(dir, name), join(dir, `${writer}.claim.${taker}`))
      claimed.push(writer)
    } catch {
      // Another process took it first.
    }
  }
  for (const name of names) {
    const temporary = TEMPORARY.exec(name)
    const writer = temporary?.[1]
    if (writer && writer !== taker && (!present.has(lockName(writer)) || claimed.includes(writer))) rmSync(join(dir, name), { force: true })
  }
  return claimed
}

export function releaseClaim(dir: string, writer: string, taker: string): void {
  rmSync(join(dir, `${writer}.claim.${taker}`), { force: true })
}
