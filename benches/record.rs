//! Nanoseconds per recorded request in the native core alone, on one thread and on two threads
//! contending for one store: `cargo bench --no-default-features`.
//!
//! Requests go in as readers drain a full staging area, rows of `layout::staging::row` in batches
//! of 1024 (a whole ring), with the mix of the JS benchmark: 8 models, 64 agent ids and 6 provider
//! ids, each id present in half the requests. What the JS side costs (validation, interning, the N-API call)
//! is not in these figures; `node benchmark/run.mjs` measures the whole path.

use std::hint::black_box;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use iron_runtime_analytics::layout::staging::row;
use iron_runtime_analytics::{EventStore, Provider, Symbol};

const BATCH: usize = 1024;
const BATCHES: usize = 1_000;
const ROUNDS: usize = 7;
// Rows carry the time of their call, as the facade stamps them while the buffer has room.
const STAMPED_AT: f64 = 1_767_225_600_000.0;

const MODELS: [(&str, f64, f64); 8] = [
  ("gpt-4o-mini", 150_000.0, 600_000.0),
  ("gpt-4o", 2_500_000.0, 10_000_000.0),
  ("claude-3-5-sonnet-20241022", 3_000_000.0, 15_000_000.0),
  ("claude-3-haiku-20240307", 250_000.0, 1_250_000.0),
  ("gpt-3.5-turbo", 500_000.0, 1_500_000.0),
  ("llama-3-70b", 0.0, 0.0),
  ("o1-mini", 3_000_000.0, 12_000_000.0),
  ("claude-3-opus-20240229", 15_000_000.0, 75_000_000.0),
];

/// One batch of staged rows; `seed` varies the mix between threads.
fn staged_batch(store: &EventStore, seed: u64) -> Vec<f64> {
  let names = store.names();
  let models: Vec<(Symbol, Provider, f64, f64)> = MODELS
    .iter()
    .map(|&(name, input, output)| {
      (
        names.models.intern(name).expect("room for the model"),
        iron_runtime_analytics::infer_provider(name),
        input,
        output,
      )
    })
    .collect();
  let agents: Vec<Symbol> = (0..64)
    .map(|index| {
      names
        .agents
        .intern(&format!("agent-{index}"))
        .expect("room for the agent")
    })
    .collect();
  let provider_ids: Vec<Symbol> = (0..6)
    .map(|index| {
      names
        .provider_ids
        .intern(&format!("provider-{index}"))
        .expect("room for the id")
    })
    .collect();
  // xorshift64*: the same rows on every run, spread like the JS benchmark's.
  let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
  let mut next = move || {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
  };
  let mut rows = Vec::with_capacity(BATCH * row::STRIDE);
  for _ in 0..BATCH {
    let (model, provider, input_price, output_price) = models[next() as usize % models.len()];
    let agent = if next() % 2 == 0 {
      agents[next() as usize % agents.len()].id()
    } else {
      0
    };
    let provider_id = if next() % 2 == 0 {
      provider_ids[next() as usize % provider_ids.len()].id()
    } else {
      0
    };
    let (input, output) = (20 + next() % 16_000, 5 + next() % 4_000);
    let mut fields = [0.0; row::STRIDE];
    fields[row::MODEL] = model.id() as f64;
    fields[row::PROVIDER] = provider.index() as f64;
    fields[row::AGENT] = agent as f64;
    fields[row::PROVIDER_ID] = provider_id as f64;
    fields[row::INPUT_TOKENS] = input as f64;
    fields[row::OUTPUT_TOKENS] = output as f64;
    // The facade prices each request before staging it: floor(tokens * micros per million / 1e6).
    fields[row::COST_MICROS] =
      (input as f64 * input_price / 1e6).floor() + (output as f64 * output_price / 1e6).floor();
    fields[row::TIMESTAMP_MS] = STAMPED_AT;
    fields[row::DURATION_MS] = -1.0;
    fields[row::TIME_TO_FIRST_TOKEN_MS] = -1.0;
    fields[row::UNPRICED] = f64::from(input_price == 0.0);
    rows.extend_from_slice(&fields);
  }
  rows
}

/// ns per request for `threads` threads each recording `BATCHES` batches into one store; with
/// `drain`, the first thread also drains the buffer after each batch (timed too).
fn measure(threads: usize, store: Arc<EventStore>, drain: bool) -> f64 {
  let batches: Vec<Vec<f64>> = (0..threads)
    .map(|seed| staged_batch(&store, seed as u64 + 1))
    .collect();
  let started = Instant::now();
  let workers: Vec<_> = batches
    .into_iter()
    .enumerate()
    .map(|(index, batch)| {
      let store = store.clone();
      thread::spawn(move || {
        for _ in 0..BATCHES {
          store.record_staged(black_box(&batch));
          if drain && index == 0 {
            black_box(store.drain_all());
          }
        }
      })
    })
    .collect();
  workers
    .into_iter()
    .for_each(|worker| worker.join().unwrap());
  started.elapsed().as_nanos() as f64 / (threads * BATCH * BATCHES) as f64
}

/// Median, min and max over `ROUNDS` runs, each on a fresh store.
fn report(label: &str, run: impl Fn() -> f64) {
  run();
  let mut samples: Vec<f64> = (0..ROUNDS).map(|_| run()).collect();
  samples.sort_by(f64::total_cmp);
  println!(
    "{label:<62} {:6.1} ns/request (min {:.1}, max {:.1})",
    samples[ROUNDS / 2],
    samples[0],
    samples[ROUNDS - 1]
  );
}

fn main() {
  let full = || {
    let store = Arc::new(EventStore::new(1));
    store.record_staged(&staged_batch(&store, 0)[..row::STRIDE]);
    store
  };
  report("drop path, 1 thread", || measure(1, full(), false));
  report("drop path, 2 threads (wall time / requests)", || {
    measure(2, full(), false)
  });
  report("buffered + drained each batch, 1 thread", || {
    measure(1, Arc::new(EventStore::new(BATCH)), true)
  });
  // A fresh store's events land in memory touched for the first time: page faults included.
  report("buffered into a fresh store, 1 thread", || {
    measure(1, Arc::new(EventStore::new(BATCH * BATCHES)), false)
  });
  report(
    "buffered into a fresh store, 2 threads (wall time / requests)",
    || measure(2, Arc::new(EventStore::new(2 * BATCH * BATCHES)), false),
  );
}
