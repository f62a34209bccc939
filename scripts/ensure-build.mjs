// Builds what is out of date, and nothing else: the native addon when a Rust source or the crate's
// manifest is newer than the addon (or there is none), then the facade when it is older than its
// TypeScript sources or the addon's generated types. `npm run demo`, `npm run bench` and `npm test`
// start with it, so once built they start at once (`npm run demo -- --help` included), and a
// fresh clone still gets its first build without asking.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

import { hostTarget } from './host-target.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { napi } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

const STEPS = [
  {
    script: 'build:native',
    inputs: ['src', 'Cargo.toml', 'Cargo.lock', 'build.rs'],
    // index.js and index.d.ts are regenerated with it, but they are committed: a checkout's times
    // say nothing about them. A binary put here by hand (a release artifact) counts as built.
    outputs: [`${napi.binaryName}.${hostTarget()}.node`],
  },
  {
    script: 'build:ts',
    inputs: ['lib', 'index.d.ts', 'tsup.config.ts', 'tsconfig.json'],
    outputs: ['dist/index.cjs', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts'],
  },
]

/** Modification times of a file, or of every file below a folder; none for a missing path. */
function mtimes(path) {
  const full = join(root, path)
  const stat = statSync(full, { throwIfNoEntry: false })
  if (!stat) return []
  if (!stat.isDirectory()) return [{ path, ms: stat.mtimeMs }]
  return readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const file = join(entry.parentPath ?? entry.path, entry.name)
      return { path: relative(root, file), ms: statSync(file).mtimeMs }
    })
}

/** Why a step must run, or null when every output exists and is newer than every input. */
function staleness({ inputs, outputs }) {
  const built = outputs.map((path) => ({ path, times: mtimes(path) }))
  const missing = built.find((output) => output.times.length === 0)
  if (missing) return `${missing.path} is missing`
  const oldest = Math.min(...built.map((output) => output.times[0].ms))
  const newer = inputs.flatMap(mtimes).find((input) => input.ms > oldest)
  return newer ? `${newer.path} changed since the last build` : null
}

let rebuilt = false
for (const step of STEPS) {
  // A rebuilt addon regenerates index.d.ts, which the facade's types are built from.
  const reason = rebuilt ? 'the native addon was rebuilt' : staleness(step)
  if (!reason) continue
  console.error(`ensure-build: npm run ${step.script} (${reason})`)
  const result = spawnSync('npm', ['run', step.script], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
  if (result.status !== 0) process.exit(result.status ?? 1)
  rebuilt = true
}
