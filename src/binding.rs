//! The N-API surface: every `#[napi]` item of the package. It converts, it does not decide:
//! arguments arrive validated by the TypeScript facade (`lib/`), names arrive as interned
//! symbol ids, and events and figures leave as rows written into buffers the facade owns, which
//! it turns into objects.

use std::sync::{Arc, Mutex, PoisonError};

use napi::bindgen_prelude::{Float64Array, Float64ArraySlice, Uint8ArraySlice};
use napi::{Error, Result, Status};
use napi_derive::napi;

use crate::event::{Event, EventId, FailureDetail, Payload};
use crate::price::{tier_row, Tier};
use crate::pricing::{PricingManager, Resolved};
use crate::provider::{infer_provider, Provider};
use crate::recording::STAGED_STRIDE;
use crate::registry;
use crate::stats::ModelStats;
use crate::store::EventStore;
use crate::stream::{EventReceiver, Received};
use crate::symbol::Symbol;
use crate::usage::Usage;

fn invalid(message: impl Into<String>) -> Error {
  Error::new(Status::InvalidArg, message.into())
}

/// A JS number the facade has checked to be a non-negative safe integer.
fn count(value: f64) -> u64 {
  value as u64
}

fn symbol(id: u32) -> Result<Symbol> {
  Symbol::from_id(id).ok_or_else(|| invalid(format!("unknown symbol id {id}")))
}

/// 0 means absent.
fn optional_symbol(id: u32) -> Result<Option<Symbol>> {
  if id == 0 {
    Ok(None)
  } else {
    symbol(id).map(Some)
  }
}

fn provider(index: u32) -> Result<Provider> {
  u8::try_from(index)
    .ok()
    .and_then(Provider::from_index)
    .ok_or_else(|| invalid(format!("unknown provider {index}")))
}

#[napi(js_name = "inferProvider")]
pub fn infer_provider_name(model: String) -> &'static str {
  infer_provider(&model).as_str()
}

#[napi(js_name = "parseProvider")]
pub fn parse_provider_name(name: String) -> &'static str {
  Provider::parse(&name).as_str()
}

/// The symbol id of a name, interning it on first sight.
#[napi]
pub fn intern(name: String) -> u32 {
  Symbol::intern(&name).id()
}

/// Interned names with ids `fromId..`, so a thread can extend its cache with one call.
#[napi]
pub fn symbol_names(from_id: u32) -> Vec<String> {
  Symbol::names_from(from_id)
    .iter()
    .map(|name| name.to_string())
    .collect()
}

#[napi(object)]
pub struct PriceTierInfo {
  pub above_input_tokens: f64,
  pub input_cost_per_token: f64,
  pub output_cost_per_token: f64,
  pub cache_read_cost_per_token: f64,
  pub cache_write_cost_per_token: f64,
  #[napi(js_name = "cacheWrite1hCostPerToken")]
  pub cache_write_1h_cost_per_token: f64,
  pub reasoning_cost_per_token: Option<f64>,
}

impl PriceTierInfo {
  fn new(tier: &Tier) -> Self {
    let usd = tier.usd_per_token;
    PriceTierInfo {
      above_input_tokens: tier.above_input_tokens as f64,
      input_cost_per_token: usd.input,
      output_cost_per_token: usd.output,
      cache_read_cost_per_token: usd.cache_read,
      cache_write_cost_per_token: usd.cache_write,
      cache_write_1h_cost_per_token: usd.cache_write_1h,
      reasoning_cost_per_token: usd.reasoning,
    }
  }
}

/// A model's entry: its tiers (the first holds the base prices, every fallback applied), and the
/// same tiers as `priceTiers` lays them out.
#[napi(object)]
pub struct PriceInfo {
  /// The table entry's name: an alias's target, the name without its routing prefix, ….
  pub name: String,
  pub max_output_tokens: Option<f64>,
  pub provider: Option<String>,
  pub has_valid_pricing: bool,
  pub tiers: Vec<PriceTierInfo>,
  pub tier_rows: Float64Array,
}

