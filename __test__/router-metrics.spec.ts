// The example router's use of budgets, latency and metrics: a 429 once an agent has spent its
// budget, timings recorded with every completed request, and GET /metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Router, startRouter } from '../examples/router/router.mjs'
import { type Upstream, startUpstream } from '../examples/upstream/server.mjs'
import { PROMETHEUS_CONTENT_TYPE } from '../lib/index'
import { parsePrometheusText, sampleValue } from './helpers/prometheus-text.js'

let upstream: Upstream
let router: Router

function ask(agentId: string): Promise<Response> {
  return fetch(`${router.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-agent-id': agentId },
    body: JSON.stringify({ model: 'gpt-4o', max_tokens: 512, messages: [{ role: 'user', content: 'Summarize the ticket.'.repeat(50) }] }),
  })
}

describe('the example router', () => {
  beforeAll(async () => {
    upstream = await startUpstream()
    router = await startRouter({
      port: 0,
      routes: { openai: { url: `${upstream.url}/v1/chat/completions`, format: 'openai', providerId: 'openai-primary' } },
      // A budget of one cent: a few gpt-4o answers spend it.
      agents: { thrifty: { icToken: 'ic_thrifty', budgetUsd: 0.01 }, unlimited: { icToken: 'ic_unlimited' } },
    })
  })

  afterAll(async () => {
    await router?.close()
    await upstream?.close()
  })

  it('answers 429 with a clear body once an agent has spent its budget, and forwards nothing more', async () => {
    let answer = await ask('thrifty')
    let answered = 0
    while (answer.status === 200) {
      answered += 1
      answer = await ask('thrifty')
    }
    expect(answered).toBeGreaterThan(0)
    expect(answer.status).toBe(429)
    const body = (await answer.json()) as { error: { type: string; code: string; message: string; limit_usd: number; spent_usd: number } }
    expect(body.error).toMatchObject({ type: 'budget_exceeded', code: 'budget_exceeded', limit_usd: 0.01 })
    expect(body.error.spent_usd).toBeGreaterThanOrEqual(0.01)
    expect(body.error.message).toBe(`agent thrifty has spent $${body.error.spent_usd} of its $0.01 budget`)
    const store = router.stores().get('thrifty')!
    const recorded = store.stats().totalRequests
    expect(recorded).toBe(answered)
    expect((await ask('thrifty')).status).toBe(429)
    expect(store.stats().totalRequests).toBe(recorded)
    expect(store.budgetStatus('thrifty')).toMatchObject({ remainingMicros: 0, crossed: [50, 80, 100] })
    expect(store.snapshotEvents().filter((event) => event.type === 'budget_threshold_reached').map((event) => event.thresholdPercent)).toEqual([50, 80, 100])
    expect((await ask('unlimited')).status).toBe(200)
  })

  it('records each completed request with its duration and time to first byte, and serves them at /metrics', async () => {
    const response = await fetch(`${router.url}/metrics`)
    expect(response.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE)
    const families = parsePrometheusText(await response.text())
    const stores = [...router.stores().values()]
    const gpt = stores.map((store) => store.stats().byModel['gpt-4o']).filter((figures) => figures !== undefined)
    const completed = gpt.reduce((sum, figures) => sum + figures.requestCount, 0)
    const labels = { provider: 'openai', model: 'gpt-4o' }
    expect(gpt.reduce((sum, figures) => sum + figures.duration!.count, 0)).toBe(completed)
    expect(sampleValue(families, 'llm_requests_total', { ...labels, outcome: 'completed' })).toBe(completed)
    expect(sampleValue(families, 'llm_request_duration_seconds_count', labels)).toBe(completed)
    expect(sampleValue(families, 'llm_time_to_first_token_seconds_count', labels)).toBe(completed)
    const cost = gpt.reduce((sum, figures) => sum + figures.costMicros, 0)
    expect(sampleValue(families, 'llm_cost_usd_total', labels)).toBeCloseTo(cost / 1e6, 9)
  })
})
