// Running a snippet in a separate Node process against the built package (dist/index.cjs).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const ENTRY = fileURLToPath(new URL('../../dist/index.cjs', import.meta.url))
const EXPORTS = ['EventStore', 'PricingManager', 'SyncClient', 'SyncConfig']

/**
 * Runs `body` (CommonJS, with the package's EventStore, PricingManager, SyncClient and SyncConfig
 * in scope) in a child process, and resolves once that process has exited by itself with code 0.
 * A child still alive after `limitMs` is killed and the promise rejects.
 */
export async function exitsOnItsOwn(body: string, env: Record<string, string> = {}, limitMs = 10_000): Promise<void> {
  if (!existsSync(ENTRY)) throw new Error('dist/index.cjs is missing: run npm run build')
  const script = `
    const pkg = require(${JSON.stringify(ENTRY)})
    for (const name of ${JSON.stringify(EXPORTS)}) {
      if (!pkg[name]) throw new Error(name + ' is not exported by dist/index.cjs: run npm run build')
    }
    const { ${EXPORTS.join(', ')} } = pkg
    ${body}
  `
  const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const limit = setTimeout(() => child.kill('SIGKILL'), limitMs)
  const [code, signal] = await once(child, 'exit')
  clearTimeout(limit)
  if (signal === 'SIGKILL') throw new Error(`the child process was still running after ${limitMs} ms`)
  if (code !== 0) throw new Error(`the child process exited with code ${code}: ${stderr}`)
}
