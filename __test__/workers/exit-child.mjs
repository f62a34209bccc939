// Run as a child process: starts `workers` endless recorders on one shared store (every other one
// also streaming), waits until all record, and then ends the process while they still run:
//   exit     process.exit(0) from the main thread
//   natural  the workers are unref'd and the main thread simply runs out of work
//   terminate  half the workers are terminated mid-recording, the main thread records on, then
//              process.exit(0) while the other half still run
// A clean run exits with code 0 and prints nothing on stderr.
import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import { EventStore } from '../../dist/index.mjs'

const [mode, count] = [process.argv[2], Number(process.argv[3] ?? 4)]
const name = `exit-child-${process.pid}`
const store = EventStore.shared(name, 1_000)
const workers = Array.from({ length: count }, (_, index) => {
  const worker = new Worker(new URL('./endless.mjs', import.meta.url), {
    workerData: { name, agentId: `worker-${index}`, streaming: index % 2 === 1 },
  })
  worker.on('error', (error) => {
    console.error(error)
    process.exitCode = 1
  })
  return worker
})
await Promise.all(workers.map((worker) => once(worker, 'message')))
if (store.stats().totalRequests < count) throw new Error('the workers did not record')

if (mode === 'exit') {
  process.exit(0)
} else if (mode === 'natural') {
  for (const worker of workers) worker.unref()
} else if (mode === 'terminate') {
  await Promise.all(workers.filter((_, index) => index % 2 === 0).map((worker) => worker.terminate()))
  const before = store.stats().totalRequests
  store.recordLlmFailed('gpt-4o')
  if (store.stats().totalRequests <= before) throw new Error('the store stopped counting')
  process.exit(0)
} else {
  throw new Error(`unknown mode ${mode}`)
}
