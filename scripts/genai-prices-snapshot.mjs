// The pricing data the default table is generated from: a snapshot of the Python package
// genai-prices (on PyPI, newer than the npm package @pydantic/genai-prices), exported by
// scripts/export-genai-prices.py into the Provider[] form the JavaScript library reads, and
// committed as pricing/genai-prices.json so that generation and the tests need neither Python nor
// the network.
//
// loadSnapshot() makes the JavaScript library price from the snapshot instead of its own bundled
// data. refreshSnapshot() exports a pinned version of the Python package in a temporary virtual
// environment, then checks, call by call, that the JavaScript library prices the exported data
// exactly as the Python library prices its own, before the snapshot replaces the committed one.
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { calcPrice, updatePrices, waitForUpdate } from '@pydantic/genai-prices'

const scriptsDir = dirname(fileURLToPath(import.meta.url))
export const SNAPSHOT_PATH = join(scriptsDir, '..', 'pricing', 'genai-prices.json')

/** Reads a snapshot and makes @pydantic/genai-prices price from it; returns its package and version. */
export async function loadSnapshot(path = SNAPSHOT_PATH) {
  const snapshot = JSON.parse(readFileSync(path, 'utf8'))
  if (snapshot.package !== 'genai-prices' || typeof snapshot.version !== 'string' || !Array.isArray(snapshot.providers)) {
    throw new Error(`${path} is not a genai-prices snapshot`)
  }
  updatePrices(({ setProviderData }) => setProviderData(snapshot.providers))
  const active = await waitForUpdate()
  if (active?.length !== snapshot.providers.length) throw new Error(`@pydantic/genai-prices did not take the data of ${path}`)
  return { package: snapshot.package, version: snapshot.version }
}

// Both libraries add the same prices in floating point (JavaScript) or decimal (Python): they may
// differ in the last bits of a double, never by more.
const RELATIVE_TOLERANCE = 1e-12

/**
 * Replays the calls the Python library priced (written by export-genai-prices.py --reference)
 * with the JavaScript library on the loaded snapshot; throws on the first disagreement.
 */
function crossCheck(referencePath) {
  const calls = JSON.parse(readFileSync(referencePath, 'utf8'))
  let largest = 0
  let priced = 0
  for (const call of calls) {
    const what = `${call.provider ?? 'any provider'} ${call.model} at ${call.timestamp} ${JSON.stringify(call.usage)}`
    let result
    try {
      result = calcPrice(call.usage, call.model, { providerId: call.provider ?? undefined, timestamp: new Date(call.timestamp) })
    } catch (error) {
      result = { error }
    }
    const failed = result === null || result.error !== undefined
    if (failed !== (call.error !== undefined)) {
      throw new Error(`${what}: genai-prices ${call.error ?? 'prices it'}, @pydantic/genai-prices ${result?.error ?? (result === null ? 'finds no model' : 'prices it')}`)
    }
    if (failed) continue
    if (result.provider.id !== call.provider_id || result.model.id !== call.model_id) {
      throw new Error(
        `${what}: genai-prices picks ${call.provider_id} ${call.model_id}, @pydantic/genai-prices ${result.provider.id} ${result.model.id}`,
      )
    }
    for (const part of ['input_price', 'output_price', 'total_price']) {
      const difference = Math.abs(result[part] - Number(call[part]))
      if (difference > RELATIVE_TOLERANCE * Math.max(1, Math.abs(Number(call[part])))) {
        throw new Error(`${what}: ${part} is ${call[part]} in genai-prices, ${result[part]} in @pydantic/genai-prices`)
      }
      largest = Math.max(largest, difference)
    }
    priced += 1
  }
  return { calls: calls.length, priced, largestMicros: largest * 1e6 }
}

/** The genai-prices version the committed snapshot holds: the one a refresh installs unless told otherwise. */
export function pinnedVersion() {
  return JSON.parse(readFileSync(SNAPSHOT_PATH, 'utf8')).version
}

/**
 * Exports genai-prices `version` from PyPI into the committed snapshot, cross-checked on calls made
 * on `asOfDay`, for every stated model name and each name of the file `namesPath`.
 */
export async function refreshSnapshot(version, asOfDay, namesPath) {
  if (!/^\d+(\.\d+)*$/.test(version)) throw new Error(`the genai-prices version must look like 0.2.3, got ${version}`)
  const dir = mkdtempSync(join(tmpdir(), 'genai-prices-'))
  try {
    const python = join(dir, 'venv', 'bin', 'python')
    execFileSync(process.env.PYTHON ?? 'python3', ['-m', 'venv', join(dir, 'venv')], { stdio: 'inherit' })
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `genai-prices==${version}`], { stdio: 'inherit' })
    const snapshot = join(dir, 'genai-prices.json')
    const reference = join(dir, 'reference.json')
    execFileSync(python, [join(scriptsDir, 'export-genai-prices.py'), '--out', snapshot, '--reference', reference, '--as-of', asOfDay, '--names', namesPath], {
      stdio: 'inherit',
    })
    await loadSnapshot(snapshot)
    const { calls, priced, largestMicros } = crossCheck(reference)
    console.log(
      `genai-prices ${version}: @pydantic/genai-prices prices all ${calls} calls as genai-prices does ` +
        `(${priced} priced, ${calls - priced} refused by both); largest difference ${largestMicros.toExponential(2)} micros`,
    )
    copyFileSync(snapshot, SNAPSHOT_PATH)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
