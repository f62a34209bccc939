// The install path a router team takes, proven on this machine: the tarballs from `npm run pack:local`
// are published to a private registry on 127.0.0.1, then clean projects with no Rust toolchain on
// PATH install the package from it and use it from CommonJS, from an ES module, from both in one
// process (one copy of the package: classes from either entry work with the other) and from strict
// TypeScript. A second project installs without optional dependencies and must be told which
// platform package is missing. Everything lives in one temp folder, removed at the end.
import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const COMMAND_TIMEOUT_MS = 120_000
const TOTAL_TIMEOUT_MS = 240_000
const started = Date.now()

// pack-local leaves the root tarball and the one platform package built for this machine.
const artifacts = join(root, 'artifacts')
const rootFile = `${pkg.name}-${pkg.version}.tgz`
const tarballs = existsSync(artifacts) ? readdirSync(artifacts) : []
const platformFiles = tarballs.filter((f) => f !== rootFile && f.startsWith(`${pkg.name}-`) && f.endsWith(`-${pkg.version}.tgz`))
if (!tarballs.includes(rootFile) || platformFiles.length !== 1) {
  console.error('install-test: artifacts/ must hold the two tarballs of `npm run pack:local`')
  process.exit(1)
}
const rootTarball = join(artifacts, rootFile)
const platformTarball = join(artifacts, platformFiles[0])
const platformName = platformFiles[0].slice(0, -`-${pkg.version}.tgz`.length)

const work = mkdtempSync(join(tmpdir(), `${pkg.name}-install-`))
const children = new Set()
let server

// Runs on every way out, a thrown error and a timeout included.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
  server?.closeAllConnections()
  server?.close()
  rmSync(work, { recursive: true, force: true })
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130))
setTimeout(() => {
  console.error(`install-test: gave up after ${TOTAL_TIMEOUT_MS / 1000} s`)
  process.exit(1)
}, TOTAL_TIMEOUT_MS).unref()

// A consumer's machine: no cargo, rustc or rustup anywhere on PATH, no npm settings inherited from
// the `npm run` that started this script, and node itself still reachable.
function consumerEnv() {
  const env = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(npm_|cargo|rustup)/i.test(key)) env[key] = value
  }
  const hasRust = (dir) => ['cargo', 'rustc', 'rustup'].some((tool) => existsSync(join(dir, tool)))
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir && !hasRust(dir))
  env.PATH = [dirname(process.execPath), ...dirs].join(delimiter)
  return env
}

// Runs a command without blocking the event loop (the registry is served from this process).
function run(command, args, { cwd, env = process.env } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, timeout: COMMAND_TIMEOUT_MS, killSignal: 'SIGKILL' })
    children.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', (error) => {
      children.delete(child)
      resolve({ code: null, stdout, stderr: `${stderr}${error.message}` })
    })
    child.on('close', (code, signal) => {
      children.delete(child)
      const timedOut = signal === 'SIGKILL' ? `\n(killed after ${COMMAND_TIMEOUT_MS / 1000} s)` : ''
      resolve({ code, stdout, stderr: stderr + timedOut })
    })
  })
}

async function ok(command, args, options) {
  const result = await run(command, args, options)
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}${result.stderr}`)
  }
  return result
}

let passed = 0
let failed = 0
async function check(name, fn) {
  const t0 = Date.now()
  try {
    await fn()
    passed += 1
    console.log(`ok - ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
  } catch (error) {
    failed += 1
    console.log(`not ok - ${name}\n  ${String(error?.stack ?? error).replaceAll('\n', '\n  ')}`)
  }
}

