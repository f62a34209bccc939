import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(__dirname, '..')

/** The first ```ts block of a README section, run as written by a user, importing the package by name. */
function runSection(title: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const code = readme.split(`## ${title}\n`)[1].match(/```ts\n([\s\S]*?)```/)![1]
  // Inside the package (not under node_modules), it imports itself by name through its `exports` map.
  const folder = mkdtempSync(join(root, '.tmp-readme-'))
  try {
    const script = join(folder, 'section.mjs')
    writeFileSync(script, code)
    return execFileSync(process.execPath, [script], { cwd: root, encoding: 'utf8' })
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}

describe('README', () => {
  it('quick start runs as written', () => {
    const output = runSection('Quick start')
    expect(output).toContain('requests: 3, failed: 1')
    expect(output).toMatch(/gpt-4o: 1 requests, \$0\.000875/)
    expect(output).toContain('anthropic: 1200 in / 300 out')
    expect(output).toContain('5 events buffered, 3 of them to sync')
  })

  it('the budgets example refuses the request past the budget and reports each threshold once', () => {
    const output = runSection('Budgets')
    expect(output).toContain('200 200 200 429')
    expect(output).toContain('remainingMicros: 0')
    expect(output).toContain('50% 80% 100%')
  })

  it('the latency example shows the histogram and its quantiles', () => {
    const output = runSection('Latency')
    expect(output).toContain('3 560 2521.6')
    expect(output).toContain('[ 0, 2, 3 ] 1')
    expect(output).toContain('overloaded_error: 1')
  })
})
