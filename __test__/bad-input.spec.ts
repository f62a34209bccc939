// SPEC section 6 for every public method and function of section 2 (SyncConfig and SyncClient have
// their own suite): a refused call throws the SPEC's error class with a message naming the argument,
// and leaves the store exactly as it was. Also: long error messages are cut, optional arguments
// take null and undefined, and the aggregate maps take any name as a key.
import { describe, expect, it } from 'vitest'
import {
  type AnalyticsEvent,
  type ComputedStats,
  EventStore,
  ModelStats,
  PricingManager,
  currentTimeMs,
  inferProvider,
  microsToUsd,
  parseProvider,
  toProtocol012,
  usdToMicros,
} from '../lib/index'

type ErrorClass = typeof TypeError | typeof RangeError | typeof SyntaxError
type Case = readonly [value: unknown, error: ErrorClass]

const pricing = new PricingManager()
const TOKEN = 'ic_secret-token-do-not-leak'
const UUID = '6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b'
const LONG = 'x'.repeat(257)
const LONGEST = 'y'.repeat(256)
const MAX_SAFE = Number.MAX_SAFE_INTEGER

/** Values a count argument (tokens, micros, a capacity's type) refuses. */
const NOT_A_COUNT: readonly Case[] = [
  [-1, RangeError],
  [1.5, RangeError],
  [-0.5, RangeError],
  [Number.NaN, RangeError],
  [Number.POSITIVE_INFINITY, RangeError],
  [Number.NEGATIVE_INFINITY, RangeError],
  [2 ** 53, RangeError],
  [Number.MAX_VALUE, RangeError],
  ['1', TypeError],
  [1n, TypeError],
  [true, TypeError],
  [{}, TypeError],
  [[1], TypeError],
]
/** ...and when the argument is required, absent. */
const NOT_A_REQUIRED_COUNT: readonly Case[] = [...NOT_A_COUNT, [undefined, TypeError], [null, TypeError]]
/** A required model name. */
const NOT_A_MODEL: readonly Case[] = [
  [undefined, TypeError],
  [null, TypeError],
  [42, TypeError],
  [{}, TypeError],
  [['gpt-4'], TypeError],
  ['', RangeError],
  [LONG, RangeError],
]
/** An optional identifier (agentId, providerId, errorCode): null and undefined mean absent. */
const NOT_AN_OPTIONAL_ID: readonly Case[] = [
  [42, TypeError],
  [{}, TypeError],
  [true, TypeError],
  [['agent'], TypeError],
  [LONG, RangeError],
]
/** Where a Provider is expected. */
const NOT_A_PROVIDER: readonly Case[] = [
  [undefined, TypeError],
  [null, TypeError],
  [0, TypeError],
  [{}, TypeError],
  ['OpenAI', RangeError],
  ['ANTHROPIC', RangeError],
  ['azure', RangeError],
  ['', RangeError],
]
const NOT_A_CAPACITY: readonly Case[] = [
  [0, RangeError],
  [-1, RangeError],
  [1.5, RangeError],
  [Number.NaN, RangeError],
  [Number.POSITIVE_INFINITY, RangeError],
  [10_000_001, RangeError],
  [2 ** 53, RangeError],
  ['10', TypeError],
  [10n, TypeError],
  [{}, TypeError],
]
const NOT_A_STRING: readonly Case[] = [
  [undefined, TypeError],
  [null, TypeError],
  [42, TypeError],
  [{}, TypeError],
  [['x'], TypeError],
]

interface StoreState {
  stats: ComputedStats
  len: number
  dropped: number
  unsynced: number
}

function stateOf(store: EventStore): StoreState {
  return { stats: store.stats(), len: store.len(), dropped: store.droppedCount(), unsynced: store.unsyncedCount() }
}

/** Calls a method with arguments its types would not allow. */
function invoke(target: object, method: string, ...args: unknown[]): unknown {
  const fn = (target as Record<string, unknown>)[method]
  if (typeof fn !== 'function') throw new Error(`no method ${method}`)
  return fn.apply(target, args)
}

function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'string') return value.length > 20 ? `"${value.slice(0, 5)}…" (${value.length} chars)` : JSON.stringify(value)
  if (typeof value === 'number') return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * A store with figures in every map, a dropped event, and room for one more event: capacity 4,
 * five events recorded (one dropped), then one acknowledged.
 */
function populatedStore(): EventStore {
  const store = new EventStore(4)
  store.recordLlmCompleted(pricing, 'gpt-4', 100, 50, 'agent-1', 'ip-1')
  store.recordLlmCompletedWithProvider(pricing, 'claude-3-opus-20240229', 'anthropic', 10, 5)
  store.recordLlmFailed('gpt-4o', 'agent-2', null, 'timeout', 'took too long')
  store.recordBudgetThreshold(50, 5, 10, 'agent-1')
  store.recordRouterStarted(8080)
  store.markSynced([store.snapshotEvents()[0].eventId])
  expect(stateOf(store)).toMatchObject({ len: 3, dropped: 1, unsynced: 3 })
  expect(store.stats().totalRequests).toBe(3)
  return store
}

/** Expects `call` to throw `error` naming `argument`, and the store to be exactly as before. */
function expectRefused(store: EventStore, label: string, call: () => unknown, error: ErrorClass, argument: RegExp): void {
  const before = stateOf(store)
  let thrown: unknown
  let returned: unknown
  try {
    returned = call()
  } catch (caught) {
    thrown = caught
  }
  expect(thrown, `${label} must throw ${error.name}, returned ${describeValue(returned)}`).toBeInstanceOf(error)
  if (error !== SyntaxError) {
    // A RangeError is not a TypeError and vice versa; make sure the class is the one asked for.
    expect((thrown as Error).name, label).toBe(error.name)
  }
  expect((thrown as Error).message, `${label}: the message names the argument`).toMatch(argument)
  expect((thrown as Error).message, `${label}: never the token`).not.toContain(TOKEN)
  expect(stateOf(store), `${label}: the store is unchanged`).toEqual(before)
}