impl PriceInfo {
  fn new(entry: &Resolved) -> Self {
    let price = &entry.price;
    PriceInfo {
      name: entry.name.to_string(),
      max_output_tokens: price.max_output_tokens.map(|tokens| tokens as f64),
      provider: price.provider.as_deref().map(str::to_owned),
      has_valid_pricing: price.has_valid_pricing(),
      tiers: price.tiers().iter().map(PriceTierInfo::new).collect(),
      tier_rows: Float64Array::new(price.tier_rows()),
    }
  }
}

/// Where each price sits in a row of `priceTiers` (see `price::tier_row`).
#[napi(object)]
pub struct PriceTierLayout {
  pub stride: u32,
  pub above_input_tokens: u32,
  pub input: u32,
  pub output: u32,
  pub cache_read: u32,
  pub cache_write: u32,
  #[napi(js_name = "cacheWrite1h")]
  pub cache_write_1h: u32,
  pub reasoning: u32,
  pub no_reasoning_price: f64,
}

#[napi]
pub fn price_tier_layout() -> PriceTierLayout {
  PriceTierLayout {
    stride: tier_row::STRIDE as u32,
    above_input_tokens: tier_row::ABOVE_INPUT_TOKENS as u32,
    input: tier_row::INPUT as u32,
    output: tier_row::OUTPUT as u32,
    cache_read: tier_row::CACHE_READ as u32,
    cache_write: tier_row::CACHE_WRITE as u32,
    cache_write_1h: tier_row::CACHE_WRITE_1H as u32,
    reasoning: tier_row::REASONING as u32,
    no_reasoning_price: tier_row::NO_REASONING_PRICE,
  }
}

#[napi]
pub struct NativePricing {
  manager: PricingManager,
}

#[napi]
impl NativePricing {
  #[napi(constructor)]
  pub fn new() -> Self {
    NativePricing {
      manager: PricingManager::with_default_table(),
    }
  }

  #[napi(factory)]
  pub fn from_json(json: String) -> Result<Self> {
    PricingManager::from_json(&json)
      .map(|manager| NativePricing { manager })
      .map_err(|error| invalid(error.to_string()))
  }

  #[napi]
  pub fn load_json(&self, json: String) -> Result<()> {
    self
      .manager
      .load_json(&json)
      .map_err(|error| invalid(error.to_string()))
  }

  /// The table entry `model` prices as.
  #[napi]
  pub fn resolve(&self, model: String) -> Option<String> {
    self
      .manager
      .resolve(&model)
      .map(|entry| entry.name.to_string())
  }

  #[napi]
  pub fn get(&self, model: String) -> Option<PriceInfo> {
    self
      .manager
      .resolve(&model)
      .map(|entry| PriceInfo::new(&entry))
  }

  /// The resolved entry's tiers as `priceTierLayout` lays them out; empty when nothing prices it.
  #[napi]
  pub fn price_tiers(&self, model: String) -> Float64Array {
    let rows = self
      .manager
      .resolve(&model)
      .map_or_else(Vec::new, |entry| entry.price.tier_rows());
    Float64Array::new(rows)
  }

  /// Section 10's cost of one call, counts checked by the facade; refused past 2^53-1.
  #[napi]
  #[allow(clippy::too_many_arguments)]
  pub fn cost_micros(
    &self,
    model: String,
    input_tokens: f64,
    output_tokens: f64,
    cache_read_tokens: f64,
    cache_write_tokens: f64,
    cache_write_1h_tokens: f64,
    reasoning_tokens: f64,
  ) -> Result<f64> {
    let usage = Usage {
      input_tokens: count(input_tokens),
      output_tokens: count(output_tokens),
      cache_read_tokens: count(cache_read_tokens),
      cache_write_tokens: count(cache_write_tokens),
      cache_write_1h_tokens: count(cache_write_1h_tokens),
      reasoning_tokens: count(reasoning_tokens),
    };
    self
      .manager
      .cost_micros(&model, &usage)
      .map(|micros| micros as f64)
      .map_err(|error| Error::new(Status::GenericFailure, error.to_string()))
  }

