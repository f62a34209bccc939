//! The N-API surface: every `#[napi]` item of the package. It converts, it does not decide:
//! arguments arrive validated by the TypeScript facade (`lib/`), names arrive as interned
//! symbol ids, and events and figures leave as rows written into buffers the facade owns, which
//! it turns into objects.

use std::cell::RefCell;
use std::ptr;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};

use napi::bindgen_prelude::{
  ArrayBuffer, ClassInstance, Float64Array, Float64ArraySlice, FromNapiValue, Int32ArraySlice,
  ObjectFinalize, Uint8ArraySlice,
};
use napi::{sys, Env, Error, JsValue, Result, Status};
use napi_derive::napi;

use crate::budget::{BudgetError, BudgetRule};
use crate::event::{Event, EventId, FailureDetail, OverflowNames, Payload, Timing};
use crate::exposition;
use crate::histogram::BOUNDARIES_MS;
use crate::layout::{
  self, budget as budget_layout, event_row, point_read as point_read_layout, staging,
  stats as stats_layout,
};
use crate::point_read::{id_in, ReadArea, StoreHandles};
use crate::price::{tier_row, Tier};
use crate::pricing::{PricingManager, Resolved};
use crate::provider::{infer_provider, Provider};
use crate::recording::symbol_in;
use crate::registry;
use crate::staging::StagingArea;
use crate::stats::{Exhausted, ModelStats};
use crate::stats_buffer::write_stats;
use crate::store::EventStore;
use crate::stream::{EventReceiver, Received};
use crate::symbol::{Names, Symbol};
use crate::usage::Usage;

fn invalid(message: impl Into<String>) -> Error {
  Error::new(Status::InvalidArg, message.into())
}

/// A JS number the facade has checked to be a non-negative safe integer.
fn count(value: f64) -> u64 {
  value as u64
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
  /// Names counted under `(other)`: a row's name field holds `-(index + 1)` into this.
  pub overflow_names: Vec<String>,
}

const ID_LENGTH: usize = 36;
const NONE: f64 = 0.0;

/// Writes events as rows into buffers the facade owns and reuses, so a read allocates nothing
/// large: `event_row::STRIDE` numbers per event in `numbers` and its id, hyphenated ASCII, in `ids`.
struct RowWriter<'a> {
  numbers: &'a mut [f64],
  ids: &'a mut [u8],
  written: usize,
  error_codes: Vec<Option<String>>,
  error_messages: Vec<Option<String>>,
  overflow_names: Vec<String>,
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
      overflow_names: Vec::new(),
    }
  }

  fn fits(&self, count: usize) -> bool {
    count <= self.numbers.len() / event_row::STRIDE && count <= self.ids.len() / ID_LENGTH
  }

  /// One event as `event_row` lays it out. Only called for rows `fits` accepted.
  fn push(&mut self, seq: u64, event: &Event) {
    use event_row::*;
    let at = self.written;
    self.ids[at * ID_LENGTH..(at + 1) * ID_LENGTH].copy_from_slice(&event.id.hyphenated());
    let row = &mut self.numbers[at * STRIDE..(at + 1) * STRIDE];
    row.fill(NONE);
    row[TIMESTAMP_MS] = event.timestamp_ms as f64;
    row[AGENT] = event.agent.map_or(NONE, |agent| agent.id() as f64);
    row[SEQ] = seq as f64;
    let symbol_or_none = |id: Option<Symbol>| id.map_or(NONE, |id| id.id() as f64);
    match &event.payload {
      Payload::LlmRequestCompleted {
        model,
        provider,
        provider_id,
        usage,
        cost_micros,
        timing,
      } => {
        row[KIND] = 0.0;
        row[MODEL] = model.id() as f64;
        row[PROVIDER] = provider.index() as f64;
        row[PROVIDER_ID] = symbol_or_none(*provider_id);
        row[INPUT_TOKENS] = usage.input_tokens as f64;
        row[OUTPUT_TOKENS] = usage.output_tokens as f64;
        row[COST_MICROS] = *cost_micros as f64;
        row[CACHE_READ_TOKENS] = usage.cache_read_tokens as f64;
        row[CACHE_WRITE_TOKENS] = usage.cache_write_tokens as f64;
        row[CACHE_WRITE_1H_TOKENS] = usage.cache_write_1h_tokens as f64;
        row[REASONING_TOKENS] = usage.reasoning_tokens as f64;
        let milliseconds = |us: Option<u64>| us.map_or(-1.0, |us| us as f64 / 1000.0);
        row[DURATION_MS] = milliseconds(timing.duration_us);
        row[TIME_TO_FIRST_TOKEN_MS] = milliseconds(timing.time_to_first_token_us);
      }
      Payload::LlmRequestFailed {
        model,
        provider,
        provider_id,
        error,
      } => {
        row[KIND] = 1.0;
        row[MODEL] = model.id() as f64;
        row[PROVIDER] = provider.index() as f64;
        row[PROVIDER_ID] = symbol_or_none(*provider_id);
        row[FAILURE] = match error {
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
      }
      Payload::BudgetThresholdReached {
        threshold_percent,
        current_spend_micros,
        budget_micros,
      } => {
        row[KIND] = 2.0;
        row[THRESHOLD_PERCENT] = f64::from(*threshold_percent);
        row[CURRENT_SPEND_MICROS] = *current_spend_micros as f64;
        row[BUDGET_MICROS] = *budget_micros as f64;
      }
      Payload::RouterStarted { port } => {
        row[KIND] = 3.0;
        row[PORT] = f64::from(*port);
      }
      Payload::RouterStopped {
        total_requests,
        total_cost_micros,
      } => {
        row[KIND] = 4.0;
        row[TOTAL_REQUESTS] = *total_requests as f64;
        row[TOTAL_COST_MICROS] = *total_cost_micros as f64;
      }
    }
    if let Some(overflow) = &event.overflow {
      let fields = [
        (MODEL, &overflow.model),
        (AGENT, &overflow.agent),
        (PROVIDER_ID, &overflow.provider_id),
      ];
      for (field, name) in fields {
        if let Some(name) = name {
          self.overflow_names.push(name.to_string());
          row[field] = -(self.overflow_names.len() as f64);
        }
      }
    }
    self.written += 1;
  }

  fn finish(self, count: usize) -> EventRows {
    EventRows {
      count: count as u32,
      error_codes: self.error_codes,
      error_messages: self.error_messages,
      overflow_names: self.overflow_names,
    }
  }
}

