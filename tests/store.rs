//! The store under concurrent producers and readers: no event recorded into a buffer with room is
//! lost, duplicated or reordered by snapshots, acknowledgements or drains running at the same time.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use iron_runtime_analytics::store::DEFAULT_MAX_KEYS;
use iron_runtime_analytics::{
  CompletedRequest, Event, EventStore, Payload, PricingManager, Provider, Symbol, Timing, Usage,
};

fn completed(store: &EventStore, agent: Symbol, sequence: u64) -> CompletedRequest {
  CompletedRequest {
    model: store.names().models.intern("gpt-4o").unwrap(),
    provider: Provider::OpenAI,
    agent: Some(agent),
    provider_id: None,
    usage: Usage::plain(sequence, 1),
    cost_micros: 10,
    timing: Timing::default(),
    priced: true,
  }
}

/// (producer, sequence) of a test event.
fn origin(event: &Event) -> (Symbol, u64) {
  match event.payload {
    Payload::LlmRequestCompleted { usage, .. } => (event.agent.unwrap(), usage.input_tokens),
    _ => panic!("only completed events are recorded here"),
  }
}

fn assert_ordered_per_producer(events: &[Event]) {
  let mut last: HashMap<Symbol, u64> = HashMap::new();
  for event in events {
    let (producer, sequence) = origin(event);
    if let Some(previous) = last.insert(producer, sequence) {
      assert!(
        sequence > previous,
        "event {sequence} of a producer came after {previous}"
      );
    }
  }
}

#[test]
fn full_buffer_drops_new_events_and_still_counts_them() {
  let store = EventStore::new(3);
  let pricing = PricingManager::with_default_table();
  let buffered: Vec<bool> = (0..5)
    .map(|_| {
      store
        .record_llm_completed(&pricing, "gpt-4o", 100, 50, None, None)
        .unwrap()
    })
    .collect();
  assert_eq!(buffered, [true, true, true, false, false]);
  assert_eq!((store.len(), store.dropped_count()), (3, 2));
  assert_eq!(store.stats().totals.request_count, 5);
  assert_eq!(
    store.stats().totals.cost_micros,
    5 * pricing
      .get("gpt-4o")
      .unwrap()
      .usage_cost_micros(&Usage::plain(100, 50))
      .unwrap()
  );
}

#[test]
fn acknowledged_events_leave_the_buffer_and_free_their_slots() {
  let store = EventStore::new(2);
  let agent = store.names().agents.intern("ack-agent").unwrap();
  store.record_completed(completed(&store, agent, 1)).unwrap();
  store.record_completed(completed(&store, agent, 2)).unwrap();
  assert!(!store.record_completed(completed(&store, agent, 3)).unwrap());
  let first = store.unsynced_events()[0].id;
  assert_eq!(
    store.mark_synced(&[first, first, iron_runtime_analytics::EventId::new_v4()]),
    1
  );
  assert_eq!(store.unsynced_count(), 1);
  assert!(store.record_completed(completed(&store, agent, 4)).unwrap());
  let remaining: Vec<u64> = store
    .snapshot_events()
    .iter()
    .map(|event| origin(event).1)
    .collect();
  assert_eq!(remaining, [2, 4]);
}

#[test]
fn a_refused_take_leaves_the_buffer_as_it_was() {
  let store = EventStore::new(4);
  let agent = store.names().agents.intern("take-agent").unwrap();
  (1..=3).for_each(|sequence| {
    assert!(store
      .record_completed(completed(&store, agent, sequence))
      .unwrap())
  });
  let read = store.read_buffered(|events| {
    let mut sequences = Vec::new();
    events.for_each(|_, event| sequences.push(origin(event).1));
    (events.len(), sequences)
  });
  assert_eq!(read, (3, vec![1, 2, 3]));
  assert_eq!(store.take_buffered(|events| events.len() > 3), 0);
  assert_eq!(store.len(), 3);
  assert_eq!(store.take_buffered(|events| events.len() == 3), 3);
  assert_eq!((store.len(), store.snapshot_events().len()), (0, 0));
  assert!(store.record_completed(completed(&store, agent, 4)).unwrap());
}

