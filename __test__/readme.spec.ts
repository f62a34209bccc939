import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(__dirname, '..')

/** The README's quick start, exactly as written, run as a user would: importing the package by name. */
describe('README', () => {
  it('quick start runs as written', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const quickStart = readme.split('## Quick start')[1].match(/```ts\n([\s\S]*?)```/)![1]
    // Inside the package (not under node_modules), it imports itself by name through its `exports` map.
    const folder = mkdtempSync(join(root, '.tmp-quick-start-'))
    try {
      const script = join(folder, 'quick-start.mjs')
      writeFileSync(script, quickStart)
      const output = execFileSync(process.execPath, [script], { cwd: root, encoding: 'utf8' })
      expect(output).toContain('requests: 3, failed: 1')
      expect(output).toMatch(/gpt-4o: 1 requests, \$0\.000875/)
      expect(output).toContain('anthropic: 1200 in / 300 out')
      expect(output).toContain('5 events buffered, 3 of them to sync')
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })
})
