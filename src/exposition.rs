//! The Prometheus exposition of one or more stores: their snapshots as the renderer's rows, a
//! label set's figures summed over the stores, in a stable order (provider, then name).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::prometheus::{render, AgentRow, Exposition, Figures, ModelRow, TokenCounts};
use crate::stats::{LatencySnapshot, ModelStats};
use crate::store::EventStore;

fn figures_of(stats: &ModelStats) -> Figures {
  Figures {
    completed: stats.request_count,
    failed: stats.failed_requests,
    tokens: TokenCounts {
      input: stats.input_tokens,
      output: stats.output_tokens,
      cache_read: stats.cache_read_tokens,
      cache_write: stats.cache_write_tokens + stats.cache_write_1h_tokens,
      reasoning: stats.reasoning_tokens,
    },
    cost_micros: stats.cost_micros,
  }
}

/// The text `store.prometheus()` returns, for `stores` together.
pub fn prometheus(stores: &[&EventStore], agent_label: bool) -> String {
  let mut models: BTreeMap<(&str, Arc<str>), (ModelStats, LatencySnapshot)> = BTreeMap::new();
  let mut agents: BTreeMap<Arc<str>, ModelStats> = BTreeMap::new();
  let (mut buffered_events, mut dropped_events) = (0, 0);
  for store in stores {
    let stats = store.stats();
    for ((model, figures), detail) in stats.by_model.iter().zip(&stats.model_details) {
      let (sum, latency) = models
        .entry((detail.provider.as_str(), stats.names.models.name(*model)))
        .or_default();
      sum.add(figures);
      latency.add(&detail.latency);
    }
    if agent_label {
      for (agent, figures) in &stats.by_agent {
        agents
          .entry(stats.names.agents.name(*agent))
          .or_default()
          .add(figures);
      }
    }
    buffered_events += store.len() as u64;
    dropped_events += store.dropped_count();
  }
  let model_rows: Vec<ModelRow<'_>> = models
    .iter()
    .map(|((provider, model), (figures, latency))| ModelRow {
      provider,
      model,
      figures: figures_of(figures),
      duration: latency.duration,
      time_to_first_token: latency.time_to_first_token,
    })
    .collect();
  let agent_rows: Vec<AgentRow<'_>> = agents
    .iter()
    .map(|(agent, figures)| AgentRow {
      agent,
      figures: figures_of(figures),
    })
    .collect();
  render(&Exposition {
    models: &model_rows,
    agents: agent_label.then_some(&agent_rows[..]),
    buffered_events,
    dropped_events,
  })
}