#[test]
fn streaming_never_blocks_and_counts_what_the_channel_could_not_take() {
  let (store, receiver) = EventStore::with_streaming(100, DEFAULT_MAX_KEYS, 2);
  let agent = store.names().agents.intern("stream-agent").unwrap();
  for sequence in 0..10 {
    assert!(store
      .record_completed(completed(&store, agent, sequence))
      .unwrap());
  }
  assert_eq!((receiver.len(), receiver.dropped_count()), (2, 8));
  receiver.close();
  assert!(store
    .record_completed(completed(&store, agent, 10))
    .unwrap());
  assert_eq!(
    receiver.try_recv(),
    iron_runtime_analytics::Received::Closed
  );
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
        let agent = store
          .names()
          .agents
          .intern(&format!("producer-{index}"))
          .unwrap();
        start.wait();
        let dropped: BTreeSet<u64> = (0..PER_PRODUCER)
          .filter(|&sequence| {
            !store
              .record_completed(completed(&store, agent, sequence))
              .unwrap()
          })
          .collect();
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
            assert_eq!(
              store.mark_synced(&half),
              half.len(),
              "every id of a snapshot is still buffered"
            );
            removed.extend(snapshot.into_iter().step_by(2));
          }
          _ => assert_ordered_per_producer(&store.unsynced_events()),
        }
      }
      removed
    })
  };

  let outcomes: Vec<(Symbol, BTreeSet<u64>)> = producers
    .into_iter()
    .map(|handle| handle.join().unwrap())
    .collect();
  producing.store(false, Ordering::Release);
  let mut removed = reader.join().unwrap();
  removed.extend(store.drain_all());

  let total = PRODUCERS as u64 * PER_PRODUCER;
  let dropped: u64 = outcomes
    .iter()
    .map(|(_, dropped)| dropped.len() as u64)
    .sum();
  assert_eq!(
    store.stats().totals.request_count,
    total,
    "stats count every record, dropped or not"
  );
  assert_eq!(store.dropped_count(), dropped);
  assert_eq!(
    removed.len() as u64 + dropped,
    total,
    "every buffered event was read out exactly once"
  );
  assert!(store.is_empty());
  for (agent, dropped) in outcomes {
    let mut seen: Vec<u64> = removed
      .iter()
      .map(origin)
      .filter(|(producer, _)| *producer == agent)
      .map(|(_, sequence)| sequence)
      .collect();
    seen.sort_unstable();
    let expected: Vec<u64> = (0..PER_PRODUCER)
      .filter(|sequence| !dropped.contains(sequence))
      .collect();
    assert_eq!(
      seen,
      expected,
      "each buffered event of {} exactly once",
      store.names().agents.name(agent)
    );
  }
}

#[test]
fn a_stream_ends_when_its_store_is_gone_or_it_is_closed() {
  use iron_runtime_analytics::Received;
  let (store, receiver) = EventStore::with_streaming(10, DEFAULT_MAX_KEYS, 10);
  let agent = store.names().agents.intern("ending-agent").unwrap();
  assert!(store.record_completed(completed(&store, agent, 0)).unwrap());
  drop(store);
  assert!(
    matches!(receiver.try_recv(), Received::Event(_)),
    "what was streamed is still received"
  );
  assert_eq!(receiver.try_recv(), Received::Closed);

  let (store, receiver) = EventStore::with_streaming(10, DEFAULT_MAX_KEYS, 10);
  assert!(store.record_completed(completed(&store, agent, 1)).unwrap());
  receiver.close();
  assert_eq!(
    receiver.try_recv(),
    Received::Closed,
    "closing discards what was waiting"
  );
  assert!(
    store.record_completed(completed(&store, agent, 2)).unwrap(),
    "recording goes on"
  );
  assert_eq!(
    receiver.recv_timeout(std::time::Duration::from_millis(1)),
    Received::Closed
  );
  assert_eq!(
    receiver.dropped_count(),
    0,
    "events offered to a closed stream are not dropped ones"
  );
}

