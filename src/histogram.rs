//! Latency histograms kept with atomics only, with the bucket boundaries OpenTelemetry's GenAI
//! semantic conventions give `gen_ai.client.operation.duration`: 0.01 s doubling up to 81.92 s.
//! The same boundaries serve durations and times to first token.
//!
//! Observations are whole microseconds, as the store keeps timings. Each bucket holds the
//! observations above the previous boundary and up to its own (Prometheus' `le`, OpenTelemetry's
//! explicit buckets), the last one those above 81.92 s. Integers throughout, so the buckets and
//! the sum add up exactly with one `fetch_add` each, whatever the order of the threads.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Upper bounds of the finite buckets, in milliseconds: 10 ms doubling 13 times.
pub const BOUNDARIES_MS: [f64; 14] = [
  10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0, 1_280.0, 2_560.0, 5_120.0, 10_240.0, 20_480.0,
  40_960.0, 81_920.0,
];

/// The same bounds in seconds as Prometheus writes them in `le` labels.
pub const BOUNDARIES_SECONDS: [&str; 14] = [
  "0.01", "0.02", "0.04", "0.08", "0.16", "0.32", "0.64", "1.28", "2.56", "5.12", "10.24", "20.48",
  "40.96", "81.92",
];

/// The same bounds in microseconds.
const BOUNDARIES_US: [u64; 14] = {
  let mut bounds = [0; 14];
  let mut at = 0;
  while at < bounds.len() {
    bounds[at] = 10_000 << at;
    at += 1;
  }
  bounds
};

/// The finite buckets and the one above the last boundary.
const BUCKETS: usize = BOUNDARIES_MS.len() + 1;

/// The bucket of an observation: the first whose upper bound is not below it. The bounds double,
/// so that is the bit length of how many whole 10 ms steps lie strictly below the observation,
/// worked out without the branches of a search, which random durations mispredict.
fn bucket_of(micros: u64) -> usize {
  let steps = micros.saturating_sub(1) / BOUNDARIES_US[0];
  ((u64::BITS - steps.leading_zeros()) as usize).min(BOUNDARIES_US.len())
}

/// A histogram one thread fills on its own and then adds to an `AtomicHistogram` at once: a batch
/// of observations costs one atomic addition per bucket it touched instead of two per observation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistogramCounts {
  buckets: [u64; BUCKETS],
  sum_micros: u64,
}

impl HistogramCounts {
  pub fn record(&mut self, micros: u64) {
    self.buckets[bucket_of(micros)] += 1;
    self.sum_micros += micros;
  }
}

/// A histogram any number of threads add to at once.
#[derive(Debug, Default)]
pub struct AtomicHistogram {
  // Per-bucket (not cumulative) counts: an observation touches one bucket and the sum. The count
  // is their total, so a snapshot's count always agrees with its buckets.
  buckets: [AtomicU64; BUCKETS],
  sum_micros: AtomicU64,
}

impl AtomicHistogram {
  pub fn record(&self, micros: u64) {
    self.buckets[bucket_of(micros)].fetch_add(1, Relaxed);
    self.sum_micros.fetch_add(micros, Relaxed);
  }

  /// Adds what `counts` observed.
  pub fn add(&self, counts: &HistogramCounts) {
    for (bucket, &count) in self.buckets.iter().zip(&counts.buckets) {
      if count > 0 {
        bucket.fetch_add(count, Relaxed);
      }
    }
    if counts.sum_micros > 0 {
      self.sum_micros.fetch_add(counts.sum_micros, Relaxed);
    }
  }

  pub fn snapshot(&self) -> HistogramSnapshot {
    let mut cumulative = [0u64; BOUNDARIES_MS.len()];
    let mut running = 0u64;
    for (at, bucket) in self.buckets.iter().enumerate() {
      running += bucket.load(Relaxed);
      if let Some(slot) = cumulative.get_mut(at) {
        *slot = running;
      }
    }
    HistogramSnapshot {
      count: running,
      sum_micros: self.sum_micros.load(Relaxed),
      buckets: cumulative,
    }
  }
}