/// What a `record()` event says in words: its names, which the store interns (or counts under
/// `(other)`), its id and its failure's text.
#[napi(object)]
pub struct EventText {
  pub event_id: Option<String>,
  pub model: Option<String>,
  pub agent_id: Option<String>,
  pub provider_id: Option<String>,
  pub error_code: Option<String>,
  pub error_message: Option<String>,
}

/// An event from `record()`, its figures laid out as `event_row` (a timestamp below 0 means now)
/// and validated by the facade, its names in `text`.
fn event_from_row(names: &Names, row: &[f64], text: EventText) -> Result<Event> {
  use event_row::*;
  let row = row
    .get(..STRIDE)
    .ok_or_else(|| invalid("an event row is incomplete"))?;
  let mut overflow = OverflowNames::default();
  let mut model = || {
    let name = text
      .model
      .as_deref()
      .ok_or_else(|| invalid("the event names no model"))?;
    Ok::<_, Error>(symbol_in(&names.models, name, &mut overflow.model))
  };
  let model = match row[KIND] as u32 {
    0 | 1 => Some(model()?),
    _ => None,
  };
  let provider_id = text
    .provider_id
    .as_deref()
    .map(|id| symbol_in(&names.provider_ids, id, &mut overflow.provider_id));
  let agent = text
    .agent_id
    .as_deref()
    .map(|agent| symbol_in(&names.agents, agent, &mut overflow.agent));
  let provider_at = || provider(row[PROVIDER] as u32);
  let duration = |field: usize| (row[field] >= 0.0).then(|| (row[field] * 1000.0).round() as u64);
  let payload = match (row[KIND] as u32, model) {
    (0, Some(model)) => Payload::LlmRequestCompleted {
      model,
      provider: provider_at()?,
      provider_id,
      usage: Usage {
        input_tokens: count(row[INPUT_TOKENS]),
        output_tokens: count(row[OUTPUT_TOKENS]),
        cache_read_tokens: count(row[CACHE_READ_TOKENS]),
        cache_write_tokens: count(row[CACHE_WRITE_TOKENS]),
        cache_write_1h_tokens: count(row[CACHE_WRITE_1H_TOKENS]),
        reasoning_tokens: count(row[REASONING_TOKENS]),
      },
      cost_micros: count(row[COST_MICROS]),
      timing: Timing {
        duration_us: duration(DURATION_MS),
        time_to_first_token_us: duration(TIME_TO_FIRST_TOKEN_MS),
      },
    },
    (1, Some(model)) => Payload::LlmRequestFailed {
      model,
      provider: provider_at()?,
      provider_id,
      error: FailureDetail::new(text.error_code.as_deref(), text.error_message.as_deref()),
    },
    (2, _) => Payload::BudgetThresholdReached {
      threshold_percent: row[THRESHOLD_PERCENT] as u8,
      current_spend_micros: count(row[CURRENT_SPEND_MICROS]),
      budget_micros: count(row[BUDGET_MICROS]),
    },
    (3, _) => Payload::RouterStarted {
      port: row[PORT] as u16,
    },
    (4, _) => Payload::RouterStopped {
      total_requests: count(row[TOTAL_REQUESTS]),
      total_cost_micros: count(row[TOTAL_COST_MICROS]),
    },
    (kind, _) => return Err(invalid(format!("unknown event kind {kind}"))),
  };
  let mut event = Event::new(agent, payload);
  event.overflow = (overflow.count() > 0).then(|| Box::new(overflow));
  if let Some(text) = text.event_id {
    event.id = EventId::parse(&text).ok_or_else(|| invalid("eventId must be a UUID"))?;
  }
  if row[TIMESTAMP_MS] >= 0.0 {
    event.timestamp_ms = count(row[TIMESTAMP_MS]);
  }
  Ok(event)
}

/// How a record ended, for the facade: buffered, dropped (the buffer was full), or refused
/// because a total had no room left for the figure it names.
fn record_outcome(recorded: std::result::Result<bool, Exhausted>) -> i32 {
  match recorded {
    Ok(true) => 1,
    Ok(false) => 0,
    Err(Exhausted::InputTokens) => -1,
    Err(Exhausted::OutputTokens) => -2,
    Err(Exhausted::CostMicros) => -3,
  }
}

