//! The registry of shared stores under native threads: one store per name, whoever asks first,
//! and removal never takes a store away from a thread that holds it.

use std::collections::HashMap;
use std::sync::{Arc, Barrier};
use std::thread;

use iron_runtime_analytics::registry::{self, CapacityMismatch};
use iron_runtime_analytics::{CompletedRequest, EventStore, Provider, Timing, Usage};

fn completed(store: &EventStore) -> CompletedRequest {
  CompletedRequest {
    model: store.names().models.intern("gpt-4o").unwrap(),
    provider: Provider::OpenAI,
    agent: None,
    provider_id: None,
    usage: Usage::plain(10, 5),
    cost_micros: 100,
    timing: Timing::default(),
    priced: true,
  }
}

/// Runs `threads` threads that start together, each with its index; returns their results in order.
fn together<T: Send + 'static>(
  threads: usize,
  work: impl Fn(usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
  let start = Arc::new(Barrier::new(threads));
  let work = Arc::new(work);
  let handles: Vec<_> = (0..threads)
    .map(|index| {
      let (start, work) = (start.clone(), work.clone());
      thread::spawn(move || {
        start.wait();
        work(index)
      })
    })
    .collect();
  handles
    .into_iter()
    .map(|handle| handle.join().unwrap())
    .collect()
}

#[test]
fn every_thread_asking_for_a_name_gets_the_same_store() {
  const THREADS: usize = 16;
  const RECORDS: u64 = 500;
  let stores = together(THREADS, |_| {
    let store = registry::shared("registry-every-thread", None, None).unwrap();
    for _ in 0..RECORDS {
      store.record_completed(completed(&store)).unwrap();
    }
    store
  });
  assert!(stores.iter().all(|store| Arc::ptr_eq(store, &stores[0])));
  let store = registry::shared("registry-every-thread", None, None).unwrap();
  assert!(Arc::ptr_eq(&store, &stores[0]));
  assert_eq!(store.stats().totals.request_count, THREADS as u64 * RECORDS);
  assert_eq!(
    store.stats().totals.cost_micros,
    THREADS as u64 * RECORDS * 100
  );
  let other = registry::shared("registry-every-thread-other", None, None).unwrap();
  assert!(!Arc::ptr_eq(&store, &other));
  assert_eq!(other.stats().totals.request_count, 0);
}

#[test]
fn racing_capacities_one_creates_the_others_are_told_both_capacities() {
  const THREADS: usize = 8;
  let outcomes = together(THREADS, |index| {
    registry::shared("registry-racing", Some(100 + index), None)
  });
  let created: Vec<&Arc<EventStore>> = outcomes
    .iter()
    .filter_map(|outcome| outcome.as_ref().ok())
    .collect();
  assert_eq!(created.len(), 1, "exactly one thread creates the store");
  let existing = created[0].capacity();
  for (index, outcome) in outcomes.iter().enumerate() {
    if let Err(error) = outcome {
      let CapacityMismatch {
        name,
        existing: found,
        requested,
      } = error;
      assert_eq!(
        (name.as_str(), *found, *requested),
        ("registry-racing", existing, 100 + index)
      );
      let message = error.to_string();
      assert!(
        message.contains(&existing.to_string()) && message.contains(&(100 + index).to_string()),
        "{message}"
      );
    }
  }
  assert!(
    registry::shared("registry-racing", None, None).is_ok(),
    "no capacity opens it as it is"
  );
}

#[test]
fn removing_a_name_leaves_holders_recording_and_loses_no_count() {
  const THREADS: usize = 8;
  const ROUNDS: usize = 200;
  const RECORDS: u64 = 10;
  // Each thread asks for the name every round, records, and every so often removes the name:
  // whichever store a record went into, it must be counted there.
  let seen = together(THREADS, |index| {
    let mut stores: HashMap<usize, Arc<EventStore>> = HashMap::new();
    for round in 0..ROUNDS {
      let store = registry::shared("registry-churn", Some(1_000), None).unwrap();
      for _ in 0..RECORDS {
        store.record_completed(completed(&store)).unwrap();
      }
      stores.entry(Arc::as_ptr(&store) as usize).or_insert(store);
      if (round + index) % 17 == 0 {
        registry::remove("registry-churn");
      }
    }
    stores
  });
  let mut distinct: HashMap<usize, Arc<EventStore>> = HashMap::new();
  for stores in seen {
    distinct.extend(stores);
  }
  assert!(
    distinct.len() > 1,
    "the name was removed and registered again"
  );
  let total: u64 = distinct
    .values()
    .map(|store| store.stats().totals.request_count)
    .sum();
  assert_eq!(total, (THREADS * ROUNDS) as u64 * RECORDS);
}

#[test]
fn a_removed_name_starts_a_fresh_store_while_the_old_one_lives_on() {
  let old = registry::shared("registry-fresh", Some(5), None).unwrap();
  old.record_completed(completed(&old)).unwrap();
  assert!(registry::remove("registry-fresh"));
  let holder = {
    let old = old.clone();
    thread::spawn(move || {
      old.record_completed(completed(&old)).unwrap();
      old.len()
    })
  };
  assert_eq!(holder.join().unwrap(), 2);
  let fresh = registry::shared("registry-fresh", Some(7), None).unwrap();
  assert_eq!(
    (fresh.capacity(), fresh.len()),
    (7, 0),
    "the old capacity is forgotten with the name"
  );
  assert!(!registry::names().contains(&"registry-missing".to_owned()));
}