async function startRegistry() {
  const dir = join(work, 'registry')
  mkdirSync(dir)
  const config = join(dir, 'config.yaml')
  writeFileSync(
    config,
    [
      `storage: ${JSON.stringify(join(dir, 'storage'))}`,
      'auth:',
      `  htpasswd: { file: ${JSON.stringify(join(dir, 'htpasswd'))}, max_users: 1 }`,
      // No uplinks: nothing is ever fetched from, or leaked to, a public registry.
      'uplinks: {}',
      'packages:',
      `  '**': { access: $all, publish: $authenticated }`,
      // JWT tokens: the default (legacy AES) tokens call crypto.createCipher, gone since Node 22.
      'security: { api: { jwt: { sign: { expiresIn: 1h } } } }',
      'web: { enable: false }',
      'max_body_size: 100mb',
      'logs: { type: stdout, format: pretty, level: error }',
      '',
    ].join('\n'),
  )
  // verdaccio 5 (the last line that installs on Node 20 without overrides) calls APIs Node has
  // since deprecated; their warnings would only bury this test's output.
  process.noDeprecation = true
  server = await require('verdaccio').runServer(config)
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const registry = `http://127.0.0.1:${server.address().port}/`
  const response = await fetch(`${registry}-/user/org.couchdb.user:install-test`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'install-test', password: 'install-test-password' }),
  })
  if (!response.ok) throw new Error(`registry refused the test user: ${response.status}`)
  const { token } = await response.json()
  const npmrc = join(work, 'npmrc')
  writeFileSync(npmrc, `//127.0.0.1:${server.address().port}/:_authToken=${token}\n`)
  return registry
}

const registry = await startRegistry()
const env = consumerEnv()
const npmFlags = [
  `--registry=${registry}`,
  `--userconfig=${join(work, 'npmrc')}`,
  `--cache=${join(work, 'npm-cache')}`,
  '--no-audit',
  '--no-fund',
  '--no-update-notifier',
]
const npm = (args, cwd) => ok('npm', [...args, ...npmFlags], { cwd, env })

function project(name) {
  const dir = join(work, name)
  mkdirSync(dir)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }))
  return dir
}

// One usage body, run from both module systems.
const usage = (resolved) => `
const pricing = new PricingManager()
const store = new EventStore(100)
store.recordLlmCompleted(pricing, 'gpt-4o', 1000, 500, 'router-a')
const stats = store.stats()
const expected = pricing.get('gpt-4o').calculateCostMicros(1000, 500)
assert.match(${resolved}, /dist[\\\\/]index\\.(cjs|mjs)$/)
assert.ok(expected > 0, 'gpt-4o is priced')
assert.equal(stats.totalRequests, 1)
assert.equal(stats.totalInputTokens, 1000)
assert.equal(stats.totalOutputTokens, 500)
assert.equal(stats.totalCostMicros, expected)
assert.equal(stats.byModel['gpt-4o'].requestCount, 1)
assert.equal(stats.byAgent['router-a'].costMicros, expected)
`

const typedUsage = `
const pricing = new PricingManager()
const store = new EventStore(100)
store.recordLlmCompleted(pricing, 'gpt-4o', 1000, 500, 'router-a', null)
const stats = store.stats()
export const requests: number = stats.totalRequests
export const cost: number = stats.totalCostMicros
export const perModel: number = stats.byModel['gpt-4o'].costMicros
// @ts-expect-error token counts are numbers, so the types are not \`any\`
store.recordLlmCompleted(pricing, 'gpt-4o', '1000', 500)
// @ts-expect-error stats have no such field
export const missing = stats.totalBananas
`

await check('no Rust toolchain on the consumer PATH', async () => {
  for (const tool of ['cargo', 'rustc', 'rustup']) {
    if (spawnSync(tool, ['--version'], { env }).error?.code !== 'ENOENT') throw new Error(`${tool} is reachable`)
  }
})

const show = ({ stdout }) => console.log(stdout.trimEnd().replace(/^/gm, '  '))
const bin = (name) => join(root, 'node_modules', '.bin', name)
await check('publint --strict on the root tarball', () => ok(bin('publint'), ['run', '--strict', rootTarball]).then(show))
await check('attw on the root tarball', () =>
  ok(bin('attw'), ['--format', 'table-flipped', '--no-color', rootTarball]).then(show),
)

await check(`publish ${platformName} and ${pkg.name} to ${registry}`, async () => {
  await npm(['publish', platformTarball], work)
  await npm(['publish', rootTarball], work)
})

