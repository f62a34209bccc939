// SPEC section 11: usage read from whole answers (usageFromResponse) and from the Vercel AI SDK's
// LanguageModelUsage (usageFromAiSdk). Fixtures: __test__/fixtures/README.md says what each follows.
import { describe, expect, it } from 'vitest'
import { usageFromAiSdk, usageFromResponse } from '../lib/index'
import { fixture, fixtureJson } from './helpers/fixtures'

describe('usageFromResponse', () => {
  const cases = [
    {
      format: 'openai-chat',
      file: 'openai-chat.json',
      expected: { model: 'o3-mini-2025-01-31', usage: { inputTokens: 2006, outputTokens: 300, cacheReadTokens: 1920, reasoningTokens: 192 } },
    },
    {
      format: 'openai-responses',
      file: 'openai-responses.json',
      expected: { model: 'o4-mini-2025-04-16', usage: { inputTokens: 3328, outputTokens: 1186, cacheReadTokens: 3072, reasoningTokens: 1024 } },
    },
    {
      // input_tokens (21) are the uncached ones: reads (12,000) and both kinds of writes are added.
      format: 'anthropic',
      file: 'anthropic.json',
      expected: {
        model: 'claude-sonnet-4-5-20250929',
        usage: { inputTokens: 13821, outputTokens: 393, cacheReadTokens: 12000, cacheWriteTokens: 600, cacheWrite1hTokens: 1200 },
      },
    },
    {
      format: 'anthropic',
      file: 'anthropic-no-split.json',
      expected: { model: 'claude-3-5-haiku-20241022', usage: { inputTokens: 2058, outputTokens: 3, cacheWriteTokens: 2048 } },
    },
    {
      // Tool-use prompt tokens are input; thoughts are output, and reasoning.
      format: 'gemini',
      file: 'gemini.json',
      expected: { model: 'gemini-2.5-pro', usage: { inputTokens: 5184, outputTokens: 1156, cacheReadTokens: 4096, reasoningTokens: 976 } },
    },
  ] as const

  for (const { format, file, expected } of cases) {
    it(`${format}: ${file} parsed, as text and as bytes`, () => {
      const text = fixture(file)
      expect(usageFromResponse(format, JSON.parse(text))).toEqual(expected)
      expect(usageFromResponse(format, text)).toEqual(expected)
      expect(usageFromResponse(format, new TextEncoder().encode(text))).toEqual(expected)
    })
  }

  it('gemini: the JSON array streamGenerateContent answers without SSE gives its last usage', () => {
    const last = fixtureJson('gemini.json')
    const first = { ...last, usageMetadata: { promptTokenCount: 5120, totalTokenCount: 5120 } }
    expect(usageFromResponse('gemini', [first, { candidates: [] }, last])?.usage.outputTokens).toBe(1156)
  })

  it('a body without usage, an error body and text that is not JSON give undefined', () => {
    expect(usageFromResponse('openai-chat', fixtureJson('openai-error.json'))).toBeUndefined()
    expect(usageFromResponse('anthropic', fixtureJson('anthropic-error.json'))).toBeUndefined()
    expect(usageFromResponse('gemini', fixtureJson('gemini-error.json'))).toBeUndefined()
    expect(usageFromResponse('openai-chat', '<html>502 Bad Gateway</html>')).toBeUndefined()
    expect(usageFromResponse('openai-chat', 'null')).toBeUndefined()
    expect(usageFromResponse('anthropic', null)).toBeUndefined()
  })

  it('a usage block the mapping cannot trust gives undefined, never a wrong figure', () => {
    const chat = fixtureJson('openai-chat.json')
    const usage = chat.usage as Record<string, unknown>
    expect(usageFromResponse('openai-chat', { ...chat, usage: { ...usage, prompt_tokens: -1 } })).toBeUndefined()
    expect(usageFromResponse('openai-chat', { ...chat, usage: { ...usage, completion_tokens: '300' } })).toBeUndefined()
    // More cached tokens than prompt tokens, more reasoning than completion.
    expect(usageFromResponse('openai-chat', { ...chat, usage: { ...usage, prompt_tokens: 100 } })).toBeUndefined()
    expect(usageFromResponse('openai-chat', { ...chat, usage: { ...usage, completion_tokens: 100 } })).toBeUndefined()
    const message = fixtureJson('anthropic.json')
    const split = { ephemeral_5m_input_tokens: 1, ephemeral_1h_input_tokens: 1 }
    expect(usageFromResponse('anthropic', { ...message, usage: { ...(message.usage as object), cache_creation: split } })).toBeUndefined()
  })

  it('the model is left out when the body names none', () => {
    const { model: _, ...anonymous } = fixtureJson('openai-chat.json')
    expect(usageFromResponse('openai-chat', anonymous)).toEqual({ usage: expect.objectContaining({ inputTokens: 2006 }) })
  })

  it('refuses an unknown format and a body of the wrong type, naming the argument', () => {
    expect(() => usageFromResponse('openai' as never, {})).toThrow(new RangeError('format must be one of openai-chat, openai-responses, anthropic, gemini, got "openai"'))
    expect(() => usageFromResponse(undefined as never, {})).toThrow(new TypeError('format must be a string, got undefined'))
    expect(() => usageFromResponse('gemini', 42)).toThrow(new TypeError('body must be the parsed JSON body, its text or its bytes, got 42'))
  })
})

