//! Nanoseconds per recorded request in the native core alone, on one thread and on two threads
//! contending for one store: `cargo bench --no-default-features`.

use std::hint::black_box;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use iron_runtime_analytics::{CompletedRequest, EventStore, Provider, Symbol};

const BATCH: usize = 256;
const BATCHES: usize = 4_000;

fn requests(seed: usize) -> Vec<CompletedRequest> {
  let models: Vec<Symbol> = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet-20241022", "llama-3-70b"]
    .iter()
    .map(|name| Symbol::intern(name))
    .collect();
  let agents: Vec<Symbol> = (0..64).map(|index| Symbol::intern(&format!("agent-{index}"))).collect();
  (0..BATCH)
    .map(|index| {
      let mix = index.wrapping_mul(2_654_435_761).wrapping_add(seed);
      CompletedRequest {
        model: models[mix % models.len()],
        provider: Provider::ALL[mix % 3],
        agent: (mix % 2 == 0).then(|| agents[mix % agents.len()]),
        provider_id: None,
        input_tokens: 100 + (mix % 1000) as u64,
        output_tokens: 20 + (mix % 300) as u64,
        cost_micros: 0,
      }
    })
    .collect()
}

/// ns per request for `threads` threads each recording `BATCHES` batches into one store.
fn measure(threads: usize, store: Arc<EventStore>, drain: bool) -> f64 {
  let started = Instant::now();
  let workers: Vec<_> = (0..threads)
    .map(|seed| {
      let store = store.clone();
      thread::spawn(move || {
        let batch = requests(seed);
        for _ in 0..BATCHES {
          black_box(store.record_completed_batch(&batch));
          if drain && seed == 0 {
            black_box(store.drain_all());
          }
        }
      })
    })
    .collect();
  workers.into_iter().for_each(|worker| worker.join().unwrap());
  started.elapsed().as_nanos() as f64 / (threads * BATCH * BATCHES) as f64
}

fn main() {
  let full = || {
    let store = Arc::new(EventStore::new(1));
    store.record_completed_batch(&requests(0)[..1]);
    store
  };
  println!("drop path, 1 thread:          {:6.1} ns/request", measure(1, full(), false));
  println!("drop path, 2 threads:         {:6.1} ns/request (wall time / all requests)", measure(2, full(), false));
  println!("buffered + drained, 1 thread: {:6.1} ns/request", measure(1, Arc::new(EventStore::new(1 << 20)), true));
  println!(
    "buffered, 2 threads:          {:6.1} ns/request (wall time / all requests)",
    measure(2, Arc::new(EventStore::new(2 * BATCH * BATCHES)), false)
  );
}
