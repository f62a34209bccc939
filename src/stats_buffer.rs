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

  let unpriced_count = unpriced.len();
  let unpriced_at = slots.take(unpriced_count);
  if !slots.short {
    // Sorted here, by name: cheaper than in JavaScript when there are many.
    stats.unpriced_order().sorted(unpriced, models, |by_name| {
      for (at, model) in (unpriced_at..).zip(by_name) {
        slots.set(at, model.id() as i32);
      }
    });
  }
  for (slot, count) in [
    (layout::MODEL_ROWS, model_rows),
    (layout::PROVIDER_ROWS, provider_rows),
    (layout::AGENT_ROWS, agent_rows),
    (layout::UNPRICED_MODELS, unpriced_count),
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
  #[inline]
  fn take(&mut self, len: usize) -> usize {
    let at = self.next;
    self.next += len;
    self.check_room();
    at
  }

  #[inline]
  fn check_room(&mut self) {
    if self.next + 2 * self.wide > self.end {
      self.short = true;
    }
  }

  fn needed(&self) -> usize {
    ((self.next + 1) & !1) + 2 * self.wide
  }

  #[inline]
  fn set(&mut self, slot: usize, value: i32) {
    if !self.short {
      self.out[slot] = value;
    }
  }

  /// A figure: its value when it fits a slot, else a reference to an `f64` at the end.
  #[inline]
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
  #[inline]
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

  /// A key's row: in one pass over its slots when every figure fits one, as nearly all do.
  #[inline]
  fn row(&mut self, at: usize, key: u32, figures: &ModelStats) {
    let mut values = [0; row::STRIDE];
    values[row::KEY] = u64::from(key);
    values[row::REQUESTS] = figures.request_count;
    values[row::FAILED] = figures.failed_requests;
    values[row::INPUT_TOKENS] = figures.input_tokens;
    values[row::OUTPUT_TOKENS] = figures.output_tokens;
    values[row::COST_MICROS] = figures.cost_micros;
    values[row::CACHE_READ_TOKENS] = figures.cache_read_tokens;
    values[row::CACHE_WRITE_TOKENS] = figures.cache_write_tokens;
    values[row::CACHE_WRITE_1H_TOKENS] = figures.cache_write_1h_tokens;
    values[row::REASONING_TOKENS] = figures.reasoning_tokens;
    let small = values.iter().all(|&value| value <= i32::MAX as u64);
    match self.out.get_mut(at..at + row::STRIDE) {
      Some(slots) if small && !self.short => {
        for (slot, value) in slots.iter_mut().zip(values) {
          *slot = value as i32;
        }
      }
      _ => {
        for (slot, value) in values.into_iter().enumerate() {
          self.figure(at + slot, value);
        }
      }
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

#[cfg(test)]
mod tests {
  use super::*;
  use crate::event::Timing;
  use crate::stats::ModelDetail;
  use crate::symbol::Names;
  use std::sync::Arc;

  /// What the facade reads back: totals, model rows with their details, provider rows with their
  /// latency, agent rows, unpriced model ids.
  #[derive(Debug, PartialEq)]
  struct Read {
    totals: ModelStats,
    models: Vec<(u32, ModelStats, ModelDetail)>,
    providers: Vec<(u32, ModelStats, LatencySnapshot)>,
    agents: Vec<(u32, ModelStats)>,
    unpriced: Vec<u32>,
  }

  fn f64_at(out: &[i32], index: usize) -> f64 {
    let mut bytes = [0; 8];
    bytes[..4].copy_from_slice(&out[2 * index].to_ne_bytes());
    bytes[4..].copy_from_slice(&out[2 * index + 1].to_ne_bytes());
    f64::from_ne_bytes(bytes)
  }

  fn figure_at(out: &[i32], slot: usize) -> u64 {
    match out[slot] {
      small @ 0.. => small as u64,
      wide => f64_at(out, (-1 - wide) as usize) as u64,
    }
  }

  fn row_at(out: &[i32], at: usize, unpriced_requests: u64) -> ModelStats {
    ModelStats {
      request_count: figure_at(out, at + row::REQUESTS),
      failed_requests: figure_at(out, at + row::FAILED),
      input_tokens: figure_at(out, at + row::INPUT_TOKENS),
      output_tokens: figure_at(out, at + row::OUTPUT_TOKENS),
      cost_micros: figure_at(out, at + row::COST_MICROS),
      cache_read_tokens: figure_at(out, at + row::CACHE_READ_TOKENS),
      cache_write_tokens: figure_at(out, at + row::CACHE_WRITE_TOKENS),
      cache_write_1h_tokens: figure_at(out, at + row::CACHE_WRITE_1H_TOKENS),
      reasoning_tokens: figure_at(out, at + row::REASONING_TOKENS),
      unpriced_requests,
    }
  }

  /// The histogram at f64 index `at`, as `HistogramSnapshot` holds it.
  fn histogram_at(out: &[i32], at: usize) -> HistogramSnapshot {
    let histogram = HistogramSnapshot {
      count: f64_at(out, at + latency::COUNT) as u64,
      sum_micros: (f64_at(out, at + latency::SUM_MS) * 1_000.0).round() as u64,
      buckets: std::array::from_fn(|bucket| f64_at(out, at + latency::BUCKETS + bucket) as u64),
    };
    assert_eq!(
      f64_at(out, at + latency::P50_MS),
      histogram.quantile_ms(0.5).unwrap()
    );
    histogram
  }

  /// A record's row and histograms; `at` moves past them.
  fn record_at(out: &[i32], at: &mut usize) -> (u32, ModelStats, i32, LatencySnapshot) {
    let start = *at;
    *at += record::STRIDE;
    let mut latency = LatencySnapshot::default();
    for (flag, histogram) in [
      (record::DURATION, &mut latency.duration),
      (
        record::TIME_TO_FIRST_TOKEN,
        &mut latency.time_to_first_token,
      ),
    ] {
      if out[start + flag] == 1 {
        *histogram = histogram_at(out, *at / 2);
        *at += latency::SLOTS;
      } else {
        assert_eq!(out[start + flag], 0);
      }
    }
    let key = out[start + row::KEY] as u32;
    (
      key,
      row_at(out, start, 0),
      out[start + record::PROVIDER],
      latency,
    )
  }

  fn read(out: &[i32]) -> Read {
    let mut at = layout::HEAD;
    let models = (0..out[layout::MODEL_ROWS])
      .map(|_| {
        let (key, figures, provider, latency) = record_at(out, &mut at);
        let provider = Provider::from_index(provider as u8).expect("a provider index");
        (key, figures, ModelDetail { provider, latency })
      })
      .collect();
    let providers = (0..out[layout::PROVIDER_ROWS])
      .map(|_| {
        let (key, figures, _, latency) = record_at(out, &mut at);
        (key, figures, latency)
      })
      .collect();
    let agents = (0..out[layout::AGENT_ROWS])
      .map(|_| {
        let row = (out[at + row::KEY] as u32, row_at(out, at, 0));
        at += row::STRIDE;
        row
      })
      .collect();
    let unpriced = out[at..at + out[layout::UNPRICED_MODELS] as usize]
      .iter()
      .map(|&id| id as u32)
      .collect();
    Read {
      totals: ModelStats {
        request_count: figure_at(out, layout::REQUESTS),
        failed_requests: figure_at(out, layout::FAILED),
        input_tokens: figure_at(out, layout::INPUT_TOKENS),
        output_tokens: figure_at(out, layout::OUTPUT_TOKENS),
        cost_micros: figure_at(out, layout::COST_MICROS),
        cache_read_tokens: figure_at(out, layout::CACHE_READ_TOKENS),
        cache_write_tokens: figure_at(out, layout::CACHE_WRITE_TOKENS),
        cache_write_1h_tokens: figure_at(out, layout::CACHE_WRITE_1H_TOKENS),
        reasoning_tokens: figure_at(out, layout::REASONING_TOKENS),
        unpriced_requests: figure_at(out, layout::UNPRICED_REQUESTS),
      },
      models,
      providers,
      agents,
      unpriced,
    }
  }

  /// What `read` should find: the core's own snapshot, unpriced counts aside (rows do not carry
  /// them), in the order the writer walks.
  fn expected(stats: &LiveStats, names: &Arc<Names>) -> Read {
    let snapshot = stats.snapshot(names.clone());
    let without_unpriced = |figures: &ModelStats| ModelStats {
      unpriced_requests: 0,
      ..*figures
    };
    let mut unpriced: Vec<(Arc<str>, u32)> = snapshot
      .by_model
      .iter()
      .filter(|(_, figures)| figures.unpriced_requests > 0)
      .map(|(model, _)| (names.models.name(*model), model.id()))
      .collect();
    unpriced.sort();
    Read {
      totals: snapshot.totals,
      models: (snapshot.by_model.iter().zip(&snapshot.model_details))
        .map(|((model, figures), detail)| (model.id(), without_unpriced(figures), *detail))
        .collect(),
      providers: (snapshot.by_provider.iter().zip(&snapshot.provider_latency))
        .map(|((provider, figures), latency)| {
          (provider.index() as u32, without_unpriced(figures), *latency)
        })
        .collect(),
      agents: (snapshot.by_agent.iter())
        .map(|(agent, figures)| (agent.id(), without_unpriced(figures)))
        .collect(),
      unpriced: unpriced.into_iter().map(|(_, id)| id).collect(),
    }
  }

  fn completed(input_tokens: u64, cost_micros: u64, unpriced: bool) -> ModelStats {
    ModelStats {
      request_count: 1,
      input_tokens,
      output_tokens: 7,
      cost_micros,
      cache_read_tokens: 3,
      unpriced_requests: u64::from(unpriced),
      ..ModelStats::ZERO
    }
  }

  /// Models with and without latency, an agent with failures only, figures past 2^31.
  fn busy_store() -> (LiveStats, Arc<Names>) {
    let names = Arc::new(Names::new(100));
    let model = |name: &str| names.models.intern(name).unwrap();
    let agent = |name: &str| names.agents.intern(name).unwrap();
    let stats = LiveStats::default();
    let (timed, untimed, first_token, huge) = (
      model("timed"),
      model("untimed"),
      model("first-token"),
      model("huge"),
    );
    stats.add_completed(
      timed,
      Provider::OpenAI,
      Some(agent("a")),
      &completed(10, 50, false),
    );
    stats.record_timing(
      timed,
      Provider::OpenAI,
      &Timing {
        duration_us: Some(150_000),
        time_to_first_token_us: Some(20_000),
      },
    );
    stats.add_completed(
      untimed,
      Provider::Anthropic,
      Some(agent("a")),
      &completed(4, 0, true),
    );
    stats.add_completed(
      first_token,
      Provider::Anthropic,
      None,
      &completed(1, 2, false),
    );
    stats.record_timing(
      first_token,
      Provider::Anthropic,
      &Timing {
        duration_us: None,
        time_to_first_token_us: Some(9_000_000),
      },
    );
    let big = (1 << 31) + 5;
    stats.add_completed(
      huge,
      Provider::Unknown,
      Some(agent("b")),
      &completed(big, big * 3, true),
    );
    stats.add_failed(untimed, Provider::Anthropic, Some(agent("failing")), 2);
    (stats, names)
  }

  #[test]
  fn reads_back_as_the_core_snapshot() {
    let (stats, names) = busy_store();
    let mut out = vec![0; 4096];
    let needed = write_stats(&stats, &names.models, &mut out);
    assert!(needed <= out.len());
    let read = read(&out);
    assert_eq!(read, expected(&stats, &names));
    // What the store is made of shows through, not only agreement with `snapshot`.
    let model = |name: &str| names.models.intern(name).unwrap().id();
    let detail_of = |name: &str| {
      read
        .models
        .iter()
        .find(|row| row.0 == model(name))
        .unwrap()
        .2
    };
    assert_eq!(detail_of("timed").latency.duration.count, 1);
    assert_eq!(detail_of("untimed").latency, LatencySnapshot::default());
    assert_eq!(detail_of("first-token").latency.duration.count, 0);
    assert_eq!(
      detail_of("first-token").latency.time_to_first_token.count,
      1
    );
    let failing = names.agents.intern("failing").unwrap().id();
    let failing_row = read.agents.iter().find(|row| row.0 == failing).unwrap().1;
    assert_eq!(
      (failing_row.request_count, failing_row.failed_requests),
      (0, 2)
    );
    let huge = read
      .models
      .iter()
      .find(|row| row.0 == model("huge"))
      .unwrap()
      .1;
    assert_eq!(huge.cost_micros, ((1 << 31) + 5) * 3);
    assert_eq!(read.unpriced, vec![model("huge"), model("untimed")]);
  }

  #[test]
  fn a_short_buffer_asks_for_a_longer_one_until_the_figures_fit() {
    let (stats, names) = busy_store();
    let mut full = vec![0; 4096];
    let needed = write_stats(&stats, &names.models, &mut full);
    // Short of the rows (answered from the key counts), then of the last slot (after a walk).
    for length in [layout::HEAD, needed - 1] {
      let mut out = vec![0; length];
      let mut attempts = 1;
      loop {
        let asked = write_stats(&stats, &names.models, &mut out);
        if asked <= out.len() {
          break;
        }
        assert!(
          attempts < 3,
          "{length} slots: still short after {attempts} attempts"
        );
        out = vec![0; asked];
        attempts += 1;
      }
      assert_eq!(read(&out), expected(&stats, &names));
    }
  }
}