/** Runs `expectRefused` for each case, the value going where `place` puts it. */
function expectEachRefused(store: EventStore, label: string, cases: readonly Case[], place: (value: unknown) => unknown, argument: RegExp): void {
  for (const [value, error] of cases) {
    expectRefused(store, `${label} with ${describeValue(value)}`, () => place(value), error, argument)
  }
}

function completedEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'llm_request_completed', model: 'gpt-4', provider: 'openai', inputTokens: 1, outputTokens: 2, costMicros: 3, ...overrides }
}

function without(event: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = { ...event }
  delete copy[key]
  return copy
}

const EVENT_SHAPES: Record<string, Record<string, unknown>> = {
  llm_request_completed: completedEvent(),
  llm_request_failed: { type: 'llm_request_failed', model: 'gpt-4', provider: 'openai' },
  budget_threshold_reached: { type: 'budget_threshold_reached', thresholdPercent: 80, currentSpendMicros: 8, budgetMicros: 10 },
  router_started: { type: 'router_started', port: 8080 },
  router_stopped: { type: 'router_stopped', totalRequests: 1, totalCostMicros: 2 },
}

describe('bad input: module functions', () => {
  it('inferProvider refuses a model that is not a string', () => {
    const store = populatedStore()
    expectEachRefused(store, 'inferProvider', NOT_A_STRING, (value) => invoke({ inferProvider }, 'inferProvider', value), /\bmodel\b/)
  })

  it('parseProvider refuses a name that is not a string', () => {
    const store = populatedStore()
    expectEachRefused(store, 'parseProvider', NOT_A_STRING, (value) => invoke({ parseProvider }, 'parseProvider', value), /\bname\b/)
  })

  it('currentTimeMs takes no arguments and ignores stray ones', () => {
    const before = Date.now()
    const now = invoke({ currentTimeMs }, 'currentTimeMs', 'junk', -1) as number
    expect(Number.isSafeInteger(now)).toBe(true)
    expect(now).toBeGreaterThanOrEqual(before)
    expect(now).toBeLessThanOrEqual(Date.now())
  })

  it('microsToUsd refuses anything but a non-negative safe integer', () => {
    const store = populatedStore()
    expectEachRefused(store, 'microsToUsd', NOT_A_REQUIRED_COUNT, (value) => microsToUsd(value as number), /\bmicros\b/)
    expect(microsToUsd(0)).toBe(0)
    expect(microsToUsd(MAX_SAFE)).toBe(MAX_SAFE / 1e6)
  })

  it('usdToMicros refuses non-numbers and non-finite numbers; it never returns a negative', () => {
    const store = populatedStore()
    const cases: Case[] = [
      ['1.5', TypeError],
      [undefined, TypeError],
      [null, TypeError],
      [1n, TypeError],
      [{}, TypeError],
      [Number.NaN, RangeError],
      [Number.POSITIVE_INFINITY, RangeError],
      [Number.NEGATIVE_INFINITY, RangeError],
    ]
    expectEachRefused(store, 'usdToMicros', cases, (value) => usdToMicros(value as number), /\busd\b/)
    // "rounded, never negative" (SPEC 2): a negative amount gives 0, a fraction of a micro rounds.
    expect(usdToMicros(-1)).toBe(0)
    expect(usdToMicros(-0.0000004)).toBe(0)
    expect(Object.is(usdToMicros(-0.0000004), 0)).toBe(true)
    expect(usdToMicros(0.0000014)).toBe(1)
    expect(usdToMicros(0.0000016)).toBe(2)
  })

  it('toProtocol012 refuses an event that is not an object', () => {
    const store = populatedStore()
    const cases: Case[] = [
      [undefined, TypeError],
      [null, TypeError],
      [42, TypeError],
      ['llm_request_completed', TypeError],
    ]
    expectEachRefused(store, 'toProtocol012', cases, (value) => invoke({ toProtocol012 }, 'toProtocol012', value, TOKEN), /\bevent\b/)
  })

  it('toProtocol012 refuses an icToken that is not a string, and never shows it', () => {
    const store = populatedStore()
    const [event] = store.snapshotEvents()
    const cases: Case[] = [
      [undefined, TypeError],
      [null, TypeError],
      [42, TypeError],
      [{ token: TOKEN }, TypeError],
    ]
    expectEachRefused(store, 'toProtocol012', cases, (value) => invoke({ toProtocol012 }, 'toProtocol012', event, value), /\bicToken\b/)
  })

  it('toProtocol012 refuses an LLM event that lacks a wire field', () => {
    // An LLM event without its model or figures would go out as a request the server rejects for good.
    const store = populatedStore()
    const failed: Record<string, unknown> = { type: 'llm_request_failed', eventId: UUID, timestampMs: 1, model: 'gpt-4', provider: 'openai' }
    const completed: Record<string, unknown> = { ...failed, type: 'llm_request_completed', inputTokens: 1, outputTokens: 2, costMicros: 3 }
    for (const [event, key] of [
      [completed, 'model'],
      [completed, 'provider'],
      [completed, 'eventId'],
      [completed, 'timestampMs'],
      [completed, 'inputTokens'],
      [completed, 'outputTokens'],
      [completed, 'costMicros'],
      [failed, 'model'],
      [failed, 'eventId'],
    ] as const) {
      expectRefused(store, `toProtocol012 of ${event.type} without ${key}`, () => invoke({ toProtocol012 }, 'toProtocol012', without(event, key), TOKEN), TypeError, new RegExp(key))
    }
  })
})

