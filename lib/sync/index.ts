export { SyncConfig, type AgentTokens } from './config.js'
export { SyncClient, type StopReport, type SyncHandle, type SyncMetrics } from './client.js'
