//! Every layout the native core shares with the TypeScript facade, defined here once. The binding
//! exports these numbers (`layout()`), and the facade reads its offsets from there, so a field is
//! named in both languages and placed in one.

/// A staging area: a header of three counters, each on its own cache line, then a ring of rows.
/// The counters are `u32`s that wrap; `head - tail` is the number of rows published and not yet
/// drained.
pub mod staging {
  /// `u32` index of the rows published by the writer.
  pub const HEAD: usize = 0;
  /// `u32` index of the rows drained by readers.
  pub const TAIL: usize = 16;
  /// `u32` index of a flag a drain sets when it found the buffer full (1) or with room (0).
  pub const BUFFER_FULL: usize = 32;
  /// `f64` index of the first row.
  pub const ROWS_AT: usize = 24;
  /// Rows in a thread's first ring. A writer that finds its ring full takes one twice as large,
  /// up to `MAX_ROWS`, and after that drains its ring itself: a store a thread records into
  /// rarely costs it little memory, and a busy one few native calls. A drain adds to each key of
  /// its rows once, so 4096 rows (480 KB) take a fourth of the drop path's per-key cost that
  /// 1024 did (~2.5 ns a record).
  pub const FIRST_ROWS: usize = 16;
  pub const MAX_ROWS: usize = 4096;

  /// Bytes of an area of `rows` rows.
  pub const fn bytes(rows: usize) -> usize {
    (ROWS_AT + rows * row::STRIDE) * 8
  }

  /// The `f64` fields of one staged completed request. Names are symbol ids (0: absent), the
  /// provider is its index, counts are non-negative safe integers, the cost is in micros, a
  /// timestamp of 0 means "when drained", and an absent duration is -1.
  pub mod row {
    pub const MODEL: usize = 0;
    pub const PROVIDER: usize = 1;
    pub const AGENT: usize = 2;
    pub const PROVIDER_ID: usize = 3;
    pub const INPUT_TOKENS: usize = 4;
    pub const OUTPUT_TOKENS: usize = 5;
    pub const CACHE_READ_TOKENS: usize = 6;
    pub const CACHE_WRITE_TOKENS: usize = 7;
    pub const CACHE_WRITE_1H_TOKENS: usize = 8;
    pub const REASONING_TOKENS: usize = 9;
    pub const COST_MICROS: usize = 10;
    /// 1 when the model resolved to no price, else 0.
    pub const UNPRICED: usize = 11;
    pub const TIMESTAMP_MS: usize = 12;
    pub const DURATION_MS: usize = 13;
    pub const TIME_TO_FIRST_TOKEN_MS: usize = 14;
    pub const STRIDE: usize = 15;

    /// The fields a batch of rows sums into its keys' figures, side by side (`stats::Tally`):
    /// from the input tokens to the unpriced flag.
    pub const SUMMED_AT: usize = INPUT_TOKENS;
    pub const SUMMED: usize = UNPRICED + 1 - SUMMED_AT;
  }
}

/// An event as the binding writes it for the facade: `STRIDE` numbers, its id apart.
pub mod event_row {
  pub const KIND: usize = 0;
  pub const TIMESTAMP_MS: usize = 1;
  pub const AGENT: usize = 2;
  pub const MODEL: usize = 3;
  pub const PROVIDER: usize = 4;
  pub const PROVIDER_ID: usize = 5;
  // Completed requests.
  pub const INPUT_TOKENS: usize = 6;
  pub const OUTPUT_TOKENS: usize = 7;
  pub const COST_MICROS: usize = 8;
  pub const CACHE_READ_TOKENS: usize = 9;
  pub const CACHE_WRITE_TOKENS: usize = 10;
  pub const CACHE_WRITE_1H_TOKENS: usize = 11;
  pub const REASONING_TOKENS: usize = 12;
  /// -1 when absent.
  pub const DURATION_MS: usize = 13;
  pub const TIME_TO_FIRST_TOKEN_MS: usize = 14;
  // Failed requests: an index into the read's error arrays, -1 for none.
  pub const FAILURE: usize = 6;
  // Budget thresholds.
  pub const THRESHOLD_PERCENT: usize = 6;
  pub const CURRENT_SPEND_MICROS: usize = 7;
  pub const BUDGET_MICROS: usize = 8;
  // Router lifecycle.
  pub const PORT: usize = 6;
  pub const TOTAL_REQUESTS: usize = 6;
  pub const TOTAL_COST_MICROS: usize = 7;
  /// The event's place in the buffer: increasing, never reused.
  pub const SEQ: usize = 15;
  pub const STRIDE: usize = 16;
}

