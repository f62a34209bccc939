import type { Database } from 'better-sqlite3'

export declare const EVENTS_PATH: '/api/v1/analytics/events'

export interface ControlApiOptions {
  port?: number
  db?: string
  tokens?: Record<string, string> | Map<string, string>
  /** Tokens answered 400 INVALID_TOKEN, as the real server answers a signed token whose agent id is not numeric. */
  malformedTokens?: string[]
  rateLimitPerMinute?: number
  rateLimitWindowMs?: number
}

export interface Faults {
  readonly injected: { status: number; reset: number; delay: number }
  failNext(count: number, status?: number, retryAfter?: number | Date): void
  resetNext(count: number): void
  delayNext(count: number, ms: number): void
  pending(): number
  clear(): void
}

export interface TrafficEntry {
  /** Read from the body; undefined for a body without one, and until the body is read. */
  eventId: string | undefined
  /** Arrival time (ms). */
  at: number
  /** The answer: an HTTP status, 'reset', or 'abandoned' when the client had hung up first. */
  status: number | 'reset' | 'abandoned' | undefined
  answeredAt: number | undefined
}

export interface Traffic {
  readonly log: TrafficEntry[]
  /** The most requests that were open at the same time. */
  readonly peakConcurrency: number
  count(eventId: string): number
}

export interface ControlApi {
  /** http://127.0.0.1:PORT */
  url: string
  port: number
  db: Database
  faults: Faults
  traffic: Traffic
  close(): Promise<void>
}

export declare function startControlApi(options?: ControlApiOptions): Promise<ControlApi>
