// The spool under crashes and rolling restarts: child processes record and sync with a spool on
// one path; they are SIGKILLed at random moments, or replaced one by another; a last one delivers
// what is left. The reference Control API fails a share of the requests meanwhile.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type ControlApi, rows, startServer } from './helpers/control-api'

const WRITER = fileURLToPath(new URL('./workers/spool-writer.mjs', import.meta.url))
const FLUSH_MS = 100

let api: ControlApi
let folder: string

beforeEach(async () => {
  api = await startServer()
  folder = mkdtempSync(join(tmpdir(), 'sync-crash-'))
})

afterEach(async () => {
  await api.close()
  rmSync(folder, { recursive: true, force: true })
})

interface Writer {
  child: ChildProcess
  /** eventId -> ms by which it was recorded. */
  recorded: Map<string, number>
  /** Resolves with the first line that is not an event ("stopped {...}", "drained {...}"). */
  said: Promise<string>
  /** Resolves once `count` events were reported. */
  reported(count: number): Promise<void>
}

function startWriter(spoolPath: string, drain = false): Writer {
  const child = spawn(process.execPath, [WRITER, api.url, spoolPath, String(FLUSH_MS), ...(drain ? ['--drain'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] })
  const recorded = new Map<string, number>()
  const waiting: { count: number; resolve: () => void }[] = []
  let say: (line: string) => void
  const said = new Promise<string>((resolve) => (say = resolve))
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const [id, at] = line.split(' ')
    if (id === 'stopped' || id === 'drained') return say(line)
    recorded.set(id, Number(at))
    for (const wait of waiting.filter((entry) => recorded.size >= entry.count)) wait.resolve()
  })
  return {
    child,
    recorded,
    said,
    reported: (count) => new Promise((resolve) => (recorded.size >= count ? resolve() : waiting.push({ count, resolve }))),
  }
}

async function drain(spoolPath: string): Promise<string> {
  const last = startWriter(spoolPath, true)
  const said = await last.said
  await once(last.child, 'exit')
  return said
}

function storedOnce(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const row of rows(api)) counts.set(row.event_id, (counts.get(row.event_id) ?? 0) + 1)
  return counts
}

describe('the spool under crashes', () => {
  it('SIGKILL at random moments, 20 times: the server holds every event recorded more than spoolFlushMs before each kill, once', async () => {
    const spoolPath = join(folder, 'spool')
    const required = new Set<string>()
    for (let round = 0; round < 20; round++) {
      // A share of the requests fails, so that the spool, not only delivery, keeps events.
      api.faults.failNext(30 + Math.floor(Math.random() * 200), 503)
      const writer = startWriter(spoolPath)
      await writer.reported(20 + Math.floor(Math.random() * 400))
      const killedAt = Date.now()
      writer.child.kill('SIGKILL')
      await once(writer.child, 'exit')
      for (const [id, at] of writer.recorded) if (at < killedAt - FLUSH_MS) required.add(id)
    }
    api.faults.clear()
    expect(await drain(spoolPath)).toMatch(/^drained /)
    const stored = storedOnce()
    const missing = [...required].filter((id) => !stored.has(id))
    expect(missing).toEqual([])
    expect([...stored.values()].every((count) => count === 1)).toBe(true)
    // Nothing is left behind: no segment, no lock, no temporary file.
    expect(readdirSync(spoolPath)).toEqual([])
  }, 120_000)

  it('a rolling restart (two processes on one spoolPath) loses nothing and takes nothing twice', async () => {
    const spoolPath = join(folder, 'spool')
    // The server refuses everything while the old process runs: all it records is spooled.
    api.faults.failNext(1_000_000, 503)
    const old = startWriter(spoolPath)
    await old.reported(200)
    const next = startWriter(spoolPath)
    await next.reported(200)
    old.child.kill('SIGTERM')
    const stopped = JSON.parse((await old.said).slice('stopped '.length))
    await once(old.child, 'exit')
    expect(stopped.remaining).toBeGreaterThanOrEqual(200)
    expect(stopped.spooled).toBe(stopped.remaining)
    api.faults.clear()
    // The new one stops in turn; a last process takes over what both left and delivers it.
    next.child.kill('SIGTERM')
    await next.said
    await once(next.child, 'exit')
    expect(await drain(spoolPath)).toMatch(/^drained /)
    const stored = storedOnce()
    for (const id of [...old.recorded.keys(), ...next.recorded.keys()]) expect(stored.get(id), id).toBe(1)
    expect(readdirSync(spoolPath)).toEqual([])
  }, 60_000)
})
