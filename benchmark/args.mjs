// Recording arguments shared by every contender: what a router pulls out of request and response
// bodies. Every string comes out of JSON.parse, so none is an interned source literal, and the
// sequence is seeded so every run and every contender sees the same calls.
import { seededRandom } from '../examples/support.mjs'

export const ARG_COUNT = 4096
// ARG_COUNT is a power of two, so a loop cycles with `(i + 1) & ARG_MASK`.
export const ARG_MASK = ARG_COUNT - 1

// Weighted by how often a router sees each model; llama-3-70b has no price and no known provider.
const MODEL_WEIGHTS = [
  ['gpt-4o-mini', 25],
  ['gpt-4o', 20],
  ['claude-3-5-sonnet-20241022', 20],
  ['claude-3-haiku-20240307', 10],
  ['gpt-3.5-turbo', 8],
  ['llama-3-70b', 7],
  ['o1-mini', 5],
  ['claude-3-opus-20240229', 5],
]

/** The eight everyday models plus twelve more: the model mix of the stats() suite. */
export const TWENTY_MODELS = [
  ...MODEL_WEIGHTS.map(([model]) => model),
  'gpt-4-turbo',
  'gpt-4',
  'gpt-4o-2024-08-06',
  'chatgpt-4o-latest',
  'o1-preview',
  'o3-mini',
  'claude-3-sonnet-20240229',
  'claude-3-5-haiku-20241022',
  'claude-2.1',
  'claude-instant-1.2',
  'mistral-large-latest',
  'gemini-1.5-pro',
]

const TEAMS = ['support', 'search', 'billing', 'triage', 'coding', 'research', 'sales', 'ops']
const PROVIDER_IDS = ['openai-us-east', 'openai-eu-west', 'anthropic-primary', 'anthropic-fallback', 'azure-openai', 'bedrock']

// Token counts spread over orders of magnitude, as prompts and completions are.
function logUniform(next, min, max) {
  return Math.floor(Math.exp(Math.log(min) + next() * (Math.log(max) - Math.log(min))))
}

function weightedModel(next) {
  let pick = next() * 100
  for (const [model, weight] of MODEL_WEIGHTS) {
    pick -= weight
    if (pick < 0) return model
  }
  return MODEL_WEIGHTS[0][0]
}

/**
 * `count` argument objects { model, inputTokens, outputTokens, agentId, providerId }, all of one
 * shape (absent ids are undefined). With `models`, names rotate through that list so each appears.
 */
export function generateArgs({ count = ARG_COUNT, seed = 0x5eed, models } = {}) {
  const next = seededRandom(seed)
  const args = new Array(count)
  for (let i = 0; i < count; i++) {
    const metadata = {}
    if (next() < 0.5) metadata.agent_id = `agent-${TEAMS[Math.floor(next() * TEAMS.length)]}-${Math.floor(next() * 8)}`
    if (next() < 0.5) metadata.provider_id = PROVIDER_IDS[Math.floor(next() * PROVIDER_IDS.length)]
    const requestBody = JSON.stringify({
      model: models ? models[i % models.length] : weightedModel(next),
      messages: [{ role: 'user', content: 'Summarise the attached ticket in two sentences.' }],
      max_tokens: 1024,
      metadata,
    })
    const responseBody = JSON.stringify({
      usage: { prompt_tokens: logUniform(next, 20, 16_000), completion_tokens: logUniform(next, 5, 4_000) },
    })
    const request = JSON.parse(requestBody)
    const { usage } = JSON.parse(responseBody)
    args[i] = {
      model: request.model,
      inputTokens: usage.prompt_tokens,
      outputTokens: usage.completion_tokens,
      agentId: request.metadata.agent_id,
      providerId: request.metadata.provider_id,
    }
  }
  return args
}

export const ARGS = generateArgs()
