// The reference Protocol 012 server (examples/control-api), spoken to in raw HTTP.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openSqlite } from '../examples/control-api/database.mjs'
import { AGENT, type ControlApi, TOKEN, post, rows, startServer, storedCount, wireEvent } from './helpers/control-api'

let api: ControlApi

beforeEach(async () => {
  api = await startServer({ tokens: { [TOKEN]: AGENT, 'other-token': 'agent-8' } })
})

afterEach(async () => {
  await api.close()
})

describe('ingestion', () => {
  it('stores a completed event once: 202 accepted, then 200 duplicate', async () => {
    const event = wireEvent({ provider_id: 'openai-us' })
    const first = await post(api, event)
    expect(first.status).toBe(202)
    expect(await first.json()).toEqual({ status: 'accepted', event_id: event.event_id })
    const second = await post(api, event)
    expect(second.status).toBe(200)
    expect(await second.json()).toEqual({ status: 'duplicate', event_id: event.event_id })
    expect(rows(api)).toEqual([
      expect.objectContaining({
        event_id: event.event_id,
        timestamp_ms: event.timestamp_ms,
        event_type: 'llm_request_completed',
        model: 'gpt-4o',
        provider: 'openai',
        input_tokens: 150,
        output_tokens: 50,
        cost_micros: 6000,
        agent_id: AGENT,
        provider_id: 'openai-us',
        error_code: null,
        error_message: null,
      }),
    ])
  })

  it('stores a failed event without token counts, with its error fields', async () => {
    const { input_tokens, output_tokens, cost_micros, ...failed } = wireEvent({
      event_type: 'llm_request_failed',
      provider: 'anthropic',
      model: 'claude-3-opus-20240229',
      error_code: 'rate_limit',
      error_message: 'Too many requests',
    })
    expect((await post(api, failed)).status).toBe(202)
    expect(rows(api)[0]).toMatchObject({
      event_type: 'llm_request_failed',
      input_tokens: null,
      output_tokens: null,
      cost_micros: null,
      error_code: 'rate_limit',
      error_message: 'Too many requests',
    })
  })

  it('takes the agent from the token: one event id under two tokens is two agents’ events', async () => {
    const event = wireEvent()
    expect((await post(api, event)).status).toBe(202)
    expect((await post(api, { ...event, ic_token: 'other-token' })).status).toBe(202)
    expect(rows(api).map((row) => row.agent_id).sort()).toEqual([AGENT, 'agent-8'])
  })

  it('answers 401 to an unknown or missing token and stores nothing', async () => {
    expect((await post(api, wireEvent({ ic_token: 'nope' }))).status).toBe(401)
    const { ic_token, ...anonymous } = wireEvent()
    expect((await post(api, anonymous)).status).toBe(401)
    expect(storedCount(api)).toBe(0)
  })

  it.each([
    ['a bad event_type', { event_type: 'router_started' }],
    ['a bad provider', { provider: 'google' }],
    ['a completed event without token counts', { input_tokens: undefined }],
    ['a fractional token count', { output_tokens: 1.5 }],
    ['a negative cost', { cost_micros: -1 }],
    ['a null optional field', { provider_id: null }],
    ['an empty model', { model: '' }],
    ['a missing event_id', { event_id: undefined }],
    ['a string timestamp', { timestamp_ms: '1700000000000' }],
    ['an agent id in the body', { agent_id: 'agent-9' }],
  ])('answers 400 to %s', async (_, overrides) => {
    const response = await post(api, wireEvent(overrides))
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error?: unknown }).error).toEqual(expect.any(String))
    expect(storedCount(api)).toBe(0)
  })

  it('answers 400 to a failed event that carries token counts', async () => {
    expect((await post(api, wireEvent({ event_type: 'llm_request_failed' }))).status).toBe(400)
  })

  it('answers 400 to a body that is not a JSON object, 415 to another content type', async () => {
    expect((await post(api, '{"ic_token":')).status).toBe(400)
    expect((await post(api, '[1]')).status).toBe(400)
    expect((await post(api, wireEvent(), { 'content-type': 'text/plain' })).status).toBe(415)
  })

  it('answers 404 elsewhere and 405 to another method', async () => {
    expect((await fetch(`${api.url}/api/v1/analytics`, { method: 'POST' })).status).toBe(404)
    expect((await fetch(`${api.url}/api/v1/analytics/events`)).status).toBe(405)
  })
})

describe('rate limit', () => {
  it('answers 429 with Retry-After once a token has used its events of the window', async () => {
    const limited = await startServer({ rateLimitPerMinute: 3, rateLimitWindowMs: 60_000 })
    try {
      for (let i = 0; i < 3; i++) expect((await post(limited, wireEvent())).status).toBe(202)
      const refused = await post(limited, wireEvent())
      expect(refused.status).toBe(429)
      const seconds = Number(refused.headers.get('retry-after'))
      expect(seconds).toBeGreaterThanOrEqual(59)
      expect(seconds).toBeLessThanOrEqual(60)
      expect(storedCount(limited)).toBe(3)
    } finally {
      await limited.close()
    }
  })
})

describe('faults and traffic', () => {
  it('fails the next requests with a status and Retry-After, storing nothing', async () => {
    const when = new Date(Date.now() + 5_000)
    api.faults.failNext(1, 503, 7)
    api.faults.failNext(1, 429, when)
    const event = wireEvent()
    const first = await post(api, event)
    expect(first.status).toBe(503)
    expect(first.headers.get('retry-after')).toBe('7')
    const second = await post(api, event)
    expect(second.status).toBe(429)
    expect(second.headers.get('retry-after')).toBe(when.toUTCString())
    expect(storedCount(api)).toBe(0)
    expect((await post(api, event)).status).toBe(202)
    expect(api.traffic.count(event.event_id as string)).toBe(3)
    expect(api.faults.injected.status).toBe(2)
    expect(api.faults.pending()).toBe(0)
  })

  it('resets the connection without storing the event', async () => {
    api.faults.resetNext(1)
    const event = wireEvent()
    await expect(post(api, event)).rejects.toThrow()
    expect(storedCount(api)).toBe(0)
    expect(api.traffic.count(event.event_id as string)).toBe(1)
    expect(api.traffic.log.at(-1)?.status).toBe('reset')
  })

  it('stores the event but answers late', async () => {
    api.faults.delayNext(1, 200)
    const started = Date.now()
    const response = await post(api, wireEvent())
    expect(response.status).toBe(202)
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
    expect(storedCount(api)).toBe(1)
  })
})

describe('command line', () => {
  let folder: string

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'control-api-'))
  })

  afterEach(() => {
    rmSync(folder, { recursive: true, force: true })
  })

  it('serves on an ephemeral port, stores into the --db file and exits cleanly on SIGTERM', async () => {
    const file = join(folder, 'events.sqlite')
    const child = spawn(
      process.execPath,
      ['examples/control-api/server.mjs', '--port', '0', '--db', file, '--token', `${TOKEN}=${AGENT}`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const [line] = await once(child.stdout, 'data')
    const { url, port } = JSON.parse(String(line))
    expect(url).toBe(`http://127.0.0.1:${port}`)
    const event = wireEvent()
    const response = await post({ url } as ControlApi, event)
    expect(response.status).toBe(202)
    child.kill('SIGTERM')
    const [code] = await once(child, 'exit')
    expect(code).toBe(0)
    const db = openSqlite(file, { readonly: true })
    try {
      expect(db.prepare('SELECT event_id, agent_id FROM analytics_events').all()).toEqual([
        { event_id: event.event_id, agent_id: AGENT },
      ])
    } finally {
      db.close()
    }
  })
})
