//! What a router reads back from a store: budget crossings recorded as events, latency kept per
//! model and provider, and the Prometheus exposition of several stores summed.

use std::sync::Arc;
use std::thread;

use iron_runtime_analytics::budget::BudgetRule;
use iron_runtime_analytics::exposition::prometheus;
use iron_runtime_analytics::{CompletedRequest, EventStore, Payload, Provider, Timing, Usage};

fn request(
  store: &EventStore,
  agent: &str,
  cost_micros: u64,
  duration_us: u64,
) -> CompletedRequest {
  let names = store.names();
  CompletedRequest {
    model: names.models.intern("gpt-4o").unwrap(),
    provider: Provider::OpenAI,
    agent: Some(names.agents.intern(agent).unwrap()),
    provider_id: None,
    usage: Usage::plain(100, 10),
    cost_micros,
    timing: Timing {
      duration_us: Some(duration_us),
      time_to_first_token_us: None,
    },
    priced: true,
  }
}

fn crossings(store: &EventStore) -> Vec<(u8, u64)> {
  let events = store.snapshot_events();
  let thresholds = events.iter().filter_map(|event| match event.payload {
    Payload::BudgetThresholdReached {
      threshold_percent,
      current_spend_micros,
      ..
    } => Some((threshold_percent, current_spend_micros)),
    _ => None,
  });
  thresholds.collect()
}

#[test]
fn records_and_set_budget_cross_each_threshold_once() {
  let store = EventStore::new(100);
  store
    .record_completed(request(&store, "a", 600, 1_000))
    .unwrap();
  let agent = store.names().agents.intern("a").unwrap();
  store.set_budget(agent, BudgetRule::new(1_000, &[50, 80, 100]).unwrap());
  assert_eq!(crossings(&store), [(50, 600)]);
  store
    .record_completed(request(&store, "a", 300, 1_000))
    .unwrap();
  store
    .record_completed(request(&store, "a", 300, 1_000))
    .unwrap();
  assert_eq!(crossings(&store), [(50, 600), (80, 900), (100, 1_200)]);
  let status = store.budget_status(agent).unwrap();
  assert_eq!(
    (status.remaining_micros, status.crossed),
    (0, vec![50, 80, 100])
  );
  assert_eq!(store.agent_stats(agent).unwrap().cost_micros, 1_200);
}

#[test]
fn threads_spending_at_once_cross_each_threshold_once() {
  let store = Arc::new(EventStore::new(10_000));
  let agent = store.names().agents.intern("shared").unwrap();
  let percents: Vec<u32> = (1..=100).collect();
  store.set_budget(agent, BudgetRule::new(4_000, &percents).unwrap());
  let spenders: Vec<_> = (0..4)
    .map(|_| {
      let store = store.clone();
      thread::spawn(move || {
        for _ in 0..1_000 {
          store
            .record_completed(request(&store, "shared", 1, 10))
            .unwrap();
        }
      })
    })
    .collect();
  spenders
    .into_iter()
    .for_each(|spender| spender.join().unwrap());
  let mut crossed: Vec<u8> = crossings(&store)
    .into_iter()
    .map(|(percent, _)| percent)
    .collect();
  crossed.sort_unstable();
  assert_eq!(crossed, (1..=100).collect::<Vec<u8>>());
}

#[test]
fn latency_is_kept_per_model_and_provider_and_exposed_for_several_stores() {
  let stores: Vec<EventStore> = (0..2).map(|_| EventStore::new(100)).collect();
  for store in &stores {
    store
      .record_completed(request(store, "a", 5, 15_000))
      .unwrap();
    store
      .record_completed(request(store, "a", 5, 90_000_000))
      .unwrap();
  }
  let stats = stores[0].stats();
  let latency = stats.model_details[0].latency.duration;
  assert_eq!(
    (latency.count, latency.buckets[1], latency.buckets[13]),
    (2, 1, 1)
  );
  assert_eq!(stats.provider_latency[0].duration, latency);
  let text = prometheus(&stores.iter().collect::<Vec<_>>(), false);
  let line = |name: &str| {
    text
      .lines()
      .find(|line| line.starts_with(name))
      .unwrap()
      .to_owned()
  };
  assert_eq!(
    line("llm_request_duration_seconds_count"),
    "llm_request_duration_seconds_count{provider=\"openai\",model=\"gpt-4o\"} 4"
  );
  assert_eq!(
    line("llm_request_duration_seconds_sum"),
    "llm_request_duration_seconds_sum{provider=\"openai\",model=\"gpt-4o\"} 180.03"
  );
  assert_eq!(
    line("llm_cost_usd_total"),
    "llm_cost_usd_total{provider=\"openai\",model=\"gpt-4o\"} 0.00002"
  );
}
