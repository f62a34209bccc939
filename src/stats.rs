//! Running totals and per-model / per-provider / per-agent aggregates, all atomics. Recording adds
//! to a key's atomics where a sharded map says they are, under the shard's shared lock, so it never
//! waits for a reader taking a snapshot, who takes no lock at all; only the first figures of a new
//! key take a shard's write lock, to insert it.

use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};

use crossbeam::utils::CachePadded;
use dashmap::DashMap;
use rustc_hash::FxHasher;

use crate::event::{Event, Payload, Timing};
use crate::histogram::{AtomicHistogram, HistogramCounts, HistogramSnapshot};
use crate::layout::staging::row;
use crate::provider::Provider;
use crate::symbol::{Names, Symbol, SymbolTable};
use crate::unpriced_order::UnpricedOrder;
use crate::usage::{Usage, MAX_SAFE_INTEGER};

type SymbolMap<V> = DashMap<Symbol, V, BuildHasherDefault<FxHasher>>;

/// Figures of one model, provider or agent. `request_count` and the token and cost figures count
/// completed requests only (the crate's rule); `failed_requests` counts the failed ones. In a
/// store's totals, `request_count` counts both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelStats {
  pub request_count: u64,
  pub failed_requests: u64,
  pub input_tokens: u64,
  pub output_tokens: u64,
  pub cost_micros: u64,
  pub cache_read_tokens: u64,
  pub cache_write_tokens: u64,
  pub cache_write_1h_tokens: u64,
  pub reasoning_tokens: u64,
  /// Completed requests whose model resolved to no price.
  pub unpriced_requests: u64,
}

impl ModelStats {
  pub const ZERO: ModelStats = ModelStats {
    request_count: 0,
    failed_requests: 0,
    input_tokens: 0,
    output_tokens: 0,
    cost_micros: 0,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    cache_write_1h_tokens: 0,
    reasoning_tokens: 0,
    unpriced_requests: 0,
  };

  /// One completed request.
  pub fn completed(usage: &Usage, cost_micros: u64, priced: bool) -> Self {
    ModelStats {
      request_count: 1,
      input_tokens: usage.input_tokens,
      output_tokens: usage.output_tokens,
      cost_micros,
      cache_read_tokens: usage.cache_read_tokens,
      cache_write_tokens: usage.cache_write_tokens,
      cache_write_1h_tokens: usage.cache_write_1h_tokens,
      reasoning_tokens: usage.reasoning_tokens,
      unpriced_requests: u64::from(!priced),
      ..ModelStats::ZERO
    }
  }

  fn fields(&self) -> [u64; FIELDS] {
    [
      self.request_count,
      self.failed_requests,
      self.input_tokens,
      self.output_tokens,
      self.cost_micros,
      self.cache_read_tokens,
      self.cache_write_tokens,
      self.cache_write_1h_tokens,
      self.reasoning_tokens,
      self.unpriced_requests,
    ]
  }

  fn from_fields(fields: [u64; FIELDS]) -> Self {
    let [request_count, failed_requests, input_tokens, output_tokens, cost_micros, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, unpriced_requests] =
      fields;
    ModelStats {
      request_count,
      failed_requests,
      input_tokens,
      output_tokens,
      cost_micros,
      cache_read_tokens,
      cache_write_tokens,
      cache_write_1h_tokens,
      reasoning_tokens,
      unpriced_requests,
    }
  }

  /// Sums never wrap: the store's headroom (see `LiveStats::reserve`) keeps every total, and so
  /// every per-key figure, within 2^53 - 1.
  pub fn add(&mut self, other: &ModelStats) {
    self.request_count += other.request_count;
    self.failed_requests += other.failed_requests;
    self.input_tokens += other.input_tokens;
    self.output_tokens += other.output_tokens;
    self.cost_micros += other.cost_micros;
    self.cache_read_tokens += other.cache_read_tokens;
    self.cache_write_tokens += other.cache_write_tokens;
    self.cache_write_1h_tokens += other.cache_write_1h_tokens;
    self.reasoning_tokens += other.reasoning_tokens;
    self.unpriced_requests += other.unpriced_requests;
  }

