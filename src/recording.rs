//! Recording completed requests: from the crate's Rust API, and from the rows the facade stages
//! (`layout::staging::row`).

use std::cell::RefCell;

use rustc_hash::FxHashMap;

use crate::event::{current_time_ms, Event, EventId, OverflowNames, Payload, StoredEvent, Timing};
use crate::layout::staging::row;
use crate::pricing::PricingManager;
use crate::provider::{infer_provider, Provider};
use crate::stats::{Exhausted, LatencyCounts, ModelStats, Tally};
use crate::store::EventStore;
use crate::symbol::{HandedOut, Names, Symbol, SymbolTable};
use crate::usage::Usage;

/// A completed request whose names are already interned in its store and whose cost is known.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompletedRequest {
  pub model: Symbol,
  pub provider: Provider,
  pub agent: Option<Symbol>,
  pub provider_id: Option<Symbol>,
  pub usage: Usage,
  pub cost_micros: u64,
  pub timing: Timing,
  /// Whether the model resolved to a price.
  pub priced: bool,
}

impl CompletedRequest {
  fn figures(&self) -> ModelStats {
    ModelStats::completed(&self.usage, self.cost_micros, self.priced)
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
        usage: self.usage,
        cost_micros: self.cost_micros,
        timing: self.timing,
      },
      overflow: None,
    }
  }
}

/// The ids each of a store's tables had handed out, read once per batch of staged rows.
#[derive(Clone, Copy)]
struct HandedOutIds {
  models: HandedOut,
  agents: HandedOut,
  provider_ids: HandedOut,
}

impl HandedOutIds {
  fn of(names: &Names) -> Self {
    HandedOutIds {
      models: names.models.handed_out(),
      agents: names.agents.handed_out(),
      provider_ids: names.provider_ids.handed_out(),
    }
  }
}

/// Who and what a staged row names, or `None` if it names a symbol its store never handed out or
/// a provider that does not exist.
#[derive(Clone, Copy)]
struct StagedKeys {
  model: Symbol,
  provider: Provider,
  agent: Option<Symbol>,
  provider_id: Option<Symbol>,
}

#[inline(always)]
fn staged_keys(ids: HandedOutIds, fields: &[f64]) -> Option<StagedKeys> {
  // `as` saturates and truncates: the facade writes ids it got from `intern`.
  let id = |field: usize| fields[field] as u32;
  Some(StagedKeys {
    model: ids.models.symbol(id(row::MODEL))?,
    provider: *Provider::ALL.get(fields[row::PROVIDER] as usize)?,
    agent: ids.agents.optional_symbol(id(row::AGENT))?,
    provider_id: ids.provider_ids.optional_symbol(id(row::PROVIDER_ID))?,
  })
}

/// The fields of a row that a tally sums.
#[inline(always)]
fn summed(fields: &[f64]) -> &[f64; row::SUMMED] {
  fields[row::SUMMED_AT..row::SUMMED_AT + row::SUMMED]
    .try_into()
    .expect("a whole row")
}

/// The timing of a staged row; `None` for each duration it has not (-1).
fn staged_timing(fields: &[f64]) -> Timing {
  let duration =
    |field: usize| (fields[field] >= 0.0).then(|| (fields[field] * 1000.0).round() as u64);
  Timing {
    duration_us: duration(row::DURATION_MS),
    time_to_first_token_us: duration(row::TIME_TO_FIRST_TOKEN_MS),
  }
}

/// The request of a staged row whose keys were checked.
fn staged_request(keys: StagedKeys, fields: &[f64]) -> CompletedRequest {
  // `as` truncates: the facade writes counts it checked.
  let count = |field: usize| fields[field] as u64;
  CompletedRequest {
    model: keys.model,
    provider: keys.provider,
    agent: keys.agent,
    provider_id: keys.provider_id,
    usage: Usage {
      input_tokens: count(row::INPUT_TOKENS),
      output_tokens: count(row::OUTPUT_TOKENS),
      cache_read_tokens: count(row::CACHE_READ_TOKENS),
      cache_write_tokens: count(row::CACHE_WRITE_TOKENS),
      cache_write_1h_tokens: count(row::CACHE_WRITE_1H_TOKENS),
      reasoning_tokens: count(row::REASONING_TOKENS),
    },
    cost_micros: count(row::COST_MICROS),
    timing: staged_timing(fields),
    priced: fields[row::UNPRICED] == 0.0,
  }
}

