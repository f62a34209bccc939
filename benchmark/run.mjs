// Entry point of `npm run bench`: runs the suites below in one process and reports each target as
// PASS or MISS. Every figure is a cost (time or memory), so lower is better throughout. Progress
// goes to stderr. Flags: --json (one JSON document on stdout), --only record,drop,... (suite ids),
// --rounds N (measured rounds per suite).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { DEFAULT_OPTIONS, formatSuite, progress } from './harness.mjs'
import { dropSuite, memorySuite, recordSuite, snapshotSuite, statsSuite } from './suites.mjs'
import { callbackSuite } from './callbacks.mjs'
import { metricsSuite } from './metrics.mjs'
import { streamSuite } from './stream.mjs'
import { syncSuite } from './sync.mjs'
import { workersSuite } from './workers.mjs'
import { tapSuite } from './tap.mjs'
import { usageSuite } from './usage.mjs'
import { keysSuite } from './keys.mjs'

// Every suite run by default, in order. A suite in its own file (see harness.mjs for the shape)
// joins by being imported and listed here.
const SUITES = [recordSuite, callbackSuite, dropSuite, statsSuite, snapshotSuite, metricsSuite, memorySuite, workersSuite, streamSuite, syncSuite, tapSuite, usageSuite, keysSuite]

// The harness collects garbage between samples, which needs --expose-gc; relaunch with it.
if (typeof globalThis.gc !== 'function') {
  const self = fileURLToPath(import.meta.url)
  const child = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, self, ...process.argv.slice(2)], {
    stdio: 'inherit',
  })
  process.exit(child.status ?? 1)
}

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
  },
})

const selected = values.only ? values.only.split(',').map((id) => id.trim()) : SUITES.map((s) => s.id)
const unknown = selected.filter((id) => !SUITES.some((s) => s.id === id))
if (unknown.length > 0) {
  console.error(`unknown suite ${unknown.join(', ')}; suites are ${SUITES.map((s) => s.id).join(', ')}`)
  process.exit(2)
}
const rounds = values.rounds === undefined ? DEFAULT_OPTIONS.rounds : Number(values.rounds)
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`--rounds must be a positive integer, got ${values.rounds}`)
  process.exit(2)
}
const options = { ...DEFAULT_OPTIONS, rounds }

const NATIVE_ENTRY = new URL('../dist/index.cjs', import.meta.url)
const native = existsSync(NATIVE_ENTRY) ? createRequire(import.meta.url)(fileURLToPath(NATIVE_ENTRY)) : null

const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`

// Human-readable output goes to stdout unless --json claims it.
const say = values.json ? (text) => process.stderr.write(text) : (text) => process.stdout.write(text)
say(`iron-runtime-analytics benchmark: Node ${process.version}, ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}\n`)
if (!native) say('ours: native build not found, run npm run build\n')

const results = []
const chosen = SUITES.filter((s) => selected.includes(s.id))
const started = performance.now()
for (const [i, suite] of chosen.entries()) {
  const suiteStarted = performance.now()
  process.stderr.write(`[${i + 1}/${chosen.length}] ${suite.id}: ${suite.title} ...\n`)
  const result = await suite.run({ native, options })
  progress('')
  results.push(result)
  process.stderr.write(`[${i + 1}/${chosen.length}] ${suite.id} done in ${seconds(suiteStarted)} (${seconds(started)} so far)\n`)
  if (!values.json) say(`\n${formatSuite(result)}`)
}

const targets = results.flatMap((r) => r.targets)
const summary = {
  pass: targets.filter((t) => t.pass === true).length,
  miss: targets.filter((t) => t.pass === false).length,
  notMeasured: targets.filter((t) => t.pass === null).length,
}
if (values.json) {
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    native: native !== null,
    options,
    summary,
    suites: results,
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
} else {
  say(`\ntargets: ${summary.pass} PASS, ${summary.miss} MISS, ${summary.notMeasured} not measured\n`)
}
