//! A store's figures written for the facade's `stats()`, as `layout::stats` lays them out:
//! straight from the live aggregates into the caller's buffer, with no intermediate collection
//! and no name copied (keys travel as symbol ids).

use crate::histogram::HistogramSnapshot;
use crate::layout::stats::{self as layout, latency, record, row};
use crate::provider::Provider;
use crate::stats::{KeyCounts, LatencySnapshot, LiveStats, ModelStats};
use crate::symbol::{Symbol, SymbolTable};

/// Writes the figures of `stats` into `out` and returns how many slots they take. When that is
/// more than `out.len()`, `out` holds an unfinished copy and the caller retries with a buffer at
/// least that long. Staged rows must have been drained first.
pub fn write_stats(stats: &LiveStats, models: &SymbolTable, out: &mut [i32]) -> usize {
  let estimate = estimated_slots(stats.key_counts());
  if estimate > out.len() {
    // Surely too short: not worth a walk over every key.
    return estimate;
  }
  let mut slots = Slots::new(out);
  slots.take(layout::HEAD);
  let totals = stats.totals();
  let head_figures = [
    (layout::REQUESTS, totals.request_count),
    (layout::FAILED, totals.failed_requests),
    (layout::INPUT_TOKENS, totals.input_tokens),
    (layout::OUTPUT_TOKENS, totals.output_tokens),
    (layout::COST_MICROS, totals.cost_micros),
    (layout::CACHE_READ_TOKENS, totals.cache_read_tokens),
    (layout::CACHE_WRITE_TOKENS, totals.cache_write_tokens),
    (layout::CACHE_WRITE_1H_TOKENS, totals.cache_write_1h_tokens),
    (layout::REASONING_TOKENS, totals.reasoning_tokens),
    (layout::UNPRICED_REQUESTS, totals.unpriced_requests),
    (layout::OVERFLOWED_KEYS, stats.overflowed_keys()),
  ];
  for (slot, value) in head_figures {
    slots.figure(slot, value);
  }

  let mut model_rows = 0;
  let mut unpriced: Vec<Symbol> = Vec::new();
  stats.for_each_model(|model, figures, provider, latency| {
    let at = slots.record(model.id(), figures, latency.as_ref());
    slots.set(at + record::PROVIDER, provider.index() as i32);
    if figures.unpriced_requests > 0 {
      unpriced.push(model);
    }
    model_rows += 1;
  });
  let mut provider_rows = 0;
  stats.for_each_provider(|provider, figures, latency| {
    let at = slots.record(provider.index() as u32, figures, Some(&latency));
    slots.set(at + record::PROVIDER, 0);
    provider_rows += 1;
  });
  let mut agent_rows = 0;
  stats.for_each_agent(|agent, figures| {
    let at = slots.take(row::STRIDE);
    slots.row(at, agent.id(), figures);
    agent_rows += 1;
  });

  let unpriced_at = slots.take(unpriced.len());
  if !slots.short {
    // Sorted here, by name: cheaper than in JavaScript when there are many. By the names
    // themselves rather than by symbol, which would look each name up at every comparison.
    let mut by_name: Vec<(&str, Symbol)> = unpriced
      .iter()
      .map(|&model| (&**models.name_ref(model), model))
      .collect();
    by_name.sort_unstable();
    for (at, (_, model)) in (unpriced_at..).zip(&by_name) {
      slots.set(at, model.id() as i32);
    }
  }
  for (slot, count) in [
    (layout::MODEL_ROWS, model_rows),
    (layout::PROVIDER_ROWS, provider_rows),
    (layout::AGENT_ROWS, agent_rows),
    (layout::UNPRICED_MODELS, unpriced.len()),
    (layout::FAILURE_CODES, stats.failure_codes()),
  ] {
    slots.set(slot, count as i32);
  }
  slots.needed()
}

/// The slots the figures of these keys take, wide figures and unpriced models aside (a caller
/// given too low a figure retries): their rows, and both histograms of every timed model and
/// of every provider.
fn estimated_slots(keys: KeyCounts) -> usize {
  let providers = Provider::ALL.len();
  layout::HEAD
    + (keys.models + providers) * record::STRIDE
    + (keys.timed_models + providers) * 2 * latency::SLOTS
    + keys.agents * row::STRIDE
}

/// The caller's buffer, filled from the front with rows and from the back with the `f64`s of
/// figures too large for a slot. Once something does not fit, writes stop and only the slots
/// needed are counted.
struct Slots<'a> {
  out: &'a mut [i32],
  /// Slots usable at all: an even number, so the `f64`s at the end are whole.
  end: usize,
  /// The next slot from the front.
  next: usize,
  /// `f64`s taken from the end.
  wide: usize,
  short: bool,
}