describe('bad input: PricingManager and ModelPricing', () => {
  const VALID = JSON.stringify({ 'my-model': { input_cost_per_token: 1e-6, output_cost_per_token: 2e-6, max_output_tokens: 1000 } })
  const INVALID_JSON = ['not json', '{', '', '[]', '42', 'null', '"text"', '{"a": 1,}']

  it('fromJson refuses a non-string with a TypeError and invalid JSON with a SyntaxError', () => {
    const store = populatedStore()
    expectEachRefused(store, 'PricingManager.fromJson', NOT_A_STRING, (value) => PricingManager.fromJson(value as string), /\bjson\b/i)
    for (const json of INVALID_JSON) {
      expectRefused(store, `PricingManager.fromJson(${JSON.stringify(json)})`, () => PricingManager.fromJson(json), SyntaxError, /json/i)
    }
    expect(PricingManager.fromJson(VALID).models()).toEqual(['my-model'])
  })

  it('loadJson refuses bad input and keeps the table in use', () => {
    const store = populatedStore()
    const manager = PricingManager.fromJson(VALID)
    const check = () => {
      expect(manager.models()).toEqual(['my-model'])
      expect(manager.get('my-model')?.calculateCostMicros(1_000, 1_000)).toBe(3_000)
    }
    expectEachRefused(
      store,
      'loadJson',
      NOT_A_STRING,
      (value) => {
        try {
          return manager.loadJson(value as string)
        } finally {
          check()
        }
      },
      /\bjson\b/i,
    )
    for (const json of INVALID_JSON) {
      expectRefused(store, `loadJson(${JSON.stringify(json)})`, () => manager.loadJson(json), SyntaxError, /json/i)
      check()
    }
    // The table a store prices with after a failed load is the old one.
    const recorder = new EventStore(10)
    recorder.recordLlmCompleted(manager, 'my-model', 1_000, 1_000)
    expect(() => manager.loadJson('{ nope')).toThrow(SyntaxError)
    recorder.recordLlmCompleted(manager, 'my-model', 1_000, 1_000)
    expect(recorder.stats().totalCostMicros).toBe(6_000)
  })

  it('get refuses a model that is not a string', () => {
    const store = populatedStore()
    expectEachRefused(store, 'get', NOT_A_STRING, (value) => pricing.get(value as string), /\bmodel\b/)
  })

  it('the constructor, models() and hasValidPricing() ignore stray arguments', () => {
    const manager = new (PricingManager as unknown as new (...args: unknown[]) => PricingManager)('junk', 42)
    expect(manager.models()).toEqual(pricing.models())
    expect(invoke(pricing, 'models', 'junk')).toEqual(pricing.models())
    expect(invoke(pricing.get('gpt-4')!, 'hasValidPricing', false)).toBe(true)
  })

  it('calculateCostMicros refuses token counts that are not non-negative safe integers', () => {
    const store = populatedStore()
    const price = pricing.get('gpt-4')!
    expectEachRefused(store, 'calculateCostMicros inputTokens', NOT_A_REQUIRED_COUNT, (value) => price.calculateCostMicros(value as number, 1), /\binputTokens\b/)
    expectEachRefused(store, 'calculateCostMicros outputTokens', NOT_A_REQUIRED_COUNT, (value) => price.calculateCostMicros(1, value as number), /\boutputTokens\b/)
  })

  it('calculateMaxCostMicros refuses bad token counts; requestMaxOutput takes null and undefined', () => {
    const store = populatedStore()
    const price = PricingManager.fromJson(VALID).get('my-model')!
    expectEachRefused(store, 'calculateMaxCostMicros inputTokens', NOT_A_REQUIRED_COUNT, (value) => price.calculateMaxCostMicros(value as number), /\binputTokens\b/)
    expectEachRefused(store, 'calculateMaxCostMicros requestMaxOutput', NOT_A_COUNT, (value) => price.calculateMaxCostMicros(1, value as number), /\brequestMaxOutput\b/)
    expect(price.calculateMaxCostMicros(100)).toBe(100 + 2_000)
    expect(price.calculateMaxCostMicros(100, undefined)).toBe(100 + 2_000)
    expect(price.calculateMaxCostMicros(100, null)).toBe(100 + 2_000)
    expect(price.calculateMaxCostMicros(100, 10)).toBe(100 + 20)
  })
})