  pub fn cost_usd(&self) -> f64 {
    micros_to_usd(self.cost_micros)
  }
}

const FIELDS: usize = 10;

pub fn micros_to_usd(micros: u64) -> f64 {
  micros as f64 / 1_000_000.0
}

#[derive(Default)]
struct AtomicModelStats([AtomicU64; FIELDS]);

/// Index of `cost_micros` in `ModelStats::fields`.
const COST_FIELD: usize = 4;

impl AtomicModelStats {
  fn add(&self, figures: &ModelStats) {
    for (field, added) in self.0.iter().zip(figures.fields()) {
      if added > 0 {
        field.fetch_add(added, Relaxed);
      }
    }
  }

  fn cost_micros(&self) -> u64 {
    self.0[COST_FIELD].load(Relaxed)
  }

  fn load(&self) -> ModelStats {
    ModelStats::from_fields(std::array::from_fn(|index| self.0[index].load(Relaxed)))
  }
}

/// The timings of some requests of one model and provider, summed by one thread before they
/// reach the shared histograms at once (`LiveStats::add_timings`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LatencyCounts {
  duration: HistogramCounts,
  time_to_first_token: HistogramCounts,
}

impl LatencyCounts {
  pub fn record(&mut self, timing: &Timing) {
    if let Some(micros) = timing.duration_us {
      self.duration.record(micros);
    }
    if let Some(micros) = timing.time_to_first_token_us {
      self.time_to_first_token.record(micros);
    }
  }
}

/// The latency histograms of one model or provider (section 13 of the spec).
#[derive(Default)]
struct Latency {
  duration: AtomicHistogram,
  time_to_first_token: AtomicHistogram,
}

impl Latency {
  fn add(&self, counts: &LatencyCounts) {
    self.duration.add(&counts.duration);
    self.time_to_first_token.add(&counts.time_to_first_token);
  }

  fn snapshot(&self) -> LatencySnapshot {
    LatencySnapshot {
      duration: self.duration.snapshot(),
      time_to_first_token: self.time_to_first_token.snapshot(),
    }
  }
}

/// Failed requests per error code. Codes come from providers' answers, so their number is
/// bounded: past `MAX_ERROR_CODES` distinct codes, further ones count under `(other)`. The codes
/// are counted apart: `DashMap::len` takes every shard's lock, and a snapshot asks at every read.
#[derive(Default)]
struct FailureCodes {
  counts: DashMap<Arc<str>, AtomicU64, BuildHasherDefault<FxHasher>>,
  codes: AtomicUsize,
}

const MAX_ERROR_CODES: usize = 1_000;

impl FailureCodes {
  fn add(&self, code: &str) {
    if let Some(count) = self.counts.get(code) {
      count.fetch_add(1, Relaxed);
      return;
    }
    let key = if self.len() < MAX_ERROR_CODES {
      code
    } else {
      Symbol::OTHER_NAME
    };
    self
      .counts
      .entry(Arc::from(key))
      .or_insert_with(|| {
        self.codes.fetch_add(1, Relaxed);
        AtomicU64::new(0)
      })
      .fetch_add(1, Relaxed);
  }

  fn len(&self) -> usize {
    self.codes.load(Relaxed)
  }

  fn load(&self) -> Vec<(Arc<str>, u64)> {
    let codes = self.counts.iter();
    codes
      .map(|entry| (entry.key().clone(), entry.value().load(Relaxed)))
      .collect()
  }
}

/// Latency histograms at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LatencySnapshot {
  pub duration: HistogramSnapshot,
  pub time_to_first_token: HistogramSnapshot,
}

impl LatencySnapshot {
  pub fn add(&mut self, other: &LatencySnapshot) {
    self.duration.add(&other.duration);
    self.time_to_first_token.add(&other.time_to_first_token);
  }
}

#[derive(Default)]
struct ProviderSlot {
  seen: AtomicBool,
  figures: AtomicModelStats,
  latency: Latency,
}

