//! The high-level recording API: provider inference and pricing done for the caller.

use crate::event::{current_time_ms, Event, FailureDetail, Payload};
use crate::pricing::PricingManager;
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
  pub fn into_event(self) -> Event {
    self.into_event_at(current_time_ms())
  }

  fn into_event_at(self, timestamp_ms: u64) -> Event {
    Event::with_timestamp(
      timestamp_ms,
      self.agent,
      Payload::LlmRequestCompleted {
        model: self.model,
        provider: self.provider,
        provider_id: self.provider_id,
        input_tokens: self.input_tokens,
        output_tokens: self.output_tokens,
        cost_micros: self.cost_micros,
      },
    )
  }
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
    self.record_llm_completed_with_provider(pricing, model, provider, input_tokens, output_tokens, agent_id, provider_id)
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
    let cost_micros = pricing.get(model).map_or(0, |price| price.cost_micros(input_tokens, output_tokens));
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

  /// Records completed requests in order, as if one by one, stamped now; returns how many were
  /// buffered. The aggregates are updated once per distinct key of the batch.
  pub fn record_completed_batch(&self, requests: &[CompletedRequest]) -> usize {
    let mut tally = Tally::default();
    for request in requests {
      let figures = ModelStats {
        request_count: 1,
        input_tokens: request.input_tokens,
        output_tokens: request.output_tokens,
        cost_micros: request.cost_micros,
      };
      tally.add(request.model, request.provider, request.agent, &figures);
    }
    self.live_stats().add_tally(&tally);
    let timestamp_ms = current_time_ms();
    self.buffer_all(requests.iter().map(|request| request.into_event_at(timestamp_ms)))
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
    let payload = Payload::BudgetThresholdReached { threshold_percent, current_spend_micros, budget_micros };
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
