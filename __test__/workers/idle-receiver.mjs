// Leaves a receiver waiting with nothing to receive: the worker must still exit on its own.
import { EventStore } from '../../dist/index.mjs'

const [, receiver] = EventStore.withStreaming(10, 10)
receiver.recv().then(() => process.exit(3))