/// A model's figures, the provider of its first request (the one its metrics are labelled with),
/// and its latency histograms, allocated with its first timed request: a model recorded without
/// timings costs them nothing.
#[derive(Default)]
struct ModelEntry {
  figures: AtomicModelStats,
  provider: OnceLock<Provider>,
  latency: OnceLock<Box<Latency>>,
}

/// What a snapshot shows of a model besides its figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelDetail {
  pub provider: Provider,
  pub latency: LatencySnapshot,
}

/// How many keys a store's figures have, at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyCounts {
  pub models: usize,
  pub timed_models: usize,
  pub agents: usize,
}

/// What may still be added to the input, output and cost totals before one passes 2^53 - 1.
struct Headroom([AtomicU64; 3]);

impl Default for Headroom {
  fn default() -> Self {
    Headroom(std::array::from_fn(|_| AtomicU64::new(MAX_SAFE_INTEGER)))
  }
}

/// The figure a reservation could not get room for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exhausted {
  InputTokens,
  OutputTokens,
  CostMicros,
}

impl Headroom {
  fn take(&self, index: usize, amount: u64) -> bool {
    self.0[index]
      .fetch_update(Relaxed, Relaxed, |left| left.checked_sub(amount))
      .is_ok()
  }

  fn give_back(&self, index: usize, amount: u64) {
    self.0[index].fetch_add(amount, Relaxed);
  }

  /// All three amounts or none.
  fn reserve(&self, amounts: [u64; 3]) -> Result<(), Exhausted> {
    const EXHAUSTED: [Exhausted; 3] = [
      Exhausted::InputTokens,
      Exhausted::OutputTokens,
      Exhausted::CostMicros,
    ];
    for index in 0..3 {
      if !self.take(index, amounts[index]) {
        (0..index).for_each(|taken| self.give_back(taken, amounts[taken]));
        return Err(EXHAUSTED[index]);
      }
    }
    Ok(())
  }
}

/// The live aggregates of one store.
#[derive(Default)]
pub struct LiveStats {
  totals: CachePadded<AtomicModelStats>,
  headroom: CachePadded<Headroom>,
  // Three providers: a fixed array is cheaper than a map and needs no hashing.
  by_provider: [CachePadded<ProviderSlot>; 3],
  by_model: KeyedFigures<ModelEntry>,
  by_agent: KeyedFigures<AtomicModelStats>,
  failures_by_code: FailureCodes,
  overflowed: AtomicU64,
  /// Models with latency histograms, for readers sizing a snapshot.
  timed_models: AtomicU64,
  unpriced_order: UnpricedOrder,
}

impl LiveStats {
  /// Counts names recorded under `(other)`.
  pub fn count_overflowed(&self, names: u64) {
    self.overflowed.fetch_add(names, Relaxed);
  }

  /// Counts one event (rules of the crate: completed and failed requests only). Its figures must
  /// have been reserved (`reserve`).
  pub fn apply(&self, event: &Event, priced: bool) {
    match event.payload {
      Payload::LlmRequestCompleted {
        model,
        provider,
        usage,
        cost_micros,
        timing,
        ..
      } => {
        self.add_completed(
          model,
          provider,
          event.agent,
          &ModelStats::completed(&usage, cost_micros, priced),
        );
        self.record_timing(model, provider, &timing);
      }
      Payload::LlmRequestFailed {
        model,
        provider,
        ref error,
        ..
      } => {
        self.add_failed(model, provider, event.agent, 1);
        if let Some(code) = error.as_ref().and_then(|error| error.code.as_deref()) {
          self.failures_by_code.add(code);
        }
      }
      _ => {}
    }
  }

  /// Takes room for figures about to be added, so that no total passes 2^53 - 1: all of it, or
  /// none and the figure that had too little.
  pub fn reserve(
    &self,
    input_tokens: u64,
    output_tokens: u64,
    cost_micros: u64,
  ) -> Result<(), Exhausted> {
    self
      .headroom
      .reserve([input_tokens, output_tokens, cost_micros])
  }