const full = project('consumer')
await check(`npm install ${pkg.name} pulls in ${platformName}`, async () => {
  await npm(['install', pkg.name], full)
  const modules = join(full, 'node_modules')
  const binaries = readdirSync(join(modules, platformName)).filter((f) => f.endsWith('.node'))
  if (binaries.length !== 1) throw new Error(`${platformName} holds ${binaries.length} binaries`)
  const rootBinaries = readdirSync(join(modules, pkg.name)).filter((f) => f.endsWith('.node'))
  if (rootBinaries.length > 0) throw new Error(`${pkg.name} ships ${rootBinaries.join(', ')}`)
})

await check('require() from CommonJS', async () => {
  writeFileSync(
    join(full, 'use.cjs'),
    `const assert = require('node:assert/strict')
const { EventStore, PricingManager } = require('${pkg.name}')
${usage(`require.resolve('${pkg.name}')`)}`,
  )
  await ok(process.execPath, ['use.cjs'], { cwd: full, env })
})

await check('import from an ES module', async () => {
  writeFileSync(
    join(full, 'use.mjs'),
    `import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { EventStore, PricingManager } from '${pkg.name}'
${usage(`fileURLToPath(import.meta.resolve('${pkg.name}'))`)}`,
  )
  await ok(process.execPath, ['use.mjs'], { cwd: full, env })
})

await check('one copy: a PricingManager from require() works with an EventStore from import, and back', async () => {
  const script = join(full, 'one-copy.mjs')
  copyFileSync(join(root, '__test__', 'fixtures', 'one-copy.mjs'), script)
  const { stdout } = await ok(process.execPath, [script], { cwd: full, env })
  console.log(stdout.trimEnd().replace(/^/gm, '  '))
})

await check('tsc --strict for require (.cts) and import (.mts) consumers, and one mixing both', async () => {
  const header = `import { EventStore, PricingManager } from '${pkg.name}'\n`
  writeFileSync(join(full, 'use-types.cts'), header + typedUsage)
  writeFileSync(join(full, 'use-types.mts'), header + typedUsage)
  // PricingManager has #private fields, so its type is nominal: this compiles only if both entries
  // declare one class.
  writeFileSync(join(full, 'pricing.cts'), `import { PricingManager } from '${pkg.name}'\nexport const pricing = new PricingManager()\n`)
  writeFileSync(
    join(full, 'use-both.mts'),
    `import { EventStore } from '${pkg.name}'\nimport { pricing } from './pricing.cjs'\nnew EventStore(10).recordLlmCompleted(pricing, 'gpt-4o', 1, 1)\n`,
  )
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  await ok(
    process.execPath,
    [
      tsc,
      '--strict',
      '--noEmit',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      // A router project has Node's types; they come from this repository's node_modules.
      '--typeRoots',
      join(root, 'node_modules', '@types'),
      '--types',
      'node',
      'use-types.cts',
      'use-types.mts',
      'use-both.mts',
    ],
    { cwd: full, env },
  )
})

const bare = project('consumer-without-optional')
await check(`--omit=optional: loading names the missing ${platformName}`, async () => {
  await npm(['install', pkg.name, '--omit=optional'], bare)
  if (existsSync(join(bare, 'node_modules', platformName))) throw new Error(`${platformName} was installed anyway`)
  const probes = {
    'probe.cjs': `try { require('${pkg.name}'); console.log('loaded') } catch (e) { console.log(e.message) }`,
    'probe.mjs': `try { await import('${pkg.name}'); console.log('loaded') } catch (e) { console.log(e.message) }`,
  }
  for (const [file, source] of Object.entries(probes)) {
    writeFileSync(join(bare, file), source)
    const { stdout } = await ok(process.execPath, [file], { cwd: bare, env })
    if (!stdout.includes(platformName)) {
      throw new Error(`${file}: the error does not name ${platformName}:\n${stdout}`)
    }
    console.log(`  ${file}: ${stdout.trim().split('\n')[0]}`)
  }
})

console.log(`install test: ${passed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`)
process.exit(failed === 0 ? 0 : 1)