/// Writes one key's figures as `stats_layout::row` lays them out.
fn write_stats_row(row: &mut [f64], key: f64, figures: &ModelStats) {
  use stats_layout::row::*;
  row[KEY] = key;
  row[REQUESTS] = figures.request_count as f64;
  row[FAILED] = figures.failed_requests as f64;
  row[INPUT_TOKENS] = figures.input_tokens as f64;
  row[OUTPUT_TOKENS] = figures.output_tokens as f64;
  row[COST_MICROS] = figures.cost_micros as f64;
  row[CACHE_READ_TOKENS] = figures.cache_read_tokens as f64;
  row[CACHE_WRITE_TOKENS] = figures.cache_write_tokens as f64;
  row[CACHE_WRITE_1H_TOKENS] = figures.cache_write_1h_tokens as f64;
  row[REASONING_TOKENS] = figures.reasoning_tokens as f64;
}

/// Memory a store holds besides its events, reported to V8 so that dropped stores prompt a
/// collection: its staging area, once a thread records, and its fixed parts.
const STORE_BYTES: i64 = 4096;

/// A store as one JavaScript thread holds it. `custom_finalize`: the memory reported to V8 for
/// it is given back when V8 collects it, and its staging area is let go.
#[napi(custom_finalize)]
pub struct NativeStore {
  store: Arc<EventStore>,
  receiver: Mutex<Option<EventReceiver>>,
  staging: Mutex<Option<Arc<StagingArea>>>,
  reported_bytes: i64,
  /// How this thread's point reads name the store (see `PointReads`).
  point_read_handle: f64,
}

impl NativeStore {
  fn wrap(
    env: &Env,
    store: Arc<EventStore>,
    receiver: Option<EventReceiver>,
    owned: bool,
  ) -> Result<Self> {
    let reported_bytes = if owned { STORE_BYTES } else { 0 };
    env.adjust_external_memory(reported_bytes)?;
    let point_read_handle = point_reads(|reads| Ok(reads.stores()?.open(store.clone())))?;
    Ok(NativeStore {
      store,
      receiver: Mutex::new(receiver),
      staging: Mutex::new(None),
      reported_bytes,
      point_read_handle,
    })
  }
}

impl ObjectFinalize for NativeStore {
  fn finalize(self, env: Env) -> Result<()> {
    // On the thread that made the handle. A finalizer that runs while the thread exits, after its
    // point reads are gone, has no handle left to close.
    let _ = point_reads(|reads| {
      reads.stores()?.close(self.point_read_handle);
      Ok(())
    });
    let mut reported = self.reported_bytes;
    if let Some(area) = self
      .staging
      .lock()
      .unwrap_or_else(PoisonError::into_inner)
      .take()
    {
      area.abandon();
      reported += area.byte_len() as i64;
    }
    env.adjust_external_memory(-reported)?;
    Ok(())
  }
}

#[napi]
impl NativeStore {
  #[napi(constructor)]
  pub fn new(env: Env, capacity: u32, max_keys: u32) -> Result<Self> {
    let store = EventStore::with_max_keys(capacity as usize, max_keys as usize);
    Self::wrap(&env, Arc::new(store), None, true)
  }

  #[napi(factory)]
  pub fn with_streaming(env: Env, capacity: u32, max_keys: u32, channel_size: u32) -> Result<Self> {
    let (store, receiver) =
      EventStore::with_streaming(capacity as usize, max_keys as usize, channel_size as usize);
    Self::wrap(&env, Arc::new(store), Some(receiver), true)
  }

  #[napi(factory)]
  pub fn shared(
    env: Env,
    name: String,
    capacity: Option<u32>,
    max_keys: Option<u32>,
  ) -> Result<Self> {
    // The registry belongs to the process, not to the env that asks first: keep this image
    // loaded when that env (a worker) goes away, so the stores outlive it for every other thread.
    napi::bindgen_prelude::retain_current_module_for_unload_safety();
    let as_usize = |value: Option<u32>| value.map(|value| value as usize);
    let store = registry::shared(&name, as_usize(capacity), as_usize(max_keys))
      .map_err(|error| invalid(error.to_string()))?;
    Self::wrap(&env, store, None, false)
  }

  /// The symbol id of a name in one of the store's dimensions (0 models, 1 agents, 2 provider
  /// ids), interning it on first sight; 0 when that dimension is full, and the name counts under
  /// `(other)`.
  #[napi]
  pub fn intern(&self, dimension: u32, name: String) -> Result<u32> {
    let table = self
      .store
      .names()
      .table(dimension)
      .ok_or_else(|| invalid(format!("unknown dimension {dimension}")))?;
    Ok(table.intern(&name).map_or(0, Symbol::id))
  }

  /// A dimension's names with ids `fromId..`, so a thread can extend its cache with one call.
  #[napi]
  pub fn symbol_names(&self, dimension: u32, from_id: u32) -> Result<Vec<String>> {
    let table = self
      .store
      .names()
      .table(dimension)
      .ok_or_else(|| invalid(format!("unknown dimension {dimension}")))?;
    Ok(
      table
        .names_from(from_id)
        .iter()
        .map(|name| name.to_string())
        .collect(),
    )
  }

  /// Whether both handles reach the same store, so the facade can keep one wrapper (and one
  /// staging area) per shared store per thread.
  #[napi]
  pub fn same_store(&self, other: &NativeStore) -> bool {
    Arc::ptr_eq(&self.store, &other.store)
  }

