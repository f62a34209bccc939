// The real Control API (iron_control_api_server 0.4.0) for the interop tests. It binds 0.0.0.0
// whatever it is asked, so it is only ever started inside a private network namespace (see
// __test__/workers/interop.mjs); nothing here may run outside one.
import { spawn } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const BINARY = '/var/cache/iron-runtime-analytics/control-api/bin/iron_control_api_server'
const ADMIN = { email: 'admin@ironcage.ai', password: 'IronDemo2025!' }

export function binaryPresent() {
  return existsSync(BINARY)
}

const INTEROP = fileURLToPath(new URL('../workers/interop.mjs', import.meta.url))

/**
 * Runs `workers/interop.mjs` with `args` in a private network namespace with its loopback up, and
 * resolves once it exits with its exit code and what it printed.
 */
export async function runInterop(args) {
  const child = spawn('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, INTEROP, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const [code] = await once(child, 'exit')
  return { code, stdout, stderr }
}

/** The server's secrets for one test run; IC_TOKEN_SECRET signs the IC tokens. */
export function secretsFor(dir) {
  return {
    SERVER_PORT: '3001',
    ALLOWED_ORIGINS: 'http://127.0.0.1',
    IRON_SECRETS_MASTER_KEY: randomBytes(32).toString('base64'),
    DATABASE_URL: `sqlite://${join(dir, 'control-api.sqlite')}?mode=rwc`,
    JWT_SECRET: randomBytes(32).toString('hex'),
    IC_TOKEN_SECRET: randomBytes(32).toString('hex'),
    IP_TOKEN_KEY: randomBytes(32).toString('hex'),
    // Development mode wipes the database at every start; a restart must keep it.
    IRON_DEPLOYMENT_MODE: 'production',
    ENABLE_DEMO_SEED: 'true',
  }
}

export function databasePath(secrets) {
  return new URL(secrets.DATABASE_URL.replace(/^sqlite:/, 'file:')).pathname
}

/** Starts the server with these secrets (the database survives a restart) and waits until it answers. */
export async function startServer(secrets) {
  const child = spawn(BINARY, [], { env: { ...process.env, ...secrets, RUST_LOG: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)))
  const url = `http://127.0.0.1:${secrets.SERVER_PORT}`
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`iron_control_api_server exited with ${child.exitCode}: ${stderr}`)
    try {
      if ((await fetch(`${url}/api/health`)).ok) break
    } catch {
      if (attempt > 300) throw new Error(`iron_control_api_server did not answer: ${stderr}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    url,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill(signal)
      await once(child, 'exit')
    },
  }
}

async function call(url, path, { token, body, method = 'POST' } = {}) {
  const response = await fetch(url + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`)
  return JSON.parse(text)
}

/**
 * Signs in as the seeded admin, creates a second agent, and issues an IC token for each:
 * `{ 1: token, 2: token }` (agent ids are the server's).
 */
export async function agentTokens(url) {
  const { user_token: admin } = await call(url, '/api/v1/auth/login', { body: ADMIN })
  const second = await call(url, '/api/v1/agents', {
    token: admin,
    body: { name: 'interop-second', providers: ['openai'], provider_key_id: 1, initial_budget_microdollars: 1_000_000 },
  })
  const tokens = {}
  for (const id of [1, second.id]) tokens[id] = (await call(url, `/api/v1/agents/${id}/ic-token/regenerate`, { token: admin })).ic_token
  return tokens
}

/** An IC token signed with the server's secret (HS256) for any agent_id, e.g. one that is not numeric. */
export function signIcToken(secret, agentId) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const claims = {
    agent_id: agentId,
    budget_id: 'budget_interop',
    iat: Math.floor(Date.now() / 1000),
    iss: 'iron-control-panel',
    permissions: ['llm:call', 'analytics:write'],
  }
  const unsigned = `${part({ typ: 'JWT', alg: 'HS256' })}.${part(claims)}`
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`
}
