import type { Server } from 'node:http'
import type { EventStore } from 'iron-runtime-analytics'

export interface Route {
  url: string
  format: 'openai' | 'anthropic'
  providerId: string
  apiKeyEnv?: string
}

export interface RouterConfig {
  port?: number
  host?: string
  routes: { openai?: Route; anthropic?: Route; unknown?: Route }
  agents: Record<string, { icToken: string; budgetUsd?: number }>
  sync?: {
    url?: string
    intervalMs?: number
    batchThreshold?: number
    timeoutMs?: number
    maxEventsPerMinute?: number
    retryDelayMs?: number
    spoolDir?: string
  }
  upstreamTimeoutMs?: number
  bufferCapacity?: number
  pricingFile?: string
}

export interface Router {
  url: string
  port: number
  server: Server
  stats(): unknown
  stores(): Map<string, EventStore>
  bufferedEvents(): unknown[]
  close(): Promise<void>
}

export declare function startRouter(config: RouterConfig): Promise<Router>