  #[napi]
  pub fn remove_shared(name: String) -> bool {
    registry::remove(&name)
  }

  /// A new staging area of `rows` rows for this handle (`layout::staging`), abandoning the one it
  /// had: the facade writes completed requests there and publishes each with one atomic store.
  /// The memory belongs to the store; the returned buffer only views it, and keeps it alive while
  /// it is reachable.
  #[napi]
  pub fn staging_area<'env>(&self, env: &'env Env, rows: u32) -> Result<ArrayBuffer<'env>> {
    let area = self.store.staging_area(rows as usize);
    let (data, length) = (area.as_ptr(), area.byte_len());
    // SAFETY: the area is `length` bytes long and lives until the finalizer drops the `Arc` it
    // is given, after V8 has let go of the buffer.
    let buffer =
      unsafe { ArrayBuffer::from_external(env, data, length, area.clone(), |_, area| drop(area)) }?;
    // A runtime that refuses external buffers copies the data instead: rows written there would
    // never reach the store.
    if buffer.as_ptr() != data.cast_const() {
      area.abandon();
      return Err(Error::new(
        Status::GenericFailure,
        "this JavaScript runtime does not allow external array buffers, which iron-runtime-analytics needs",
      ));
    }
    let mut held = self.staging.lock().unwrap_or_else(PoisonError::into_inner);
    // The old area is drained first: a full ring drains only its own area, so rows left in an
    // older one would otherwise reach the buffer after newer ones.
    let released = held.replace(area).map_or(0, |old| {
      self.store.drain_area(&old);
      old.abandon();
      old.byte_len()
    });
    env.adjust_external_memory(length as i64 - released as i64)?;
    Ok(buffer)
  }

  /// Records what this handle's own staging area holds: its writer found the ring full.
  #[napi]
  pub fn drain_own_staging(&self) {
    if let Some(area) = self
      .staging
      .lock()
      .unwrap_or_else(PoisonError::into_inner)
      .as_ref()
    {
      self.store.drain_area(area);
    }
  }

  /// Records what every thread staged, so that what follows sees it.
  #[napi]
  pub fn drain_staged(&self) {
    self.store.drain_staged();
  }

  /// Takes room in the store's totals for figures about to be staged: 0, or the `record_outcome`
  /// code of the figure that had too little.
  #[napi]
  pub fn reserve(&self, input_tokens: f64, output_tokens: f64, cost_micros: f64) -> i32 {
    match self.store.live_stats().reserve(
      count(input_tokens),
      count(output_tokens),
      count(cost_micros),
    ) {
      Ok(()) => 0,
      Err(exhausted) => record_outcome(Err(exhausted)),
    }
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

  /// Records the event `row` and `text` describe (see `event_from_row`); returns its
  /// `record_outcome`. `priced`: whether a completed request's model resolved to a price.
  #[napi]
  pub fn record_event(&self, row: Float64ArraySlice, text: EventText, priced: bool) -> Result<i32> {
    let event = event_from_row(self.store.names(), &row, text)?;
    Ok(record_outcome(self.store.record_priced(event, priced)))
  }

  #[napi]
  pub fn record_router_stopped(&self) -> bool {
    self.store.record_router_stopped()
  }

  /// Writes the figures into `out` as `stats_layout` lays them out and returns their length in
  /// slots. A facade-owned buffer rather than returned arrays: typed arrays made here would each
  /// cost an external allocation and a finalizer. When `out` is too short, what it holds is
  /// unfinished and the caller retries with the returned length.
  #[napi]
  pub fn stats(&self, mut out: Int32ArraySlice) -> u32 {
    // SAFETY: as in `RowWriter::new`.
    store_stats(&self.store, unsafe { out.as_mut() })
  }

  fn agent(&self, id: u32) -> Result<Symbol> {
    agent_of(&self.store, id)
  }

  /// Failed requests per error code; the facade asks when `stats` counts any codes.
  #[napi]
  pub fn failures_by_code(&self) -> Vec<FailureCount> {
    let codes = self.store.live_stats().failures_by_code();
    codes
      .into_iter()
      .map(|(code, count)| FailureCount {
        code: code.to_string(),
        count: count as f64,
      })
      .collect()
  }

  /// Sets an agent's budget; the facade has checked the limit and the thresholds.
  #[napi]
  pub fn set_budget(&self, agent: u32, limit_micros: f64, thresholds: Vec<u32>) -> Result<()> {
    let rule = BudgetRule::new(count(limit_micros), &thresholds).map_err(|error| match error {
      BudgetError::ZeroLimit => invalid("limitMicros must be positive"),
      BudgetError::Threshold { index, value } => invalid(format!(
        "thresholdsPercent[{index}] must be an integer from 1 to 255, got {value}"
      )),
    })?;
    self.store.set_budget(self.agent(agent)?, rule);
    Ok(())
  }

  #[napi]
  pub fn remove_budget(&self, agent: u32) -> Result<bool> {
    Ok(self.store.remove_budget(self.agent(agent)?))
  }

  /// How this thread's point reads (`read_agent_stats`, `read_budget_status`) name the store.
  #[napi]
  pub fn point_read_handle(&self) -> f64 {
    self.point_read_handle
  }

  #[napi]
  pub fn len(&self) -> u32 {
    self.store.drain_staged();
    self.store.len() as u32
  }

  #[napi]
  pub fn dropped_count(&self) -> f64 {
    self.store.drain_staged();
    self.store.dropped_count() as f64
  }

  /// The buffered events, oldest first, written into `numbers` and `ids` (see `RowWriter`).
  #[napi]
  pub fn snapshot_events(&self, numbers: Float64ArraySlice, ids: Uint8ArraySlice) -> EventRows {
    self.events_after(0.0, f64::MAX, numbers, ids)
  }

  /// At most `max` buffered events whose sequence numbers follow `after`, oldest first, written
  /// like `snapshot_events`.
  #[napi]
  pub fn events_after(
    &self,
    after: f64,
    max: f64,
    mut numbers: Float64ArraySlice,
    mut ids: Uint8ArraySlice,
  ) -> EventRows {
    let mut rows = RowWriter::new(&mut numbers, &mut ids);
    let count = self.store.read_after(count(after), max as usize, |events| {
      let count = events.len();
      if rows.fits(count) {
        events.for_each(|seq, event| rows.push(seq, event));
      }
      count
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
        events.for_each(|seq, event| rows.push(seq, event));
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

  /// Removes the events with these sequence numbers; returns how many were buffered.
  #[napi]
  pub fn acknowledge(&self, seqs: Float64ArraySlice) -> u32 {
    let seqs: Vec<u64> = seqs.iter().map(|&seq| count(seq)).collect();
    self.store.acknowledge(&seqs) as u32
  }
}

/// The store's agent with this id (see `NativeStore::intern`).
fn agent_of(store: &EventStore, id: u32) -> Result<Symbol> {
  let agents = &store.names().agents;
  agents
    .from_id(id)
    .ok_or_else(|| invalid(format!("unknown agent id {id}")))
}

/// A JavaScript thread's point reads (`point_read`): its area, once the facade has asked for it,
/// and its stores' handles. The reads take no arguments, which makes them napi-rs's cheapest call
/// (~20 ns, where a method taking a number costs ~230 ns in its glue).
#[derive(Default)]
struct PointReads {
  area: RefCell<Option<SharedArea>>,
  stores: RefCell<StoreHandles>,
}

/// The area and the one buffer that views it in its env, which every asker there is given: a
/// second buffer over the same memory is one V8 does not allow.
struct SharedArea {
  area: Rc<ReadArea>,
  env: sys::napi_env,
  buffer: sys::napi_ref,
}

thread_local! {
  static POINT_READS: PointReads = PointReads::default();
}

/// Runs `use_point_reads` on this thread's point reads.
fn point_reads<T>(use_point_reads: impl FnOnce(&PointReads) -> Result<T>) -> Result<T> {
  POINT_READS
    .try_with(use_point_reads)
    .unwrap_or_else(|_| Err(invalid("this thread's point reads are gone")))
}

// No JavaScript runs while a native call holds these cells, so nothing can find one taken; an
// error rather than a panic all the same.
fn taken(_: impl std::error::Error) -> Error {
  Error::new(Status::GenericFailure, "the point reads are in use")
}

/// Runs `read` on this thread's point-read area, the store and the agent the reader wrote there.
fn point_read<T>(read: impl FnOnce(&ReadArea, &EventStore, Symbol) -> Result<T>) -> Result<T> {
  point_reads(|reads| reads.read(read))
}

impl PointReads {
  fn stores(&self) -> Result<std::cell::RefMut<'_, StoreHandles>> {
    self.stores.try_borrow_mut().map_err(taken)
  }

  /// Runs `read` on the area and the store its handle names, as the reader wrote it.
  fn read_store<T>(&self, read: impl FnOnce(&ReadArea, &EventStore) -> Result<T>) -> Result<T> {
    let area = self.area.try_borrow().map_err(taken)?;
    let area = &area
      .as_ref()
      .ok_or_else(|| invalid("this thread has no point-read area"))?
      .area;
    let handle = area.get(point_read_layout::STORE);
    let stores = self.stores.try_borrow().map_err(taken)?;
    let store = stores
      .get(handle)
      .ok_or_else(|| invalid(format!("no store has point-read handle {handle}")))?;
    read(area, store)
  }

  /// Like `read_store`, with the agent the reader wrote too.
  fn read<T>(&self, read: impl FnOnce(&ReadArea, &EventStore, Symbol) -> Result<T>) -> Result<T> {
    self.read_store(|area, store| {
      let id = area.get(point_read_layout::AGENT);
      let agent = agent_of(store, id_in(id).unwrap_or(0))
        .map_err(|_| invalid(format!("unknown agent id {id}")))?;
      read(area, store, agent)
    })
  }
}

/// This thread's point-read area (`layout::point_read`), the same buffer every time, so every copy
/// of the facade loaded in the thread reads through it. A thread runs one env at a time: an env
/// that finds the area of one gone before it gets an area of its own.
#[napi]
pub fn point_read_area<'env>(env: &'env Env) -> Result<ArrayBuffer<'env>> {
  point_reads(|reads| {
    let mut shared = reads.area.try_borrow_mut().map_err(taken)?;
    if let Some(shared) = shared.as_ref().filter(|shared| shared.env == env.raw()) {
      let mut buffer = ptr::null_mut();
      // SAFETY: the reference was made in this env, which is alive while it calls us.
      let status = unsafe { sys::napi_get_reference_value(env.raw(), shared.buffer, &mut buffer) };
      if status != sys::Status::napi_ok {
        return Err(Error::new(
          Status::from(status),
          "the point-read area is gone",
        ));
      }
      // SAFETY: the value is the array buffer the reference was made for.
      return unsafe { ArrayBuffer::from_napi_value(env.raw(), buffer) };
    }
    let area = Rc::new(ReadArea::default());
    let (data, length) = (area.as_ptr(), area.byte_len());
    // SAFETY: the area is `length` bytes long and lives until the finalizer drops the `Rc` it is
    // given, after V8 has let go of the buffer.
    let buffer =
      unsafe { ArrayBuffer::from_external(env, data, length, area.clone(), |_, area| drop(area)) }?;
    // A runtime that refuses external buffers copies the data instead: reads would never see it.
    if buffer.as_ptr() != data.cast_const() {
      return Err(Error::new(
        Status::GenericFailure,
        "this JavaScript runtime does not allow external array buffers, which iron-runtime-analytics needs",
      ));
    }
    let mut reference = ptr::null_mut();
    // SAFETY: a strong reference to a live value of this env; it keeps the one buffer over the
    // area for as long as the env lives, and the env deletes it when it goes.
    let status = unsafe { sys::napi_create_reference(env.raw(), buffer.raw(), 1, &mut reference) };
    if status != sys::Status::napi_ok {
      return Err(Error::new(
        Status::from(status),
        "cannot keep the point-read area",
      ));
    }
    *shared = Some(SharedArea {
      area,
      env: env.raw(),
      buffer: reference,
    });
    Ok(buffer)
  })
}

