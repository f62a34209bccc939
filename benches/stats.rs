//! What the native core spends on one `stats()` read, writing the figures as the facade reads them
//! (`stats_buffer::write_stats`): `cargo bench --no-default-features --bench stats`. The store of
//! the JS benchmark's stats suite (20 models, 3 providers, 64 agents), then one of 1,000,000
//! models (`-- small` or `-- large` runs one). The N-API call and the JavaScript that builds the objects are not in these figures;
//! `node benchmark/run.mjs --only stats` measures the whole read.

use std::hint::black_box;
use std::time::Instant;

use iron_runtime_analytics::stats_buffer::write_stats;
use iron_runtime_analytics::{EventStore, PricingManager};

const ROUNDS: usize = 7;

/// The models of the JS benchmark's stats suite (`benchmark/args.mjs`): three have no price.
const TWENTY_MODELS: [&str; 20] = [
  "gpt-4o-mini",
  "gpt-4o",
  "claude-3-5-sonnet-20241022",
  "claude-3-haiku-20240307",
  "gpt-3.5-turbo",
  "llama-3-70b",
  "o1-mini",
  "claude-3-opus-20240229",
  "gpt-4-turbo",
  "gpt-4",
  "gpt-4o-2024-08-06",
  "chatgpt-4o-latest",
  "o1-preview",
  "o3-mini",
  "claude-3-sonnet-20240229",
  "claude-3-5-haiku-20241022",
  "claude-2.1",
  "claude-instant-1.2",
  "mistral-large-latest",
  "gemini-1.5-pro",
];

/// A store that recorded `requests` requests over `models` models (the twenty, or as many
/// unpriced ones) and 64 agents.
fn store_of(models: usize, requests: usize) -> EventStore {
  let store = EventStore::with_max_keys(1_000, models.max(64));
  let pricing = PricingManager::with_default_table();
  for index in 0..requests {
    let model = match TWENTY_MODELS.get(index % models) {
      Some(&name) if models == TWENTY_MODELS.len() => name.to_string(),
      _ => format!("model-{}", index % models),
    };
    let agent = format!("agent-{}", index % 64);
    store
      .record_llm_completed(&pricing, &model, 1_000, 200, Some(&agent), None)
      .expect("room in the totals");
  }
  store
}

/// Median, min and max over `ROUNDS` runs of `reads` reads, in ns per read.
fn report(label: &str, store: &EventStore, reads: usize) {
  let mut out = vec![0; 1 << 10];
  let needed = write_stats(store.live_stats(), &store.names().models, &mut out);
  out.resize(needed, 0);
  let mut samples: Vec<f64> = (0..ROUNDS)
    .map(|_| {
      let started = Instant::now();
      for _ in 0..reads {
        store.drain_staged();
        black_box(write_stats(
          store.live_stats(),
          &store.names().models,
          &mut out,
        ));
      }
      started.elapsed().as_nanos() as f64 / reads as f64
    })
    .collect();
  samples.sort_by(f64::total_cmp);
  let figure = |ns: f64| {
    if ns >= 1e6 {
      format!("{:.1} ms", ns / 1e6)
    } else {
      format!("{ns:.0} ns")
    }
  };
  println!(
    "{label:<40} {:>9} per read (min {}, max {})",
    figure(samples[ROUNDS / 2]),
    figure(samples[0]),
    figure(samples[ROUNDS - 1])
  );
}

fn main() {
  // `cargo bench --bench stats -- small` (or `large`) runs one of the two.
  let only = std::env::args().nth(1).filter(|arg| arg != "--bench");
  if only.as_deref() != Some("large") {
    report(
      "20 models, 3 providers, 64 agents",
      &store_of(20, 4_096),
      100_000,
    );
  }
  if only.as_deref() != Some("small") {
    report(
      "1,000,000 models, 64 agents",
      &store_of(1_000_000, 1_000_000),
      3,
    );
  }
}