/// The symbol of `name` in `table`, or `(other)` with the name kept in `overflow` when the table
/// is full.
pub fn symbol_in(table: &SymbolTable, name: &str, overflow: &mut Option<Box<str>>) -> Symbol {
  table.intern(name).unwrap_or_else(|| {
    *overflow = Some(Box::from(name));
    Symbol::OTHER
  })
}

/// A batch's timings per model and provider, which reach their histograms once per batch: adding
/// each request's to the shared histograms took two atomic additions per histogram and a lookup of
/// its model, more than the rest of recording it.
type Timed = FxHashMap<(Symbol, Provider), LatencyCounts>;

/// This thread's tally and timings, reused by every batch so that summing one allocates nothing
/// once they have grown to fit.
fn with_tally<R>(sum: impl FnOnce(&mut Tally, &mut Timed) -> R) -> R {
  thread_local! {
    static TALLY: RefCell<(Box<Tally>, Timed)> = RefCell::new((Box::default(), Timed::default()));
  }
  TALLY.with(|held| {
    let (tally, timed) = &mut *held.borrow_mut();
    sum(tally, timed)
  })
}

impl EventStore {
  /// Records a completed request, inferring the provider from the model name and pricing its
  /// input and output. Refused, recording nothing, if a total would pass 2^53 - 1.
  pub fn record_llm_completed(
    &self,
    pricing: &PricingManager,
    model: &str,
    input_tokens: u64,
    output_tokens: u64,
    agent_id: Option<&str>,
    provider_id: Option<&str>,
  ) -> Result<bool, Exhausted> {
    let price = pricing.get(model);
    let cost_micros = match &price {
      Some(price) => price
        .usage_cost_micros(&Usage::plain(input_tokens, output_tokens))
        .map_err(|_| Exhausted::CostMicros)?,
      None => 0,
    };
    let names = self.names();
    let mut overflow = OverflowNames::default();
    let model_symbol = symbol_in(&names.models, model, &mut overflow.model);
    let agent = agent_id.map(|agent| symbol_in(&names.agents, agent, &mut overflow.agent));
    let provider_id =
      provider_id.map(|id| symbol_in(&names.provider_ids, id, &mut overflow.provider_id));
    let mut event = Event::new(
      agent,
      Payload::LlmRequestCompleted {
        model: model_symbol,
        provider: infer_provider(model),
        provider_id,
        usage: Usage::plain(input_tokens, output_tokens),
        cost_micros,
        timing: Timing::default(),
      },
    );
    event.overflow = (overflow.count() > 0).then(|| Box::new(overflow));
    self.record_priced(event, price.is_some_and(|price| price.has_valid_pricing()))
  }

  /// Records a request whose names were interned in this store.
  pub fn record_completed(&self, request: CompletedRequest) -> Result<bool, Exhausted> {
    let usage = &request.usage;
    self
      .live_stats()
      .reserve(usage.input_tokens, usage.output_tokens, request.cost_micros)?;
    self.drain_staged();
    let stats = self.live_stats();
    stats.add_completed(
      request.model,
      request.provider,
      request.agent,
      &request.figures(),
    );
    stats.record_timing(request.model, request.provider, &request.timing);
    let buffered =
      self.buffer_counted(request.into_event_with(EventId::new_v4(), current_time_ms()));
    if let Some(agent) = request.agent {
      self.check_budget(agent, stats.agent_cost_micros(agent));
    }
    Ok(buffered)
  }

