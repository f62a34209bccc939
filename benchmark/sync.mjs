// The sync suite: how fast the sync client delivers to a loopback Protocol 012 server with pacing
// off (the target: at least 5,000 events/s) and how long the event loop stalls meanwhile (under
// 20 ms at the 99th percentile), plus the raw POST cost of the HTTP clients the transport was
// chosen from. Runs inside benchmark/run.mjs, or on its own:
//   node scripts/ensure-build.mjs && node benchmark/sync.mjs
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import { createRequire } from 'node:module'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { Pool } from 'undici'
import { EVENTS_PATH } from '../examples/control-api/server.mjs'
import { ARG_MASK, ARGS } from './args.mjs'
import { DEFAULT_OPTIONS, formatSuite, missingRow, target } from './harness.mjs'

const EVENTS = 10_000
const TOKEN = 'bench-token'
const SERVER = fileURLToPath(new URL('../examples/control-api/server.mjs', import.meta.url))
// Each flush takes a second or two, so fewer rounds than the nanosecond suites still settle.
const MAX_ROUNDS = 5
const POSTS_PER_CLIENT = 4_000
const CONCURRENCY = 4

/** The reference server in its own process, so its work does not count against our event loop. */
async function startServer() {
  const child = spawn(process.execPath, [SERVER, '--port', '0', '--token', `${TOKEN}=agent-bench`], {
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
async function flush(native, url, pricing) {
  const store = new native.EventStore(EVENTS)
  for (let i = 0; i < EVENTS; i++) {
    const a = ARGS[i & ARG_MASK]
    if (i % 10 === 9) store.recordLlmFailed(a.model, a.agentId, a.providerId, 'rate_limit', 'Rate limit reached')
    else store.recordLlmCompleted(pricing, a.model, a.inputTokens, a.outputTokens, a.agentId, a.providerId)
  }
  const config = new native.SyncConfig(url, TOKEN).withMaxEventsPerMinute(0).withMaxConcurrency(CONCURRENCY)
  const client = new native.SyncClient(store, config)
  const delay = monitorEventLoopDelay({ resolution: 1 })
  delay.enable()
  const started = process.hrtime.bigint()
  const delivered = await client.syncEvents()
  const elapsed = Number(process.hrtime.bigint() - started)
  delay.disable()
  if (delivered !== EVENTS || store.unsyncedCount() !== 0) {
    throw new Error(`the flush delivered ${delivered} of ${EVENTS} events: ${JSON.stringify(client.metrics())}`)
  }
  return { nsPerEvent: elapsed / EVENTS, p99: delay.percentile(99) }
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
    try {
      if (native) {
        const pricing = new native.PricingManager()
        await flush(native, server.url, pricing)
        const results = []
        for (let round = 0; round < rounds; round++) results.push(await flush(native, server.url, pricing))
        flushRow = summary('syncEvents(): delivery time per event', results.map((r) => r.nsPerEvent))
        delayRow = summary('event loop delay during the flush, p99', results.map((r) => r.p99))
        rows.push(flushRow, delayRow)
        notes.push(
          `${Math.round(1e9 / flushRow.median).toLocaleString('en')} events/s delivered (median of ${rounds} flushes; ` +
            `range ${Math.round(1e9 / flushRow.max).toLocaleString('en')} to ${Math.round(1e9 / flushRow.min).toLocaleString('en')}), ` +
            `${CONCURRENCY} requests in flight, server in a child process`,
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
