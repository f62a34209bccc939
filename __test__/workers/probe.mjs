// Opens the shared store `name` (with `capacity`, if given), optionally records `record` events
// and removes the name, and reports what it saw. Errors are reported, not thrown.
import { parentPort, workerData } from 'node:worker_threads'
import { EventStore, PricingManager } from '../../dist/index.mjs'

const { name, capacity, record = 0, remove = false } = workerData
try {
  const store = EventStore.shared(name, capacity)
  const before = store.len()
  const pricing = new PricingManager()
  for (let i = 0; i < record; i++) store.recordLlmCompleted(pricing, 'gpt-4o', 1, 1, 'probe')
  const after = store.len()
  const removed = remove ? EventStore.removeShared(name) : undefined
  parentPort.postMessage({ capacity: store.capacity(), before, after, removed })
} catch (error) {
  parentPort.postMessage({ error: { name: error.name, message: error.message } })
}
