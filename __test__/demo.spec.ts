// `npm run demo`, end to end: the demo runs as a user runs it, in its own process, against the
// built package (dist/, which CI builds before the tests; this file builds nothing).
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(__dirname, '..')
const DEMO = join(root, 'examples', 'demo.mjs')
const LIMIT_MS = 25_000

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function runDemo(args: string[]): Promise<Run> {
  if (!existsSync(join(root, 'dist', 'index.mjs'))) throw new Error('dist/index.mjs is missing: run npm run build')
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEMO, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const limit = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the demo was still running after ${LIMIT_MS} ms:\n${stdout}\n${stderr}`))
    }, LIMIT_MS)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(limit)
      resolve({ code, stdout, stderr })
    })
  })
}

describe('npm run demo', () => {
  it('routes 200 requests end to end and reconciles them with the Control API', async () => {
    const run = await runDemo(['--requests', '200'])
    expect(run.code, run.stdout + run.stderr).toBe(0)
    expect(run.stdout).toMatch(/^Reconciliation: OK: 200 LLM events recorded = 200 rows in the Control API, per agent too/m)
    expect(run.stdout).toMatch(/^By model/m)
    expect(run.stdout).toMatch(/^By provider/m)
    expect(run.stdout).toMatch(/^By agent/m)
    expect(run.stdout).toMatch(/^Sync \(SyncClient\.metrics\(\)/m)
    expect(run.stdout).toMatch(/^ {2}llama-3\.1-8b-q4-local +unknown +not in the table/m)
    expect(run.stdout).toMatch(/^Left in the agents' buffers: 4 router_started, .*4 router_stopped/m)
    // Not a terminal: plain progress lines, no bar.
    expect(run.stderr).toMatch(/^progress: 200\/200 requests \(100%\)/m)
  })

  it('--help documents every option the demo accepts', async () => {
    const run = await runDemo(['--help'])
    expect(run.code).toBe(0)
    const flags = [...readFileSync(DEMO, 'utf8').matchAll(/flag: '(--[a-z-]+)'/g)].map((match) => match[1])
    expect(flags).toEqual(expect.arrayContaining(['--requests', '--concurrency', '--help']))
    for (const flag of flags) expect(run.stdout).toMatch(new RegExp(`^ {2}${flag}\\b.*\\S`, 'm'))
  })

  it('refuses an unknown option with exit code 2 and the usage', async () => {
    const run = await runDemo(['--requests', '200', '--no-such-option'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('unknown option --no-such-option')
    expect(run.stderr).toContain('Usage: npm run demo')
  })
})
