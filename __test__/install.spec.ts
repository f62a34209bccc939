import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

import { expect, test } from 'vitest'

const root = join(__dirname, '..')

function script(file: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [join(root, 'scripts', file), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 270_000,
  })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

// Packs the build this test run uses (no rebuild: other specs load dist/ meanwhile), publishes it
// to a registry on 127.0.0.1 and installs it into clean projects without Rust: see
// scripts/install-test.mjs, which spawns npm directly and so does not run on Windows.
test.skipIf(process.platform === 'win32')('the packed package installs from a registry and works without Rust', () => {
  const pack = script('pack-local.mjs', '--prebuilt')
  expect(pack.status, pack.output).toBe(0)
  const install = script('install-test.mjs')
  expect(install.status, install.output).toBe(0)
}, 300_000)
