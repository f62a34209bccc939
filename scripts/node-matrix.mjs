// `npm run test:matrix`: the whole vitest suite on the system Node, then on each maintained Node
// line; at the end, one summary line per Node version and a total. `npm run test:matrix` first builds
// what is out of date; run directly, the script needs a build.
//
//   node scripts/node-matrix.mjs          the system Node, then Node 22, 24 and 26
//   node scripts/node-matrix.mjs 24 26    only those lines
//
// Each line's Node comes from the npm registry as the package node-<platform>-<arch>@<major> (the
// official build: bin/node and the headers under include/node), unpacked once into a cache outside
// the clone and reused on later runs without asking the registry again. The addon of this package
// is Node-API and loads on every line as built; better-sqlite3 (the reference Control API's
// database, a dev dependency) is compiled per Node ABI, so each line gets its own build of it in
// the same cache, made with node-gyp against that line's headers, and the suite is pointed at it
// through BETTER_SQLITE3_BINDING (see examples/control-api/database.mjs).
import { spawnSync } from 'node:child_process'
import { accessSync, constants, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { availableParallelism, homedir, tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const LINES = [22, 24, 26]
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const VITEST = join(root, 'node_modules', 'vitest', 'vitest.mjs')
const SQLITE_DIR = join(root, 'node_modules', 'better-sqlite3')
// What node-gyp needs of better-sqlite3 to compile it.
const SQLITE_SOURCES = ['binding.gyp', 'src', 'deps', 'package.json']

function fail(message) {
  console.error(`node-matrix: ${message}`)
  process.exit(2)
}

function seconds(since) {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`
}

/** Runs a command to completion; its output is kept, and shown only if it fails. */
function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options })
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}`.trimEnd()
    fail(`${command} ${args.join(' ')} exited ${result.status ?? result.signal}\n${output.split('\n').slice(-40).join('\n')}`)
  }
  return result.stdout
}

/** /var/cache/iron-runtime-analytics where it can be written, else the user's cache folder. */
function cacheRoot() {
  const system = '/var/cache/iron-runtime-analytics'
  try {
    mkdirSync(system, { recursive: true })
    accessSync(system, constants.W_OK)
    return system
  } catch {
    return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'iron-runtime-analytics')
  }
}

/** Fills `dir` by a `fill(staging)` into a sibling folder renamed into place, so a run stopped halfway leaves nothing that looks done. */
function fillAtomically(dir, fill) {
  mkdirSync(dirname(dir), { recursive: true })
  const staging = mkdtempSync(`${dir}.partial-`)
  try {
    fill(staging)
    rmSync(dir, { recursive: true, force: true })
    renameSync(staging, dir)
  } finally {
    rmSync(staging, { recursive: true, force: true })
  }
}

function versionOf(node) {
  const result = spawnSync(node, ['--version'], { encoding: 'utf8' })
  return result.status === 0 ? result.stdout.trim() : null
}

/** The cached Node of one major line, fetched from the registry the first time. */
function nodeOfLine(cache, major) {
  const dir = join(cache, 'node', String(major))
  const node = join(dir, 'bin', 'node')
  const cached = versionOf(node)
  if (cached?.startsWith(`v${major}.`)) return { dir, node, version: cached }

  const spec = `node-${process.platform}-${process.arch}@${major}`
  const started = performance.now()
  fillAtomically(dir, (staging) => {
    const packed = JSON.parse(run('npm', ['pack', spec, '--json', '--pack-destination', staging]))
    const tarball = join(staging, packed[0].filename)
    run('tar', ['-xzf', tarball, '-C', staging, '--strip-components=1'])
    rmSync(tarball)
  })
  const version = versionOf(node)
  if (!version?.startsWith(`v${major}.`)) fail(`${spec} did not give a Node ${major} at ${node}`)
  console.log(`node-matrix: fetched ${spec} (${version}) into ${dir} in ${seconds(started)}`)
  return { dir, node, version }
}

