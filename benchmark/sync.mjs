// The sync suite: how fast the sync client delivers to a loopback Protocol 012 server with pacing
// off, with and without a spool (the targets: at least 5,000 events/s, and with a spool at least
// 0.8x the rate without), how long the event loop stalls meanwhile and while 1,000,000 events are
// buffered against a server answering 503 (under 20 ms at the 99th percentile); the real Control
// API's rate beside the reference server's; and the raw POST cost of the HTTP clients the
// transport was chosen from. Runs inside benchmark/run.mjs, or on its own:
//   node scripts/ensure-build.mjs && node benchmark/sync.mjs
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { Pool } from 'undici'
import { EVENTS_PATH } from '../examples/control-api/server.mjs'
import { binaryPresent, BINARY, runInterop } from '../__test__/helpers/real-control-api.mjs'
import { ARG_MASK, ARGS } from './args.mjs'
import { DEFAULT_OPTIONS, formatSuite, missingRow, target } from './harness.mjs'

const EVENTS = 10_000
const TOKEN = 'bench-token'
const SERVER = fileURLToPath(new URL('../examples/control-api/server.mjs', import.meta.url))
// Each flush takes a second or two, so fewer rounds than the nanosecond suites still settle.
const MAX_ROUNDS = 5
const POSTS_PER_CLIENT = 4_000
const CONCURRENCY = 4
const BUFFERED = 1_000_000
const OUTAGE_MS = 3_000
const REAL_EVENTS = 5_000
// A server that answers every request 503, in its own process.
const UNAVAILABLE = `
  const server = require('node:http').createServer((req, res) => {
    req.resume()
    req.on('end', () => { res.writeHead(503, { 'content-type': 'application/json' }); res.end('{}') })
  })
  server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ url: 'http://127.0.0.1:' + server.address().port }) + '\\n'))
`

/** The reference server (or another) in its own process, so its work does not count against our event loop. */
async function startServer(args = [SERVER, '--port', '0', '--token', `${TOKEN}=agent-bench`]) {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [line] = await once(child.stdout, 'data')
  const { url } = JSON.parse(String(line))
  return {
    url,
    async close() {
      child.kill()
      await once(child, 'exit')
    },
  }
}

function summary(name, values) {
  const sorted = [...values].sort((a, b) => a - b)
  return { name, median: sorted[sorted.length >> 1], min: sorted[0], max: sorted.at(-1) }
}

/** Records EVENTS LLM events (one in ten failed), then times one syncEvents() round delivering them. */
async function flush(native, url, pricing, { started = false, spoolPath } = {}) {
  const store = new native.EventStore(EVENTS)
  for (let i = 0; i < EVENTS; i++) {
    const a = ARGS[i & ARG_MASK]
    if (i % 10 === 9) store.recordLlmFailed(a.model, a.agentId, a.providerId, 'rate_limit', 'Rate limit reached')
    else store.recordLlmCompleted(pricing, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
  }
  const config = new native.SyncConfig(url, TOKEN).withMaxEventsPerMinute(0).withMaxConcurrency(CONCURRENCY)
  if (spoolPath) config.withSpoolPath(spoolPath).withSpoolFlush(100)
  const client = new native.SyncClient(store, config)
  // Compared with a spool, the client is started both ways: only the spool differs.
  const handle = started ? client.start() : undefined
  const delay = monitorEventLoopDelay({ resolution: 1 })
  delay.enable()
  const began = process.hrtime.bigint()
  let delivered = 0
  while (store.len() > 0) delivered += await client.syncEvents()
  const elapsed = Number(process.hrtime.bigint() - began)
  delay.disable()
  await handle?.stop()
  if (delivered !== EVENTS || store.unsyncedCount() !== 0) {
    throw new Error(`the flush delivered ${delivered} of ${EVENTS} events: ${JSON.stringify(client.metrics())}`)
  }
  return { nsPerEvent: elapsed / EVENTS, p99: delay.percentile(99) }
}

/** 1,000,000 events buffered, a started client, a server answering 503: the event loop's delay. */
async function outage(native, pricing) {
  const server = await startServer(['-e', UNAVAILABLE])
  try {
    const store = new native.EventStore(BUFFERED)
    for (let i = 0; i < BUFFERED; i++) {
      const a = ARGS[i & ARG_MASK]
      store.recordLlmCompleted(pricing, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
    }
    const config = new native.SyncConfig(server.url, TOKEN).withInterval(100).withRetryDelay(10).withMaxRetryDelay(200).withTimeout(1_000)
    const client = new native.SyncClient(store, config)
    const delay = monitorEventLoopDelay({ resolution: 1 })
    delay.enable()
    const handle = client.start()
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS))
    delay.disable()
    await handle.stop()
    return { p99: delay.percentile(99), max: delay.max, retried: client.metrics().retried }
  } finally {
    await server.close()
  }
}

