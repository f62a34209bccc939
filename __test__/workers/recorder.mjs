// Records `count` completed requests into the shared store `name`, and reports.
// workerData: { name, capacity?, count, agentId?, models?, inputTokens?, outputTokens?,
//   pricing? (LiteLLM JSON), gate? (Int32Array: wait until it is non-zero), attempted?
//   (Int32Array: counts each record before it is made) }
import { parentPort, workerData } from 'node:worker_threads'
import { EventStore, PricingManager } from '../../dist/index.mjs'

const {
  name,
  capacity,
  count,
  agentId,
  models = ['gpt-4o'],
  inputTokens = 10,
  outputTokens = 5,
  pricing: prices,
  gate,
  attempted,
} = workerData
const pricing = prices === undefined ? new PricingManager() : PricingManager.fromJson(prices)
const store = EventStore.shared(name, capacity)
if (gate) Atomics.wait(gate, 0, 0)
for (let i = 0; i < count; i++) {
  if (attempted) Atomics.add(attempted, 0, 1)
  store.recordLlmCompleted(pricing, models[i % models.length], inputTokens, outputTokens, agentId)
}
parentPort.postMessage({ recorded: count })
