// The sync client's small parts on their own: answer classification, Retry-After, backoff,
// pacing, the spool file, and the checks of SyncConfig.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type AnalyticsEvent, EventStore } from '../lib/index.js'
import { SyncClient, SyncConfig } from '../lib/sync/index.js'
import { Pacer } from '../lib/sync/pacing.js'
import { backoffDelay, classify, parseRetryAfter } from '../lib/sync/retry.js'
import { readSpool, writeSpool } from '../lib/sync/spool.js'

describe('classify', () => {
  it.each([
    [202, 'delivered'],
    [200, 'delivered'],
    [400, 'rejected'],
    [404, 'rejected'],
    [413, 'rejected'],
    [422, 'rejected'],
    [401, 'auth'],
    [403, 'auth'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
    [302, 'retry'],
  ])('%i is %s', (status, outcome) => {
    expect(classify(status)).toBe(outcome)
  })
})

describe('parseRetryAfter', () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0)

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('3', now)).toBe(3000)
    expect(parseRetryAfter(' 0 ', now)).toBe(0)
  })

  it('reads an HTTP date, and a date in the past means now', () => {
    expect(parseRetryAfter(new Date(now + 5000).toUTCString(), now)).toBe(5000)
    expect(parseRetryAfter(new Date(now - 5000).toUTCString(), now)).toBe(0)
  })

  it('ignores an absent or unreadable header', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined()
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter('-1', now)).toBeUndefined()
  })
})

describe('backoffDelay', () => {
  it('doubles per failure, stays between half and all of its ceiling, and stops at the cap', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 100, 10_000, () => 0))).toEqual([50, 100, 200, 400])
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 100, 10_000, () => 1))).toEqual([100, 200, 400, 800])
    expect(backoffDelay(30, 100, 10_000, () => 1)).toBe(10_000)
    expect(backoffDelay(5_000, 100, 10_000, () => 0.5)).toBe(7_500)
  })
})

describe('Pacer', () => {
  it('lets `limit` sends through in any window of a minute, and the next once the oldest has aged out', () => {
    const pacer = new Pacer(3)
    for (const at of [0, 10, 20]) {
      expect(pacer.wait(at)).toBe(0)
      pacer.take(at)
    }
    expect(pacer.wait(30)).toBe(61_000 - 30)
    expect(pacer.wait(61_000)).toBe(0)
    pacer.take(61_000)
    expect(pacer.wait(61_000)).toBe(10)
    expect(pacer.wait(61_010)).toBe(0)
  })

  it('never waits when unpaced', () => {
    const pacer = new Pacer(0)
    for (let i = 0; i < 10_000; i++) pacer.take(0)
    expect(pacer.wait(0)).toBe(0)
  })
})

describe('spool', () => {
  let folder: string

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'spool-'))
  })

  afterEach(() => {
    rmSync(folder, { recursive: true, force: true })
  })

  const events: AnalyticsEvent[] = [
    {
      type: 'llm_request_completed',
      eventId: '00000000-0000-4000-8000-000000000001',
      timestampMs: 1_700_000_000_000,
      model: 'gpt-4o',
      provider: 'openai',
      inputTokens: 1,
      outputTokens: 2,
      costMicros: 3,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      cacheWrite1hTokens: 0,
      reasoningTokens: 0,
    },
  ]

  it('round-trips events and leaves no temporary file', () => {
    const path = join(folder, 'spool.json')
    writeSpool(path, events)
    expect(readSpool(path)).toEqual(events)
    expect(readdirSync(folder)).toEqual(['spool.json'])
  })

  it('reads a missing spool as empty', () => {
    expect(readSpool(join(folder, 'none.json'))).toEqual([])
  })

  it('moves an unreadable spool aside instead of losing it', () => {
    const path = join(folder, 'spool.json')
    writeFileSync(path, '{"events": [')
    expect(() => readSpool(path)).toThrow(/moved to .*spool\.json\.corrupt/)
    expect(existsSync(path)).toBe(false)
    expect(readFileSync(`${path}.corrupt`, 'utf8')).toBe('{"events": [')
  })
})

describe('SyncConfig checks', () => {
  it('refuses a bad URL, naming the argument, without echoing the value', () => {
    expect(() => new SyncConfig('ftp://127.0.0.1', 'tok')).toThrow(new TypeError("serverUrl must be an http or https URL or '', got a ftp: URL"))
    expect(() => new SyncConfig('not a url', 'tok')).toThrow(/serverUrl .* not a URL/)
    expect(() => new SyncConfig(42 as unknown as string, 'tok')).toThrow(TypeError)
    expect(() => new SyncConfig('', null as unknown as string)).toThrow(new TypeError('icToken must be a string, got null'))
  })

  it.each([
    ['withInterval', 0, RangeError],
    ['withBatchThreshold', 1.5, RangeError],
    ['withTimeout', 2 ** 31, RangeError],
    ['withMaxEventsPerMinute', -1, RangeError],
    ['withMaxConcurrency', 0, RangeError],
    ['withRetryDelay', Number.NaN, RangeError],
    ['withMaxRetryDelay', '5', TypeError],
  ] as const)('%s(%s) throws a %o', (method, value, type) => {
    const config = new SyncConfig('', 'tok')
    expect(() => (config[method] as (n: unknown) => SyncConfig)(value)).toThrow(type)
  })

  it('checks fields set directly when the client starts', () => {
    const config = new SyncConfig('http://127.0.0.1:9', 'tok')
    config.batchThreshold = -3
    expect(() => new SyncClient(new EventStore(), config).start()).toThrow(new RangeError('batchThreshold must be an integer from 1 to 9007199254740991, got -3'))
  })

  it('keeps the icToken out of its own serialisation', () => {
    const config = new SyncConfig('http://127.0.0.1:9', 'ic_secret_123')
    expect(JSON.stringify(config)).not.toContain('ic_secret_123')
    expect(Object.keys(config)).not.toContain('icToken')
    expect(config.icToken).toBe('ic_secret_123')
  })
})
