// The sync client's small parts on their own: the outcome policy, Retry-After, backoff, pacing,
// the send queue's cursor, and the checks of SyncConfig.
import { describe, expect, it } from 'vitest'
import { type AnalyticsEvent, EventStore } from '../lib/index.js'
import { SyncClient, SyncConfig } from '../lib/sync/index.js'
import type { BufferedEvents, Sequenced } from '../lib/sync/buffer.js'
import { type Answer, backoffDelay, OutcomePolicy, parseRetryAfter } from '../lib/sync/outcome.js'
import { TokenPacer, WindowLimit } from '../lib/sync/pacing.js'
import { SendQueue } from '../lib/sync/queue.js'

const reply = (status: number, extra: Partial<Extract<Answer, { kind: 'reply' }>> = {}): Answer => ({ kind: 'reply', status, ...extra })
const policy = () => new OutcomePolicy({ retryDelay: 100, maxRetryDelay: 10_000, maxRetryAfterMs: 300_000, random: () => 1 })

describe('OutcomePolicy: the outcome table of SPEC section 7', () => {
  it.each([
    [reply(202), 'delivered'],
    [reply(200), 'delivered'],
    [reply(400), 'rejected'],
    [reply(400, { errorCode: 'VALIDATION_ERROR' }), 'rejected'],
    [reply(422), 'rejected'],
    [reply(400, { errorCode: 'INVALID_TOKEN' }), 'credential'],
    [reply(400, { errorCode: 'UNAUTHORIZED' }), 'credential'],
    [reply(401), 'credential'],
    [reply(403), 'credential'],
    [reply(404), 'misrouted'],
    [reply(405), 'misrouted'],
    [reply(410), 'misrouted'],
    [reply(413), 'misrouted'],
    [reply(415), 'misrouted'],
    [reply(408), 'retry'],
    [reply(429), 'retry'],
    [reply(500), 'retry'],
    [reply(503), 'retry'],
    [reply(302), 'retry'],
    [{ kind: 'failure', message: 'network error: ECONNRESET' } as Answer, 'retry'],
  ])('%o is %s', (answer, kind) => {
    expect(policy().decide(answer, 'tok', 0, 0).kind).toBe(kind)
  })

  it('pauses one token for a credential problem or a 429, the whole server otherwise', () => {
    const credential = policy()
    credential.decide(reply(400, { errorCode: 'INVALID_TOKEN' }), 'a', 0, 0)
    expect(credential.waitFor('a', 0)).toBe(100)
    expect(credential.waitFor('b', 0)).toBe(0)
    const limited = policy()
    limited.decide(reply(429, { retryAfter: '2' }), 'a', 0, 0)
    expect([limited.waitFor('a', 0), limited.waitFor('b', 0)]).toEqual([2000, 0])
    for (const status of [404, 503]) {
      const server = policy()
      server.decide(reply(status), 'a', 0, 0)
      expect(server.waitFor('b', 0)).toBe(100)
    }
  })

  it('honours Retry-After up to maxRetryAfterMs, and a caller\'s round forgives backoff only', () => {
    const capped = new OutcomePolicy({ retryDelay: 100, maxRetryDelay: 10_000, maxRetryAfterMs: 5_000, random: () => 1 })
    expect(capped.decide(reply(503, { retryAfter: '999999' }), 'a', 0, 0)).toMatchObject({ kind: 'retry', waitMs: 5_000 })
    capped.forgiveBackoff()
    expect(capped.waitFor('a', 0)).toBe(5_000)
    const plain = policy()
    plain.decide(reply(503), 'a', 0, 0)
    plain.forgiveBackoff()
    expect(plain.waitFor('a', 0)).toBe(0)
  })

  it('grows the backoff per outage, not per request already in flight, and forgets it on a delivery', () => {
    const p = policy()
    expect(p.decide(reply(503), 'a', 0, 10)).toMatchObject({ waitMs: 100 })
    // Sent before the first failure was seen: the same outage.
    expect(p.decide(reply(503), 'a', 5, 12)).toMatchObject({ waitMs: 98 })
    expect(p.decide(reply(503), 'a', 200, 200)).toMatchObject({ waitMs: 200 })
    p.decide(reply(202), 'a', 400, 400)
    expect(p.waitFor('a', 400)).toBe(0)
    expect(p.decide(reply(503), 'a', 500, 500)).toMatchObject({ waitMs: 100 })
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

describe('pacing', () => {
  it('a cap lets `limit` sends through in any window of a minute, and the next once the oldest has aged out', () => {
    const limit = new WindowLimit(3)
    for (const at of [0, 10, 20]) {
      expect(limit.wait(at)).toBe(0)
      limit.take(at)
    }
    expect(limit.wait(30)).toBe(61_000 - 30)
    expect(limit.wait(61_000)).toBe(0)
    limit.take(61_000)
    expect(limit.wait(61_000)).toBe(10)
    expect(limit.wait(61_010)).toBe(0)
  })

  it('never waits without a cap until a 429', () => {
    const pacer = new TokenPacer(0)
    for (let i = 0; i < 10_000; i++) pacer.take(0)
    expect(pacer.wait(0)).toBe(0)
    expect(pacer.rate).toBeUndefined()
  })

  it('after a 429, paces at what the server took in the last minute, and probes upward after each quiet minute', () => {
    const pacer = new TokenPacer(0)
    for (let at = 0; at < 30_000; at += 50) {
      pacer.take(at)
      pacer.accepted(at)
    }
    pacer.rateLimited(30_000)
    expect(pacer.rate).toBe(600)
    // 600 a minute: one send every 100 ms.
    pacer.take(30_000)
    expect(pacer.wait(30_040)).toBe(60)
    expect(pacer.wait(30_100)).toBe(0)
    expect(pacer.wait(90_000)).toBe(0)
    expect(pacer.rate).toBe(900)
    pacer.rateLimited(90_500)
    // Nothing accepted in the last minute: the rate stays, backoff waits.
    expect(pacer.rate).toBe(900)
  })

  it('a cap holds whatever the server says', () => {
    const pacer = new TokenPacer(2)
    pacer.take(0)
    pacer.take(1)
    expect(pacer.wait(2)).toBe(61_000 - 2)
  })
})

describe('SendQueue', () => {
  /** A buffer that counts what each read returns, to check that rounds read only what is new. */
  function countingBuffer(events: AnalyticsEvent[]): BufferedEvents & { returned: number; acknowledged: number[] } {
    const buffered: Sequenced[] = events.map((event, i) => ({ seq: i + 1, event }))
    const buffer = {
      returned: 0,
      acknowledged: [] as number[],
      eventsAfter(afterSeq: number, max: number) {
        const found = buffered.filter((entry) => entry.seq > afterSeq).slice(0, max)
        buffer.returned += found.length
        return found
      },
      acknowledge(seqs: readonly number[]) {
        buffer.acknowledged.push(...seqs)
        return seqs.length
      },
      len: () => buffered.length,
      capacity: () => 10_000,
    }
    return buffer
  }

  const llm = (i: number, agentId?: string): AnalyticsEvent => ({
    type: 'llm_request_completed', eventId: `e${i}`, timestampMs: 1, model: 'gpt-4o', provider: 'openai',
    inputTokens: 1, outputTokens: 1, costMicros: 1, cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0,
    ...(agentId ? { agentId } : {}),
  })

  it('reads a batch at a time past its cursor, never an event twice', () => {
    const buffer = countingBuffer(Array.from({ length: 2000 }, (_, i) => llm(i)))
    const queue = new SendQueue(buffer, () => 't')
    queue.read()
    expect(buffer.returned).toBe(512)
    for (let i = 0; i < 512; i++) queue.acknowledge(queue.take(() => true)!)
    queue.read()
    expect(buffer.returned).toBe(1024)
    queue.flushAcks()
    expect(buffer.acknowledged).toEqual(Array.from({ length: 512 }, (_, i) => i + 1))
  })

  it('rejects an event it cannot encode on its own, and keeps the others', () => {
    const bad = { ...llm(1), costMicros: 2 ** 60 }
    const buffer = countingBuffer([llm(0), bad, llm(2)])
    const queue = new SendQueue(buffer, () => 't')
    const unencodable = queue.read()
    expect(unencodable.map((entry) => entry.event.eventId)).toEqual(['e1'])
    expect(buffer.acknowledged).toEqual([2])
    expect([queue.take(() => true)?.event.eventId, queue.take(() => true)?.event.eventId]).toEqual(['e0', 'e2'])
  })

  it('keeps one lane per token: a blocked token does not hold back another, and order survives a retry', () => {
    const buffer = countingBuffer([llm(0, 'a'), llm(1, 'b'), llm(2, 'a'), llm(3, 'b')])
    const queue = new SendQueue(buffer, (event) => event.agentId)
    queue.read()
    const onlyB = (lane: { token: string | undefined }) => lane.token === 'b'
    const first = queue.take(onlyB)!
    expect(first.event.eventId).toBe('e1')
    queue.giveBack(first)
    expect([queue.take(onlyB)?.event.eventId, queue.take(onlyB)?.event.eventId, queue.take(onlyB)]).toEqual(['e1', 'e3', undefined])
    expect(queue.queued).toBe(2)
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
