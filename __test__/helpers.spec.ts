// PARITY.md, group "helpers (13)": the Provider type, parseProvider and inferProvider (SPEC sections 2 and 4).
import { describe, expect, it } from 'vitest'
import { EventStore, PricingManager, Provider, inferProvider, parseProvider } from '../lib/index'

const CANONICAL = [
  [Provider.OpenAI, 'openai'],
  [Provider.Anthropic, 'anthropic'],
  [Provider.Unknown, 'unknown'],
] as const

/** The provider a store files a request under, as the store reports it in the event and in byProvider. */
function filedUnder(record: (store: EventStore) => void): { event: string; keys: string[] } {
  const store = new EventStore(10)
  record(store)
  const [event] = store.snapshotEvents()
  if (event.type !== 'llm_request_completed' && event.type !== 'llm_request_failed') throw new Error('not an LLM event')
  return { event: event.provider, keys: Object.keys(store.stats().byProvider) }
}

describe('helpers (13)', () => {
  it('provider_as_str', () => {
    expect(Provider.OpenAI).toBe('openai')
    expect(Provider.Anthropic).toBe('anthropic')
    expect(Provider.Unknown).toBe('unknown')
    expect(Object.keys(Provider).sort()).toEqual(['Anthropic', 'OpenAI', 'Unknown'])
    expect(Object.isFrozen(Provider)).toBe(true)
  })

  it('provider_parse', () => {
    for (const name of ['openai', 'OpenAI', 'OPENAI', 'oPeNaI']) expect(parseProvider(name), name).toBe('openai')
    for (const name of ['anthropic', 'Anthropic', 'ANTHROPIC']) expect(parseProvider(name), name).toBe('anthropic')
    for (const name of ['unknown', 'UNKNOWN', 'other', '', 'azure', 'open ai', ' openai', 'openai ']) {
      expect(parseProvider(name), JSON.stringify(name)).toBe('unknown')
    }
  })

  it('provider_from_str_conversion', () => {
    // A Provider is its string; a canonical string used where a Provider is expected is the same
    // provider that parseProvider gives for it, and the store files it under that provider.
    const pricing = new PricingManager()
    for (const [, name] of CANONICAL) {
      const parsed = parseProvider(name)
      expect(parsed).toBe(name)
      const filed = filedUnder((store) => store.recordLlmCompletedWithProvider(pricing, 'my-model', name, 1, 1))
      expect(filed).toEqual({ event: parsed, keys: [parsed] })
      const raw = filedUnder((store) =>
        store.record({ type: 'llm_request_failed', model: 'my-model', provider: name }),
      )
      expect(raw).toEqual({ event: parsed, keys: [parsed] })
    }
    // Converting any spelling goes through parseProvider, and gives what parsing gives.
    for (const name of ['OpenAI', 'ANTHROPIC', 'other', '']) {
      expect(parseProvider(String(name))).toBe(parseProvider(name))
    }
  })

  it('provider_display', () => {
    for (const [provider, name] of CANONICAL) {
      expect(String(provider)).toBe(name)
      expect(`${provider}`).toBe(name)
      expect(JSON.stringify({ provider })).toBe(`{"provider":"${name}"}`)
    }
  })

  it('provider_default', () => {
    // The crate's Provider::default() is Unknown: whatever cannot be recognised is unknown.
    expect(parseProvider('')).toBe(Provider.Unknown)
    expect(inferProvider('')).toBe(Provider.Unknown)
    expect(inferProvider('some-model')).toBe(Provider.Unknown)
    const pricing = new PricingManager()
    expect(filedUnder((store) => store.recordLlmCompleted(pricing, 'some-model', 1, 1))).toEqual({
      event: 'unknown',
      keys: ['unknown'],
    })
    expect(filedUnder((store) => store.recordLlmFailed('some-model'))).toEqual({ event: 'unknown', keys: ['unknown'] })
  })

  it('provider_to_arc_str', () => {
    const pricing = new PricingManager()
    for (const [provider, name] of CANONICAL) {
      expect(parseProvider(provider)).toBe(provider)
      expect(typeof provider).toBe('string')
      // The name survives the trip through the native core: into an event and back out.
      const store = new EventStore(10)
      store.recordLlmCompletedWithProvider(pricing, 'gpt-4', provider, 10, 5)
      const [event] = store.snapshotEvents()
      expect(event.type === 'llm_request_completed' && event.provider).toBe(name)
      expect(Object.keys(store.stats().byProvider)).toEqual([name])
    }
  })

  it('infer_provider_openai_gpt', () => {
    for (const model of ['gpt-4', 'gpt-4-turbo', 'gpt-4o', 'gpt-4o-mini', 'gpt-3.5-turbo', 'GPT-4', 'Gpt-4o']) {
      expect(inferProvider(model), model).toBe('openai')
    }
  })

  it('infer_provider_openai_reasoning', () => {
    for (const model of ['o1-preview', 'o1-mini', 'o3-mini', 'O1-mini', 'O3-MINI']) {
      expect(inferProvider(model), model).toBe('openai')
    }
  })

  it('infer_provider_openai_chatgpt', () => {
    for (const model of ['chatgpt-4o-latest', 'ChatGPT-4o-latest']) expect(inferProvider(model), model).toBe('openai')
  })

  it('infer_provider_anthropic_claude3', () => {
    for (const model of [
      'claude-3-opus-20240229',
      'claude-3-sonnet-20240229',
      'claude-3-haiku-20240307',
      'claude-3-5-sonnet-20240620',
      'claude-3-5-sonnet-20241022',
    ]) {
      expect(inferProvider(model), model).toBe('anthropic')
    }
  })

  it('infer_provider_anthropic_legacy', () => {
    for (const model of ['claude-2.1', 'claude-2.0', 'claude-instant-1.2']) expect(inferProvider(model), model).toBe('anthropic')
  })

  it('infer_provider_anthropic_case_insensitive', () => {
    for (const model of ['Claude-3-Opus', 'CLAUDE-3-SONNET', 'cLaUdE-3-haiku']) expect(inferProvider(model), model).toBe('anthropic')
  })

  it('infer_provider_unknown', () => {
    for (const model of [
      'llama-2-70b',
      'mistral-7b-instruct',
      'gemini-pro',
      'command-r',
      '',
      'gpt4', // no dash after the prefix
      'claude', // the bare name has no dash
      'omni-1', // `o` then a digit is OpenAI's reasoning series (SPEC section 4); `o` alone is not
      'my-gpt-4', // the prefix must start the name
      'xclaude-3',
    ]) {
      expect(inferProvider(model), JSON.stringify(model)).toBe('unknown')
    }
    // Beyond the crate, which filed it under unknown: the bare `o1` is OpenAI's (SPEC section 4).
    expect(inferProvider('o1')).toBe('openai')
  })
})