  #[napi]
  pub fn models(&self) -> Vec<String> {
    self
      .manager
      .table()
      .models()
      .into_iter()
      .map(str::to_owned)
      .collect()
  }
}

/// A read of events: how many there were, and the failure details of the failed ones. The events
/// themselves went into the caller's buffers (see `RowWriter`), unless those had room for fewer
/// than `count`: then nothing was read or removed, and the caller retries with larger ones.
#[napi(object)]
pub struct EventRows {
  pub count: u32,
  pub error_codes: Vec<Option<String>>,
  pub error_messages: Vec<Option<String>>,
}

const STRIDE: usize = 10;
const ID_LENGTH: usize = 36;
const NONE: f64 = 0.0;

/// Writes events as rows into buffers the facade owns and reuses, so a read allocates nothing
/// large: `STRIDE` numbers per event in `numbers` and its id, hyphenated ASCII, in `ids`.
struct RowWriter<'a> {
  numbers: &'a mut [f64],
  ids: &'a mut [u8],
  written: usize,
  error_codes: Vec<Option<String>>,
  error_messages: Vec<Option<String>>,
}

impl<'a> RowWriter<'a> {
  fn new(numbers: &'a mut Float64ArraySlice<'_>, ids: &'a mut Uint8ArraySlice<'_>) -> Self {
    // SAFETY: the facade allocates these buffers for its own use, never shares them with another
    // thread, and runs no JavaScript during this call, so nothing else touches them meanwhile.
    let (numbers, ids) = unsafe { (numbers.as_mut(), ids.as_mut()) };
    RowWriter {
      numbers,
      ids,
      written: 0,
      error_codes: Vec::new(),
      error_messages: Vec::new(),
    }
  }

  fn fits(&self, count: usize) -> bool {
    count <= self.numbers.len() / STRIDE && count <= self.ids.len() / ID_LENGTH
  }

  /// `[type, timestampMs, agent, model, provider, providerId, a, b, c, failure]`: `a, b, c` are
  /// the type's figures, `failure` indexes the error arrays (-1: none). Only called for rows
  /// `fits` accepted.
  fn push(&mut self, event: &Event) {
    let at = self.written;
    self.ids[at * ID_LENGTH..(at + 1) * ID_LENGTH].copy_from_slice(&event.id.hyphenated());
    let agent = event.agent.map_or(NONE, |agent| agent.id() as f64);
    let provider_id = |id: Option<Symbol>| id.map_or(NONE, |id| id.id() as f64);
    let row: [f64; STRIDE] = match &event.payload {
      Payload::LlmRequestCompleted {
        model,
        provider,
        provider_id: pid,
        input_tokens,
        output_tokens,
        cost_micros,
      } => [
        0.0,
        event.timestamp_ms as f64,
        agent,
        model.id() as f64,
        *provider as u8 as f64,
        provider_id(*pid),
        *input_tokens as f64,
        *output_tokens as f64,
        *cost_micros as f64,
        -1.0,
      ],
      Payload::LlmRequestFailed {
        model,
        provider,
        provider_id: pid,
        error,
      } => {
        let failure = match error {
          Some(detail) => {
            self
              .error_codes
              .push(detail.code.as_deref().map(str::to_owned));
            self
              .error_messages
              .push(detail.message.as_deref().map(str::to_owned));
            (self.error_codes.len() - 1) as f64
          }
          None => -1.0,
        };
        [
          1.0,
          event.timestamp_ms as f64,
          agent,
          model.id() as f64,
          *provider as u8 as f64,
          provider_id(*pid),
          0.0,
          0.0,
          0.0,
          failure,
        ]
      }
      Payload::BudgetThresholdReached {
        threshold_percent,
        current_spend_micros,
        budget_micros,
      } => [
        2.0,
        event.timestamp_ms as f64,
        agent,
        NONE,
        0.0,
        NONE,
        *threshold_percent as f64,
        *current_spend_micros as f64,
        *budget_micros as f64,
        -1.0,
      ],
      Payload::RouterStarted { port } => [
        3.0,
        event.timestamp_ms as f64,
        agent,
        NONE,
        0.0,
        NONE,
        *port as f64,
        0.0,
        0.0,
        -1.0,
      ],
      Payload::RouterStopped {
        total_requests,
        total_cost_micros,
      } => [
        4.0,
        event.timestamp_ms as f64,
        agent,
        NONE,
        0.0,
        NONE,
        *total_requests as f64,
        *total_cost_micros as f64,
        0.0,
        -1.0,
      ],
    };
    self.numbers[at * STRIDE..(at + 1) * STRIDE].copy_from_slice(&row);
    self.written += 1;
  }

