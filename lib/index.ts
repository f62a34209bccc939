export { EventStore } from './store.js'
export { EventReceiver } from './receiver.js'
export { PricingManager, ModelPricing } from './pricing.js'
export type { PriceTier } from './pricing.js'
export { ComputedStats, ModelStats } from './stats.js'
export { Provider, inferProvider, parseProvider } from './provider.js'
export { currentTimeMs, microsToUsd, usdToMicros } from './units.js'
export { toProtocol012 } from './protocol012.js'
export { SyncClient, SyncConfig } from './sync/index.js'
export type { SyncHandle, SyncMetrics } from './sync/index.js'
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