describe('bad input: costMicros, resolve and calculateUsageCostMicros', () => {
  const USAGE = { inputTokens: 37_000, outputTokens: 800, cacheReadTokens: 30_000, cacheWriteTokens: 5_000 }
  const NOT_AN_OBJECT: readonly Case[] = [
    [undefined, TypeError],
    [null, TypeError],
    [42, TypeError],
    ['usage', TypeError],
    [[1, 2], TypeError],
  ]
  const PARTS = ['cacheReadTokens', 'cacheWriteTokens', 'cacheWrite1hTokens', 'reasoningTokens'] as const

  /** Every way a usage is refused, each through `price`; the figures it prices stay as they were. */
  function expectUsageRefused(label: string, price: (usage: unknown) => number): void {
    const store = populatedStore()
    const before = price(USAGE)
    expectEachRefused(store, `${label} usage`, NOT_AN_OBJECT, price, /\busage\b/)
    for (const field of ['inputTokens', 'outputTokens']) {
      expectEachRefused(store, `${label} usage.${field}`, NOT_A_REQUIRED_COUNT, (value) => price({ ...USAGE, [field]: value }), new RegExp(`\\busage\\.${field}\\b`))
    }
    for (const field of PARTS) {
      expectEachRefused(store, `${label} usage.${field}`, NOT_A_COUNT, (value) => price({ ...USAGE, [field]: value }), new RegExp(`\\busage\\.${field}\\b`))
      expect(price({ ...USAGE, [field]: null })).toBe(price({ ...USAGE, [field]: undefined }))
    }
    expect(() => price({ ...USAGE, cacheReadTokens: -1 })).toThrow('usage.cacheReadTokens must be a non-negative safe integer, got -1')
    // Parts above their totals.
    expectRefused(store, `${label} cache parts above inputTokens`, () => price({ ...USAGE, cacheWrite1hTokens: 2_001 }), RangeError, /\busage\b.*inputTokens/)
    expectRefused(store, `${label} reasoning above outputTokens`, () => price({ ...USAGE, reasoningTokens: 801 }), RangeError, /\busage\.reasoningTokens\b/)
    expect(price(USAGE), `${label}: nothing changed`).toBe(before)
  }

  it('costMicros refuses a bad model and every bad usage', () => {
    const store = populatedStore()
    expectEachRefused(store, 'costMicros model', NOT_A_MODEL, (value) => pricing.costMicros(value as string, USAGE), /\bmodel\b/)
    expectUsageRefused('costMicros', (usage) => pricing.costMicros('claude-sonnet-4-5', usage as never))
    // A model nothing prices costs 0, but its usage is checked all the same.
    expectUsageRefused('costMicros of an unpriced model', (usage) => pricing.costMicros('no-such-model', usage as never))
  })

  it('calculateUsageCostMicros refuses every bad usage', () => {
    const price = pricing.get('claude-sonnet-4-5')!
    expectUsageRefused('calculateUsageCostMicros', (usage) => price.calculateUsageCostMicros(usage as never))
  })

  it('refuses a cost past Number.MAX_SAFE_INTEGER instead of rounding it', () => {
    const store = populatedStore()
    const dear = PricingManager.fromJson(JSON.stringify({ dear: { input_cost_per_token: 0.01, output_cost_per_token: 0.01 } }))
    const huge = { inputTokens: 2 ** 50, outputTokens: 2 ** 50 }
    expectRefused(store, 'costMicros past 2^53', () => dear.costMicros('dear', huge), RangeError, /\busage\b/)
    expectRefused(store, 'calculateUsageCostMicros past 2^53', () => dear.get('dear')!.calculateUsageCostMicros(huge), RangeError, /\busage\b/)
    expectRefused(store, 'calculateCostMicros past 2^53', () => dear.get('dear')!.calculateCostMicros(2 ** 50, 0), RangeError, /\binputTokens\b/)
  })

  it('resolve refuses a bad model; any other string resolves or is undefined', () => {
    const store = populatedStore()
    expectEachRefused(store, 'resolve', NOT_A_MODEL, (value) => pricing.resolve(value as string), /\bmodel\b/)
    expect(pricing.resolve(LONGEST)).toBeUndefined()
    expect(pricing.resolve('__proto__')).toBeUndefined()
    expect(pricing.resolve('constructor')).toBeUndefined()
    expect(invoke(pricing, 'resolve', 'gpt-4o', 'junk')).toBe('gpt-4o')
  })
})

describe('bad input: EventStore construction', () => {
  it('new EventStore refuses a capacity outside 1..10,000,000; null and undefined mean 10,000', () => {
    const store = populatedStore()
    expectEachRefused(store, 'new EventStore', NOT_A_CAPACITY, (value) => new EventStore(value as number), /\bcapacity\b/)
    expect(new EventStore(null).capacity()).toBe(10_000)
    expect(new EventStore(undefined).capacity()).toBe(10_000)
    expect(new EventStore(1).capacity()).toBe(1)
  })

  it('withCapacity refuses a capacity outside 1..10,000,000', () => {
    const store = populatedStore()
    expectEachRefused(store, 'withCapacity', [...NOT_A_CAPACITY, [undefined, TypeError], [null, TypeError]], (value) => EventStore.withCapacity(value as number), /\bcapacity\b/)
  })

  it('withStreaming refuses a bad capacity or channel size', () => {
    const store = populatedStore()
    const required: Case[] = [...NOT_A_CAPACITY, [undefined, TypeError], [null, TypeError]]
    expectEachRefused(store, 'withStreaming capacity', required, (value) => EventStore.withStreaming(value as number, 10), /\bcapacity\b/)
    expectEachRefused(store, 'withStreaming channelSize', required, (value) => EventStore.withStreaming(10, value as number), /\bchannelSize\b/)
  })

  it('shared refuses a bad name or capacity, registers nothing, and leaves the named store alone', () => {
    const name = `bad-input-shared-${process.pid}`
    const fresh = `bad-input-fresh-${process.pid}`
    try {
      const shared = EventStore.shared(name, 5)
      shared.recordLlmCompleted(pricing, 'gpt-4', 100, 50, 'agent-1')
      shared.recordLlmFailed('gpt-4')
      expectEachRefused(shared, 'shared name', [...NOT_A_STRING, ['', RangeError], [LONG, RangeError]], (value) => EventStore.shared(value as string), /\bname\b/)
      expectEachRefused(shared, 'shared capacity', NOT_A_CAPACITY, (value) => EventStore.shared(fresh, value as number), /\bcapacity\b/)
      expectEachRefused(shared, 'removeShared name', [...NOT_A_STRING, ['', RangeError], [LONG, RangeError]], (value) => EventStore.removeShared(value as string), /\bname\b/)
      // A different capacity for an existing name is refused; the existing store is unchanged.
      expectRefused(shared, 'shared with another capacity', () => EventStore.shared(name, 6), RangeError, /\bcapacity\b/)
      // The refused calls registered nothing under the fresh name.
      expect(EventStore.shared(fresh, 7).capacity()).toBe(7)
      // null and undefined take the existing store.
      expect(EventStore.shared(name, null).stats()).toEqual(shared.stats())
      expect(EventStore.shared(name, undefined).len()).toBe(2)
    } finally {
      EventStore.removeShared(name)
      EventStore.removeShared(fresh)
    }
  })
})