  fn finish(self, count: usize) -> EventRows {
    EventRows {
      count: count as u32,
      error_codes: self.error_codes,
      error_messages: self.error_messages,
    }
  }
}

/// An event from `record()`, its names already interned (0 = absent) and figures validated.
#[napi(object)]
pub struct EventInput {
  pub kind: u32,
  pub event_id: Option<String>,
  pub timestamp_ms: Option<f64>,
  pub agent: u32,
  pub model: u32,
  pub provider: u32,
  pub provider_id: u32,
  pub a: f64,
  pub b: f64,
  pub c: f64,
  pub error_code: Option<String>,
  pub error_message: Option<String>,
}

impl EventInput {
  fn into_event(self) -> Result<Event> {
    let payload = match self.kind {
      0 => Payload::LlmRequestCompleted {
        model: symbol(self.model)?,
        provider: provider(self.provider)?,
        provider_id: optional_symbol(self.provider_id)?,
        input_tokens: count(self.a),
        output_tokens: count(self.b),
        cost_micros: count(self.c),
      },
      1 => Payload::LlmRequestFailed {
        model: symbol(self.model)?,
        provider: provider(self.provider)?,
        provider_id: optional_symbol(self.provider_id)?,
        error: FailureDetail::new(self.error_code.as_deref(), self.error_message.as_deref()),
      },
      2 => Payload::BudgetThresholdReached {
        threshold_percent: self.a as u8,
        current_spend_micros: count(self.b),
        budget_micros: count(self.c),
      },
      3 => Payload::RouterStarted {
        port: self.a as u16,
      },
      4 => Payload::RouterStopped {
        total_requests: count(self.a),
        total_cost_micros: count(self.b),
      },
      kind => return Err(invalid(format!("unknown event kind {kind}"))),
    };
    let mut event = Event::new(optional_symbol(self.agent)?, payload);
    if let Some(text) = self.event_id {
      event.id = EventId::parse(&text).ok_or_else(|| invalid("eventId must be a UUID"))?;
    }
    if let Some(timestamp_ms) = self.timestamp_ms {
      event.timestamp_ms = count(timestamp_ms);
    }
    Ok(event)
  }
}

/// Length of the head of the stats figures: `[requests, failed, input, output, cost]`, then how
/// many model, provider and agent rows follow.
const STATS_HEAD: usize = 8;
/// `[key, requests, input, output, cost]`, keyed by symbol id (providers: their index).
const STATS_ROW: usize = 5;

fn write_stats_rows<K: Copy>(
  out: &mut [f64],
  entries: &[(K, ModelStats)],
  key: impl Fn(K) -> f64,
) -> usize {
  for (row, &(name, figures)) in out.chunks_exact_mut(STATS_ROW).zip(entries) {
    row.copy_from_slice(&[
      key(name),
      figures.request_count as f64,
      figures.input_tokens as f64,
      figures.output_tokens as f64,
      figures.cost_micros as f64,
    ]);
  }
  entries.len() * STATS_ROW
}