/// A histogram's figures at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistogramSnapshot {
  pub count: u64,
  pub sum_micros: u64,
  /// Cumulative, as Prometheus' buckets: `buckets[i]` counts the observations up to
  /// `BOUNDARIES_MS[i]` inclusive; `count - buckets[13]` were above the last boundary.
  pub buckets: [u64; BOUNDARIES_MS.len()],
}

impl HistogramSnapshot {
  pub fn sum_ms(&self) -> f64 {
    self.sum_micros as f64 / 1_000.0
  }

  /// Adds another snapshot's observations, for a figure over several keys.
  pub fn add(&mut self, other: &HistogramSnapshot) {
    self.count += other.count;
    self.sum_micros = self.sum_micros.saturating_add(other.sum_micros);
    for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
      *mine += theirs;
    }
  }

  /// The `q` quantile in milliseconds, estimated as Prometheus' `histogram_quantile` does, so a
  /// dashboard and `stats()` agree: interpolated linearly inside the bucket the rank falls in
  /// (from 0 for the first), and the last finite boundary when it falls above it. None without
  /// observations.
  pub fn quantile_ms(&self, q: f64) -> Option<f64> {
    if self.count == 0 || !(0.0..=1.0).contains(&q) {
      return None;
    }
    let rank = q * self.count as f64;
    let Some(bucket) = self.buckets.iter().position(|&below| below as f64 >= rank) else {
      return Some(BOUNDARIES_MS[BOUNDARIES_MS.len() - 1]);
    };
    let (start, below) = match bucket {
      0 => (0.0, 0),
      _ => (BOUNDARIES_MS[bucket - 1], self.buckets[bucket - 1]),
    };
    let in_bucket = self.buckets[bucket] - below;
    if in_bucket == 0 {
      // Only a rank of 0 can fall in an empty bucket.
      return Some(start);
    }
    let end = BOUNDARIES_MS[bucket];
    Some(start + (end - start) * ((rank - below as f64) / in_bucket as f64))
  }
}