  /// Records staged rows (`layout::staging::row`), in order. Their figures were reserved when the
  /// facade staged them. A row that names an unknown symbol or provider can only come from a
  /// defect in the facade: it is counted as dropped.
  pub fn record_staged(&self, staged: &[f64]) {
    let rows = staged.chunks_exact(row::STRIDE);
    let wanted = rows.len();
    // Room first, so one pass over the rows both counts every request and builds the events that
    // fit; the figures still reach the aggregates before the events reach the buffer.
    let reserved = self.reserve_slots(wanted);
    let mut batch = Vec::with_capacity(reserved);
    let mut ids = fastrand::Rng::new();
    let now = if reserved > 0 { current_time_ms() } else { 0 };
    let mut crossings = Vec::new();
    // After the rows were published: every id they hold was handed out by then.
    let handed_out = HandedOutIds::of(self.names());
    with_tally(|tally, timed| {
      for fields in rows {
        let Some(keys) = staged_keys(handed_out, fields) else {
          continue;
        };
        tally.add(keys.model, keys.provider, keys.agent, summed(fields));
        if fields[row::DURATION_MS] >= 0.0 || fields[row::TIME_TO_FIRST_TOKEN_MS] >= 0.0 {
          let timing = staged_timing(fields);
          timed
            .entry((keys.model, keys.provider))
            .or_default()
            .record(&timing);
        }
        if batch.len() < reserved {
          let stamped = fields[row::TIMESTAMP_MS];
          let timestamp_ms = if stamped > 0.0 { stamped as u64 } else { now };
          batch.push(StoredEvent::new(
            staged_request(keys, fields)
              .into_event_with(EventId::new_v4_from(&mut ids), timestamp_ms),
          ));
        }
      }
      let stats = self.live_stats();
      stats.add_tally(tally, |agent, spent| {
        crossings.extend(self.budget_crossing(agent, spent));
      });
      for ((model, provider), counts) in timed.drain() {
        stats.add_timings(model, provider, &counts);
      }
    });
    let unused = reserved - batch.len();
    self.release_slots(unused);
    self.push_reserved(batch, wanted);
    // After the batch: a threshold is reached by the requests before it.
    for (agent, crossing) in crossings {
      self.record_crossing(agent, crossing);
    }
  }

  /// Records the router's totals at this moment.
  pub fn record_router_stopped(&self) -> bool {
    self.drain_staged();
    let stats = self.live_stats();
    let payload = Payload::RouterStopped {
      total_requests: stats.total_requests(),
      total_cost_micros: stats.total_cost_micros(),
    };
    self.buffer_counted(Event::new(None, payload))
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
    cost: u64,
    timestamp_ms: u64,
  ) -> [f64; row::STRIDE] {
    let mut fields = [0.0; row::STRIDE];
    fields[row::MODEL] = model.id() as f64;
    fields[row::PROVIDER] = provider.index() as f64;
    fields[row::AGENT] = agent.map_or(0.0, |agent| agent.id() as f64);
    fields[row::INPUT_TOKENS] = input as f64;
    fields[row::OUTPUT_TOKENS] = 10.0;
    fields[row::CACHE_READ_TOKENS] = (input / 2) as f64;
    fields[row::REASONING_TOKENS] = 4.0;
    fields[row::COST_MICROS] = cost as f64;
    fields[row::TIMESTAMP_MS] = timestamp_ms as f64;
    fields[row::DURATION_MS] = 12.5;
    fields[row::TIME_TO_FIRST_TOKEN_MS] = -1.0;
    fields
  }

  #[test]
  fn staged_rows_are_all_counted_and_buffered_while_there_is_room() {
    let store = EventStore::new(2);
    let model = store.names().models.intern("staged-model").unwrap();
    let agent = store.names().agents.intern("staged-agent").unwrap();
    let rows: Vec<f64> = (1..=3)
      .flat_map(|input| {
        row(
          model,
          Provider::OpenAI,
          Some(agent),
          input * 1_000,
          input * 7,
          1_767_225_600_000 + input,
        )
      })
      .collect();
    store.record_staged(&rows);
    assert_eq!((store.len(), store.dropped_count()), (2, 1));
    let stats = store.stats();
    let figures = ModelStats {
      request_count: 3,
      input_tokens: 6_000,
      output_tokens: 30,
      cost_micros: 42,
      cache_read_tokens: 3_000,
      reasoning_tokens: 12,
      ..ModelStats::ZERO
    };
    assert_eq!(stats.totals.request_count, 3);
    assert_eq!(stats.model("staged-model"), Some(figures));
    assert_eq!(stats.agent("staged-agent"), Some(figures));
    assert_eq!(stats.provider(Provider::OpenAI), Some(figures));
    let events = store.snapshot_events();
    let timestamps: Vec<u64> = events.iter().map(|event| event.timestamp_ms).collect();
    assert_eq!(timestamps, [1_767_225_600_001, 1_767_225_600_002]);
    assert_ne!(events[0].id, events[1].id);
    let Payload::LlmRequestCompleted { timing, usage, .. } = events[0].payload else {
      panic!("a completed request")
    };
    assert_eq!(
      timing,
      Timing {
        duration_us: Some(12_500),
        time_to_first_token_us: None
      }
    );
    assert_eq!(usage.cache_read_tokens, 500);
  }

