// SPEC section 11: the error code and message of a failed answer, in each provider's shape.
import { describe, expect, it } from 'vitest'
import { errorFromResponse } from '../lib/index'
import { fixture, fixtureJson } from './helpers/fixtures'

describe('errorFromResponse', () => {
  it('OpenAI: error.code, else error.type', () => {
    const body = fixture('openai-error.json')
    const expected = { errorCode: 'rate_limit_exceeded', errorMessage: (JSON.parse(body).error as { message: string }).message }
    expect(errorFromResponse('openai-chat', 429, body)).toEqual(expected)
    expect(errorFromResponse('openai-responses', 429, JSON.parse(body))).toEqual(expected)
    const untyped = { error: { message: 'The server had an error', type: 'server_error', param: null, code: null } }
    expect(errorFromResponse('openai-chat', 500, untyped)).toEqual({ errorCode: 'server_error', errorMessage: 'The server had an error' })
  })

  it('Anthropic: error.type', () => {
    expect(errorFromResponse('anthropic', 429, fixtureJson('anthropic-error.json'))).toEqual({
      errorCode: 'rate_limit_error',
      errorMessage: 'This request would exceed the rate limit for your organization of 50,000 input tokens per minute.',
    })
  })

  it('Gemini: error.status, also in the array a non-SSE stream answers', () => {
    const expected = { errorCode: 'RESOURCE_EXHAUSTED', errorMessage: 'You exceeded your current quota, please check your plan and billing details.' }
    expect(errorFromResponse('gemini', 429, fixture('gemini-error.json'))).toEqual(expected)
    expect(errorFromResponse('gemini', 429, [fixtureJson('gemini-error.json')])).toEqual(expected)
  })

  it('else the HTTP status, with the text of a body that is not JSON as the message', () => {
    expect(errorFromResponse('anthropic', 502, '  <html>502 Bad Gateway</html>\n')).toEqual({ errorCode: '502', errorMessage: '<html>502 Bad Gateway</html>' })
    expect(errorFromResponse('openai-chat', 503, '')).toEqual({ errorCode: '503' })
    expect(errorFromResponse('gemini', 500, undefined)).toEqual({ errorCode: '500' })
    // Another format's error shape names no code of this format.
    expect(errorFromResponse('anthropic', 400, { error: { message: 'bad', code: 'x' } })).toEqual({ errorCode: '400', errorMessage: 'bad' })
    expect(errorFromResponse('openai-chat', 404, new TextEncoder().encode('{"detail":"Not Found"}'))).toEqual({ errorCode: '404' })
  })

  it('cuts codes to 256 and messages to 4,096 characters, as the store would', () => {
    const error = errorFromResponse('openai-chat', 400, { error: { code: 'c'.repeat(300), message: 'm'.repeat(5000) } })
    expect(error.errorCode).toHaveLength(256)
    expect(error.errorMessage).toHaveLength(4096)
  })

  it('refuses bad arguments, naming them', () => {
    expect(() => errorFromResponse('bedrock' as never, 500, '')).toThrow(new RangeError('format must be one of openai-chat, openai-responses, anthropic, gemini, got "bedrock"'))
    expect(() => errorFromResponse('anthropic', 99, '')).toThrow(new RangeError('status must be an integer from 100 to 599, got 99'))
    expect(() => errorFromResponse('anthropic', '500' as never, '')).toThrow(new TypeError('status must be a number, got "500"'))
    expect(() => errorFromResponse('anthropic', 500, true)).toThrow(new TypeError('body must be the parsed JSON body, its text or its bytes, got true'))
  })
})