/// Writes the store's figures into `out` (`NativeStore::stats`), what every thread staged first.
fn store_stats(store: &EventStore, out: &mut [i32]) -> u32 {
  store.drain_staged();
  let length = write_stats(store.live_stats(), &store.names().models, out);
  u32::try_from(length).unwrap_or(u32::MAX)
}

/// `NativeStore::stats` over the point-read area, for the store its handle names: without the
/// method's glue and its buffer argument, which cost more than writing a few dozen keys.
#[napi]
pub fn read_stats() -> Result<u32> {
  point_reads(|reads| {
    reads.read_store(|area, store| Ok(area.with_slots(|slots| store_stats(store, slots))))
  })
}

/// Writes the agent's figures after the point-read arguments, as a `layout::stats::row` with the
/// key left 0; false when the agent has none. Records what every thread staged first.
#[napi]
pub fn read_agent_stats() -> Result<bool> {
  point_read(|area, store, agent| {
    let Some(figures) = store.agent_stats(agent) else {
      return Ok(false);
    };
    let mut row = [0.0; stats_layout::row::STRIDE];
    write_stats_row(&mut row, 0.0, &figures);
    area.write(point_read_layout::FIGURES, &row);
    Ok(true)
  })
}

/// Writes the agent's budget status after the point-read arguments, as `layout::budget` lays it
/// out, and returns its length; 0 when the agent has no budget.
#[napi]
pub fn read_budget_status() -> Result<u32> {
  use budget_layout::*;
  point_read(|area, store, agent| {
    let Some(status) = store.budget_status(agent) else {
      return Ok(0);
    };
    let at = point_read_layout::FIGURES;
    area.set(at + LIMIT_MICROS, status.limit_micros as f64);
    area.set(at + SPENT_MICROS, status.spent_micros as f64);
    area.set(at + REMAINING_MICROS, status.remaining_micros as f64);
    area.set(at + USED_PERCENT, status.used_percent);
    area.set(at + CROSSED, status.crossed.len() as f64);
    for (slot, &percent) in (at + CROSSED_AT..).zip(&status.crossed) {
      area.set(slot, f64::from(percent));
    }
    Ok((CROSSED_AT + status.crossed.len()) as u32)
  })
}