  #[test]
  fn a_zero_timestamp_means_now() {
    let store = EventStore::new(1);
    let before = current_time_ms();
    store.record_staged(&row(
      store.names().models.intern("staged-model").unwrap(),
      Provider::Unknown,
      None,
      1,
      0,
      0,
    ));
    let stamped = store.snapshot_events()[0].timestamp_ms;
    assert!(stamped >= before && stamped <= current_time_ms());
  }

  #[test]
  fn a_bad_row_is_counted_as_dropped_and_the_others_are_recorded() {
    let store = EventStore::new(10);
    let model = store.names().models.intern("staged-model").unwrap();
    let good = row(model, Provider::Anthropic, None, 5, 1, 1);
    let mut unknown_symbol = good;
    unknown_symbol[row::AGENT] = f64::from(u32::MAX);
    let mut unknown_provider = good;
    unknown_provider[row::PROVIDER] = 3.0;
    let mut no_model = good;
    no_model[row::MODEL] = 0.0;
    // The next id the table would hand out.
    let mut next_model = good;
    next_model[row::MODEL] = f64::from(model.id() + 1);
    let rows: Vec<f64> = [
      good,
      unknown_symbol,
      unknown_provider,
      no_model,
      next_model,
      good,
    ]
    .concat();
    store.record_staged(&rows);
    assert_eq!(
      (
        store.len(),
        store.dropped_count(),
        store.stats().totals.request_count
      ),
      (2, 4, 2)
    );
    // The room reserved for the bad rows was given back.
    let rows: Vec<f64> = std::iter::repeat_n(good, 8).flatten().collect();
    store.record_staged(&rows);
    assert_eq!((store.len(), store.dropped_count()), (10, 4));
  }

  #[test]
  fn a_model_staged_under_several_providers_is_counted_under_each_and_keeps_its_first() {
    let store = EventStore::new(1);
    let model = store.names().models.intern("staged-model").unwrap();
    let providers = [
      Provider::Anthropic,
      Provider::OpenAI,
      Provider::OpenAI,
      Provider::Anthropic,
      Provider::Unknown,
    ];
    let rows: Vec<f64> = providers
      .iter()
      .flat_map(|&provider| row(model, provider, None, 10, 3, 1))
      .collect();
    store.record_staged(&rows);
    let stats = store.stats();
    let requests = |provider| {
      stats
        .provider(provider)
        .map(|figures| figures.request_count)
    };
    assert_eq!(
      [Provider::OpenAI, Provider::Anthropic, Provider::Unknown].map(requests),
      [Some(2), Some(2), Some(1)]
    );
    assert_eq!(
      stats
        .model("staged-model")
        .map(|figures| (figures.request_count, figures.cost_micros)),
      Some((5, 15))
    );
    assert_eq!(stats.totals.request_count, 5);
    assert_eq!(stats.model_details[0].provider, Provider::Anthropic);
  }

  #[test]
  fn a_batch_sums_figures_up_to_the_largest_exact_total_exactly() {
    let store = EventStore::new(1);
    let model = store.names().models.intern("staged-model").unwrap();
    let agent = store.names().agents.intern("staged-agent").unwrap();
    // Odd figures near 2^53, where a sum past 2^53 - 1 would round: every partial sum is exact.
    let largest = (1u64 << 53) - 1;
    let figures = [largest - 6, 1, 2, 3];
    let rows: Vec<f64> = figures
      .iter()
      .flat_map(|&figure| {
        let mut fields = row(model, Provider::OpenAI, Some(agent), figure, figure, 1);
        fields[row::OUTPUT_TOKENS] = figure as f64;
        fields[row::CACHE_READ_TOKENS] = figure as f64;
        fields[row::REASONING_TOKENS] = figure as f64;
        fields
      })
      .collect();
    store.record_staged(&rows);
    let stats = store.stats();
    let summed = ModelStats {
      request_count: 4,
      input_tokens: largest,
      output_tokens: largest,
      cost_micros: largest,
      cache_read_tokens: largest,
      reasoning_tokens: largest,
      ..ModelStats::ZERO
    };
    assert_eq!(stats.totals, summed);
    assert_eq!(stats.model("staged-model"), Some(summed));
    assert_eq!(stats.agent("staged-agent"), Some(summed));
    assert_eq!(stats.provider(Provider::OpenAI), Some(summed));
  }