  /// Adds `figures.request_count` completed requests of one model, provider and agent.
  pub fn add_completed(
    &self,
    model: Symbol,
    provider: Provider,
    agent: Option<Symbol>,
    figures: &ModelStats,
  ) {
    self.totals.add(figures);
    self.provider_slot(provider).figures.add(figures);
    add_to_model(&self.by_model, model, provider, figures);
    if let Some(agent) = agent {
      add_to(&self.by_agent, agent, figures);
    }
  }

  /// Adds a completed request's timings to its model's and its provider's histograms; the model
  /// must have been counted first.
  pub fn record_timing(&self, model: Symbol, provider: Provider, timing: &Timing) {
    if timing.duration_us.is_none() && timing.time_to_first_token_us.is_none() {
      return;
    }
    let mut counts = LatencyCounts::default();
    counts.record(timing);
    self.add_timings(model, provider, &counts);
  }

  /// Adds timings of completed requests of one model and provider, as `record_timing` does each.
  pub fn add_timings(&self, model: Symbol, provider: Provider, counts: &LatencyCounts) {
    self.by_provider[provider.index()].latency.add(counts);
    if let Some(entry) = self.by_model.get(model) {
      let latency = entry.latency.get_or_init(|| {
        self.timed_models.fetch_add(1, Relaxed);
        Box::default()
      });
      latency.add(counts);
    }
  }

  /// Counts failed requests; their keys appear with zero figures if they were new.
  pub fn add_failed(&self, model: Symbol, provider: Provider, agent: Option<Symbol>, count: u64) {
    let failed = ModelStats {
      failed_requests: count,
      ..ModelStats::ZERO
    };
    self.totals.add(&ModelStats {
      request_count: count,
      ..failed
    });
    self.provider_slot(provider).figures.add(&failed);
    add_to_model(&self.by_model, model, provider, &failed);
    if let Some(agent) = agent {
      add_to(&self.by_agent, agent, &failed);
    }
  }

  /// Adds what a tally summed, and empties it for the next batch. `spent` is told each agent of
  /// the batch with its cost so far, for its budget.
  pub fn add_tally(&self, tally: &mut Tally, mut spent: impl FnMut(Symbol, u64)) {
    let by_provider = tally.by_provider();
    let mut totals = ModelStats::ZERO;
    by_provider.iter().for_each(|figures| totals.add(figures));
    if totals.request_count > 0 {
      self.totals.add(&totals);
      for (provider, figures) in Provider::ALL.iter().zip(&by_provider) {
        // Completed requests only: a provider with figures has a request count.
        if figures.request_count > 0 {
          self.provider_slot(*provider).figures.add(figures);
        }
      }
      tally
        .by_model
        .drain(|model, provider, figures| add_to_model(&self.by_model, model, provider, figures));
      tally.by_agent.drain(|agent, _, figures| {
        spent(agent, add_to(&self.by_agent, agent, figures));
      });
    }
    tally.clear();
  }

  fn provider_slot(&self, provider: Provider) -> &ProviderSlot {
    let slot = &self.by_provider[provider.index()];
    if !slot.seen.load(Relaxed) {
      slot.seen.store(true, Relaxed);
    }
    slot
  }

  pub fn total_requests(&self) -> u64 {
    self.totals.0[0].load(Relaxed)
  }

  pub fn total_cost_micros(&self) -> u64 {
    self.totals.load().cost_micros
  }

  /// One agent's figures, without a snapshot of the others.
  pub fn agent(&self, agent: Symbol) -> Option<ModelStats> {
    Some(self.by_agent.get(agent)?.load())
  }

  /// What the agent has spent, 0 if it has no figures yet.
  pub fn agent_cost_micros(&self, agent: Symbol) -> u64 {
    self
      .by_agent
      .get(agent)
      .map_or(0, |figures| figures.cost_micros())
  }

  pub fn totals(&self) -> ModelStats {
    self.totals.load()
  }

  /// Names recorded under `(other)` because their dimension was full.
  pub fn overflowed_keys(&self) -> u64 {
    self.overflowed.load(Relaxed)
  }

