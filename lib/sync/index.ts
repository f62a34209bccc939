export { SyncConfig } from './config.js'
export { SyncClient, type SyncHandle, type SyncMetrics } from './client.js'
