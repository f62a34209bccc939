// The sync client against the real Control API, iron_control_api_server 0.4.0 (scripts/
// install-control-api.sh installs it; .ci/run makes sure it is there). The server binds 0.0.0.0,
// so it and its client run in a child process inside a private network namespace; the child
// reports what it saw as JSON and every assertion is made here.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AnalyticsEvent } from '../lib/index.js'
import { binaryPresent, BINARY, runInterop } from './helpers/real-control-api.mjs'

const present = binaryPresent()
if (!present) console.warn(`interop: skipped, ${BINARY} is missing (scripts/install-control-api.sh installs it)`)

interface Row {
  event_id: string
  timestamp_ms: number
  event_type: string
  model: string
  provider: string
  input_tokens: number
  output_tokens: number
  cost_micros: number
  agent_id: number
  provider_id: string | null
  error_code: string | null
  error_message: string | null
}

interface Scenario {
  recorded: AnalyticsEvent[]
  rows: Row[]
  metrics: Record<string, unknown> & { delivered: number; rejected: number; withoutToken: number; lastError?: string }
  left: number
}

interface Results {
  fields: Scenario
  wrongToken: Scenario & { whileRefused: { refused: number; kept: number; rows: number; metrics: Scenario['metrics'] } }
  invalidToken: Scenario & { whileRefused: { refused: number; kept: number; rows: number; metrics: Scenario['metrics'] } }
  restart: Omit<Scenario, 'recorded'> & { recorded: number; deliveredAtKill: number; report: { delivered: number; remaining: number; spooled: number } }
  agents: Scenario & { agentIds: Record<string, number> }
}

/** A stored row as the real server writes an event: tokens and cost 0 on a failed event, agent from the token. */
function expectedRow(event: AnalyticsEvent, agentId: number): Row {
  const completed = event.type === 'llm_request_completed'
  const failed = event.type === 'llm_request_failed' ? event : undefined
  return {
    event_id: event.eventId,
    timestamp_ms: event.timestampMs,
    event_type: event.type,
    model: (event as { model: string }).model,
    provider: (event as { provider: string }).provider,
    input_tokens: completed ? event.inputTokens : 0,
    output_tokens: completed ? event.outputTokens : 0,
    cost_micros: completed ? event.costMicros : 0,
    agent_id: agentId,
    provider_id: (event as { providerId?: string }).providerId ?? null,
    error_code: failed?.errorCode ?? null,
    error_message: failed?.errorMessage ?? null,
  }
}

function stored(rows: Row[]): Row[] {
  return rows.map(({ event_id, timestamp_ms, event_type, model, provider, input_tokens, output_tokens, cost_micros, agent_id, provider_id, error_code, error_message }) => ({
    event_id, timestamp_ms, event_type, model, provider, input_tokens, output_tokens, cost_micros, agent_id, provider_id, error_code, error_message,
  }))
}

describe.skipIf(!present)('the real Control API (iron_control_api_server 0.4.0)', () => {
  let dir: string
  let results: Results

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'interop-'))
    const { code, stdout, stderr } = await runInterop([dir])
    if (code !== 0) throw new Error(`the interop child exited with ${code}: ${stderr}`)
    results = JSON.parse(stdout)
  }, 120_000)

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('stores every event once with every field equal', () => {
    const { recorded, rows, metrics, left } = results.fields
    expect(recorded).toHaveLength(200)
    expect(stored(rows)).toEqual(recorded.map((event) => expectedRow(event, 1)))
    expect(metrics).toMatchObject({ delivered: 200, duplicates: 0, rejected: 0 })
    // The router event stays: it is never sent.
    expect(left).toBe(1)
  })

  it.each(['wrongToken', 'invalidToken'] as const)('%s: keeps every event while the token is refused, delivers them once it is fixed', (name) => {
    const { recorded, rows, whileRefused, metrics, left } = results[name]
    expect(whileRefused).toMatchObject({ refused: 0, kept: 20, rows: 0 })
    expect(whileRefused.metrics.rejected).toBe(0)
    expect(whileRefused.metrics.lastError).toMatch(name === 'wrongToken' ? /HTTP 401/ : /HTTP 400 Bad Request \(INVALID_TOKEN\)/)
    expect(stored(rows)).toEqual(recorded.map((event) => expectedRow(event, 1)))
    expect(metrics).toMatchObject({ delivered: 20, rejected: 0 })
    expect(left).toBe(0)
  })

  it('a server SIGKILLed and restarted mid-sync: every event stored once', () => {
    const { recorded, rows, report, metrics, deliveredAtKill, left } = results.restart
    expect(deliveredAtKill).toBeGreaterThanOrEqual(200)
    expect(deliveredAtKill).toBeLessThan(recorded)
    expect(rows).toHaveLength(recorded)
    expect(new Set(rows.map((row) => row.event_id)).size).toBe(recorded)
    expect(metrics.retried).toBeGreaterThan(0)
    expect(metrics.delivered).toBe(recorded)
    expect(report).toEqual({ delivered: recorded, remaining: 0, spooled: 0 })
    expect(left).toBe(0)
  })

  it('two agents, each with its own token (withAgentTokens), and an event with none kept', () => {
    const { recorded, rows, agentIds, metrics, left } = results.agents
    const sent = recorded.filter((event) => event.agentId !== undefined)
    expect(sent).toHaveLength(60)
    expect(stored(rows)).toEqual(sent.map((event) => expectedRow(event, agentIds[event.agentId!])))
    expect(new Set(rows.map((row) => row.agent_id))).toEqual(new Set(Object.values(agentIds)))
    expect(metrics).toMatchObject({ delivered: 60, withoutToken: 1 })
    expect(left).toBe(1)
  })
})