describe('bad input: EventStore.record', () => {
  it('refuses an event that is not an object', () => {
    const store = populatedStore()
    expectEachRefused(store, 'record', [[undefined, TypeError], [null, TypeError], [42, TypeError], ['llm_request_completed', TypeError], [true, TypeError]], (value) => invoke(store, 'record', value), /\bevent\b/)
  })

  it('refuses an unknown or missing type', () => {
    const store = populatedStore()
    const cases: Case[] = [
      ['nope', TypeError],
      ['LLM_REQUEST_COMPLETED', TypeError],
      ['', TypeError],
      [42, TypeError],
      [undefined, TypeError],
      [null, TypeError],
    ]
    expectEachRefused(store, 'record type', cases, (value) => invoke(store, 'record', completedEvent({ type: value })), /\btype\b/)
    expectRefused(store, 'record without type', () => invoke(store, 'record', without(completedEvent(), 'type')), TypeError, /\btype\b/)
  })

  it('refuses an event that lacks a required field, for every type', () => {
    const store = populatedStore()
    for (const [type, shape] of Object.entries(EVENT_SHAPES)) {
      for (const key of Object.keys(shape).filter((key) => key !== 'type')) {
        expectRefused(store, `record ${type} without ${key}`, () => invoke(store, 'record', without(shape, key)), TypeError, new RegExp(`\\b${key}\\b`))
        expectRefused(store, `record ${type} with ${key}: undefined`, () => invoke(store, 'record', { ...shape, [key]: undefined }), TypeError, new RegExp(`\\b${key}\\b`))
      }
    }
  })

  it('refuses numbers that are not non-negative safe integers, in every numeric field', () => {
    const store = populatedStore()
    for (const [type, shape] of Object.entries(EVENT_SHAPES)) {
      for (const [key, valid] of Object.entries(shape)) {
        if (typeof valid !== 'number') continue
        expectEachRefused(store, `record ${type} ${key}`, NOT_A_COUNT, (value) => invoke(store, 'record', { ...shape, [key]: value }), new RegExp(`\\b${key}\\b`))
      }
    }
    expectEachRefused(store, 'record timestampMs', NOT_A_COUNT, (value) => invoke(store, 'record', completedEvent({ timestampMs: value })), /\btimestampMs\b/)
  })

  it('refuses thresholdPercent outside 0..255 and port outside 0..65535', () => {
    const store = populatedStore()
    const budget = EVENT_SHAPES.budget_threshold_reached
    expectEachRefused(store, 'record thresholdPercent', [[256, RangeError], [1_000, RangeError], [-1, RangeError]], (value) => invoke(store, 'record', { ...budget, thresholdPercent: value }), /\bthresholdPercent\b/)
    expectEachRefused(store, 'record port', [[65_536, RangeError], [100_000, RangeError], [-1, RangeError]], (value) => invoke(store, 'record', { type: 'router_started', port: value }), /\bport\b/)
  })

  it('refuses a bad model, provider, agentId, providerId or errorCode', () => {
    const store = populatedStore()
    for (const shape of [EVENT_SHAPES.llm_request_completed, EVENT_SHAPES.llm_request_failed]) {
      expectEachRefused(store, `record ${shape.type} model`, NOT_A_MODEL, (value) => invoke(store, 'record', { ...shape, model: value }), /\bmodel\b/)
      expectEachRefused(store, `record ${shape.type} provider`, NOT_A_PROVIDER, (value) => invoke(store, 'record', { ...shape, provider: value }), /\bprovider\b/)
      expectEachRefused(store, `record ${shape.type} providerId`, NOT_AN_OPTIONAL_ID, (value) => invoke(store, 'record', { ...shape, providerId: value }), /\bproviderId\b/)
    }
    for (const shape of Object.values(EVENT_SHAPES)) {
      expectEachRefused(store, `record ${shape.type} agentId`, NOT_AN_OPTIONAL_ID, (value) => invoke(store, 'record', { ...shape, agentId: value }), /\bagentId\b/)
    }
    const failed = EVENT_SHAPES.llm_request_failed
    expectEachRefused(store, 'record errorCode', NOT_AN_OPTIONAL_ID, (value) => invoke(store, 'record', { ...failed, errorCode: value }), /\berrorCode\b/)
    expectEachRefused(store, 'record errorMessage', [[42, TypeError], [{}, TypeError], [true, TypeError]], (value) => invoke(store, 'record', { ...failed, errorMessage: value }), /\berrorMessage\b/)
  })

  it('refuses an eventId that is not a UUID string', () => {
    const store = populatedStore()
    const cases: Case[] = [
      [42, TypeError],
      [{}, TypeError],
      ['not-a-uuid', RangeError],
      ['', RangeError],
      [`${UUID}0`, RangeError],
    ]
    expectEachRefused(store, 'record eventId', cases, (value) => invoke(store, 'record', completedEvent({ eventId: value })), /\beventId\b/)
  })
})

