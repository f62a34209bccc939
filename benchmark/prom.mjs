// The metrics-library alternative: prom-client counters labelled by model and provider, with the
// same validation and the same per-model memo of provider and prices as the pure-JS store.
import { Counter, Registry } from 'prom-client'
import { ModelMemo, checkRecordArgs, costMicros } from './baseline.mjs'

const LABELS = ['model', 'provider']

class ModelEntry {
  constructor(labels, inPerMillion, outPerMillion) {
    // One labels object per model, so prom-client is not handed a fresh object on every call.
    this.labels = labels
    this.inPerMillion = inPerMillion
    this.outPerMillion = outPerMillion
  }
}

export class PromRecorder {
  #models = new ModelMemo(
    (model, provider, inPerMillion, outPerMillion) => new ModelEntry({ model, provider }, inPerMillion, outPerMillion),
  )

  constructor() {
    this.registry = new Registry()
    const registers = [this.registry]
    this.requests = new Counter({ name: 'llm_requests_total', help: 'LLM requests', labelNames: LABELS, registers })
    this.inputTokens = new Counter({
      name: 'llm_input_tokens_total',
      help: 'LLM input tokens',
      labelNames: LABELS,
      registers,
    })
    this.outputTokens = new Counter({
      name: 'llm_output_tokens_total',
      help: 'LLM output tokens',
      labelNames: LABELS,
      registers,
    })
    this.costMicros = new Counter({
      name: 'llm_cost_micros_total',
      help: 'LLM cost in microdollars',
      labelNames: LABELS,
      registers,
    })
  }

  recordLlmCompleted(pricing, model, inputTokens, outputTokens, agentId, providerId) {
    checkRecordArgs(model, inputTokens, outputTokens, agentId, providerId)
    const entry = this.#models.entry(pricing, model)
    const cost = costMicros(inputTokens, entry.inPerMillion) + costMicros(outputTokens, entry.outPerMillion)
    this.requests.inc(entry.labels, 1)
    this.inputTokens.inc(entry.labels, inputTokens)
    this.outputTokens.inc(entry.labels, outputTokens)
    this.costMicros.inc(entry.labels, cost)
  }
}
