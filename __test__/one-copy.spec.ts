import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

import { expect, test } from 'vitest'

const root = join(__dirname, '..')

// The built package (dist/), loaded by name as an application would: from inside the repository
// the name resolves through the package's own `exports` map.
test('import and require() give one copy of the package: classes from either work with the other', () => {
  const output = execFileSync(process.execPath, [join(__dirname, 'fixtures', 'one-copy.mjs')], { cwd: root, encoding: 'utf8' })
  expect(output).toContain('EventStore from import, PricingManager from require: ')
  expect(output).toContain('EventStore from require, PricingManager from import: ')
  expect(output).toMatch(/one copy: \d+ exports, the same objects from import and require\(\)/)
})