describe('bad input: EventStore record* methods', () => {
  it('recordLlmCompleted refuses a bad pricing, model, token count, agentId or providerId', () => {
    const store = populatedStore()
    const call = (...args: unknown[]) => invoke(store, 'recordLlmCompleted', ...args)
    const notPricing: Case[] = [
      [undefined, TypeError],
      [null, TypeError],
      [{}, TypeError],
      ['pricing', TypeError],
      [{ get: () => undefined, models: () => [] }, TypeError],
    ]
    expectEachRefused(store, 'recordLlmCompleted pricing', notPricing, (value) => call(value, 'gpt-4', 1, 1), /\bpricing\b/)
    expectEachRefused(store, 'recordLlmCompleted model', NOT_A_MODEL, (value) => call(pricing, value, 1, 1), /\bmodel\b/)
    expectEachRefused(store, 'recordLlmCompleted inputTokens', NOT_A_REQUIRED_COUNT, (value) => call(pricing, 'gpt-4', value, 1), /\binputTokens\b/)
    expectEachRefused(store, 'recordLlmCompleted outputTokens', NOT_A_REQUIRED_COUNT, (value) => call(pricing, 'gpt-4', 1, value), /\boutputTokens\b/)
    expectEachRefused(store, 'recordLlmCompleted agentId', NOT_AN_OPTIONAL_ID, (value) => call(pricing, 'gpt-4', 1, 1, value), /\bagentId\b/)
    expectEachRefused(store, 'recordLlmCompleted providerId', NOT_AN_OPTIONAL_ID, (value) => call(pricing, 'gpt-4', 1, 1, 'agent-1', value), /\bproviderId\b/)
  })

  it('recordLlmCompleted names the argument and what it got', () => {
    const store = new EventStore(10)
    expect(() => store.recordLlmCompleted(pricing, 'gpt-4', -1, 0)).toThrow(/inputTokens must be a non-negative safe integer, got -1/)
  })

  it('recordLlmCompletedWithProvider refuses a bad pricing, model, provider, token count, agentId or providerId', () => {
    const store = populatedStore()
    const call = (...args: unknown[]) => invoke(store, 'recordLlmCompletedWithProvider', ...args)
    expectEachRefused(store, 'recordLlmCompletedWithProvider pricing', [[undefined, TypeError], [{}, TypeError]], (value) => call(value, 'gpt-4', 'openai', 1, 1), /\bpricing\b/)
    expectEachRefused(store, 'recordLlmCompletedWithProvider model', NOT_A_MODEL, (value) => call(pricing, value, 'openai', 1, 1), /\bmodel\b/)
    expectEachRefused(store, 'recordLlmCompletedWithProvider provider', NOT_A_PROVIDER, (value) => call(pricing, 'gpt-4', value, 1, 1), /\bprovider\b/)
    expectEachRefused(store, 'recordLlmCompletedWithProvider inputTokens', NOT_A_REQUIRED_COUNT, (value) => call(pricing, 'gpt-4', 'openai', value, 1), /\binputTokens\b/)
    expectEachRefused(store, 'recordLlmCompletedWithProvider outputTokens', NOT_A_REQUIRED_COUNT, (value) => call(pricing, 'gpt-4', 'openai', 1, value), /\boutputTokens\b/)
    expectEachRefused(store, 'recordLlmCompletedWithProvider agentId', NOT_AN_OPTIONAL_ID, (value) => call(pricing, 'gpt-4', 'openai', 1, 1, value), /\bagentId\b/)
    expectEachRefused(store, 'recordLlmCompletedWithProvider providerId', NOT_AN_OPTIONAL_ID, (value) => call(pricing, 'gpt-4', 'openai', 1, 1, null, value), /\bproviderId\b/)
  })

  it('recordLlmFailed refuses a bad model, agentId, providerId, errorCode or errorMessage', () => {
    const store = populatedStore()
    const call = (...args: unknown[]) => invoke(store, 'recordLlmFailed', ...args)
    expectEachRefused(store, 'recordLlmFailed model', NOT_A_MODEL, (value) => call(value), /\bmodel\b/)
    expectEachRefused(store, 'recordLlmFailed agentId', NOT_AN_OPTIONAL_ID, (value) => call('gpt-4', value), /\bagentId\b/)
    expectEachRefused(store, 'recordLlmFailed providerId', NOT_AN_OPTIONAL_ID, (value) => call('gpt-4', null, value), /\bproviderId\b/)
    expectEachRefused(store, 'recordLlmFailed errorCode', NOT_AN_OPTIONAL_ID, (value) => call('gpt-4', null, null, value), /\berrorCode\b/)
    expectEachRefused(store, 'recordLlmFailed errorMessage', [[42, TypeError], [{}, TypeError], [true, TypeError], [['x'], TypeError]], (value) => call('gpt-4', null, null, 'E', value), /\berrorMessage\b/)
  })

  it('recordBudgetThreshold refuses a bad percent, spend, budget or agentId', () => {
    const store = populatedStore()
    const call = (...args: unknown[]) => invoke(store, 'recordBudgetThreshold', ...args)
    const notPercent: Case[] = [
      [-1, RangeError],
      [256, RangeError],
      [1.5, RangeError],
      [Number.NaN, RangeError],
      [Number.POSITIVE_INFINITY, RangeError],
      [2 ** 53, RangeError],
      ['80', TypeError],
      [undefined, TypeError],
      [null, TypeError],
      [80n, TypeError],
    ]
    expectEachRefused(store, 'recordBudgetThreshold thresholdPercent', notPercent, (value) => call(value, 1, 2), /\bthresholdPercent\b/)
    expectEachRefused(store, 'recordBudgetThreshold currentSpendMicros', NOT_A_REQUIRED_COUNT, (value) => call(80, value, 2), /\bcurrentSpendMicros\b/)
    expectEachRefused(store, 'recordBudgetThreshold budgetMicros', NOT_A_REQUIRED_COUNT, (value) => call(80, 1, value), /\bbudgetMicros\b/)
    expectEachRefused(store, 'recordBudgetThreshold agentId', NOT_AN_OPTIONAL_ID, (value) => call(80, 1, 2, value), /\bagentId\b/)
    const roomy = new EventStore(10)
    roomy.recordBudgetThreshold(0, 0, 0)
    roomy.recordBudgetThreshold(255, MAX_SAFE, MAX_SAFE)
    expect(roomy.snapshotEvents()[0]).toMatchObject({ thresholdPercent: 0, currentSpendMicros: 0, budgetMicros: 0 })
    expect(roomy.snapshotEvents()[1]).toMatchObject({ thresholdPercent: 255, currentSpendMicros: MAX_SAFE, budgetMicros: MAX_SAFE })
  })

  it('recordRouterStarted refuses a port outside 0..65535', () => {
    const store = populatedStore()
    const notPort: Case[] = [
      [-1, RangeError],
      [65_536, RangeError],
      [1.5, RangeError],
      [Number.NaN, RangeError],
      [Number.POSITIVE_INFINITY, RangeError],
      [2 ** 53, RangeError],
      ['8080', TypeError],
      [undefined, TypeError],
      [null, TypeError],
    ]
    expectEachRefused(store, 'recordRouterStarted', notPort, (value) => invoke(store, 'recordRouterStarted', value), /\bport\b/)
    const roomy = new EventStore(10)
    roomy.recordRouterStarted(0)
    roomy.recordRouterStarted(65_535)
    expect(roomy.snapshotEvents().map((event) => event.type === 'router_started' && event.port)).toEqual([0, 65_535])
  })

  it('recordRouterStopped takes no arguments and ignores stray ones', () => {
    const store = populatedStore()
    invoke(store, 'recordRouterStopped', 'junk', -1)
    expect(store.snapshotEvents().at(-1)).toMatchObject({ type: 'router_stopped', totalRequests: 3 })
  })

  it('markSynced refuses anything but an array of strings, and acknowledges nothing then', () => {
    const store = populatedStore()
    const [first] = store.unsyncedEvents()
    const cases: Case[] = [
      [undefined, TypeError],
      [null, TypeError],
      [first.eventId, TypeError],
      [42, TypeError],
      [{ length: 1, 0: first.eventId }, TypeError],
      [new Set([first.eventId]), TypeError],
      [[first.eventId, 42], TypeError],
      [[first.eventId, null], TypeError],
      [[first.eventId, undefined], TypeError],
      [[{ eventId: first.eventId }], TypeError],
    ]
    expectEachRefused(store, 'markSynced', cases, (value) => invoke(store, 'markSynced', value), /\beventIds\b/)
    expect(store.unsyncedEvents()[0].eventId).toBe(first.eventId)
    // Strings that are no buffered event's id acknowledge nothing and are not an error.
    const before = stateOf(store)
    store.markSynced(['', 'not-a-uuid', UUID, first.eventId.toUpperCase().replace(/./, 'z')])
    expect(stateOf(store)).toEqual(before)
  })
})

