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
    // The real server stores 0 where this one stores NULL.
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

  // Each answer is the one iron_control_api 0.4.0 gives (see __test__/interop.spec.ts).
  it('answers 401 UNAUTHORIZED to an unknown token, 400 INVALID_TOKEN to a malformed one, and stores nothing', async () => {
    const unknown = await post(api, wireEvent({ ic_token: 'nope' }))
    expect([unknown.status, ((await unknown.json()) as { error: string }).error]).toEqual([401, 'UNAUTHORIZED'])
    const malformedApi = await startServer({ malformedTokens: ['signed-but-agent-x'] })
    try {
      const malformed = await post(malformedApi, wireEvent({ ic_token: 'signed-but-agent-x' }))
      expect([malformed.status, ((await malformed.json()) as { error: string }).error]).toEqual([400, 'INVALID_TOKEN'])
      expect(storedCount(malformedApi)).toBe(0)
    } finally {
      await malformedApi.close()
    }
    expect(storedCount(api)).toBe(0)
  })

  it.each([
    ['a bad event_type', { event_type: 'router_started' }, 400],
    ['a bad provider', { provider: 'google' }, 400],
    ['a completed event without token counts', { input_tokens: undefined }, 400],
    ['a fractional token count', { output_tokens: 1.5 }, 422],
    ['a missing event_id', { event_id: undefined }, 422],
    ['a missing token', { ic_token: undefined }, 422],
    ['a missing model, even with an unknown token', { model: undefined, ic_token: 'nope' }, 422],
    ['a string timestamp', { timestamp_ms: '1700000000000' }, 422],
  ])('answers %s with %i and stores nothing', async (_, overrides, status) => {
    const response = await post(api, wireEvent(overrides))
    expect(response.status).toBe(status)
    if (status === 400) expect(((await response.json()) as { error: string }).error).toBe('VALIDATION_ERROR')
    expect(storedCount(api)).toBe(0)
  })

  it.each([
    ['a completed event without cost', { cost_micros: undefined }],
    ['a negative cost', { cost_micros: -1 }],
    ['a null optional field', { provider_id: null }],
    ['an empty model', { model: '' }],
    ['an unknown field', { colour: 'blue' }],
    ['an agent id in the body', { agent_id: 'agent-9' }],
    ['a failed event that carries token counts', { event_type: 'llm_request_failed' }],
    ['a cost past 2^53', { cost_micros: 2 ** 54 }],
  ])('takes %s, as the real server does', async (_, overrides) => {
    expect((await post(api, wireEvent(overrides))).status).toBe(202)
    expect(storedCount(api)).toBe(1)
  })

  it('answers 400 to a body that is not JSON, 422 to JSON of another shape, 415 to another content type, 413 past 2 MiB', async () => {
    expect((await post(api, '{"ic_token":')).status).toBe(400)
    expect((await post(api, '[1]')).status).toBe(422)
    expect((await post(api, wireEvent(), { 'content-type': 'text/plain' })).status).toBe(415)
    expect((await post(api, wireEvent({ event_type: 'llm_request_failed', error_message: 'x'.repeat(3_000_000) }))).status).toBe(413)
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
