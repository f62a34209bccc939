//! Running totals and per-model / per-provider / per-agent aggregates, all atomics. Per-model and
//! per-agent figures live in sharded maps that recording only reads, adding to a key's atomics
//! under the shard's shared lock, so it never waits for a reader taking a snapshot; only the first
//! figures of a new key take a shard's write lock, to insert it.

use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use crossbeam::utils::CachePadded;
use dashmap::DashMap;
use rustc_hash::FxHasher;

use crate::event::{Event, Payload};
use crate::provider::Provider;
use crate::symbol::Symbol;

type SymbolMap<V> = DashMap<Symbol, V, BuildHasherDefault<FxHasher>>;

/// Figures of one model, provider or agent: completed requests only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelStats {
  pub request_count: u64,
  pub input_tokens: u64,
  pub output_tokens: u64,
  pub cost_micros: u64,
}

impl ModelStats {
  pub const ZERO: ModelStats = ModelStats {
    request_count: 0,
    input_tokens: 0,
    output_tokens: 0,
    cost_micros: 0,
  };

  pub fn add(&mut self, other: &ModelStats) {
    self.request_count += other.request_count;
    self.input_tokens += other.input_tokens;
    self.output_tokens += other.output_tokens;
    self.cost_micros = self.cost_micros.saturating_add(other.cost_micros);
  }

  pub fn cost_usd(&self) -> f64 {
    micros_to_usd(self.cost_micros)
  }
}

pub fn micros_to_usd(micros: u64) -> f64 {
  micros as f64 / 1_000_000.0
}

#[derive(Default)]
struct AtomicModelStats {
  request_count: AtomicU64,
  input_tokens: AtomicU64,
  output_tokens: AtomicU64,
  cost_micros: AtomicU64,
}

impl AtomicModelStats {
  fn add(&self, figures: &ModelStats) {
    self.request_count.fetch_add(figures.request_count, Relaxed);
    self.input_tokens.fetch_add(figures.input_tokens, Relaxed);
    self.output_tokens.fetch_add(figures.output_tokens, Relaxed);
    self.cost_micros.fetch_add(figures.cost_micros, Relaxed);
  }

  fn load(&self) -> ModelStats {
    ModelStats {
      request_count: self.request_count.load(Relaxed),
      input_tokens: self.input_tokens.load(Relaxed),
      output_tokens: self.output_tokens.load(Relaxed),
      cost_micros: self.cost_micros.load(Relaxed),
    }
  }
}

#[derive(Default)]
struct Totals {
  requests: AtomicU64,
  failed: AtomicU64,
  input_tokens: AtomicU64,
  output_tokens: AtomicU64,
  cost_micros: AtomicU64,
}

#[derive(Default)]
struct ProviderSlot {
  seen: AtomicBool,
  figures: AtomicModelStats,
}

/// The live aggregates of one store.
#[derive(Default)]
pub struct LiveStats {
  totals: CachePadded<Totals>,
  // Three providers: a fixed array is cheaper than a map and needs no hashing.
  by_provider: [CachePadded<ProviderSlot>; 3],
  by_model: SymbolMap<AtomicModelStats>,
  by_agent: SymbolMap<AtomicModelStats>,
}

impl LiveStats {
  /// Counts one event (rules of the crate: completed and failed requests only).
  pub fn apply(&self, event: &Event) {
    match event.payload {
      Payload::LlmRequestCompleted {
        model,
        provider,
        input_tokens,
        output_tokens,
        cost_micros,
        ..
      } => {
        let figures = ModelStats {
          request_count: 1,
          input_tokens,
          output_tokens,
          cost_micros,
        };
        self.add_completed(model, provider, event.agent, &figures);
      }
      Payload::LlmRequestFailed {
        model, provider, ..
      } => self.add_failed(model, provider, event.agent, 1),
      _ => {}
    }
  }

  /// Adds `figures.request_count` completed requests of one model, provider and agent.
  pub fn add_completed(
    &self,
    model: Symbol,
    provider: Provider,
    agent: Option<Symbol>,
    figures: &ModelStats,
  ) {
    self.add_totals(figures);
    self.provider_slot(provider).figures.add(figures);
    add_to(&self.by_model, model, figures);
    if let Some(agent) = agent {
      add_to(&self.by_agent, agent, figures);
    }
  }

