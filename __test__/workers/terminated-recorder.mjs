// Records into the shared store `name` until it is terminated, or `count` requests and then
// reports "done" and idles; counts each record that returned in `returned`. With `timer`, it keeps
// a pending interval, as a worker of a real router would.
// workerData: { name, count?, returned (Int32Array), timer?, reportEvery? }
import { parentPort, workerData } from 'node:worker_threads'
import { EventStore, PricingManager } from '../../dist/index.mjs'

const { name, count = Infinity, returned, timer = false, reportEvery = 0 } = workerData
if (timer) setInterval(() => {}, 60_000)
const pricing = new PricingManager()
const store = EventStore.shared(name)
for (let i = 0; i < count; i++) {
  store.recordLlmCompleted(pricing, i % 2 ? 'gpt-4o' : 'claude-3-5-sonnet-20241022', 10 + (i % 7), 5, `agent-${i % 4}`)
  Atomics.add(returned, 0, 1)
  if (reportEvery > 0 && (i + 1) % reportEvery === 0) parentPort.postMessage({ returned: i + 1 })
}
parentPort.postMessage('done')
