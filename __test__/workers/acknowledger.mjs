// Acknowledges `ids` in the shared store `name` and reports how many were found.
import { parentPort, workerData } from 'node:worker_threads'
import { EventStore } from '../../dist/index.mjs'

const { name, ids } = workerData
parentPort.postMessage({ acknowledged: EventStore.shared(name).markSynced(ids) })
