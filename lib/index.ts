export { EventStore } from './store.js'
export { EventReceiver } from './receiver.js'
export { PricingManager, ModelPricing } from './pricing.js'
export type { PriceTier } from './pricing.js'
export { ComputedStats, LatencyStats, ModelStats } from './stats.js'
export type { BudgetStatus } from './store.js'
export { Provider, inferProvider, parseProvider } from './provider.js'
export { currentTimeMs, microsToUsd, usdToMicros } from './units.js'
export { toProtocol012 } from './protocol012.js'
export { registerPromClient } from './metrics/prom-client.js'
export type { PromClientRegistry } from './metrics/prom-client.js'
export { registerOpenTelemetry } from './metrics/opentelemetry.js'
export type { OpenTelemetryMeter, OpenTelemetryObserver } from './metrics/opentelemetry.js'
export { LATENCY_BOUNDARIES_SECONDS, PROMETHEUS_CONTENT_TYPE } from './metrics/scrape.js'
export type { MetricsOptions, MetricsStore } from './metrics/scrape.js'
export { SyncClient, SyncConfig } from './sync/index.js'
export type { AgentTokens, StopReport, SyncHandle, SyncMetrics } from './sync/index.js'
export type { Protocol012Request } from './protocol012.js'
export type { CallOutcome, LlmUsage, RecordOptions } from './usage.js'
export type {
  AnalyticsEvent,
  BudgetThresholdReached,
  EventBase,
  EventInput,
  EventPayload,
  EventType,
  LlmRequestCompleted,
  LlmRequestFailed,
  RouterStarted,
  RouterStopped,
} from './events.js'
export { usageFromResponse } from './responses/from-response.js'
export { usageFromAiSdk } from './responses/ai-sdk.js'
export { errorFromResponse } from './responses/errors.js'
export { UsageTap } from './responses/tap.js'
export { usageTapStream, usageTapTransform } from './responses/tap-streams.js'
export { withStreamUsage } from './responses/stream-request.js'
export type { ApiFormat } from './responses/formats.js'
export type { CallError } from './responses/outcome.js'
export type { ResponseUsage } from './responses/from-response.js'