impl<'a> Slots<'a> {
  fn new(out: &'a mut [i32]) -> Self {
    let end = out.len() & !1;
    Slots {
      out,
      end,
      next: 0,
      wide: 0,
      short: false,
    }
  }

  /// The first of `len` slots at the front.
  fn take(&mut self, len: usize) -> usize {
    let at = self.next;
    self.next += len;
    self.check_room();
    at
  }

  fn check_room(&mut self) {
    if self.next + 2 * self.wide > self.end {
      self.short = true;
    }
  }

  fn needed(&self) -> usize {
    ((self.next + 1) & !1) + 2 * self.wide
  }

  fn set(&mut self, slot: usize, value: i32) {
    if !self.short {
      self.out[slot] = value;
    }
  }

  /// A figure: its value when it fits a slot, else a reference to an `f64` at the end.
  fn figure(&mut self, slot: usize, value: u64) {
    match i32::try_from(value) {
      Ok(small) => self.set(slot, small),
      Err(_) => {
        self.wide += 1;
        self.check_room();
        let index = self.end / 2 - self.wide;
        self.set_f64(index, value as f64);
        // The buffer came from JavaScript, so it has fewer than 2^32 slots and `index` fits.
        self.set(slot, -1 - index as i32);
      }
    }
  }

  /// The `f64` at `index` of the buffer seen as `f64`s, in this machine's byte order, which is
  /// the one JavaScript's typed arrays use.
  fn set_f64(&mut self, index: usize, value: f64) {
    let bytes = value.to_ne_bytes();
    let (low, high) = bytes.split_at(4);
    for (slot, half) in [(2 * index, low), (2 * index + 1, high)] {
      self.set(
        slot,
        i32::from_ne_bytes(half.try_into().expect("four bytes")),
      );
    }
  }

  fn row(&mut self, at: usize, key: u32, figures: &ModelStats) {
    self.set(at + row::KEY, key as i32);
    for (slot, value) in [
      (row::REQUESTS, figures.request_count),
      (row::FAILED, figures.failed_requests),
      (row::INPUT_TOKENS, figures.input_tokens),
      (row::OUTPUT_TOKENS, figures.output_tokens),
      (row::COST_MICROS, figures.cost_micros),
      (row::CACHE_READ_TOKENS, figures.cache_read_tokens),
      (row::CACHE_WRITE_TOKENS, figures.cache_write_tokens),
      (row::CACHE_WRITE_1H_TOKENS, figures.cache_write_1h_tokens),
      (row::REASONING_TOKENS, figures.reasoning_tokens),
    ] {
      self.figure(at + slot, value);
    }
  }

  /// A model's or provider's record, its provider slot left to the caller; returns where it
  /// starts.
  fn record(&mut self, key: u32, figures: &ModelStats, latency: Option<&LatencySnapshot>) -> usize {
    let at = self.take(record::STRIDE);
    self.row(at, key, figures);
    let histograms = [
      (record::DURATION, latency.map(|latency| &latency.duration)),
      (
        record::TIME_TO_FIRST_TOKEN,
        latency.map(|latency| &latency.time_to_first_token),
      ),
    ];
    for (flag, histogram) in histograms {
      match histogram.filter(|histogram| histogram.count > 0) {
        Some(histogram) => {
          self.set(at + flag, 1);
          let histogram_at = self.take(latency::SLOTS);
          debug_assert!(histogram_at.is_multiple_of(2), "histograms start at an f64");
          self.histogram(histogram_at / 2, histogram);
        }
        None => self.set(at + flag, 0),
      }
    }
    at
  }

  /// A histogram at `f64` index `at`.
  fn histogram(&mut self, at: usize, histogram: &HistogramSnapshot) {
    self.set_f64(at + latency::COUNT, histogram.count as f64);
    self.set_f64(at + latency::SUM_MS, histogram.sum_ms());
    for (bucket, &count) in histogram.buckets.iter().enumerate() {
      self.set_f64(at + latency::BUCKETS + bucket, count as f64);
    }
    for (slot, q) in [
      (latency::P50_MS, 0.5),
      (latency::P90_MS, 0.9),
      (latency::P99_MS, 0.99),
    ] {
      let quantile = histogram.quantile_ms(q).unwrap_or(f64::NAN);
      self.set_f64(at + slot, quantile);
    }
  }
}
