//! Lock-free, event-based LLM usage analytics: the native core of the `iron-runtime-analytics`
//! npm package. Everything here is plain Rust, tested with `cargo test --no-default-features`;
//! the N-API surface lives in `binding` alone.

#![deny(clippy::all)]

pub mod budget;
pub mod event;
pub mod exposition;
pub mod histogram;
pub mod layout;
pub mod point_read;
pub mod price;
pub mod pricing;
pub mod prometheus;
pub mod provider;
pub mod recording;
pub mod registry;
pub mod staging;
pub mod stats;
pub mod stats_buffer;
pub mod store;
pub mod stream;
pub mod symbol;
pub mod unpriced_order;
pub mod usage;

#[cfg(feature = "napi")]
// Node calls these items through the registrations napi-derive generates, which a unit-test build
// leaves out: there, and only there, nothing calls them.
#[cfg_attr(test, allow(dead_code))]
mod binding;

pub use event::{current_time_ms, Event, EventId, FailureDetail, Payload, Timing};
pub use price::{ModelPrice, Rates, Tier};
pub use pricing::{PricingError, PricingManager, PricingTable, Resolved};
pub use provider::{infer_provider, Provider};
pub use recording::CompletedRequest;
pub use staging::StagingArea;
pub use stats::{micros_to_usd, ComputedStats, Exhausted, ModelStats};
pub use store::{Buffered, EventStore};
pub use stream::{EventReceiver, Received};
pub use symbol::Symbol;
pub use usage::{CostError, Usage};