/// PARITY.md concurrency row `concurrent_streaming`, with native threads: a consumer thread that
/// blocks on the stream receives every event, in order per producer, while producers record.
#[test]
fn concurrent_streaming_consumer_misses_no_event() {
  use iron_runtime_analytics::Received;
  const PRODUCERS: usize = 3;
  const PER_PRODUCER: u64 = 20_000;
  let total = PRODUCERS as u64 * PER_PRODUCER;
  let (store, receiver) =
    EventStore::with_streaming(total as usize, DEFAULT_MAX_KEYS, total as usize);
  let store = Arc::new(store);
  let start = Arc::new(Barrier::new(PRODUCERS + 1));

  let consumer = {
    let start = start.clone();
    thread::spawn(move || {
      start.wait();
      let mut received = Vec::with_capacity(total as usize);
      while (received.len() as u64) < total {
        match receiver.recv_timeout(std::time::Duration::from_secs(20)) {
          Received::Event(event) => received.push(event),
          Received::Empty => panic!("no event for 20 s while producers still had some to record"),
          Received::Closed => panic!("the stream ended early"),
        }
      }
      (received, receiver.dropped_count())
    })
  };
  let producers: Vec<_> = (0..PRODUCERS)
    .map(|index| {
      let (store, start) = (store.clone(), start.clone());
      thread::spawn(move || {
        let agent = store
          .names()
          .agents
          .intern(&format!("streaming-producer-{index}"))
          .unwrap();
        start.wait();
        for sequence in 0..PER_PRODUCER {
          assert!(store
            .record_completed(completed(&store, agent, sequence))
            .unwrap());
          if sequence % 1_000 == 0 {
            // Pauses let the consumer drain the channel and block on an empty one.
            thread::sleep(std::time::Duration::from_micros(200));
          }
        }
      })
    })
    .collect();
  producers
    .into_iter()
    .for_each(|handle| handle.join().unwrap());
  let (received, dropped) = consumer.join().unwrap();
  assert_eq!(received.len() as u64, total);
  assert_ordered_per_producer(&received);
  assert_eq!(dropped, 0);
  assert_eq!(store.stats().totals.request_count, total);
}

#[test]
fn a_full_channel_never_blocks_producers_and_counts_every_event_it_could_not_take() {
  use iron_runtime_analytics::Received;
  const PRODUCERS: usize = 4;
  const PER_PRODUCER: u64 = 5_000;
  let (store, receiver) =
    EventStore::with_streaming(PRODUCERS * PER_PRODUCER as usize, DEFAULT_MAX_KEYS, 16);
  let (store, receiver) = (Arc::new(store), Arc::new(receiver));
  let producing = Arc::new(AtomicBool::new(true));
  let consumer = {
    let (receiver, producing) = (receiver.clone(), producing.clone());
    thread::spawn(move || {
      let mut received = 0u64;
      loop {
        match receiver.recv_timeout(std::time::Duration::from_millis(1)) {
          Received::Event(_) => received += 1,
          Received::Empty if !producing.load(Ordering::Acquire) && receiver.is_empty() => {
            return received
          }
          Received::Empty => {}
          Received::Closed => panic!("the stream ended early"),
        }
      }
    })
  };
  let producers: Vec<_> = (0..PRODUCERS)
    .map(|index| {
      let store = store.clone();
      thread::spawn(move || {
        let agent = store
          .names()
          .agents
          .intern(&format!("full-channel-producer-{index}"))
          .unwrap();
        (0..PER_PRODUCER).all(|sequence| {
          store
            .record_completed(completed(&store, agent, sequence))
            .unwrap()
        })
      })
    })
    .collect();
  assert!(
    producers.into_iter().all(|handle| handle.join().unwrap()),
    "every event was buffered"
  );
  producing.store(false, Ordering::Release);
  let received = consumer.join().unwrap();
  let total = PRODUCERS as u64 * PER_PRODUCER;
  assert_eq!(
    received + receiver.dropped_count(),
    total,
    "each buffered event was streamed or counted"
  );
  assert_eq!(store.len() as u64, total);
}