#[napi]
pub struct NativeStore {
  store: Arc<EventStore>,
  receiver: Mutex<Option<EventReceiver>>,
}

#[napi]
impl NativeStore {
  #[napi(constructor)]
  pub fn new(capacity: u32) -> Self {
    NativeStore {
      store: Arc::new(EventStore::new(capacity as usize)),
      receiver: Mutex::new(None),
    }
  }

  #[napi(factory)]
  pub fn with_streaming(capacity: u32, channel_size: u32) -> Self {
    let (store, receiver) = EventStore::with_streaming(capacity as usize, channel_size as usize);
    NativeStore {
      store: Arc::new(store),
      receiver: Mutex::new(Some(receiver)),
    }
  }

  #[napi(factory)]
  pub fn shared(name: String, capacity: Option<u32>) -> Result<Self> {
    // The registry belongs to the process, not to the env that asks first: keep this image
    // loaded when that env (a worker) goes away, so the stores outlive it for every other thread.
    napi::bindgen_prelude::retain_current_module_for_unload_safety();
    let store = registry::shared(&name, capacity.map(|capacity| capacity as usize))
      .map_err(|error| invalid(error.to_string()))?;
    Ok(NativeStore {
      store,
      receiver: Mutex::new(None),
    })
  }

  /// Whether both handles reach the same store, so the facade can keep one wrapper (and one
  /// staging buffer) per shared store per thread.
  #[napi]
  pub fn same_store(&self, other: &NativeStore) -> bool {
    Arc::ptr_eq(&self.store, &other.store)
  }

  #[napi]
  pub fn remove_shared(name: String) -> bool {
    registry::remove(&name)
  }

  /// The receiving end of a streaming store, handed out once.
  #[napi]
  pub fn take_receiver(&self) -> Option<NativeReceiver> {
    let receiver = self
      .receiver
      .lock()
      .unwrap_or_else(PoisonError::into_inner)
      .take()?;
    Some(NativeReceiver { receiver })
  }

  #[napi]
  pub fn capacity(&self) -> u32 {
    self.store.capacity() as u32
  }

  /// The hot path. The facade stages completed requests as `STAGED_STRIDE` numbers each (see
  /// `recording::STAGED_STRIDE`) and hands them over in batches, so one N-API call serves many
  /// requests. Returns how many were buffered.
  #[napi]
  pub fn record_completed_batch(&self, staged: &[f64], count: u32) -> Result<u32> {
    let rows = staged
      .get(..count as usize * STAGED_STRIDE)
      .ok_or_else(|| invalid("count exceeds the staged rows"))?;
    let buffered = self
      .store
      .record_staged(rows)
      .map_err(|error| invalid(error.to_string()))?;
    Ok(buffered as u32)
  }

  #[napi]
  pub fn record_event(&self, input: EventInput) -> Result<bool> {
    Ok(self.store.record(input.into_event()?))
  }

  #[napi]
  pub fn record_router_stopped(&self) -> bool {
    self.store.record_router_stopped()
  }

  /// Writes the figures into `out`, the head (see `STATS_HEAD`) then the model, provider and
  /// agent rows, and returns their length. A facade-owned buffer rather than returned arrays:
  /// typed arrays made here would each cost an external allocation and a finalizer. When `out`
  /// is too short, nothing is written and the caller retries with the returned length.
  #[napi]
  pub fn stats(&self, mut out: Float64ArraySlice) -> u32 {
    // SAFETY: as in `RowWriter::new`.
    let out = unsafe { out.as_mut() };
    let stats = self.store.stats();
    let rows = stats.by_model.len() + stats.by_provider.len() + stats.by_agent.len();
    let length = STATS_HEAD + rows * STATS_ROW;
    if let Some(out) = out.get_mut(..length) {
      let (head, mut rest) = out.split_at_mut(STATS_HEAD);
      head.copy_from_slice(&[
        stats.total_requests as f64,
        stats.failed_requests as f64,
        stats.total_input_tokens as f64,
        stats.total_output_tokens as f64,
        stats.total_cost_micros as f64,
        stats.by_model.len() as f64,
        stats.by_provider.len() as f64,
        stats.by_agent.len() as f64,
      ]);
      let written = write_stats_rows(rest, &stats.by_model, |model| model.id() as f64);
      rest = &mut rest[written..];
      let written = write_stats_rows(rest, &stats.by_provider, |provider| provider as u8 as f64);
      rest = &mut rest[written..];
      write_stats_rows(rest, &stats.by_agent, |agent| agent.id() as f64);
    }
    length as u32
  }