/// The snapshot of a histogram that recorded `observations`, for tests.
#[cfg(test)]
pub(crate) fn histogram_of(observations_ms: &[f64]) -> HistogramSnapshot {
  let histogram = AtomicHistogram::default();
  for &ms in observations_ms {
    histogram.record((ms * 1_000.0).round() as u64);
  }
  histogram.snapshot()
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::sync::Arc;

  #[test]
  fn boundaries_are_the_genai_ones() {
    assert_eq!(BOUNDARIES_MS.len(), 14);
    for (at, ms) in BOUNDARIES_MS.iter().enumerate() {
      assert_eq!(*ms, 10.0 * f64::from(1u32 << at));
      assert_eq!(BOUNDARIES_US[at] as f64, ms * 1_000.0);
      assert_eq!(BOUNDARIES_SECONDS[at].parse::<f64>().unwrap(), ms / 1_000.0);
    }
  }

  #[test]
  fn an_observation_on_a_boundary_counts_in_that_boundary_s_bucket() {
    let snapshot = histogram_of(&[0.0, 10.0, 10.001, 81_920.0, 81_920.5, 1e12]);
    assert_eq!(snapshot.count, 6);
    assert_eq!(snapshot.buckets[0], 2);
    assert_eq!(snapshot.buckets[1], 3);
    assert_eq!(snapshot.buckets[12], 3);
    assert_eq!(snapshot.buckets[13], 4);
    assert_eq!(snapshot.count - snapshot.buckets[13], 2);
  }

  #[test]
  fn the_bucket_of_an_observation_is_the_first_whose_bound_is_not_below_it() {
    let searched = |micros: u64| BOUNDARIES_US.partition_point(|&bound| bound < micros);
    let around_bounds = BOUNDARIES_US
      .iter()
      .flat_map(|&bound| [bound - 1, bound, bound + 1]);
    let others = [0, 1, 9_999, u64::MAX / 2, u64::MAX].into_iter();
    for micros in around_bounds
      .chain(others)
      .chain((0..200_000).map(|step| step * 997))
    {
      assert_eq!(bucket_of(micros), searched(micros), "{micros} us");
    }
  }

  #[test]
  fn counts_added_at_once_equal_the_same_observations_recorded_one_by_one() {
    let observations = [
      0,
      7,
      10_000,
      10_001,
      333_333,
      81_920_000,
      81_920_001,
      5_000_000_000,
    ];
    let (one_by_one, at_once) = (AtomicHistogram::default(), AtomicHistogram::default());
    let mut counts = HistogramCounts::default();
    for &micros in &observations {
      one_by_one.record(micros);
      counts.record(micros);
    }
    at_once.record(20_000);
    one_by_one.record(20_000);
    at_once.add(&counts);
    at_once.add(&HistogramCounts::default());
    assert_eq!(at_once.snapshot(), one_by_one.snapshot());
    assert_eq!(at_once.snapshot().count, observations.len() as u64 + 1);
  }

  #[test]
  fn sums_in_whole_microseconds() {
    let snapshot = histogram_of(&[1.5, 2.25, 0.0004, 1_000.0]);
    assert_eq!(snapshot.sum_micros, 1_500 + 2_250 + 1_000_000);
    assert_eq!(snapshot.sum_ms(), 1_003.75);
  }

  #[test]
  fn quantiles_interpolate_inside_the_bucket_as_prometheus_does() {
    // 10 observations: 4 in (0, 10], 4 in (10, 20], 2 in (40, 80].
    let snapshot = histogram_of(&[1.0, 2.0, 3.0, 4.0, 15.0, 15.0, 15.0, 15.0, 50.0, 60.0]);
    // Rank 5 is the first of the four in (10, 20]: 10 + 10 * 1/4.
    assert_eq!(snapshot.quantile_ms(0.5), Some(12.5));
    // Rank 9 is the first of the two in (40, 80]: 40 + 40 * 1/2.
    assert_eq!(snapshot.quantile_ms(0.9), Some(60.0));
    // Rank 9.9: 40 + 40 * 1.9/2.
    assert!((snapshot.quantile_ms(0.99).unwrap() - 78.0).abs() < 1e-9);
    // Rank 2 in the first bucket interpolates from 0.
    assert_eq!(snapshot.quantile_ms(0.2), Some(5.0));
    // Rank 0 falls in the first bucket whose cumulative count reaches 0.
    assert_eq!(snapshot.quantile_ms(0.0), Some(0.0));
    assert_eq!(histogram_of(&[15.0]).quantile_ms(0.0), Some(0.0));
    assert_eq!(snapshot.quantile_ms(1.5), None);
  }

  #[test]
  fn a_rank_above_the_last_boundary_gives_that_boundary() {
    let snapshot = histogram_of(&[5.0, 100_000.0, 200_000.0]);
    assert_eq!(snapshot.quantile_ms(0.99), Some(81_920.0));
    assert_eq!(snapshot.quantile_ms(0.3), Some(9.0));
  }

  #[test]
  fn no_observations_no_quantile() {
    let snapshot = AtomicHistogram::default().snapshot();
    assert_eq!(snapshot, HistogramSnapshot::default());
    assert_eq!(snapshot.quantile_ms(0.5), None);
  }

  #[test]
  fn snapshots_add_up() {
    let mut total = histogram_of(&[1.0, 30.0]);
    total.add(&histogram_of(&[30.0, 100_000.0]));
    assert_eq!(total, histogram_of(&[1.0, 30.0, 30.0, 100_000.0]));
  }

  #[test]
  fn concurrent_recorders_lose_nothing() {
    let histogram = Arc::new(AtomicHistogram::default());
    let threads: Vec<_> = (0..4u32)
      .map(|thread| {
        let histogram = histogram.clone();
        std::thread::spawn(move || {
          for index in 0..10_000u32 {
            histogram.record(u64::from((index * 7 + thread) % 100_000) * 1_000);
          }
        })
      })
      .collect();
    threads
      .into_iter()
      .for_each(|thread| thread.join().unwrap());
    let expected: Vec<f64> = (0..4u32)
      .flat_map(|thread| (0..10_000u32).map(move |index| f64::from((index * 7 + thread) % 100_000)))
      .collect();
    assert_eq!(histogram.snapshot(), histogram_of(&expected));
  }
}