describe('usageFromAiSdk', () => {
  const usages = fixtureJson('ai-sdk-usage.json')

  it('AI SDK 6: totals with input and output details', () => {
    expect(usageFromAiSdk(usages.v6 as object)).toEqual({
      inputTokens: 2600,
      outputTokens: 900,
      cacheReadTokens: 2048,
      cacheWriteTokens: 352,
      reasoningTokens: 640,
    })
  })

  it('AI SDK 5: the flat cachedInputTokens and reasoningTokens', () => {
    expect(usageFromAiSdk(usages.v5 as object)).toEqual({ inputTokens: 1500, outputTokens: 420, cacheReadTokens: 1024, reasoningTokens: 300 })
  })

  it('missing totals are the sums of their details; missing figures are 0', () => {
    const partial = {
      inputTokens: undefined,
      inputTokenDetails: { noCacheTokens: 100, cacheReadTokens: 50, cacheWriteTokens: undefined },
      outputTokens: undefined,
      outputTokenDetails: { textTokens: 30, reasoningTokens: 12 },
      totalTokens: undefined,
    }
    expect(usageFromAiSdk(partial)).toEqual({ inputTokens: 150, outputTokens: 42, cacheReadTokens: 50, reasoningTokens: 12 })
    expect(usageFromAiSdk({ inputTokens: undefined, outputTokens: undefined, totalTokens: undefined })).toEqual({ inputTokens: 0, outputTokens: 0 })
  })

  it('refuses what is not a usage, naming the field', () => {
    expect(() => usageFromAiSdk(null as never)).toThrow(new TypeError("usage must be the AI SDK's LanguageModelUsage object, got null"))
    expect(() => usageFromAiSdk({ inputTokens: -5, outputTokens: 1 })).toThrow(new RangeError('usage.inputTokens must be a non-negative safe integer, got -5'))
    expect(() => usageFromAiSdk({ inputTokens: 5, outputTokens: 1, inputTokenDetails: { cacheReadTokens: 'x' } })).toThrow(
      new TypeError('usage.inputTokenDetails.cacheReadTokens must be a number, got "x"'),
    )
    expect(() => usageFromAiSdk({ inputTokens: 5, outputTokens: 1, cachedInputTokens: 6 })).toThrow(RangeError)
    expect(() => usageFromAiSdk({ inputTokens: 5, outputTokens: 1, reasoningTokens: 2 })).toThrow(
      new RangeError('usage.reasoningTokens (2) must not exceed outputTokens (1)'),
    )
  })
})
