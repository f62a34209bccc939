//! The N-API surface: every `#[napi]` item of the package. It converts, it does not decide:
//! arguments arrive validated by the TypeScript facade (`lib/`), names arrive as interned
//! symbol ids, and events and figures leave as rows written into buffers the facade owns, which
//! it turns into objects.

use std::sync::{Arc, Mutex, PoisonError};

use napi::bindgen_prelude::{ArrayBuffer, Float64ArraySlice, ObjectFinalize, Uint8ArraySlice};
use napi::{Env, Error, Result, Status};
use napi_derive::napi;

use crate::event::{Event, EventId, FailureDetail, Payload, Timing, Usage};
use crate::layout::{self, event_row, staging, stats as stats_layout};
use crate::pricing::{ModelPrice, PricingManager};
use crate::provider::{infer_provider, Provider};
use crate::registry;
use crate::staging::StagingArea;
use crate::stats::{Exhausted, ModelStats};
use crate::store::EventStore;
use crate::stream::{EventReceiver, Received};
use crate::symbol::Symbol;

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
pub struct PriceInfo {
  pub name: String,
  pub input_cost_per_token: f64,
  pub output_cost_per_token: f64,
  pub input_micros_per_million: f64,
  pub output_micros_per_million: f64,
  pub max_output_tokens: Option<f64>,
}