  /// How many models, of them with latency histograms, and agents have figures.
  pub fn key_counts(&self) -> KeyCounts {
    KeyCounts {
      models: self.by_model.len(),
      timed_models: self.timed_models.load(Relaxed) as usize,
      agents: self.by_agent.len(),
    }
  }

  /// How many error codes have failures.
  pub fn failure_codes(&self) -> usize {
    self.failures_by_code.len()
  }

  /// Failed requests per error code, for those with a code.
  pub fn failures_by_code(&self) -> Vec<(Arc<str>, u64)> {
    self.failures_by_code.load()
  }

  /// The unpriced models by name, as the last read sorted them.
  pub fn unpriced_order(&self) -> &UnpricedOrder {
    &self.unpriced_order
  }

  /// Calls `visit` with each model's figures, the provider of its first request and its latency
  /// (none before a timed request), in the order the models came.
  pub fn for_each_model(
    &self,
    mut visit: impl FnMut(Symbol, &ModelStats, Provider, Option<LatencySnapshot>),
  ) {
    self.by_model.for_each(|model, entry| {
      visit(
        model,
        &entry.figures.load(),
        entry.provider.get().copied().unwrap_or(Provider::Unknown),
        entry.latency.get().map(|latency| latency.snapshot()),
      );
    });
  }

  /// Calls `visit` with each provider that has figures, in `Provider::ALL` order, and its latency.
  pub fn for_each_provider(&self, mut visit: impl FnMut(Provider, &ModelStats, LatencySnapshot)) {
    for &provider in &Provider::ALL {
      let slot = &self.by_provider[provider.index()];
      if slot.seen.load(Relaxed) {
        visit(provider, &slot.figures.load(), slot.latency.snapshot());
      }
    }
  }

  /// Calls `visit` with each agent's figures, as `for_each_model` does.
  pub fn for_each_agent(&self, mut visit: impl FnMut(Symbol, &ModelStats)) {
    self
      .by_agent
      .for_each(|agent, figures| visit(agent, &figures.load()));
  }

  pub fn snapshot(&self, names: Arc<Names>) -> ComputedStats {
    let mut by_model = Vec::new();
    let mut model_details = Vec::new();
    self.for_each_model(|model, figures, provider, latency| {
      by_model.push((model, *figures));
      model_details.push(ModelDetail {
        provider,
        latency: latency.unwrap_or_default(),
      });
    });
    let mut by_provider = Vec::new();
    let mut provider_latency = Vec::new();
    self.for_each_provider(|provider, figures, latency| {
      by_provider.push((provider, *figures));
      provider_latency.push(latency);
    });
    let mut by_agent = Vec::new();
    self.for_each_agent(|agent, figures| by_agent.push((agent, *figures)));
    ComputedStats {
      totals: self.totals(),
      by_model,
      model_details,
      by_provider,
      provider_latency,
      by_agent,
      failures_by_code: self.failures_by_code(),
      overflowed_keys: self.overflowed_keys(),
      names,
    }
  }
}

/// The figures of staged requests as a batch sums them: the `SUMMED` fields of their rows
/// (`layout::staging::row`), in the row's order, and how many requests they are. Sums of `f64`s
/// are exact here: each field is a non-negative integer, and the store's headroom keeps every
/// total, and so every sum within a batch, at most 2^53 - 1 (cache and reasoning tokens are
/// parts of the input and output tokens).
#[derive(Clone, Copy)]
struct StagedSums {
  fields: [f64; row::SUMMED],
  requests: u64,
}

impl StagedSums {
  const ZERO: StagedSums = StagedSums {
    fields: [0.0; row::SUMMED],
    requests: 0,
  };

  #[inline(always)]
  fn add(&mut self, fields: &[f64; row::SUMMED]) {
    for (sum, field) in self.fields.iter_mut().zip(fields) {
      *sum += field;
    }
    self.requests += 1;
  }

  fn merge(&mut self, other: &StagedSums) {
    for (sum, field) in self.fields.iter_mut().zip(&other.fields) {
      *sum += field;
    }
    self.requests += other.requests;
  }

