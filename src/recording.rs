//! The high-level recording API: provider inference and pricing done for the caller.

use std::cell::RefCell;
use std::fmt;

use crate::event::{current_time_ms, Event, EventId, FailureDetail, Payload, StoredEvent};
use crate::pricing::{cost_micros, PricingManager};
use crate::provider::{infer_provider, Provider};
use crate::stats::{ModelStats, Tally};
use crate::store::EventStore;
use crate::symbol::Symbol;

/// A completed request whose names are already interned and whose cost is known.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompletedRequest {
  pub model: Symbol,
  pub provider: Provider,
  pub agent: Option<Symbol>,
  pub provider_id: Option<Symbol>,
  pub input_tokens: u64,
  pub output_tokens: u64,
  pub cost_micros: u64,
}

impl CompletedRequest {
  fn figures(&self) -> ModelStats {
    ModelStats {
      request_count: 1,
      input_tokens: self.input_tokens,
      output_tokens: self.output_tokens,
      cost_micros: self.cost_micros,
    }
  }

  pub fn into_event(self) -> Event {
    self.into_event_at(current_time_ms())
  }

  fn into_event_at(self, timestamp_ms: u64) -> Event {
    self.into_event_with(EventId::new_v4(), timestamp_ms)
  }

  fn into_event_with(self, id: EventId, timestamp_ms: u64) -> Event {
    Event {
      id,
      timestamp_ms,
      agent: self.agent,
      payload: Payload::LlmRequestCompleted {
        model: self.model,
        provider: self.provider,
        provider_id: self.provider_id,
        input_tokens: self.input_tokens,
        output_tokens: self.output_tokens,
        cost_micros: self.cost_micros,
      },
    }
  }
}

/// Numbers per staged completed request: `[model, provider, agent, providerId, inputTokens,
/// outputTokens, inputMicrosPerMillion, outputMicrosPerMillion, timestampMs]`. Names are symbol
/// ids (0: absent), the provider is its index, the counts are non-negative safe integers, and a
/// timestamp of 0 means "now", the moment the batch is recorded.
pub const STAGED_STRIDE: usize = 9;

/// A staged row names a symbol that was never interned or a provider that does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidStagedRow {
  pub row: usize,
}

impl fmt::Display for InvalidStagedRow {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(
      f,
      "staged row {} is incomplete or names an unknown symbol or provider",
      self.row
    )
  }
}

impl std::error::Error for InvalidStagedRow {}

/// The request of one staged row, or `None` if it names a symbol that was never interned or a
/// provider that does not exist.
#[inline(always)]
fn staged_request(row: &[f64]) -> Option<CompletedRequest> {
  // `as` saturates and truncates: the facade sends ids it got from `intern` and counts it checked.
  let symbol = |value: f64| Symbol::from_id(value as u32);
  let optional = |value: f64| {
    if value == 0.0 {
      Some(None)
    } else {
      symbol(value).map(Some)
    }
  };
  let (input_tokens, output_tokens) = (row[4] as u64, row[5] as u64);
  Some(CompletedRequest {
    model: symbol(row[0])?,
    provider: *Provider::ALL.get(row[1] as usize)?,
    agent: optional(row[2])?,
    provider_id: optional(row[3])?,
    input_tokens,
    output_tokens,
    cost_micros: cost_micros(row[6] as u64, row[7] as u64, input_tokens, output_tokens),
  })
}

/// This thread's tally, reused by every batch so that summing one allocates nothing.
fn with_tally<R>(sum: impl FnOnce(&mut Tally) -> R) -> R {
  thread_local! {
    static TALLY: RefCell<Box<Tally>> = RefCell::new(Box::default());
  }
  TALLY.with(|tally| sum(&mut tally.borrow_mut()))
}

impl EventStore {
  /// Records a completed request, inferring the provider from the model name.
  pub fn record_llm_completed(
    &self,
    pricing: &PricingManager,
    model: &str,
    input_tokens: u64,
    output_tokens: u64,
    agent_id: Option<&str>,
    provider_id: Option<&str>,
  ) -> bool {
    let provider = infer_provider(model);
    self.record_llm_completed_with_provider(
      pricing,
      model,
      provider,
      input_tokens,
      output_tokens,
      agent_id,
      provider_id,
    )
  }