/** npm's own copy of node-gyp: `npm run` names it; otherwise it sits in npm's global folder. */
function nodeGyp() {
  const named = process.env.npm_config_node_gyp
  if (named && existsSync(named)) return named
  const bundled = join(run('npm', ['root', '-g']).trim(), 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')
  if (!existsSync(bundled)) fail(`node-gyp not found (looked for ${bundled})`)
  return bundled
}

/** better-sqlite3 compiled for one Node line's ABI, built the first time. */
function sqliteFor(cache, line) {
  const abi = run(line.node, ['-p', 'process.versions.modules']).trim()
  const { version } = JSON.parse(readFileSync(join(SQLITE_DIR, 'package.json'), 'utf8'))
  const dir = join(cache, 'better-sqlite3', `${version}-node-abi${abi}`)
  const binding = join(dir, 'better_sqlite3.node')
  if (existsSync(binding)) return binding

  const started = performance.now()
  fillAtomically(dir, (staging) => {
    const build = join(staging, 'source')
    for (const entry of SQLITE_SOURCES) cpSync(join(SQLITE_DIR, entry), join(build, entry), { recursive: true })
    run(line.node, [nodeGyp(), 'rebuild', '--release', `--nodedir=${line.dir}`, `--jobs=${availableParallelism()}`], {
      cwd: build,
      env: { ...process.env, PATH: `${join(line.dir, 'bin')}${delimiter}${process.env.PATH}` },
    })
    cpSync(join(build, 'build', 'Release', 'better_sqlite3.node'), join(staging, 'better_sqlite3.node'))
    rmSync(build, { recursive: true })
  })
  console.log(`node-matrix: built better-sqlite3 ${version} for Node ABI ${abi} in ${seconds(started)}`)
  return binding
}

/** Each failed test or file of a vitest JSON report, with the first line of why, for the closing summary. */
function failuresIn(report) {
  const failures = []
  for (const file of report.testResults) {
    const path = file.name.startsWith(root) ? file.name.slice(root.length + 1) : file.name
    const tests = file.assertionResults.filter((test) => test.status === 'failed')
    for (const test of tests) failures.push(`${path} > ${test.fullName}: ${firstLine(test.failureMessages[0])}`)
    if (tests.length === 0 && file.status === 'failed') failures.push(`${path}: ${firstLine(file.message)}`)
  }
  return failures
}

function firstLine(text) {
  return (text ?? '').trim().split('\n')[0]
}

/** The whole suite under one Node; resolves to its counts from vitest's JSON report. */
function suite(version, label, node, env) {
  console.log(`\n== ${label}: vitest run, whole suite ==`)
  const report = join(mkdtempSync(join(tmpdir(), 'node-matrix-')), 'report.json')
  const started = performance.now()
  try {
    const result = spawnSync(node, [VITEST, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`], {
      cwd: root,
      stdio: 'inherit',
      env,
    })
    const time = seconds(started)
    const counts = existsSync(report) ? JSON.parse(readFileSync(report, 'utf8')) : null
    const passed = counts?.numPassedTests ?? 0
    // A file that failed to load has no failed test in it; vitest's exit code counts it.
    const failed = counts ? counts.numFailedTests + (result.status !== 0 && counts.numFailedTests === 0 ? 1 : 0) : 1
    const skipped = counts ? counts.numPendingTests + counts.numTodoTests : 0
    console.log(`== ${label}: whole suite in ${time}, vitest exited ${result.status ?? result.signal} ==`)
    return { version, label, passed, failed, skipped, time, failures: counts ? failuresIn(counts) : [] }
  } finally {
    rmSync(dirname(report), { recursive: true, force: true })
  }
}

const requested = process.argv.slice(2).map(Number)
if (requested.some((major) => !Number.isInteger(major) || major < 20)) {
  fail(`arguments are Node major lines (e.g. 22 24), got ${process.argv.slice(2).join(' ')}`)
}
if (!['linux', 'darwin'].includes(process.platform)) fail(`the registry's node-* packages are used on Linux and macOS only, not ${process.platform}`)
if (!existsSync(join(root, 'dist', 'index.cjs'))) fail('dist/ is missing: run `npm run build` first')

const cache = cacheRoot()
const results = []
if (requested.length === 0) results.push(suite(process.version, `Node ${process.version} (system)`, process.execPath, process.env))
for (const major of requested.length > 0 ? requested : LINES) {
  const line = nodeOfLine(cache, major)
  const env = {
    ...process.env,
    // Child processes the tests start with plain `node` (npm's own shebang included) use this line too.
    PATH: `${join(line.dir, 'bin')}${delimiter}${process.env.PATH}`,
    BETTER_SQLITE3_BINDING: sqliteFor(cache, line),
  }
  results.push(suite(line.version, `Node ${line.version}`, line.node, env))
}

console.log(`\nNode matrix (cache: ${cache}):`)
for (const r of results) console.log(`  ${r.label.padEnd(26)} ${r.time.padStart(8)}`)
for (const r of results) {
  console.log(`${r.version}: ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}`)
  for (const failure of r.failures) console.log(`  failed: ${failure}`)
}
const total = (key) => results.reduce((sum, r) => sum + r[key], 0)
const skipped = total('skipped')
console.log(`total: ${total('passed')} passed, ${total('failed')} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(results.every((r) => r.failed === 0) ? 0 : 1)