  #[test]
  fn unpriced_requests_are_counted_per_model() {
    let store = EventStore::new(4);
    let mut unpriced = row(
      store.names().models.intern("unpriced-model").unwrap(),
      Provider::Unknown,
      None,
      5,
      0,
      1,
    );
    unpriced[row::UNPRICED] = 1.0;
    store.record_staged(&[unpriced, unpriced].concat());
    let stats = store.stats();
    assert_eq!(stats.totals.unpriced_requests, 2);
    assert_eq!(
      stats
        .model("unpriced-model")
        .map(|figures| figures.unpriced_requests),
      Some(2)
    );
  }

  #[test]
  fn keys_that_share_a_tally_slot_keep_their_own_figures() {
    // More agents than the tally has slots, so some evict others within one batch.
    let store = EventStore::new(1);
    let model = store.names().models.intern("staged-model").unwrap();
    let agents: Vec<Symbol> = (0..600)
      .map(|index| {
        store
          .names()
          .agents
          .intern(&format!("tally-agent-{index}"))
          .unwrap()
      })
      .collect();
    let rows: Vec<f64> = (0..3)
      .flat_map(|_| {
        agents
          .iter()
          .flat_map(|&agent| row(model, Provider::OpenAI, Some(agent), 7, 1, 1))
      })
      .collect();
    store.record_staged(&rows);
    let stats = store.stats();
    for agent in &agents {
      let figures = stats
        .agent(&store.names().agents.name(*agent))
        .expect("every agent is counted");
      assert_eq!(
        (figures.request_count, figures.input_tokens),
        (3, 21),
        "{}",
        store.names().agents.name(*agent)
      );
    }
    assert_eq!(stats.totals.request_count, 1_800);
  }

  #[test]
  fn a_record_past_the_largest_exact_total_is_refused_and_changes_nothing() {
    let store = EventStore::new(4);
    let pricing = PricingManager::with_default_table();
    let largest = (1u64 << 53) - 1;
    assert_eq!(
      store.record_llm_completed(&pricing, "unpriced-model", largest, 0, None, None),
      Ok(true)
    );
    assert_eq!(
      store.record_llm_completed(&pricing, "unpriced-model", 1, 0, None, None),
      Err(Exhausted::InputTokens)
    );
    let stats = store.stats();
    assert_eq!(
      (
        stats.totals.request_count,
        stats.totals.input_tokens,
        store.len()
      ),
      (1, largest, 1)
    );
    assert_eq!(
      store.record_llm_completed(&pricing, "unpriced-model", 0, 5, None, None),
      Ok(true)
    );
  }

  #[test]
  fn readers_on_many_threads_drain_writers_staging_areas_each_row_once() {
    const WRITERS: usize = 3;
    const ROWS_EACH: u64 = 20_000;
    let store = std::sync::Arc::new(EventStore::new(1_000));
    let model = store.names().models.intern("staged-model").unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
      .map(|reader| {
        let (store, done) = (store.clone(), done.clone());
        std::thread::spawn(move || {
          let mut drained = 0;
          while !done.load(std::sync::atomic::Ordering::Acquire) {
            match reader {
              0 => drained += store.drain_all().len() as u64,
              1 => drop(store.stats()),
              _ => drop(store.len()),
            }
          }
          drained
        })
      })
      .collect();
    let writers: Vec<_> = (0..WRITERS)
      .map(|writer| {
        let store = store.clone();
        std::thread::spawn(move || {
          let area = store.staging_area(64);
          for input in 1..=ROWS_EACH {
            let fields = row(model, Provider::OpenAI, None, input, writer as u64, 1);
            while !area.publish(&fields) {
              store.drain_staged();
            }
          }
          area.abandon();
        })
      })
      .collect();
    writers
      .into_iter()
      .for_each(|writer| writer.join().unwrap());
    done.store(true, std::sync::atomic::Ordering::Release);
    let drained: u64 = readers
      .into_iter()
      .map(|reader| reader.join().unwrap())
      .sum();
    let stats = store.stats();
    let total = WRITERS as u64 * ROWS_EACH;
    assert_eq!(stats.totals.request_count, total);
    assert_eq!(
      stats.totals.input_tokens,
      WRITERS as u64 * ROWS_EACH * (ROWS_EACH + 1) / 2
    );
    assert_eq!(drained + store.len() as u64 + store.dropped_count(), total);
  }
}