  /// Counts failed requests; their keys appear with zero figures if they were new.
  pub fn add_failed(&self, model: Symbol, provider: Provider, agent: Option<Symbol>, count: u64) {
    self.totals.requests.fetch_add(count, Relaxed);
    self.totals.failed.fetch_add(count, Relaxed);
    self.provider_slot(provider);
    add_to(&self.by_model, model, &ModelStats::ZERO);
    if let Some(agent) = agent {
      add_to(&self.by_agent, agent, &ModelStats::ZERO);
    }
  }

  /// Adds what a tally summed, and empties it for the next batch.
  pub fn add_tally(&self, tally: &mut Tally) {
    if tally.totals.request_count > 0 {
      self.add_totals(&tally.totals);
      for (provider, figures) in Provider::ALL.iter().zip(&tally.by_provider) {
        // Completed requests only: a provider with figures has a request count.
        if figures.request_count > 0 {
          self.provider_slot(*provider).figures.add(figures);
        }
      }
      tally
        .by_model
        .drain(|model, figures| add_to(&self.by_model, model, figures));
      tally
        .by_agent
        .drain(|agent, figures| add_to(&self.by_agent, agent, figures));
    }
    tally.clear();
  }

  fn add_totals(&self, figures: &ModelStats) {
    let totals = &self.totals;
    totals.requests.fetch_add(figures.request_count, Relaxed);
    totals.input_tokens.fetch_add(figures.input_tokens, Relaxed);
    totals
      .output_tokens
      .fetch_add(figures.output_tokens, Relaxed);
    totals.cost_micros.fetch_add(figures.cost_micros, Relaxed);
  }

  fn provider_slot(&self, provider: Provider) -> &ProviderSlot {
    let slot = &self.by_provider[provider.index()];
    if !slot.seen.load(Relaxed) {
      slot.seen.store(true, Relaxed);
    }
    slot
  }

  pub fn total_requests(&self) -> u64 {
    self.totals.requests.load(Relaxed)
  }

  pub fn total_cost_micros(&self) -> u64 {
    self.totals.cost_micros.load(Relaxed)
  }

  pub fn snapshot(&self) -> ComputedStats {
    let totals = &self.totals;
    let by_provider = Provider::ALL
      .iter()
      .filter(|provider| self.by_provider[provider.index()].seen.load(Relaxed))
      .map(|&provider| (provider, self.by_provider[provider.index()].figures.load()))
      .collect();
    ComputedStats {
      total_requests: totals.requests.load(Relaxed),
      failed_requests: totals.failed.load(Relaxed),
      total_input_tokens: totals.input_tokens.load(Relaxed),
      total_output_tokens: totals.output_tokens.load(Relaxed),
      total_cost_micros: totals.cost_micros.load(Relaxed),
      by_model: load_all(&self.by_model),
      by_provider,
      by_agent: load_all(&self.by_agent),
    }
  }
}

/// Slots of a tally table. Symbol ids are small and dense, so the keys of one batch rarely share
/// a slot; a key that finds its slot taken evicts the occupant to a list.
const TALLY_SLOTS: usize = 256;

struct KeyTable {
  keys: [Option<Symbol>; TALLY_SLOTS],
  figures: [ModelStats; TALLY_SLOTS],
  // The occupied slots, so emptying the table costs what was put in, not its size.
  used: [u8; TALLY_SLOTS],
  used_len: usize,
  evicted: Vec<(Symbol, ModelStats)>,
}

impl KeyTable {
  fn new() -> Self {
    KeyTable {
      keys: [None; TALLY_SLOTS],
      figures: [ModelStats::ZERO; TALLY_SLOTS],
      used: [0; TALLY_SLOTS],
      used_len: 0,
      evicted: Vec::new(),
    }
  }

  #[inline]
  fn add(&mut self, key: Symbol, figures: &ModelStats) {
    let slot = key.id() as usize % TALLY_SLOTS;
    match self.keys[slot] {
      Some(held) if held == key => self.figures[slot].add(figures),
      Some(held) => {
        self.evicted.push((held, self.figures[slot]));
        self.keys[slot] = Some(key);
        self.figures[slot] = *figures;
      }
      None => {
        self.used[self.used_len] = slot as u8;
        self.used_len += 1;
        self.keys[slot] = Some(key);
        self.figures[slot] = *figures;
      }
    }
  }