impl PriceInfo {
  fn new(name: String, price: &ModelPrice) -> Self {
    PriceInfo {
      name,
      input_cost_per_token: price.input_cost_per_token,
      output_cost_per_token: price.output_cost_per_token,
      input_micros_per_million: price.input_micros_per_million as f64,
      output_micros_per_million: price.output_micros_per_million as f64,
      max_output_tokens: price.max_output_tokens.map(|tokens| tokens as f64),
    }
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

  #[napi]
  pub fn get(&self, model: String) -> Option<PriceInfo> {
    let price = self.manager.get(&model)?;
    Some(PriceInfo::new(model, &price))
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

#[napi(js_name = "costMicros")]
pub fn cost_micros_js(
  input_per_million: f64,
  output_per_million: f64,
  input_tokens: f64,
  output_tokens: f64,
) -> f64 {
  crate::pricing::cost_micros(
    count(input_per_million),
    count(output_per_million),
    count(input_tokens),
    count(output_tokens),
  ) as f64
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

/// An event from `record()`, laid out as `event_row` (a timestamp below 0 means now), its names
/// already interned and its figures validated by the facade.
fn event_from_row(
  row: &[f64],
  event_id: Option<String>,
  error_code: Option<String>,
  error_message: Option<String>,
) -> Result<Event> {
  use event_row::*;
  let row = row
    .get(..STRIDE)
    .ok_or_else(|| invalid("an event row is incomplete"))?;
  let model = || symbol(row[MODEL] as u32);
  let provider_at = || provider(row[PROVIDER] as u32);
  let provider_id = || optional_symbol(row[PROVIDER_ID] as u32);
  let duration = |field: usize| (row[field] >= 0.0).then(|| (row[field] * 1000.0).round() as u64);
  let payload = match row[KIND] as u32 {
    0 => Payload::LlmRequestCompleted {
      model: model()?,
      provider: provider_at()?,
      provider_id: provider_id()?,
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
    1 => Payload::LlmRequestFailed {
      model: model()?,
      provider: provider_at()?,
      provider_id: provider_id()?,
      error: FailureDetail::new(error_code.as_deref(), error_message.as_deref()),
    },
    2 => Payload::BudgetThresholdReached {
      threshold_percent: row[THRESHOLD_PERCENT] as u8,
      current_spend_micros: count(row[CURRENT_SPEND_MICROS]),
      budget_micros: count(row[BUDGET_MICROS]),
    },
    3 => Payload::RouterStarted {
      port: row[PORT] as u16,
    },
    4 => Payload::RouterStopped {
      total_requests: count(row[TOTAL_REQUESTS]),
      total_cost_micros: count(row[TOTAL_COST_MICROS]),
    },
    kind => return Err(invalid(format!("unknown event kind {kind}"))),
  };
  let mut event = Event::new(optional_symbol(row[AGENT] as u32)?, payload);
  if let Some(text) = event_id {
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

fn write_stats_rows<K: Copy>(
  out: &mut [f64],
  entries: &[(K, ModelStats)],
  key: impl Fn(K) -> f64,
) -> usize {
  let stride = stats_layout::row::STRIDE;
  for (row, (name, figures)) in out.chunks_exact_mut(stride).zip(entries) {
    write_stats_row(row, key(*name), figures);
  }
  entries.len() * stride
}

/// Memory a store holds from its creation, reported to V8 so that dropped stores prompt a
/// collection: the inbox's slots (each a boxed batch and a stamp).
fn store_bytes(capacity: usize) -> i64 {
  (capacity * (std::mem::size_of::<Box<[u8]>>() + std::mem::size_of::<usize>())) as i64
}

/// A store as one JavaScript thread holds it. `custom_finalize`: the memory reported to V8 for
/// it is given back when V8 collects it, and its staging area is let go.
#[napi(custom_finalize)]
pub struct NativeStore {
  store: Arc<EventStore>,
  receiver: Mutex<Option<EventReceiver>>,
  staging: Mutex<Option<Arc<StagingArea>>>,
  reported_bytes: i64,
}

impl NativeStore {
  fn wrap(
    env: &Env,
    store: Arc<EventStore>,
    receiver: Option<EventReceiver>,
    owned: bool,
  ) -> Result<Self> {
    let reported_bytes = if owned {
      store_bytes(store.capacity())
    } else {
      0
    };
    env.adjust_external_memory(reported_bytes)?;
    Ok(NativeStore {
      store,
      receiver: Mutex::new(receiver),
      staging: Mutex::new(None),
      reported_bytes,
    })
  }
}

impl ObjectFinalize for NativeStore {
  fn finalize(self, env: Env) -> Result<()> {
    if let Some(area) = self
      .staging
      .lock()
      .unwrap_or_else(PoisonError::into_inner)
      .take()
    {
      area.abandon();
    }
    env.adjust_external_memory(-self.reported_bytes)?;
    Ok(())
  }
}

#[napi]
impl NativeStore {
  #[napi(constructor)]
  pub fn new(env: Env, capacity: u32) -> Result<Self> {
    Self::wrap(
      &env,
      Arc::new(EventStore::new(capacity as usize)),
      None,
      true,
    )
  }

  #[napi(factory)]
  pub fn with_streaming(env: Env, capacity: u32, channel_size: u32) -> Result<Self> {
    let (store, receiver) = EventStore::with_streaming(capacity as usize, channel_size as usize);
    Self::wrap(&env, Arc::new(store), Some(receiver), true)
  }

  #[napi(factory)]
  pub fn shared(env: Env, name: String, capacity: Option<u32>) -> Result<Self> {
    // The registry belongs to the process, not to the env that asks first: keep this image
    // loaded when that env (a worker) goes away, so the stores outlive it for every other thread.
    napi::bindgen_prelude::retain_current_module_for_unload_safety();
    let store = registry::shared(&name, capacity.map(|capacity| capacity as usize))
      .map_err(|error| invalid(error.to_string()))?;
    Self::wrap(&env, store, None, false)
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

  /// This handle's staging area (`layout::staging`), created on first use: the facade writes
  /// completed requests there and publishes each with one atomic store. The memory belongs to the
  /// store; the returned buffer only views it, and keeps it alive while it is reachable.
  #[napi]
  pub fn staging_area<'env>(&self, env: &'env Env) -> Result<ArrayBuffer<'env>> {
    let mut held = self.staging.lock().unwrap_or_else(PoisonError::into_inner);
    let area = held
      .get_or_insert_with(|| self.store.staging_area())
      .clone();
    let data = area.as_ptr();
    // SAFETY: the area is `StagingArea::byte_len()` bytes long and lives until the finalizer
    // drops the `Arc` it is given, after V8 has let go of the buffer.
    let buffer = unsafe {
      ArrayBuffer::from_external(env, data, StagingArea::byte_len(), area, |_, area| {
        drop(area)
      })
    }?;
    // A runtime that refuses external buffers copies the data instead: rows written there would
    // never reach the store.
    if buffer.as_ptr() != data.cast_const() {
      return Err(Error::new(Status::GenericFailure, "this JavaScript runtime does not allow external array buffers, which iron-runtime-analytics needs"));
    }
    Ok(buffer)
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

  /// Records the event `row` holds (see `event_from_row`); returns its `record_outcome`.
  #[napi]
  pub fn record_event(
    &self,
    row: Float64ArraySlice,
    event_id: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
  ) -> Result<i32> {
    let event = event_from_row(&row, event_id, error_code, error_message)?;
    Ok(record_outcome(self.store.record(event)))
  }

  #[napi]
  pub fn record_router_stopped(&self) -> bool {
    self.store.record_router_stopped()
  }

  /// Writes the figures into `out` as `stats_layout` lays them out and returns their length. A
  /// facade-owned buffer rather than returned arrays: typed arrays made here would each cost an
  /// external allocation and a finalizer. When `out` is too short, nothing is written and the
  /// caller retries with the returned length.
  #[napi]
  pub fn stats(&self, mut out: Float64ArraySlice) -> u32 {
    use stats_layout::*;
    // SAFETY: as in `RowWriter::new`.
    let out = unsafe { out.as_mut() };
    let stats = self.store.stats();
    let unpriced: Vec<Symbol> = stats
      .by_model
      .iter()
      .filter(|(_, figures)| figures.unpriced_requests > 0)
      .map(|(model, _)| *model)
      .collect();
    let rows = stats.by_model.len() + stats.by_provider.len() + stats.by_agent.len();
    let length = HEAD + rows * row::STRIDE + unpriced.len();
    if let Some(out) = out.get_mut(..length) {
      let (head, mut rest) = out.split_at_mut(HEAD);
      let totals = &stats.totals;
      head[REQUESTS] = totals.request_count as f64;
      head[FAILED] = totals.failed_requests as f64;
      head[INPUT_TOKENS] = totals.input_tokens as f64;
      head[OUTPUT_TOKENS] = totals.output_tokens as f64;
      head[COST_MICROS] = totals.cost_micros as f64;
      head[CACHE_READ_TOKENS] = totals.cache_read_tokens as f64;
      head[CACHE_WRITE_TOKENS] = totals.cache_write_tokens as f64;
      head[CACHE_WRITE_1H_TOKENS] = totals.cache_write_1h_tokens as f64;
      head[REASONING_TOKENS] = totals.reasoning_tokens as f64;
      head[UNPRICED_REQUESTS] = totals.unpriced_requests as f64;
      head[OVERFLOWED_KEYS] = 0.0;
      head[MODEL_ROWS] = stats.by_model.len() as f64;
      head[PROVIDER_ROWS] = stats.by_provider.len() as f64;
      head[AGENT_ROWS] = stats.by_agent.len() as f64;
      head[UNPRICED_MODELS] = unpriced.len() as f64;
      let written = write_stats_rows(rest, &stats.by_model, |model| model.id() as f64);
      rest = &mut rest[written..];
      let written = write_stats_rows(rest, &stats.by_provider, |provider| provider.index() as f64);
      rest = &mut rest[written..];
      let written = write_stats_rows(rest, &stats.by_agent, |agent| agent.id() as f64);
      rest = &mut rest[written..];
      for (slot, model) in rest.iter_mut().zip(&unpriced) {
        *slot = model.id() as f64;
      }
    }
    length as u32
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
  pub rows: u32,
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
  pub priced: u32,
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
  pub head: u32,
  pub row: StatsRowLayout,
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
  pub event_kinds: Vec<String>,
  pub providers: Vec<String>,
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
      rows: index(staging::ROWS),
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
      priced: index(staging::row::PRICED),
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
      head: index(stats_layout::HEAD),
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
    event_kinds: layout::EVENT_KINDS
      .iter()
      .map(|kind| kind.to_string())
      .collect(),
    providers: Provider::ALL
      .iter()
      .map(|provider| provider.as_str().to_owned())
      .collect(),
  }
}