  fn figures(&self) -> ModelStats {
    let field = |offset: usize| self.fields[offset - row::SUMMED_AT] as u64;
    ModelStats {
      request_count: self.requests,
      input_tokens: field(row::INPUT_TOKENS),
      output_tokens: field(row::OUTPUT_TOKENS),
      cost_micros: field(row::COST_MICROS),
      cache_read_tokens: field(row::CACHE_READ_TOKENS),
      cache_write_tokens: field(row::CACHE_WRITE_TOKENS),
      cache_write_1h_tokens: field(row::CACHE_WRITE_1H_TOKENS),
      reasoning_tokens: field(row::REASONING_TOKENS),
      unpriced_requests: field(row::UNPRICED),
      ..ModelStats::ZERO
    }
  }
}

/// Slots of a tally table. Symbol ids are small and dense, so the keys of one batch rarely share
/// a slot; a key that finds its slot taken evicts the occupant to a list.
const TALLY_SLOTS: usize = 256;
// `KeyTable::used` indexes the slots with a `u8`.
const _: () = assert!(TALLY_SLOTS <= u8::MAX as usize + 1);
/// The slot past the others where requests without a key (no agent) are summed and forgotten:
/// adding to it costs less than the branch it saves, taken at random in a mix of requests.
const NO_KEY: usize = TALLY_SLOTS;

/// Sums per key, and with `BY_PROVIDER` per key and provider: a key's requests of another provider
/// than those in its slot evict them, so a key's entries are summed, and evicted, in the order of
/// their first requests.
struct KeyTable<const BY_PROVIDER: bool> {
  // `NO_KEY`'s key stays `None`.
  keys: [Option<Symbol>; TALLY_SLOTS + 1],
  providers: [Provider; TALLY_SLOTS + 1],
  sums: [StagedSums; TALLY_SLOTS + 1],
  // The occupied slots, so emptying the table costs what was put in, not its size.
  used: [u8; TALLY_SLOTS],
  used_len: usize,
  evicted: Vec<(Symbol, Provider, StagedSums)>,
}

impl<const BY_PROVIDER: bool> KeyTable<BY_PROVIDER> {
  fn new() -> Self {
    KeyTable {
      keys: [None; TALLY_SLOTS + 1],
      providers: [Provider::Unknown; TALLY_SLOTS + 1],
      sums: [StagedSums::ZERO; TALLY_SLOTS + 1],
      used: [0; TALLY_SLOTS],
      used_len: 0,
      evicted: Vec::new(),
    }
  }

  /// The slot of `key` (and `provider`), taken if another entry held it.
  #[inline(always)]
  fn slot(&mut self, key: Option<Symbol>, provider: Provider) -> usize {
    let slot = key.map_or(NO_KEY, |key| key.id() as usize % TALLY_SLOTS);
    // Compared as ids (0: none): comparing the options branches on whether the slot is empty,
    // at random for agents.
    let id = |key: Option<Symbol>| key.map_or(0, Symbol::id);
    if id(self.keys[slot]) != id(key) || (BY_PROVIDER && self.providers[slot] != provider) {
      self.take(slot, key, provider);
    }
    slot
  }

  /// Gives `slot` to `key` and `provider`, evicting the entry that held it.
  #[cold]
  fn take(&mut self, slot: usize, key: Option<Symbol>, provider: Provider) {
    match self.keys[slot] {
      Some(held) => self
        .evicted
        .push((held, self.providers[slot], self.sums[slot])),
      None => {
        self.used[self.used_len] = slot as u8;
        self.used_len += 1;
      }
    }
    self.keys[slot] = key;
    self.providers[slot] = provider;
    self.sums[slot] = StagedSums::ZERO;
  }

  /// Visits every entry, a key's in the order of their first requests.
  fn for_each(&self, mut visit: impl FnMut(Symbol, Provider, &StagedSums)) {
    for &(key, provider, ref sums) in &self.evicted {
      visit(key, provider, sums);
    }
    for &slot in &self.used[..self.used_len] {
      if let Some(key) = self.keys[slot as usize] {
        visit(
          key,
          self.providers[slot as usize],
          &self.sums[slot as usize],
        );
      }
    }
  }