  #[allow(clippy::too_many_arguments)]
  pub fn record_llm_completed_with_provider(
    &self,
    pricing: &PricingManager,
    model: &str,
    provider: Provider,
    input_tokens: u64,
    output_tokens: u64,
    agent_id: Option<&str>,
    provider_id: Option<&str>,
  ) -> bool {
    let cost_micros = pricing
      .get(model)
      .map_or(0, |price| price.cost_micros(input_tokens, output_tokens));
    self.record_completed(CompletedRequest {
      model: Symbol::intern(model),
      provider,
      agent: agent_id.map(Symbol::intern),
      provider_id: provider_id.map(Symbol::intern),
      input_tokens,
      output_tokens,
      cost_micros,
    })
  }

  pub fn record_completed(&self, request: CompletedRequest) -> bool {
    self.record(request.into_event())
  }

  /// Records completed requests staged as rows of `STAGED_STRIDE` numbers (see there), in order;
  /// returns how many were buffered. A batch with a bad row records nothing.
  pub fn record_staged(&self, staged: &[f64]) -> Result<usize, InvalidStagedRow> {
    let rows = staged.chunks_exact(STAGED_STRIDE);
    if !rows.remainder().is_empty() {
      return Err(InvalidStagedRow {
        row: staged.len() / STAGED_STRIDE,
      });
    }
    let wanted = rows.len();
    // Room first, so one pass over the rows both counts every request and builds the events that
    // fit; the figures still reach the aggregates before the events reach the buffer.
    let reserved = self.reserve_slots(wanted);
    let mut batch = Vec::with_capacity(reserved);
    let mut ids = fastrand::Rng::new();
    let now = if reserved > 0 { current_time_ms() } else { 0 };
    let counted = with_tally(|tally| {
      for (index, row) in rows.enumerate() {
        let Some(request) = staged_request(row) else {
          tally.clear();
          return Err(InvalidStagedRow { row: index });
        };
        tally.add(
          request.model,
          request.provider,
          request.agent,
          &request.figures(),
        );
        if index < reserved {
          let timestamp_ms = if row[8] > 0.0 { row[8] as u64 } else { now };
          batch.push(StoredEvent::new(
            request.into_event_with(EventId::new_v4_from(&mut ids), timestamp_ms),
          ));
        }
      }
      self.live_stats().add_tally(tally);
      Ok(())
    });
    if let Err(invalid) = counted {
      self.release_slots(reserved);
      return Err(invalid);
    }
    Ok(self.push_reserved(batch, wanted))
  }

  pub fn record_llm_failed(
    &self,
    model: &str,
    agent_id: Option<&str>,
    provider_id: Option<&str>,
    error_code: Option<&str>,
    error_message: Option<&str>,
  ) -> bool {
    let payload = Payload::LlmRequestFailed {
      model: Symbol::intern(model),
      provider: infer_provider(model),
      provider_id: provider_id.map(Symbol::intern),
      error: FailureDetail::new(error_code, error_message),
    };
    self.record(Event::new(agent_id.map(Symbol::intern), payload))
  }

  pub fn record_budget_threshold(
    &self,
    threshold_percent: u8,
    current_spend_micros: u64,
    budget_micros: u64,
    agent_id: Option<&str>,
  ) -> bool {
    let payload = Payload::BudgetThresholdReached {
      threshold_percent,
      current_spend_micros,
      budget_micros,
    };
    self.record(Event::new(agent_id.map(Symbol::intern), payload))
  }

  pub fn record_router_started(&self, port: u16) -> bool {
    self.record(Event::new(None, Payload::RouterStarted { port }))
  }

