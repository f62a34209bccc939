// A real Prometheus server (Debian's package, 2.42) scrapes the example router every second while
// a demo-sized run goes through it; its HTTP API then answers the queries a dashboard makes, and
// the answers must be the router's own figures. The Grafana dashboard's expressions run too.
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Router, startRouter } from '../examples/router/router.mjs'
import { type Upstream, startUpstream } from '../examples/upstream/server.mjs'
import type { ComputedStats } from '../lib/index'
import { type PrometheusServer, type QueryResult, scrapesOf, startPrometheus } from './helpers/prometheus-server.js'

// Each agent asks for models of its own provider, so each model's histogram lives in one store.
const AGENTS = {
  'agent-openai': ['gpt-4o-mini', 'gpt-4o', 'o3-mini'],
  'agent-anthropic': ['claude-3-5-haiku-20241022', 'claude-sonnet-4-20250514'],
} as const
const REQUESTS = 1_200
const CONCURRENCY = 16

let upstream: Upstream
let router: Router
let prometheus: PrometheusServer
let scrapedDuringTheRun = 0

function post(agent: http.Agent, agentId: string, model: string, index: number): Promise<number> {
  const anthropic = model.startsWith('claude-')
  const content = `Ticket ${index}: ${'the nightly export stopped after the last release. '.repeat(1 + (index % 40))}`
  const body = JSON.stringify({ model, max_tokens: 256 + (index % 3) * 256, messages: [{ role: 'user', content }] })
  return new Promise((resolve, reject) => {
    const request = http.request(`${router.url}${anthropic ? '/v1/messages' : '/v1/chat/completions'}`, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-agent-id': agentId },
    })
    request.on('response', (response) => {
      response.resume()
      response.on('end', () => resolve(response.statusCode ?? 0))
    })
    request.on('error', reject)
    request.end(body)
  })
}

/** Sends requests `from` to `to` (exclusive), `CONCURRENCY` at a time. */
async function drive(agent: http.Agent, from: number, to: number): Promise<void> {
  let next = from
  const ids = Object.keys(AGENTS) as (keyof typeof AGENTS)[]
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < to) {
        const index = next++
        const agentId = ids[index % ids.length]
        const models = AGENTS[agentId]
        await post(agent, agentId, models[Math.floor(index / ids.length) % models.length], index)
      }
    }),
  )
}

function single(results: QueryResult[]): number {
  expect(results).toHaveLength(1)
  return Number(results[0].value[1])
}

function allStats(): ComputedStats[] {
  return [...router.stores().values()].map((store) => store.stats())
}

describe('a real Prometheus scraping the example router', () => {
  beforeAll(async () => {
    upstream = await startUpstream({ failureRate: 0.05, latencyMs: 15 })
    router = await startRouter({
      port: 0,
      routes: {
        openai: { url: `${upstream.url}/v1/chat/completions`, format: 'openai', providerId: 'openai-primary' },
        anthropic: { url: `${upstream.url}/v1/messages`, format: 'anthropic', providerId: 'anthropic-primary' },
      },
      agents: Object.fromEntries(Object.keys(AGENTS).map((id) => [id, { icToken: `ic_${id}`, budgetUsd: 1_000 }])),
    })
    prometheus = await startPrometheus([`127.0.0.1:${router.port}`])
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
    try {
      // Half the run, a scrape in the middle of it, then the rest.
      await drive(agent, 0, REQUESTS / 2)
      const midRun = scrapesOf(router.server, 1)
      await Promise.all([drive(agent, REQUESTS / 2, REQUESTS), midRun.then(() => (scrapedDuringTheRun += 1))])
    } finally {
      agent.destroy()
    }
    // The second scrape after the run starts once the first one's samples are stored.
    await scrapesOf(router.server, 2)
  }, 60_000)

  afterAll(async () => {
    await prometheus?.stop()
    await router?.close()
    await upstream?.close()
  })

  it('scraped while requests were flowing', () => {
    expect(scrapedDuringTheRun).toBe(1)
  })

  it('sum(llm_cost_usd_total) is the total cost of every store', async () => {
    const expected = allStats().reduce((sum, stats) => sum + stats.totalCostMicros, 0) / 1e6
    expect(expected).toBeGreaterThan(0)
    expect(single(await prometheus.query('sum(llm_cost_usd_total)'))).toBeCloseTo(expected, 9)
  })

  it('sum by (model) (llm_requests_total) is each model’s completed and failed requests', async () => {
    const expected = new Map<string, number>()
    for (const stats of allStats()) {
      for (const [model, figures] of Object.entries(stats.byModel)) {
        expected.set(model, (expected.get(model) ?? 0) + figures.requestCount + figures.failedRequests)
      }
    }
    const results = await prometheus.query('sum by (model) (llm_requests_total)')
    const answered = new Map(results.map((result) => [result.metric.model, Number(result.value[1])]))
    expect(answered).toEqual(expected)
    expect([...answered.values()].reduce((sum, count) => sum + count, 0)).toBe(REQUESTS)
  })

  it('histogram_quantile over the duration buckets equals the p99 and p50 stats() estimates', async () => {
    for (const [agentId, models] of Object.entries(AGENTS)) {
      const stats = router.stores().get(agentId)!.stats()
      for (const model of models) {
        const duration = stats.byModel[model].duration!
        expect(duration.count).toBeGreaterThan(0)
        for (const [q, estimate] of [
          [0.99, duration.p99Ms],
          [0.5, duration.p50Ms],
        ] as const) {
          const expression = `histogram_quantile(${q}, sum by (le) (llm_request_duration_seconds_bucket{model="${model}"}))`
          expect(single(await prometheus.query(expression))).toBeCloseTo(estimate! / 1000, 9)
        }
        const count = `sum(llm_time_to_first_token_seconds_count{model="${model}"})`
        expect(single(await prometheus.query(count))).toBe(stats.byModel[model].timeToFirstToken!.count)
      }
    }
  })

  it('answers every expression of the Grafana dashboard', async () => {
    const dashboard = JSON.parse(readFileSync(new URL('../examples/grafana/dashboard.json', import.meta.url), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[]
    }
    const expressions = dashboard.panels.flatMap((panel) => panel.targets.map((target) => [panel.title, target.expr] as const))
    expect(expressions.length).toBeGreaterThan(10)
    for (const [title, expression] of expressions) {
      const concrete = expression
        .replaceAll('$__rate_interval', '1m')
        .replaceAll('$__range', '5m')
        .replaceAll('$provider', '.*')
        .replaceAll('$model', '.*')
      const results = await prometheus.query(concrete)
      expect(results.length, `${title}: ${concrete}`).toBeGreaterThan(0)
    }
  })
})