  /// Hands every key's figures to `apply` (a key may come more than once) and empties the table.
  fn drain(&mut self, mut apply: impl FnMut(Symbol, &ModelStats)) {
    for &(key, ref figures) in &self.evicted {
      apply(key, figures);
    }
    for &slot in &self.used[..self.used_len] {
      if let Some(key) = self.keys[slot as usize] {
        apply(key, &self.figures[slot as usize]);
      }
    }
    self.clear();
  }

  fn clear(&mut self) {
    for &slot in &self.used[..self.used_len] {
      self.keys[slot as usize] = None;
    }
    self.used_len = 0;
    self.evicted.clear();
  }
}

/// Figures of many completed requests summed locally, so that a batch costs the shared aggregates
/// one update per key instead of one per request. Reusable: `LiveStats::add_tally` and `clear`
/// empty it without giving back its memory.
pub struct Tally {
  totals: ModelStats,
  by_provider: [ModelStats; 3],
  by_model: KeyTable,
  by_agent: KeyTable,
}

impl Default for Tally {
  fn default() -> Self {
    Tally {
      totals: ModelStats::ZERO,
      by_provider: [ModelStats::ZERO; 3],
      by_model: KeyTable::new(),
      by_agent: KeyTable::new(),
    }
  }
}

impl Tally {
  /// Adds completed requests of one model, provider and agent.
  #[inline]
  pub fn add(
    &mut self,
    model: Symbol,
    provider: Provider,
    agent: Option<Symbol>,
    figures: &ModelStats,
  ) {
    self.totals.add(figures);
    self.by_provider[provider.index()].add(figures);
    self.by_model.add(model, figures);
    if let Some(agent) = agent {
      self.by_agent.add(agent, figures);
    }
  }

  /// Forgets everything added.
  pub fn clear(&mut self) {
    self.totals = ModelStats::ZERO;
    self.by_provider = [ModelStats::ZERO; 3];
    self.by_model.clear();
    self.by_agent.clear();
  }
}

fn add_to(map: &SymbolMap<AtomicModelStats>, key: Symbol, figures: &ModelStats) {
  match map.get(&key) {
    Some(entry) => entry.add(figures),
    None => map.entry(key).or_default().add(figures),
  }
}

fn load_all(map: &SymbolMap<AtomicModelStats>) -> Vec<(Symbol, ModelStats)> {
  map
    .iter()
    .map(|entry| (*entry.key(), entry.value().load()))
    .collect()
}

/// A point-in-time copy of a store's figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ComputedStats {
  pub total_requests: u64,
  pub failed_requests: u64,
  pub total_input_tokens: u64,
  pub total_output_tokens: u64,
  pub total_cost_micros: u64,
  pub by_model: Vec<(Symbol, ModelStats)>,
  pub by_provider: Vec<(Provider, ModelStats)>,
  pub by_agent: Vec<(Symbol, ModelStats)>,
}

impl ComputedStats {
  pub fn total_cost_usd(&self) -> f64 {
    micros_to_usd(self.total_cost_micros)
  }

  /// Percent of requests that completed; 100 when there were none.
  pub fn success_rate(&self) -> f64 {
    if self.total_requests == 0 {
      return 100.0;
    }
    (self.total_requests - self.failed_requests) as f64 / self.total_requests as f64 * 100.0
  }

  pub fn avg_cost_per_request_usd(&self) -> f64 {
    if self.total_requests == 0 {
      return 0.0;
    }
    self.total_cost_usd() / self.total_requests as f64
  }

  pub fn total_tokens(&self) -> u64 {
    self.total_input_tokens + self.total_output_tokens
  }

  pub fn avg_tokens_per_request(&self) -> f64 {
    if self.total_requests == 0 {
      return 0.0;
    }
    self.total_tokens() as f64 / self.total_requests as f64
  }

  pub fn model(&self, name: &str) -> Option<ModelStats> {
    find_by_name(&self.by_model, name)
  }

  pub fn agent(&self, name: &str) -> Option<ModelStats> {
    find_by_name(&self.by_agent, name)
  }

  pub fn provider(&self, provider: Provider) -> Option<ModelStats> {
    self
      .by_provider
      .iter()
      .find(|(key, _)| *key == provider)
      .map(|(_, figures)| *figures)
  }
}

fn find_by_name(entries: &[(Symbol, ModelStats)], name: &str) -> Option<ModelStats> {
  entries
    .iter()
    .find(|(symbol, _)| &*symbol.name() == name)
    .map(|(_, figures)| *figures)
}