#[napi(object)]
pub struct FailureCount {
  pub code: String,
  pub count: f64,
}

/// The Prometheus text exposition of `stores` together (`exposition::prometheus`).
#[napi]
pub fn prometheus(stores: Vec<ClassInstance<NativeStore>>, agent_label: bool) -> String {
  let stores: Vec<&EventStore> = stores.iter().map(|store| &*store.store).collect();
  exposition::prometheus(&stores, agent_label)
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
        rows.push(0, &event);
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

/// `layout::staging`, for the facade.
#[napi(object)]
pub struct StagingLayout {
  pub head: u32,
  pub tail: u32,
  pub buffer_full: u32,
  pub rows_at: u32,
  pub first_rows: u32,
  pub max_rows: u32,
  pub stride: u32,
  pub model: u32,
  pub provider: u32,
  pub agent: u32,
  pub provider_id: u32,
  pub input_tokens: u32,
  pub output_tokens: u32,
  pub cache_read_tokens: u32,
  pub cache_write_tokens: u32,
  #[napi(js_name = "cacheWrite1hTokens")]
  pub cache_write_1h_tokens: u32,
  pub reasoning_tokens: u32,
  pub cost_micros: u32,
  pub timestamp_ms: u32,
  pub duration_ms: u32,
  pub time_to_first_token_ms: u32,
  pub unpriced: u32,
}

/// `layout::event_row`, for the facade.
#[napi(object)]
pub struct EventRowLayout {
  pub kind: u32,
  pub timestamp_ms: u32,
  pub agent: u32,
  pub model: u32,
  pub provider: u32,
  pub provider_id: u32,
  pub input_tokens: u32,
  pub output_tokens: u32,
  pub cost_micros: u32,
  pub cache_read_tokens: u32,
  pub cache_write_tokens: u32,
  #[napi(js_name = "cacheWrite1hTokens")]
  pub cache_write_1h_tokens: u32,
  pub reasoning_tokens: u32,
  pub duration_ms: u32,
  pub time_to_first_token_ms: u32,
  pub failure: u32,
  pub threshold_percent: u32,
  pub current_spend_micros: u32,
  pub budget_micros: u32,
  pub port: u32,
  pub total_requests: u32,
  pub total_cost_micros: u32,
  pub seq: u32,
  pub stride: u32,
}

/// `layout::stats`, for the facade: the head's fields, then a row's.
#[napi(object)]
pub struct StatsLayout {
  pub requests: u32,
  pub failed: u32,
  pub input_tokens: u32,
  pub output_tokens: u32,
  pub cost_micros: u32,
  pub cache_read_tokens: u32,
  pub cache_write_tokens: u32,
  #[napi(js_name = "cacheWrite1hTokens")]
  pub cache_write_1h_tokens: u32,
  pub reasoning_tokens: u32,
  pub unpriced_requests: u32,
  pub overflowed_keys: u32,
  pub model_rows: u32,
  pub provider_rows: u32,
  pub agent_rows: u32,
  pub unpriced_models: u32,
  pub failure_codes: u32,
  pub head: u32,
  pub row: StatsRowLayout,
  pub latency: LatencyLayout,
  pub record: RecordLayout,
}

/// `layout::stats::latency`.
#[napi(object)]
pub struct LatencyLayout {
  pub count: u32,
  pub sum_ms: u32,
  pub buckets: u32,
  pub p50_ms: u32,
  pub p90_ms: u32,
  pub p99_ms: u32,
  pub stride: u32,
  pub slots: u32,
}

/// `layout::stats::record`.
#[napi(object)]
pub struct RecordLayout {
  pub provider: u32,
  pub duration: u32,
  pub time_to_first_token: u32,
  pub stride: u32,
}

/// `layout::budget`.
#[napi(object)]
pub struct BudgetLayout {
  pub limit_micros: u32,
  pub spent_micros: u32,
  pub remaining_micros: u32,
  pub used_percent: u32,
  pub crossed: u32,
  pub crossed_at: u32,
}

/// `layout::point_read`.
#[napi(object)]
pub struct PointReadLayout {
  pub store: u32,
  pub agent: u32,
  pub figures: u32,
  pub length: u32,
  pub stats_slots: u32,
}

#[napi(object)]
pub struct StatsRowLayout {
  pub key: u32,
  pub requests: u32,
  pub failed: u32,
  pub input_tokens: u32,
  pub output_tokens: u32,
  pub cost_micros: u32,
  pub cache_read_tokens: u32,
  pub cache_write_tokens: u32,
  #[napi(js_name = "cacheWrite1hTokens")]
  pub cache_write_1h_tokens: u32,
  pub reasoning_tokens: u32,
  pub stride: u32,
}

/// Every layout the facade shares with the core (`layout`), and the orders it numbers by.
#[napi(object)]
pub struct Layout {
  pub staging: StagingLayout,
  pub event_row: EventRowLayout,
  pub stats: StatsLayout,
  pub budget: BudgetLayout,
  pub point_read: PointReadLayout,
  /// Upper bounds of the latency buckets, in seconds.
  pub latency_boundaries_seconds: Vec<f64>,
  pub event_kinds: Vec<String>,
  pub providers: Vec<String>,
  /// The names of the ids a symbol table has before its first intern, by id: 0 names nothing,
  /// 1 is `Symbol::OTHER`.
  pub reserved_names: Vec<String>,
}

#[napi]
pub fn layout() -> Layout {
  let index = |value: usize| value as u32;
  let row = staging::row::STRIDE;
  Layout {
    staging: StagingLayout {
      head: index(staging::HEAD),
      tail: index(staging::TAIL),
      buffer_full: index(staging::BUFFER_FULL),
      rows_at: index(staging::ROWS_AT),
      first_rows: index(staging::FIRST_ROWS),
      max_rows: index(staging::MAX_ROWS),
      stride: index(row),
      model: index(staging::row::MODEL),
      provider: index(staging::row::PROVIDER),
      agent: index(staging::row::AGENT),
      provider_id: index(staging::row::PROVIDER_ID),
      input_tokens: index(staging::row::INPUT_TOKENS),
      output_tokens: index(staging::row::OUTPUT_TOKENS),
      cache_read_tokens: index(staging::row::CACHE_READ_TOKENS),
      cache_write_tokens: index(staging::row::CACHE_WRITE_TOKENS),
      cache_write_1h_tokens: index(staging::row::CACHE_WRITE_1H_TOKENS),
      reasoning_tokens: index(staging::row::REASONING_TOKENS),
      cost_micros: index(staging::row::COST_MICROS),
      timestamp_ms: index(staging::row::TIMESTAMP_MS),
      duration_ms: index(staging::row::DURATION_MS),
      time_to_first_token_ms: index(staging::row::TIME_TO_FIRST_TOKEN_MS),
      unpriced: index(staging::row::UNPRICED),
    },
    event_row: EventRowLayout {
      kind: index(event_row::KIND),
      timestamp_ms: index(event_row::TIMESTAMP_MS),
      agent: index(event_row::AGENT),
      model: index(event_row::MODEL),
      provider: index(event_row::PROVIDER),
      provider_id: index(event_row::PROVIDER_ID),
      input_tokens: index(event_row::INPUT_TOKENS),
      output_tokens: index(event_row::OUTPUT_TOKENS),
      cost_micros: index(event_row::COST_MICROS),
      cache_read_tokens: index(event_row::CACHE_READ_TOKENS),
      cache_write_tokens: index(event_row::CACHE_WRITE_TOKENS),
      cache_write_1h_tokens: index(event_row::CACHE_WRITE_1H_TOKENS),
      reasoning_tokens: index(event_row::REASONING_TOKENS),
      duration_ms: index(event_row::DURATION_MS),
      time_to_first_token_ms: index(event_row::TIME_TO_FIRST_TOKEN_MS),
      failure: index(event_row::FAILURE),
      threshold_percent: index(event_row::THRESHOLD_PERCENT),
      current_spend_micros: index(event_row::CURRENT_SPEND_MICROS),
      budget_micros: index(event_row::BUDGET_MICROS),
      port: index(event_row::PORT),
      total_requests: index(event_row::TOTAL_REQUESTS),
      total_cost_micros: index(event_row::TOTAL_COST_MICROS),
      seq: index(event_row::SEQ),
      stride: index(event_row::STRIDE),
    },
    stats: StatsLayout {
      requests: index(stats_layout::REQUESTS),
      failed: index(stats_layout::FAILED),
      input_tokens: index(stats_layout::INPUT_TOKENS),
      output_tokens: index(stats_layout::OUTPUT_TOKENS),
      cost_micros: index(stats_layout::COST_MICROS),
      cache_read_tokens: index(stats_layout::CACHE_READ_TOKENS),
      cache_write_tokens: index(stats_layout::CACHE_WRITE_TOKENS),
      cache_write_1h_tokens: index(stats_layout::CACHE_WRITE_1H_TOKENS),
      reasoning_tokens: index(stats_layout::REASONING_TOKENS),
      unpriced_requests: index(stats_layout::UNPRICED_REQUESTS),
      overflowed_keys: index(stats_layout::OVERFLOWED_KEYS),
      model_rows: index(stats_layout::MODEL_ROWS),
      provider_rows: index(stats_layout::PROVIDER_ROWS),
      agent_rows: index(stats_layout::AGENT_ROWS),
      unpriced_models: index(stats_layout::UNPRICED_MODELS),
      failure_codes: index(stats_layout::FAILURE_CODES),
      head: index(stats_layout::HEAD),
      latency: LatencyLayout {
        count: index(stats_layout::latency::COUNT),
        sum_ms: index(stats_layout::latency::SUM_MS),
        buckets: index(stats_layout::latency::BUCKETS),
        p50_ms: index(stats_layout::latency::P50_MS),
        p90_ms: index(stats_layout::latency::P90_MS),
        p99_ms: index(stats_layout::latency::P99_MS),
        stride: index(stats_layout::latency::STRIDE),
        slots: index(stats_layout::latency::SLOTS),
      },
      record: RecordLayout {
        provider: index(stats_layout::record::PROVIDER),
        duration: index(stats_layout::record::DURATION),
        time_to_first_token: index(stats_layout::record::TIME_TO_FIRST_TOKEN),
        stride: index(stats_layout::record::STRIDE),
      },
      row: StatsRowLayout {
        key: index(stats_layout::row::KEY),
        requests: index(stats_layout::row::REQUESTS),
        failed: index(stats_layout::row::FAILED),
        input_tokens: index(stats_layout::row::INPUT_TOKENS),
        output_tokens: index(stats_layout::row::OUTPUT_TOKENS),
        cost_micros: index(stats_layout::row::COST_MICROS),
        cache_read_tokens: index(stats_layout::row::CACHE_READ_TOKENS),
        cache_write_tokens: index(stats_layout::row::CACHE_WRITE_TOKENS),
        cache_write_1h_tokens: index(stats_layout::row::CACHE_WRITE_1H_TOKENS),
        reasoning_tokens: index(stats_layout::row::REASONING_TOKENS),
        stride: index(stats_layout::row::STRIDE),
      },
    },
    budget: BudgetLayout {
      limit_micros: index(budget_layout::LIMIT_MICROS),
      spent_micros: index(budget_layout::SPENT_MICROS),
      remaining_micros: index(budget_layout::REMAINING_MICROS),
      used_percent: index(budget_layout::USED_PERCENT),
      crossed: index(budget_layout::CROSSED),
      crossed_at: index(budget_layout::CROSSED_AT),
    },
    point_read: PointReadLayout {
      store: index(point_read_layout::STORE),
      agent: index(point_read_layout::AGENT),
      figures: index(point_read_layout::FIGURES),
      length: index(point_read_layout::LENGTH),
      stats_slots: index(point_read_layout::STATS_SLOTS),
    },
    latency_boundaries_seconds: BOUNDARIES_MS.iter().map(|ms| ms / 1_000.0).collect(),
    event_kinds: layout::EVENT_KINDS
      .iter()
      .map(|kind| kind.to_string())
      .collect(),
    providers: Provider::ALL
      .iter()
      .map(|provider| provider.as_str().to_owned())
      .collect(),
    reserved_names: vec![String::new(), Symbol::OTHER_NAME.to_owned()],
  }
}