  #[napi]
  pub fn len(&self) -> u32 {
    self.store.len() as u32
  }

  #[napi]
  pub fn dropped_count(&self) -> f64 {
    self.store.dropped_count() as f64
  }

  /// The buffered events, oldest first, written into `numbers` and `ids` (see `RowWriter`).
  #[napi]
  pub fn snapshot_events(
    &self,
    mut numbers: Float64ArraySlice,
    mut ids: Uint8ArraySlice,
  ) -> EventRows {
    let mut rows = RowWriter::new(&mut numbers, &mut ids);
    let count = self.store.read_buffered(|events| {
      if rows.fits(events.len()) {
        events.for_each(|event| rows.push(event));
      }
      events.len()
    });
    rows.finish(count)
  }

  /// Like `snapshot_events`, and removes the events, unless the buffers were too small.
  #[napi]
  pub fn drain_all(&self, mut numbers: Float64ArraySlice, mut ids: Uint8ArraySlice) -> EventRows {
    let mut rows = RowWriter::new(&mut numbers, &mut ids);
    let mut count = 0;
    self.store.take_buffered(|events| {
      count = events.len();
      let fits = rows.fits(count);
      if fits {
        events.for_each(|event| rows.push(event));
      }
      fits
    });
    rows.finish(count)
  }

  /// Returns how many of the ids were buffered; ids that are not UUIDs match nothing.
  #[napi]
  pub fn mark_synced(&self, event_ids: Vec<String>) -> u32 {
    let ids: Vec<EventId> = event_ids
      .iter()
      .filter_map(|text| EventId::parse(text))
      .collect();
    self.store.mark_synced(&ids) as u32
  }
}

#[napi]
pub struct NativeReceiver {
  receiver: EventReceiver,
}

#[napi]
impl NativeReceiver {
  /// At most one event, without waiting, written into `numbers` and `ids` (see `RowWriter`);
  /// `closed` tells whether more can ever arrive.
  #[napi]
  pub fn try_recv(
    &self,
    mut numbers: Float64ArraySlice,
    mut ids: Uint8ArraySlice,
  ) -> Result<ReceiveResult> {
    let mut rows = RowWriter::new(&mut numbers, &mut ids);
    // Checked first: a received event that found no room would be lost.
    if !rows.fits(1) {
      return Err(invalid("the buffers have no room for an event"));
    }
    Ok(match self.receiver.try_recv() {
      Received::Event(event) => {
        rows.push(&event);
        ReceiveResult {
          events: Some(rows.finish(1)),
          closed: false,
        }
      }
      Received::Empty => ReceiveResult {
        events: None,
        closed: false,
      },
      Received::Closed => ReceiveResult {
        events: None,
        closed: true,
      },
    })
  }

  #[napi]
  pub fn len(&self) -> u32 {
    self.receiver.len() as u32
  }

  #[napi]
  pub fn dropped_count(&self) -> f64 {
    self.receiver.dropped_count() as f64
  }

  #[napi]
  pub fn close(&self) {
    self.receiver.close();
  }
}

#[napi(object)]
pub struct ReceiveResult {
  pub events: Option<EventRows>,
  pub closed: bool,
}
