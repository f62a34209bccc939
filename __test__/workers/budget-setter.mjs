// Sets a budget on the shared store `name` from a worker thread and reports the status it sees.
// workerData: { name, agentId, limitMicros, thresholdsPercent? }
import { parentPort, workerData } from 'node:worker_threads'
import { EventStore } from '../../dist/index.mjs'

const { name, agentId, limitMicros, thresholdsPercent } = workerData
const store = EventStore.shared(name)
store.setBudget(agentId, limitMicros, thresholdsPercent)
parentPort.postMessage(store.budgetStatus(agentId))
