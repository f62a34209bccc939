//! The store under concurrent producers and readers: no event recorded into a buffer with room is
//! lost, duplicated or reordered by snapshots, acknowledgements or drains running at the same time.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use iron_runtime_analytics::{CompletedRequest, Event, EventStore, Payload, PricingManager, Provider, Symbol};

fn completed(agent: Symbol, sequence: u64) -> CompletedRequest {
  CompletedRequest {
    model: Symbol::intern("gpt-4o"),
    provider: Provider::OpenAI,
    agent: Some(agent),
    provider_id: None,
    input_tokens: sequence,
    output_tokens: 1,
    cost_micros: 10,
  }
}

/// (producer, sequence) of a test event.
fn origin(event: &Event) -> (Symbol, u64) {
  match event.payload {
    Payload::LlmRequestCompleted { input_tokens, .. } => (event.agent.unwrap(), input_tokens),
    _ => panic!("only completed events are recorded here"),
  }
}

fn assert_ordered_per_producer(events: &[Event]) {
  let mut last: HashMap<Symbol, u64> = HashMap::new();
  for event in events {
    let (producer, sequence) = origin(event);
    if let Some(previous) = last.insert(producer, sequence) {
      assert!(sequence > previous, "event {sequence} of a producer came after {previous}");
    }
  }
}

#[test]
fn full_buffer_drops_new_events_and_still_counts_them() {
  let store = EventStore::new(3);
  let pricing = PricingManager::with_default_table();
  let buffered: Vec<bool> = (0..5).map(|_| store.record_llm_completed(&pricing, "gpt-4o", 100, 50, None, None)).collect();
  assert_eq!(buffered, [true, true, true, false, false]);
  assert_eq!((store.len(), store.dropped_count()), (3, 2));
  assert_eq!(store.stats().total_requests, 5);
  assert_eq!(store.stats().total_cost_micros, 5 * pricing.get("gpt-4o").unwrap().cost_micros(100, 50));
}

#[test]
fn acknowledged_events_leave_the_buffer_and_free_their_slots() {
  let store = EventStore::new(2);
  let agent = Symbol::intern("ack-agent");
  store.record_completed(completed(agent, 1));
  store.record_completed(completed(agent, 2));
  assert!(!store.record_completed(completed(agent, 3)));
  let first = store.unsynced_events()[0].id;
  assert_eq!(store.mark_synced(&[first, first, iron_runtime_analytics::EventId::new_v4()]), 1);
  assert_eq!(store.unsynced_count(), 1);
  assert!(store.record_completed(completed(agent, 4)));
  let remaining: Vec<u64> = store.snapshot_events().iter().map(|event| origin(event).1).collect();
  assert_eq!(remaining, [2, 4]);
}

#[test]
fn streaming_never_blocks_and_counts_what_the_channel_could_not_take() {
  let (store, receiver) = EventStore::with_streaming(100, 2);
  let agent = Symbol::intern("stream-agent");
  for sequence in 0..10 {
    assert!(store.record_completed(completed(agent, sequence)));
  }
  assert_eq!((receiver.len(), receiver.dropped_count()), (2, 8));
  receiver.close();
  assert!(store.record_completed(completed(agent, 10)));
  assert_eq!(receiver.try_recv(), iron_runtime_analytics::Received::Closed);
}

#[test]
fn concurrent_record_snapshot_acknowledge_and_drain_lose_nothing() {
  const PRODUCERS: usize = 4;
  const PER_PRODUCER: u64 = 25_000;
  let store = Arc::new(EventStore::new(1_000));
  let start = Arc::new(Barrier::new(PRODUCERS + 1));
  let producing = Arc::new(AtomicBool::new(true));

  let producers: Vec<_> = (0..PRODUCERS)
    .map(|index| {
      let (store, start) = (store.clone(), start.clone());
      thread::spawn(move || {
        let agent = Symbol::intern(&format!("producer-{index}"));
        start.wait();
        let dropped: BTreeSet<u64> =
          (0..PER_PRODUCER).filter(|&sequence| !store.record_completed(completed(agent, sequence))).collect();
        (agent, dropped)
      })
    })
    .collect();

  let reader = {
    let (store, start, producing) = (store.clone(), start.clone(), producing.clone());
    thread::spawn(move || {
      start.wait();
      let mut removed: Vec<Event> = Vec::new();
      let mut round = 0u64;
      while producing.load(Ordering::Acquire) {
        round += 1;
        let snapshot = store.snapshot_events();
        assert!(snapshot.len() <= store.capacity());
        assert_ordered_per_producer(&snapshot);
        match round % 3 {
          0 => removed.extend(store.drain_all()),
          1 => {
            let half: Vec<_> = snapshot.iter().step_by(2).map(|event| event.id).collect();
            assert_eq!(store.mark_synced(&half), half.len(), "every id of a snapshot is still buffered");
            removed.extend(snapshot.into_iter().step_by(2));
          }
          _ => assert_ordered_per_producer(&store.unsynced_events()),
        }
      }
      removed
    })
  };

  let outcomes: Vec<(Symbol, BTreeSet<u64>)> = producers.into_iter().map(|handle| handle.join().unwrap()).collect();
  producing.store(false, Ordering::Release);
  let mut removed = reader.join().unwrap();
  removed.extend(store.drain_all());

  let total = PRODUCERS as u64 * PER_PRODUCER;
  let dropped: u64 = outcomes.iter().map(|(_, dropped)| dropped.len() as u64).sum();
  assert_eq!(store.stats().total_requests, total, "stats count every record, dropped or not");
  assert_eq!(store.dropped_count(), dropped);
  assert_eq!(removed.len() as u64 + dropped, total, "every buffered event was read out exactly once");
  assert!(store.is_empty());
  for (agent, dropped) in outcomes {
    let mut seen: Vec<u64> =
      removed.iter().map(origin).filter(|(producer, _)| *producer == agent).map(|(_, sequence)| sequence).collect();
    seen.sort_unstable();
    let expected: Vec<u64> = (0..PER_PRODUCER).filter(|sequence| !dropped.contains(sequence)).collect();
    assert_eq!(seen, expected, "each buffered event of {} exactly once", agent.name());
  }
}
