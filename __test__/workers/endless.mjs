// Records into the shared store `name` until `stop[0]` is set (or for ever without `stop`),
// then flushes and reports how many it recorded. Posts `started` after its first flush.
// The input tokens of each request are its sequence number (0, 1, 2, ...): they identify it.
// workerData: { name, agentId, stop?: Int32Array, streaming?: boolean }
// With `streaming`, it also records into a streaming store of its own while a `for await` loop
// consumes the stream, yielding to the event loop between batches so the consumer runs.
import { setImmediate as turn } from 'node:timers/promises'
import { parentPort, workerData } from 'node:worker_threads'
import { EventStore, PricingManager } from '../../dist/index.mjs'

const { name, agentId, stop, streaming = false } = workerData
const pricing = new PricingManager()
const store = EventStore.shared(name)
const stopped = () => stop !== undefined && Atomics.load(stop, 0) !== 0
let recorded = 0
store.recordLlmCompleted(pricing, 'gpt-4o-mini', recorded++, 1, agentId)
parentPort.postMessage('started')

if (streaming) {
  const [own, receiver] = EventStore.withStreaming(1_000, 64)
  ;(async () => {
    for await (const event of receiver) if (event.type !== 'llm_request_completed') throw new Error('unexpected event')
  })()
  while (!stopped()) {
    for (let i = 0; i < 64; i++) {
      own.recordLlmCompleted(pricing, 'gpt-4o-mini', recorded, 1, agentId)
      store.recordLlmCompleted(pricing, 'gpt-4o-mini', recorded++, 1, agentId)
    }
    own.drainAll()
    await turn()
  }
} else {
  while (!stopped()) store.recordLlmCompleted(pricing, 'gpt-4o-mini', recorded++, 1, agentId)
}
parentPort.postMessage({ recorded })