  /// Hands every entry's figures to `apply` (a key may come more than once) and empties the table.
  fn drain(&mut self, mut apply: impl FnMut(Symbol, Provider, &ModelStats)) {
    self.for_each(|key, provider, sums| apply(key, provider, &sums.figures()));
    self.clear();
  }

  fn clear(&mut self) {
    for &slot in &self.used[..self.used_len] {
      self.keys[slot as usize] = None;
    }
    self.used_len = 0;
    self.evicted.clear();
    self.sums[NO_KEY] = StagedSums::ZERO;
  }
}

/// Figures of many staged requests summed locally, so that a batch costs the shared aggregates
/// one update per key instead of one per request. Reusable: `LiveStats::add_tally` and `clear`
/// empty it without giving back its memory.
pub struct Tally {
  // Per model and provider: the providers' sums, and the totals, are worked out from these once
  // per batch, which costs less than adding each request to its provider's sums as well.
  by_model: KeyTable<true>,
  // Per agent, whatever the provider (each entry keeps its first).
  by_agent: KeyTable<false>,
}

impl Default for Tally {
  fn default() -> Self {
    Tally {
      by_model: KeyTable::new(),
      by_agent: KeyTable::new(),
    }
  }
}

impl Tally {
  /// Adds a staged request of one model, provider and agent: its row's `SUMMED` fields.
  #[inline(always)]
  pub fn add(
    &mut self,
    model: Symbol,
    provider: Provider,
    agent: Option<Symbol>,
    fields: &[f64; row::SUMMED],
  ) {
    // Both slots first: a row's fields are then read after any call that takes a slot, instead of
    // being kept across it.
    let model_slot = self.by_model.slot(Some(model), provider);
    let agent_slot = self.by_agent.slot(agent, provider);
    self.by_model.sums[model_slot].add(fields);
    self.by_agent.sums[agent_slot].add(fields);
  }

  /// The figures of each provider, by `Provider::index`.
  fn by_provider(&self) -> [ModelStats; 3] {
    let mut sums = [StagedSums::ZERO; 3];
    self
      .by_model
      .for_each(|_, provider, entry| sums[provider.index()].merge(entry));
    sums.map(|sums| sums.figures())
  }

  /// Forgets everything added.
  pub fn clear(&mut self) {
    self.by_model.clear();
    self.by_agent.clear();
  }
}

/// Per-key figures, in the order their keys came. A sharded map finds a key's position, and the
/// figures live in an append-only vector that readers walk without taking any lock: walking the
/// map's shards under their locks took a third of a snapshot's native time.
struct KeyedFigures<V> {
  positions: SymbolMap<usize>,
  entries: boxcar::Vec<(Symbol, V)>,
}

impl<V> Default for KeyedFigures<V> {
  fn default() -> Self {
    KeyedFigures {
      positions: DashMap::default(),
      entries: boxcar::Vec::new(),
    }
  }
}

impl<V> KeyedFigures<V> {
  fn get(&self, key: Symbol) -> Option<&V> {
    let position = *self.positions.get(&key)?;
    Some(&self.entries[position].1)
  }

  fn len(&self) -> usize {
    self.entries.count()
  }

  /// Calls `visit` with each key and its figures, in the order the keys came.
  fn for_each(&self, mut visit: impl FnMut(Symbol, &V)) {
    for (_, (key, value)) in self.entries.iter() {
      visit(*key, value);
    }
  }
}

impl<V: Default> KeyedFigures<V> {
  /// Calls `add` with the key's entry, inserting it first if the key is new.
  fn with_entry<R>(&self, key: Symbol, add: impl FnOnce(&V) -> R) -> R {
    let known = self.positions.get(&key).map(|position| *position);
    let position = known.unwrap_or_else(|| {
      *self
        .positions
        .entry(key)
        .or_insert_with(|| self.entries.push((key, V::default())))
    });
    add(&self.entries[position].1)
  }
}

