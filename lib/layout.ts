import { native } from './binding.js'

// Every offset the facade shares with the native core, as the core defines them (`src/layout.rs`).
export const layout = native.layout()
export const STAGING = layout.staging
export const EVENT_ROW = layout.eventRow
export const STATS = layout.stats
export const BUDGET = layout.budget
export const POINT_READ = layout.pointRead