/** The real Control API's delivery rate, in a private network namespace (it binds 0.0.0.0); null when it cannot run here. */
async function realServerRate() {
  if (!binaryPresent()) return { skipped: `${BINARY} is missing (scripts/install-control-api.sh)` }
  const dir = mkdtempSync(join(tmpdir(), 'bench-real-'))
  try {
    const { code, stdout, stderr } = await runInterop([dir, '--rate', String(REAL_EVENTS)])
    if (code !== 0) return { skipped: `the real server could not be run here (${stderr.trim().split('\n').at(-1)})` }
    const { rate } = JSON.parse(stdout)
    return { eventsPerSecond: rate.events / rate.seconds }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function wireBody(i) {
  const a = ARGS[i & ARG_MASK]
  return JSON.stringify({
    ic_token: TOKEN,
    event_id: crypto.randomUUID(),
    timestamp_ms: Date.now(),
    event_type: 'llm_request_completed',
    model: a.model,
    provider: 'unknown',
    input_tokens: a.inputTokens,
    output_tokens: a.outputTokens,
    cost_micros: 1,
  })
}

/** The three ways to POST from Node that the transport was chosen from, on the same server. */
function httpClients(url) {
  const { hostname, port } = new URL(url)
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  const pool = new Pool(url, { connections: CONCURRENCY })
  const headers = { 'content-type': 'application/json' }
  return [
    {
      name: 'node:http keep-alive agent (chosen)',
      post: (body) =>
        new Promise((resolve, reject) => {
          const req = http.request(
            { hostname, port, path: EVENTS_PATH, method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
            (res) => {
              res.resume()
              resolve(res.statusCode)
            },
          )
          req.on('error', reject)
          req.end(body)
        }),
      close: () => agent.destroy(),
    },
    {
      name: 'undici Pool.request',
      post: async (body) => {
        const res = await pool.request({ path: EVENTS_PATH, method: 'POST', headers, body })
        await res.body.dump()
        return res.statusCode
      },
      close: () => pool.close(),
    },
    {
      name: 'global fetch',
      post: async (body) => {
        const res = await fetch(url + EVENTS_PATH, { method: 'POST', headers, body })
        await res.arrayBuffer()
        return res.status
      },
      close: () => {},
    },
  ]
}

/** Wall ns and client CPU ns per POST, CONCURRENCY at a time. */
async function posts(client, count) {
  let next = 0
  const worker = async () => {
    while (next < count) {
      const status = await client.post(wireBody(next++))
      if (status !== 202) throw new Error(`${client.name}: HTTP ${status}`)
    }
  }
  const cpu = process.cpuUsage()
  const started = process.hrtime.bigint()
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const elapsed = Number(process.hrtime.bigint() - started)
  const { user, system } = process.cpuUsage(cpu)
  return { wall: elapsed / count, cpu: ((user + system) * 1000) / count }
}

export const syncSuite = {
  id: 'sync',
  title: `sync: ${EVENTS.toLocaleString('en')} events to the loopback reference server, pacing off`,
  async run({ native, options }) {
    const rounds = Math.min(options.rounds, MAX_ROUNDS)
    const server = await startServer()
    const rows = []
    const notes = []
    let flushRow = null
    let delayRow = null
    let spoolRow = null
    let startedRow = null
    let outageRow = null
    try {
      if (native) {
        const pricing = new native.PricingManager()
        await flush(native, server.url, pricing)
        const results = []
        for (let round = 0; round < rounds; round++) results.push(await flush(native, server.url, pricing))
        flushRow = summary('syncEvents(): delivery time per event', results.map((r) => r.nsPerEvent))
        delayRow = summary('event loop delay during the flush, p99', results.map((r) => r.p99))
        const folder = mkdtempSync(join(tmpdir(), 'bench-spool-'))
        const spooled = []
        const unspooled = []
        try {
          // Interleaved, so that a busy machine weighs on both alike.
          for (let round = 0; round < rounds; round++) {
            unspooled.push(await flush(native, server.url, pricing, { started: true }))
            spooled.push(await flush(native, server.url, pricing, { started: true, spoolPath: join(folder, `spool-${round}`) }))
          }
        } finally {
          rmSync(folder, { recursive: true, force: true })
        }
        startedRow = summary('started client, no spool: delivery time per event', unspooled.map((r) => r.nsPerEvent))
        spoolRow = summary('started client, spool flushed every 100 ms: delivery time per event', spooled.map((r) => r.nsPerEvent))
        const down = await outage(native, pricing)
        outageRow = { name: `event loop delay, ${BUFFERED.toLocaleString('en')} buffered, server answering 503, p99`, median: down.p99, min: down.p99, max: down.max }
        rows.push(flushRow, delayRow, startedRow, spoolRow, outageRow)
        const perSecond = (ns) => Math.round(1e9 / ns).toLocaleString('en')
        notes.push(
          `${perSecond(flushRow.median)} events/s delivered (median of ${rounds} flushes; ` +
            `range ${perSecond(flushRow.max)} to ${perSecond(flushRow.min)}), ` +
            `${CONCURRENCY} requests in flight, server in a child process`,
          `started client: ${perSecond(spoolRow.median)} events/s with a spool, ${perSecond(startedRow.median)} without: ${(startedRow.median / spoolRow.median).toFixed(2)}x`,
          `outage: ${down.retried} failed attempts in ${OUTAGE_MS} ms; event loop delay max ${(down.max / 1e6).toFixed(1)} ms`,
        )
        const real = await realServerRate()
        notes.push(
          real.eventsPerSecond === undefined
            ? `real Control API: not measured, ${real.skipped}`
            : `real Control API (iron_control_api 0.4.0, SQLite, in a network namespace): ${Math.round(real.eventsPerSecond).toLocaleString('en')} events/s ` +
                `(${REAL_EVENTS.toLocaleString('en')} events, 8 in flight) beside ${perSecond(flushRow.median)} events/s to the reference server`,
        )
      } else {
        rows.push(missingRow('syncEvents(): delivery time per event'), missingRow('event loop delay during the flush, p99'))
      }
      const cpu = {}
      for (const client of httpClients(server.url)) {
        await posts(client, POSTS_PER_CLIENT / 4)
        const wall = []
        const spent = []
        for (let round = 0; round < rounds; round++) {
          const figures = await posts(client, POSTS_PER_CLIENT)
          wall.push(figures.wall)
          spent.push(figures.cpu)
        }
        await client.close()
        rows.push(summary(`raw POST, ${client.name}`, wall))
        cpu[client.name] = summary(client.name, spent).median
      }
      notes.push(
        `client CPU per POST: ${Object.entries(cpu)
          .map(([name, ns]) => `${name} ${(ns / 1000).toFixed(1)} µs`)
          .join(', ')}`,
      )
    } finally {
      await server.close()
    }
    return {
      id: this.id,
      title: this.title,
      unit: 'ns',
      rows,
      targets: [
        target('sync delivery time per event (5,000 events/s = 200 µs)', flushRow ? flushRow.median : null, 200_000, 'ns'),
        target('event loop delay p99 while 10,000 events are flushed', delayRow ? delayRow.median : null, 20e6, 'ns'),
        target('event loop delay p99, 1,000,000 buffered and a 503 server', outageRow ? outageRow.median : null, 20e6, 'ns'),
        // Delivery time with the spool at most 1/0.8 of the time without it (rate at least 0.8x).
        target('spool on: delivery time per event, relative to spool off', spoolRow && startedRow ? spoolRow.median / startedRow.median : null, 1.25, 'x'),
      ],
      notes,
    }
  },
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let native = null
  try {
    native = createRequire(import.meta.url)('../dist/index.cjs')
  } catch {
    process.stdout.write('ours: native build not found, run npm run build\n')
  }
  const result = await syncSuite.run({ native, options: DEFAULT_OPTIONS })
  process.stdout.write(formatSuite(result))
}
