// Runs sync scenarios against the real Control API inside a private network namespace, and
// prints one JSON line: for each scenario, what was recorded, what the server's database holds
// for those events, and what the client said. The assertions are the test's (interop.spec.ts).
//   unshare --net sh -c 'ip link set lo up && exec node interop.mjs DIR [--rate N]'
import { mkdtempSync } from 'node:fs'
import { join } from 'node:path'
import { openSqlite } from '../../examples/control-api/database.mjs'
import { EventStore, PricingManager, SyncClient, SyncConfig } from '../../dist/index.mjs'
import { agentTokens, databasePath, secretsFor, signIcToken, startServer } from '../helpers/real-control-api.mjs'

const [dir = mkdtempSync('/tmp/interop-'), flag, rateCount] = process.argv.slice(2)
const pricing = new PricingManager()
const secrets = secretsFor(dir)
let server = await startServer(secrets)
const tokens = await agentTokens(server.url)
const [first, second] = Object.keys(tokens).map(Number)
const db = openSqlite(databasePath(secrets), { readonly: true })

const config = (token) => new SyncConfig(server.url, token).withInterval(60_000).withBatchThreshold(100_000).withRetryDelay(5).withMaxRetryDelay(50).withTimeout(5_000)
const llm = (store) => store.snapshotEvents().filter((event) => event.type.startsWith('llm_'))

function rowsFor(events) {
  const select = db.prepare('SELECT * FROM analytics_events WHERE event_id = ?')
  return events.flatMap((event) => select.all(event.eventId))
}

/** Runs rounds until `done()` or `rounds` rounds; every round is awaited, so no time is guessed. */
async function syncUntil(client, done, rounds = 200) {
  for (let i = 0; i < rounds && !done(); i++) await client.syncEvents()
}

function recordMix(store, count, agentId) {
  for (let i = 0; i < count; i++) {
    if (i % 5 === 4) store.recordLlmFailed('claude-3-5-sonnet-20241022', agentId, i % 2 ? 'anthropic-eu' : undefined, 'overloaded', `upstream said no ${i} ✓`)
    else if (i % 5 === 3) store.recordLlmCompletedWithProvider(pricing, 'house-model', 'unknown', 10 + i, 3, agentId)
    else store.recordLlmCompleted(pricing, i % 2 ? 'gpt-4o' : 'claude-3-haiku-20240307', 100 + i, 20 + i, agentId, i % 3 ? 'openai-us' : undefined)
  }
}

async function fields() {
  const store = new EventStore()
  recordMix(store, 200, 'router-a')
  store.recordRouterStarted(8080)
  const recorded = llm(store)
  const client = new SyncClient(store, config(tokens[first]))
  await syncUntil(client, () => store.len() === 1)
  return { recorded, rows: rowsFor(recorded), metrics: client.metrics(), left: store.len() }
}

async function fixedToken(badToken) {
  const store = new EventStore()
  recordMix(store, 20)
  const recorded = llm(store)
  const settings = config(badToken)
  const client = new SyncClient(store, settings)
  const refused = await client.syncEvents()
  const whileRefused = { refused, metrics: client.metrics(), kept: store.len(), rows: rowsFor(recorded).length }
  settings.icToken = tokens[first]
  await syncUntil(client, () => store.len() === 0)
  return { recorded, rows: rowsFor(recorded), whileRefused, metrics: client.metrics(), left: store.len() }
}

async function restart() {
  const store = new EventStore()
  recordMix(store, 1000)
  const recorded = llm(store)
  const client = new SyncClient(store, config(tokens[first]).withInterval(20).withBatchThreshold(10))
  const handle = client.start()
  // Mid-sync: once a fifth is delivered, the server dies without a word and comes back.
  while (client.metrics().delivered < 200) await new Promise((resolve) => setTimeout(resolve, 2))
  await server.kill('SIGKILL')
  const deliveredAtKill = client.metrics().delivered
  server = await startServer(secrets)
  await syncUntil(client, () => store.len() === 0)
  const report = await handle.stop()
  return { deliveredAtKill, recorded: recorded.length, rows: rowsFor(recorded), report, metrics: client.metrics(), left: store.len() }
}

async function agents() {
  const store = new EventStore()
  recordMix(store, 30, 'agent-one')
  recordMix(store, 30, 'agent-two')
  store.recordLlmCompleted(pricing, 'gpt-4o', 1, 1)
  const recorded = llm(store)
  const client = new SyncClient(store, config('').withAgentTokens({ 'agent-one': tokens[first], 'agent-two': tokens[second] }))
  await syncUntil(client, () => store.len() === 1)
  return { recorded, rows: rowsFor(recorded), agentIds: { 'agent-one': first, 'agent-two': second }, metrics: client.metrics(), left: store.len() }
}

/** Events per second, unpaced, for the benchmark. */
async function rate(count) {
  const store = new EventStore(count)
  for (let i = 0; i < count; i++) store.recordLlmCompleted(pricing, 'gpt-4o', 100, i)
  const client = new SyncClient(store, config(tokens[first]).withMaxConcurrency(8))
  const started = performance.now()
  await syncUntil(client, () => store.len() === 0)
  return { events: count, seconds: (performance.now() - started) / 1000, left: store.len() }
}

let results
try {
  if (flag === '--rate') results = { rate: await rate(Number(rateCount)) }
  else {
    results = {
      fields: await fields(),
      wrongToken: await fixedToken('not-a-token'),
      invalidToken: await fixedToken(signIcToken(secrets.IC_TOKEN_SECRET, 'agent_router-a')),
      agents: await agents(),
      restart: await restart(),
    }
  }
} finally {
  db.close()
  await server.kill()
}
process.stdout.write(`${JSON.stringify(results)}\n`)