/// Adds to a key's figures; returns its cost after the addition.
fn add_to(map: &KeyedFigures<AtomicModelStats>, key: Symbol, figures: &ModelStats) -> u64 {
  map.with_entry(key, |entry| {
    entry.add(figures);
    entry.cost_micros()
  })
}

fn add_to_model(
  map: &KeyedFigures<ModelEntry>,
  model: Symbol,
  provider: Provider,
  figures: &ModelStats,
) {
  map.with_entry(model, |entry| {
    entry.figures.add(figures);
    entry.provider.get_or_init(|| provider);
  });
}

/// A point-in-time copy of a store's figures.
#[derive(Clone)]
pub struct ComputedStats {
  /// `request_count` counts completed and failed requests here.
  pub totals: ModelStats,
  pub by_model: Vec<(Symbol, ModelStats)>,
  /// The provider and latency of each model, in the order of `by_model`.
  pub model_details: Vec<ModelDetail>,
  pub by_provider: Vec<(Provider, ModelStats)>,
  /// The latency of each provider, in the order of `by_provider`.
  pub provider_latency: Vec<LatencySnapshot>,
  pub by_agent: Vec<(Symbol, ModelStats)>,
  /// Failed requests per error code, for those with a code.
  pub failures_by_code: Vec<(Arc<str>, u64)>,
  /// Names recorded under `(other)` because their dimension was full.
  pub overflowed_keys: u64,
  /// The store's names, to read the keys by.
  pub names: Arc<Names>,
}

impl ComputedStats {
  pub fn total_cost_usd(&self) -> f64 {
    micros_to_usd(self.totals.cost_micros)
  }

  /// Percent of requests that completed; 100 when there were none.
  pub fn success_rate(&self) -> f64 {
    let totals = &self.totals;
    if totals.request_count == 0 {
      return 100.0;
    }
    (totals.request_count - totals.failed_requests) as f64 / totals.request_count as f64 * 100.0
  }

  pub fn avg_cost_per_request_usd(&self) -> f64 {
    if self.totals.request_count == 0 {
      return 0.0;
    }
    self.total_cost_usd() / self.totals.request_count as f64
  }

  pub fn total_tokens(&self) -> u64 {
    self.totals.input_tokens + self.totals.output_tokens
  }

  pub fn avg_tokens_per_request(&self) -> f64 {
    if self.totals.request_count == 0 {
      return 0.0;
    }
    self.total_tokens() as f64 / self.totals.request_count as f64
  }

  pub fn model(&self, name: &str) -> Option<ModelStats> {
    find_by_name(&self.by_model, &self.names.models, name)
  }

  pub fn agent(&self, name: &str) -> Option<ModelStats> {
    find_by_name(&self.by_agent, &self.names.agents, name)
  }

  pub fn provider(&self, provider: Provider) -> Option<ModelStats> {
    self
      .by_provider
      .iter()
      .find(|(key, _)| *key == provider)
      .map(|(_, figures)| *figures)
  }
}

fn find_by_name(
  entries: &[(Symbol, ModelStats)],
  table: &SymbolTable,
  name: &str,
) -> Option<ModelStats> {
  entries
    .iter()
    .find(|(symbol, _)| &*table.name(*symbol) == name)
    .map(|(_, figures)| *figures)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn failure_codes_past_the_limit_count_under_other() {
    let codes = FailureCodes::default();
    for index in 0..MAX_ERROR_CODES + 5 {
      codes.add(&format!("code-{index}"));
    }
    codes.add("code-0");
    let mut loaded = codes.load();
    loaded.sort();
    assert_eq!(loaded.len(), MAX_ERROR_CODES + 1);
    let count_of = |name: &str| {
      loaded
        .iter()
        .find(|(code, _)| &**code == name)
        .map(|entry| entry.1)
    };
    assert_eq!(count_of("code-0"), Some(2));
    assert_eq!(count_of(Symbol::OTHER_NAME), Some(5));
    assert_eq!(count_of("code-1003"), None);
  }
}