describe('bad input: methods without arguments', () => {
  it('EventStore reads ignore stray arguments and change nothing', () => {
    const store = populatedStore()
    const before = stateOf(store)
    const events = store.snapshotEvents()
    expect(invoke(store, 'capacity', 'junk')).toBe(4)
    expect(invoke(store, 'len', 'junk')).toBe(3)
    expect(invoke(store, 'isEmpty', 'junk')).toBe(false)
    expect(invoke(store, 'droppedCount', 'junk')).toBe(1)
    expect(invoke(store, 'unsyncedCount', 'junk')).toBe(3)
    expect(invoke(store, 'snapshotEvents', 'junk')).toEqual(events)
    expect(invoke(store, 'unsyncedEvents', 'junk')).toEqual(events)
    expect(invoke(store, 'stats', 'junk')).toEqual(before.stats)
    expect(stateOf(store)).toEqual(before)
    expect(invoke(store, 'drainAll', 'junk')).toEqual(events)
    expect(stateOf(store)).toEqual({ ...before, len: 0, unsynced: 0 })
  })

  it('EventReceiver methods ignore stray arguments', async () => {
    const [store, receiver] = EventStore.withStreaming(10, 10)
    store.recordLlmCompleted(pricing, 'gpt-4', 1, 1)
    expect(invoke(receiver, 'len', 'junk')).toBe(1)
    expect(invoke(receiver, 'droppedCount', 'junk')).toBe(0)
    expect(invoke(receiver, 'tryRecv', 'junk')).toEqual(store.snapshotEvents()[0])
    invoke(receiver, 'close', 'junk')
    expect(receiver.tryRecv()).toBeUndefined()
    expect(await invoke(receiver, 'recv', 'junk')).toBeUndefined()
    store.recordLlmCompleted(pricing, 'gpt-4', 1, 1)
    expect(store.len()).toBe(2)
  })

  it('ComputedStats and ModelStats methods ignore stray arguments', () => {
    const stats = populatedStore().stats()
    for (const method of ['totalCostUsd', 'successRate', 'avgCostPerRequestUsd', 'totalTokens', 'avgTokensPerRequest']) {
      expect(invoke(stats, method, 'junk', -1), method).toBe(invoke(stats, method))
    }
    expect(invoke(stats.byModel['gpt-4'], 'costUsd', 'junk')).toBe(stats.byModel['gpt-4'].costUsd())
  })
})

