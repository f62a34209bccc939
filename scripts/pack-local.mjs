// Packs what a release publishes for this machine into artifacts/: the root package and the host's
// platform package (npm/<target> plus its .node). scripts/install-test.mjs installs the two tarballs.
//
//   node scripts/pack-local.mjs              builds the native binary and the facade first
//   node scripts/pack-local.mjs --prebuilt   packs the .node and dist/ already there (a CI artifact,
//                                            or the build a test run is using) without rebuilding
//
// The root's optionalDependencies are pinned here as `napi pre-publish` pins them at release. The
// committed package.json leaves them out: a platform package that is not on the registry yet would
// fail `npm ci` for everyone working on this repository.
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { parseTriple } from '@napi-rs/cli'

import { hostTarget } from './host-target.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outDir = join(root, 'artifacts')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const { binaryName, targets } = pkg.napi
const prebuilt = process.argv.includes('--prebuilt')

// The files a consumer needs from the root package; the binary must come from a platform package.
const ROOT_REQUIRED = [
  'package.json',
  'README.md',
  'LICENSE',
  'index.js',
  'index.d.ts',
  'dist/index.cjs',
  'dist/index.mjs',
  'dist/index.d.ts',
  'dist/index.d.mts',
  'pricing/model_prices.json',
]

function fail(message) {
  console.error(`pack-local: ${message}`)
  process.exit(1)
}

function npm(args, { capture = false } = {}, cwd = root) {
  const result = spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
    shell: process.platform === 'win32',
  })
  if (result.status !== 0) fail(`npm ${args.join(' ')} failed in ${cwd}`)
  return result.stdout
}

// `npm pack --json` reports each packed package: its file name, size and file list.
function pack(cwd, ...flags) {
  const out = npm(['pack', '--json', '--ignore-scripts', '--pack-destination', outDir, ...flags], { capture: true }, cwd)
  return JSON.parse(out)[0]
}

// One npm/<target> package per napi target, at the root's version (`napi version` keeps them so).
const optionalDependencies = { ...pkg.optionalDependencies }
for (const triple of targets) {
  const { platformArchABI } = parseTriple(triple)
  const manifest = join(root, 'npm', platformArchABI, 'package.json')
  if (!existsSync(manifest)) fail(`npm/${platformArchABI} is missing: run \`napi create-npm-dirs\``)
  const { name, version } = JSON.parse(readFileSync(manifest, 'utf8'))
  if (name !== `${pkg.name}-${platformArchABI}` || version !== pkg.version) {
    fail(`npm/${platformArchABI} holds ${name}@${version}, the root is ${pkg.name}@${pkg.version}: run \`napi version\``)
  }
  optionalDependencies[name] = pkg.version
}

const target = hostTarget()
const nodeFile = `${binaryName}.${target}.node`
if (!Object.hasOwn(optionalDependencies, `${pkg.name}-${target}`)) fail(`${target} is not a release target`)

if (!prebuilt) npm(['run', 'build'])
if (!existsSync(join(root, nodeFile))) fail(`${nodeFile} is missing: run \`npm run build\``)

mkdirSync(outDir, { recursive: true })
for (const name of readdirSync(outDir)) {
  if (name.startsWith(`${pkg.name}-`) && name.endsWith('.tgz')) rmSync(join(outDir, name))
}

// Both packages are packed from staged copies: the committed npm/<target> directory never holds a
// binary, and the committed package.json keeps its optionalDependencies as they are.
const staged = (fill) => {
  const stage = mkdtempSync(join(tmpdir(), `${pkg.name}-pack-`))
  try {
    fill(stage)
    return pack(stage)
  } finally {
    rmSync(stage, { recursive: true, force: true })
  }
}
const copy = (from, to, file) => {
  mkdirSync(dirname(join(to, file)), { recursive: true })
  copyFileSync(join(from, file), join(to, file))
}

const platformEntry = staged((stage) => {
  for (const file of readdirSync(join(root, 'npm', target))) copy(join(root, 'npm', target), stage, file)
  copy(root, stage, nodeFile)
})
const rootEntry = staged((stage) => {
  for (const { path } of pack(root, '--dry-run').files) copy(root, stage, path)
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify({ ...pkg, optionalDependencies }, null, 2)}\n`)
})

const nodeFiles = platformEntry.files.map((f) => f.path).filter((f) => f.endsWith('.node'))
if (nodeFiles.length !== 1 || nodeFiles[0] !== nodeFile) {
  fail(`${platformEntry.filename} must hold exactly ${nodeFile}, holds: ${nodeFiles.join(', ') || 'none'}`)
}
const rootFiles = rootEntry.files.map((f) => f.path)
const missing = ROOT_REQUIRED.filter((f) => !rootFiles.includes(f))
if (missing.length > 0) fail(`${rootEntry.filename} lacks ${missing.join(', ')}`)
const binaries = rootFiles.filter((f) => f.endsWith('.node'))
if (binaries.length > 0) fail(`${rootEntry.filename} must not ship a binary, ships ${binaries.join(', ')}`)

for (const entry of [rootEntry, platformEntry]) {
  const kib = (entry.size / 1024).toFixed(1)
  console.log(`artifacts/${entry.filename}  ${kib} KiB packed, ${entry.files.length} files`)
}