  /// Records the router's totals at this moment.
  pub fn record_router_stopped(&self) -> bool {
    let stats = self.live_stats();
    let payload = Payload::RouterStopped {
      total_requests: stats.total_requests(),
      total_cost_micros: stats.total_cost_micros(),
    };
    self.record(Event::new(None, payload))
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn row(
    model: Symbol,
    provider: Provider,
    agent: Option<Symbol>,
    input: u64,
    timestamp_ms: u64,
  ) -> [f64; STAGED_STRIDE] {
    [
      model.id() as f64,
      provider.index() as f64,
      agent.map_or(0.0, |agent| agent.id() as f64),
      0.0,
      input as f64,
      10.0,
      2_500_000.0,
      10_000_000.0,
      timestamp_ms as f64,
    ]
  }

  #[test]
  fn staged_rows_are_all_counted_and_buffered_while_there_is_room() {
    let store = EventStore::new(2);
    let model = Symbol::intern("staged-model");
    let agent = Symbol::intern("staged-agent");
    let rows: Vec<f64> = (1..=3)
      .flat_map(|input| {
        row(
          model,
          Provider::OpenAI,
          Some(agent),
          input * 1_000,
          1_767_225_600_000 + input,
        )
      })
      .collect();
    assert_eq!(store.record_staged(&rows), Ok(2));
    assert_eq!((store.len(), store.dropped_count()), (2, 1));
    let stats = store.stats();
    let cost = |input: u64| cost_micros(2_500_000, 10_000_000, input, 10);
    let figures = ModelStats {
      request_count: 3,
      input_tokens: 6_000,
      output_tokens: 30,
      cost_micros: cost(1_000) + cost(2_000) + cost(3_000),
    };
    assert_eq!(stats.total_requests, 3);
    assert_eq!(stats.model("staged-model"), Some(figures));
    assert_eq!(stats.agent("staged-agent"), Some(figures));
    assert_eq!(stats.provider(Provider::OpenAI), Some(figures));
    let events = store.snapshot_events();
    let timestamps: Vec<u64> = events.iter().map(|event| event.timestamp_ms).collect();
    assert_eq!(timestamps, [1_767_225_600_001, 1_767_225_600_002]);
    assert_ne!(events[0].id, events[1].id);
  }

  #[test]
  fn a_zero_timestamp_means_now() {
    let store = EventStore::new(1);
    let before = current_time_ms();
    store
      .record_staged(&row(
        Symbol::intern("staged-model"),
        Provider::Unknown,
        None,
        1,
        0,
      ))
      .unwrap();
    let stamped = store.snapshot_events()[0].timestamp_ms;
    assert!(stamped >= before && stamped <= current_time_ms());
  }

  #[test]
  fn a_batch_with_a_bad_row_records_nothing() {
    let store = EventStore::new(10);
    let model = Symbol::intern("staged-model");
    let good = row(model, Provider::Anthropic, None, 5, 1);
    let mut unknown_symbol = good;
    unknown_symbol[2] = f64::from(u32::MAX);
    let mut unknown_provider = good;
    unknown_provider[1] = 3.0;
    let mut no_model = good;
    no_model[0] = 0.0;
    for bad in [unknown_symbol, unknown_provider, no_model] {
      let rows: Vec<f64> = [good, bad].concat();
      assert_eq!(store.record_staged(&rows), Err(InvalidStagedRow { row: 1 }));
    }
    assert_eq!(
      store.record_staged(&good[..STAGED_STRIDE - 1]),
      Err(InvalidStagedRow { row: 0 })
    );
    assert_eq!(
      (
        store.len(),
        store.dropped_count(),
        store.stats().total_requests
      ),
      (0, 0, 0)
    );
    // The room reserved for a refused batch was given back.
    let rows: Vec<f64> = std::iter::repeat_n(good, 10).flatten().collect();
    assert_eq!(store.record_staged(&rows), Ok(10));
  }

  #[test]
  fn keys_that_share_a_tally_slot_keep_their_own_figures() {
    // More agents than the tally has slots, so some evict others within one batch.
    let store = EventStore::new(1);
    let model = Symbol::intern("staged-model");
    let agents: Vec<Symbol> = (0..600)
      .map(|index| Symbol::intern(&format!("tally-agent-{index}")))
      .collect();
    let rows: Vec<f64> = (0..3)
      .flat_map(|_| {
        agents
          .iter()
          .flat_map(|&agent| row(model, Provider::OpenAI, Some(agent), 7, 1))
      })
      .collect();
    store.record_staged(&rows).unwrap();
    let stats = store.stats();
    for agent in &agents {
      let figures = stats.agent(&agent.name()).expect("every agent is counted");
      assert_eq!(
        (figures.request_count, figures.input_tokens),
        (3, 21),
        "{}",
        agent.name()
      );
    }
    assert_eq!(stats.total_requests, 1_800);
  }
}