describe('bad input: what is accepted', () => {
  it('an errorMessage over 4096 characters is truncated, not refused', () => {
    const store = new EventStore(10)
    const long = `${'m'.repeat(4_000)}${'n'.repeat(1_000)}`
    store.recordLlmFailed('gpt-4', null, null, 'E', long)
    store.record({ type: 'llm_request_failed', model: 'gpt-4', provider: 'openai', errorMessage: long })
    store.recordLlmFailed('gpt-4', null, null, 'E', 'z'.repeat(4_096))
    const events = store.snapshotEvents()
    expect(events).toHaveLength(3)
    for (const event of events.slice(0, 2)) {
      const message = event.type === 'llm_request_failed' ? event.errorMessage : undefined
      expect(message).toBe(long.slice(0, 4_096))
      expect(toProtocol012(event, TOKEN)?.error_message).toBe(long.slice(0, 4_096))
    }
    expect(events[2]).toMatchObject({ errorMessage: 'z'.repeat(4_096) })
    expect(store.stats().failedRequests).toBe(3)
  })

  it('a truncated errorMessage is a prefix of the original, also with characters outside the BMP', () => {
    const store = new EventStore(10)
    // 'a' then emoji: a cut at 4096 UTF-16 units would fall inside a surrogate pair.
    const long = `a${'😀'.repeat(3_000)}`
    store.recordLlmFailed('gpt-4', null, null, 'E', long)
    const [event] = store.snapshotEvents()
    const message = event.type === 'llm_request_failed' ? event.errorMessage! : ''
    expect(message.length).toBeGreaterThan(4_000)
    expect(message.length).toBeLessThanOrEqual(4_096)
    expect(long.startsWith(message), 'the stored message is a prefix of the original').toBe(true)
    expect(message).not.toContain('\uFFFD')
  })

  it('identifiers of exactly 256 characters are accepted', () => {
    const store = new EventStore(10)
    store.recordLlmCompleted(pricing, LONGEST, 1, 1, `a${LONGEST.slice(1)}`, `p${LONGEST.slice(1)}`)
    store.recordLlmFailed(LONGEST, null, null, `e${LONGEST.slice(1)}`)
    const [completed, failed] = store.snapshotEvents()
    expect(completed).toMatchObject({ model: LONGEST, agentId: `a${LONGEST.slice(1)}`, providerId: `p${LONGEST.slice(1)}` })
    expect(failed).toMatchObject({ model: LONGEST, errorCode: `e${LONGEST.slice(1)}` })
  })

  it('optional arguments accept null and undefined, and mean absent', () => {
    const shapes = (store: EventStore) =>
      store.snapshotEvents().map(({ eventId, timestampMs, ...rest }) => {
        expect(typeof eventId).toBe('string')
        expect(typeof timestampMs).toBe('number')
        return rest
      })
    const record = (absent: null | undefined | 'omitted') => {
      const store = new EventStore(20)
      if (absent === 'omitted') {
        store.recordLlmCompleted(pricing, 'gpt-4', 100, 50)
        store.recordLlmCompletedWithProvider(pricing, 'gpt-4', 'anthropic', 100, 50)
        store.recordLlmFailed('gpt-4')
        store.recordBudgetThreshold(80, 8, 10)
        store.record({ type: 'llm_request_failed', model: 'gpt-4', provider: 'openai' })
      } else {
        store.recordLlmCompleted(pricing, 'gpt-4', 100, 50, absent, absent)
        store.recordLlmCompletedWithProvider(pricing, 'gpt-4', 'anthropic', 100, 50, absent, absent)
        store.recordLlmFailed('gpt-4', absent, absent, absent, absent)
        store.recordBudgetThreshold(80, 8, 10, absent)
        store.record({
          type: 'llm_request_failed',
          model: 'gpt-4',
          provider: 'openai',
          agentId: absent,
          providerId: absent as undefined,
          errorCode: absent as undefined,
          errorMessage: absent as undefined,
          eventId: absent as undefined,
          timestampMs: absent as undefined,
        })
      }
      return { events: shapes(store), stats: store.stats() }
    }
    const omitted = record('omitted')
    expect(omitted.events).toHaveLength(5)
    for (const event of omitted.events) {
      for (const key of ['agentId', 'providerId', 'errorCode', 'errorMessage']) expect(event).not.toHaveProperty(key)
    }
    expect(record(null)).toEqual(omitted)
    expect(record(undefined)).toEqual(omitted)
    expect(Object.keys(omitted.stats.byAgent)).toEqual([])
  })

  it('byModel, byProvider and byAgent have no prototype: any name is a safe key', () => {
    const store = new EventStore(100)
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']
    names.forEach((name, index) => {
      store.recordLlmCompleted(pricing, name, index + 1, 1, name)
      store.recordLlmFailed(name, name)
    })
    store.record({ type: 'llm_request_completed', model: '__proto__', provider: 'unknown', inputTokens: 10, outputTokens: 0, costMicros: 5, agentId: '__proto__' })
    const stats = store.stats()
    for (const map of [stats.byModel, stats.byProvider, stats.byAgent]) expect(Object.getPrototypeOf(map)).toBeNull()
    expect(Object.keys(stats.byModel).sort()).toEqual([...names].sort())
    expect(Object.keys(stats.byAgent).sort()).toEqual([...names].sort())
    expect(stats.byModel.__proto__).toBeInstanceOf(ModelStats)
    expect(stats.byModel.__proto__).toMatchObject({ requestCount: 2, inputTokens: 11, outputTokens: 1, costMicros: 5 })
    expect(stats.byAgent.__proto__).toMatchObject({ requestCount: 2, inputTokens: 11, outputTokens: 1, costMicros: 5 })
    expect(stats.byModel.constructor).toMatchObject({ requestCount: 1, inputTokens: 2, outputTokens: 1, costMicros: 0 })
    expect(stats.byModel.valueOf).toMatchObject({ requestCount: 1, inputTokens: 5, outputTokens: 1, costMicros: 0 })
    // Nothing leaked onto Object.prototype, and unrecorded names are not keys.
    expect(({} as Record<string, unknown>).requestCount).toBeUndefined()
    expect('isPrototypeOf' in stats.byModel).toBe(false)
    expect(stats.byProvider.toString).toBeUndefined()
    expect(Object.keys(stats.byProvider)).toEqual(['unknown'])
    expect(stats.totalRequests).toBe(11)
    expect(stats.failedRequests).toBe(5)
    // The names survive in the events too.
    expect(store.snapshotEvents().filter((event: AnalyticsEvent) => event.agentId === '__proto__')).toHaveLength(3)
  })

  it('a refused call between staged requests loses none of them', () => {
    const store = new EventStore(100)
    store.recordLlmCompleted(pricing, 'gpt-4', 100, 50, 'agent-1')
    store.recordLlmCompleted(pricing, 'gpt-4', 100, 50, 'agent-1')
    expect(() => store.recordLlmCompleted(pricing, 'gpt-4', -1, 50)).toThrow(RangeError)
    expect(() => store.recordLlmFailed('')).toThrow(RangeError)
    expect(() => invoke(store, 'record', { type: 'nope' })).toThrow(TypeError)
    store.recordLlmCompleted(pricing, 'gpt-4', 100, 50, 'agent-1')
    const cost = pricing.get('gpt-4')!.calculateCostMicros(100, 50)
    const stats = store.stats()
    expect([stats.totalRequests, stats.failedRequests, stats.totalInputTokens, stats.totalOutputTokens, stats.totalCostMicros]).toEqual([
      3, 0, 300, 150, 3 * cost,
    ])
    expect(store.len()).toBe(3)
    expect(stats.byAgent['agent-1'].requestCount).toBe(3)
  })
})