/// A store's figures as the binding writes them for `stats()`, in `i32` slots: the facade reads
/// them through an `Int32Array`, whose elements V8 takes as small integers, where reading a
/// `Float64Array` converts every number (a third of the snapshot's time). The head, then the
/// model records, the provider records and the agent rows, then the symbol ids of the models
/// with unpriced requests, sorted by name.
///
/// A figure (a count, tokens, micros) below 2^31 is its slot's value. A larger one is an `f64`
/// at the end of the buffer (seen as `f64`s, one per two slots), and its slot holds `-1 - i`,
/// `i` being that `f64`'s index. Histograms are `f64`s, at even slots.
pub mod stats {
  // Figures.
  pub const REQUESTS: usize = 0;
  pub const FAILED: usize = 1;
  pub const INPUT_TOKENS: usize = 2;
  pub const OUTPUT_TOKENS: usize = 3;
  pub const COST_MICROS: usize = 4;
  pub const CACHE_READ_TOKENS: usize = 5;
  pub const CACHE_WRITE_TOKENS: usize = 6;
  pub const CACHE_WRITE_1H_TOKENS: usize = 7;
  pub const REASONING_TOKENS: usize = 8;
  pub const UNPRICED_REQUESTS: usize = 9;
  pub const OVERFLOWED_KEYS: usize = 10;
  // Counts of what follows.
  pub const MODEL_ROWS: usize = 11;
  pub const PROVIDER_ROWS: usize = 12;
  pub const AGENT_ROWS: usize = 13;
  pub const UNPRICED_MODELS: usize = 14;
  /// How many error codes have failures (`failuresByCode` reads them).
  pub const FAILURE_CODES: usize = 15;
  pub const HEAD: usize = 16;

  /// One key's figures (an agent's row; the start of a model's or provider's record), keyed by
  /// symbol id or provider index. `agentStats` writes one too, as `f64`s at these offsets.
  pub mod row {
    pub const KEY: usize = 0;
    pub const REQUESTS: usize = 1;
    pub const FAILED: usize = 2;
    pub const INPUT_TOKENS: usize = 3;
    pub const OUTPUT_TOKENS: usize = 4;
    pub const COST_MICROS: usize = 5;
    pub const CACHE_READ_TOKENS: usize = 6;
    pub const CACHE_WRITE_TOKENS: usize = 7;
    pub const CACHE_WRITE_1H_TOKENS: usize = 8;
    pub const REASONING_TOKENS: usize = 9;
    pub const STRIDE: usize = 10;
  }

  /// A model's or provider's record: its row, these slots, then the histograms they announce
  /// (the duration one first), so a key without latency costs the reader no histogram.
  pub mod record {
    /// A model's provider index (0 in a provider's record).
    pub const PROVIDER: usize = super::row::STRIDE;
    /// 1 when a duration histogram follows, else 0.
    pub const DURATION: usize = PROVIDER + 1;
    /// 1 when a time-to-first-token histogram follows, else 0.
    pub const TIME_TO_FIRST_TOKEN: usize = PROVIDER + 2;
    /// Even, so that the histograms after the record start at an `f64`.
    pub const STRIDE: usize = PROVIDER + 4;
  }

  /// One histogram (`histogram::HistogramSnapshot`) in `f64`s: `SLOTS` slots.
  pub mod latency {
    pub const COUNT: usize = 0;
    pub const SUM_MS: usize = 1;
    /// Cumulative, one per boundary.
    pub const BUCKETS: usize = 2;
    pub const P50_MS: usize = 16;
    pub const P90_MS: usize = 17;
    pub const P99_MS: usize = 18;
    pub const STRIDE: usize = 19;
    pub const SLOTS: usize = STRIDE * 2;
  }
}

/// Where an agent stands against its budget, as the binding writes it: the figures, then the
/// crossed thresholds.
pub mod budget {
  pub const LIMIT_MICROS: usize = 0;
  pub const SPENT_MICROS: usize = 1;
  pub const REMAINING_MICROS: usize = 2;
  pub const USED_PERCENT: usize = 3;
  pub const CROSSED: usize = 4;
  pub const CROSSED_AT: usize = 5;
}

/// A thread's point reads (`point_read`): the facade writes the store's handle and the agent's
/// id, the binding writes the figures after them. A `stats()` read writes its figures, as `stats`
/// lays them out, over the whole area seen as `STATS_SLOTS` `i32` slots, when they fit.
pub mod point_read {
  pub const STORE: usize = 0;
  pub const AGENT: usize = 1;
  /// A `stats::row` (its key left 0) or a `budget` status.
  pub const FIGURES: usize = 2;
  /// A budget's thresholds are distinct percentages from 1 to 255.
  pub const MAX_THRESHOLDS: usize = 255;
  /// Room for the figures of a few hundred keys: 16 KiB.
  pub const LENGTH: usize = 2048;
  pub const STATS_SLOTS: usize = 2 * LENGTH;
  const _: () = assert!(LENGTH >= FIGURES + super::stats::row::STRIDE);
  const _: () = assert!(LENGTH >= FIGURES + super::budget::CROSSED_AT + MAX_THRESHOLDS);
}

/// Event types by kind, as rows and inputs number them.
pub const EVENT_KINDS: [&str; 5] = [
  "llm_request_completed",
  "llm_request_failed",
  "budget_threshold_reached",
  "router_started",
  "router_stopped",
];
