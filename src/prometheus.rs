//! The Prometheus text exposition format (0.0.4) of a store's figures, written in one pass into
//! one string. The input is plain rows of names and numbers, so this module knows nothing of how
//! a store keeps them.
//!
//! Money and time are integers (microdollars, microseconds) written as exact decimals, never
//! through a float, so `llm_cost_usd_total` is exactly `costMicros / 1e6`.

use crate::histogram::{HistogramSnapshot, BOUNDARIES_SECONDS};

/// Token counts of one series, as `llm_tokens_total` splits them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenCounts {
  /// Every input token, cache reads and writes included.
  pub input: u64,
  /// Every output token, reasoning included.
  pub output: u64,
  pub cache_read: u64,
  /// Writes of any time to live.
  pub cache_write: u64,
  pub reasoning: u64,
}

/// Request, token and cost figures of one label set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Figures {
  pub completed: u64,
  pub failed: u64,
  pub tokens: TokenCounts,
  pub cost_micros: u64,
}

/// The figures of one provider and model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelRow<'a> {
  pub provider: &'a str,
  pub model: &'a str,
  pub figures: Figures,
  pub duration: HistogramSnapshot,
  pub time_to_first_token: HistogramSnapshot,
}

/// The figures of one agent, over every model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentRow<'a> {
  pub agent: &'a str,
  pub figures: Figures,
}

/// Everything one scrape shows.
#[derive(Clone, Debug, Default)]
pub struct Exposition<'a> {
  pub models: &'a [ModelRow<'a>],
  /// Per-agent series, only when asked for: one series per agent id is a cardinality the
  /// scraper must agree to.
  pub agents: Option<&'a [AgentRow<'a>]>,
  pub buffered_events: u64,
  pub dropped_events: u64,
}

const TOKEN_TYPES: [&str; 5] = ["input", "output", "cache_read", "cache_write", "reasoning"];

/// Renders the exposition. Histograms appear for the models that have observations; every other
/// series appears for every row, zero or not, so that rates start from the row's first scrape.
/// Per-agent series go in families of their own (`llm_agent_…`), so that summing a family never
/// counts a request twice.
pub fn render(exposition: &Exposition<'_>) -> String {
  let agents = exposition.agents.unwrap_or_default();
  let (model_labels, agent_labels) = labels_of(exposition);
  let mut out = Writer(String::with_capacity(room_for(
    &model_labels,
    &agent_labels,
  )));
  let models = || model_labels.iter().zip(exposition.models);
  out.figures(
    "llm",
    "",
    models().map(|(labels, row)| (labels, &row.figures)),
  );
  out.histogram(
    "llm_request_duration_seconds",
    "LLM request duration, from request start to last byte.",
    models().map(|(labels, row)| (labels, &row.duration)),
  );
  out.histogram(
    "llm_time_to_first_token_seconds",
    "Time from request start to the first content of a streamed response.",
    models().map(|(labels, row)| (labels, &row.time_to_first_token)),
  );
  if exposition.agents.is_some() {
    let rows = agent_labels.iter().zip(agents);
    out.figures(
      "llm_agent",
      " per agent",
      rows.map(|(labels, row)| (labels, &row.figures)),
    );
  }
  out.family(
    "llm_analytics_buffered_events",
    "gauge",
    "Events in the store's buffer, not yet drained or acknowledged.",
  );
  out.sample(
    "llm_analytics_buffered_events",
    "",
    None,
    exposition.buffered_events,
  );
  out.family(
    "llm_analytics_dropped_events_total",
    "counter",
    "Events the store could not buffer because its buffer was full.",
  );
  out.sample(
    "llm_analytics_dropped_events_total",
    "",
    None,
    exposition.dropped_events,
  );
  out.0
}

/// The label pairs of the models' rows and of the agents' rows.
fn labels_of(exposition: &Exposition<'_>) -> (Labels, Labels) {
  let models = exposition.models.iter();
  let agents = exposition.agents.unwrap_or_default().iter();
  (
    Labels::of(models.map(|row| [("provider", row.provider), ("model", row.model)])),
    Labels::of(agents.map(|row| [("agent", row.agent)])),
  )
}

/// Room for everything a scrape writes, so that its output is allocated once.
fn room_for(models: &Labels, agents: &Labels) -> usize {
  models.estimated_output(HISTOGRAM_LINES) + agents.estimated_output(0)
}

/// Lines of a model's two histograms: 14 buckets, `+Inf`, sum and count each.
const HISTOGRAM_LINES: usize = 2 * 17;

/// Every row's label pairs, escaped once, in one string.
struct Labels {
  text: String,
  ends: Vec<usize>,
}

impl Labels {
  fn of<'a, const N: usize>(
    rows: impl ExactSizeIterator<Item = [(&'a str, &'a str); N]>,
  ) -> Labels {
    let mut labels = Labels {
      text: String::new(),
      ends: Vec::with_capacity(rows.len()),
    };
    for pairs in rows {
      for (at, (name, value)) in pairs.into_iter().enumerate() {
        if at > 0 {
          labels.text.push(',');
        }
        push_label(&mut labels.text, name, value);
      }
      labels.ends.push(labels.text.len());
    }
    labels
  }

  fn iter(&self) -> impl Iterator<Item = &str> + Clone {
    let starts = std::iter::once(0).chain(self.ends.iter().copied());
    starts
      .zip(&self.ends)
      .map(|(start, &end)| &self.text[start..end])
  }

  /// Room for every line a scrape can write for these rows, so the output is allocated once.
  fn estimated_output(&self, extra_lines_per_row: usize) -> usize {
    // Per row: 2 request lines, 5 token lines and 1 cost line, then the extra ones; each line
    // is its name, the row's labels and at most some 50 bytes of extra label and value. Every
    // family's comments fit in the constant.
    const LINE: usize = 100;
    let lines = 8 + extra_lines_per_row;
    (self.text.len() + LINE * self.ends.len()) * lines + 2_048
  }
}

/// `name="value"`, the value escaped as the format requires: backslash, double quote, newline.
fn push_label(out: &mut String, name: &str, value: &str) {
  out.push_str(name);
  out.push_str("=\"");
  let mut plain_from = 0;
  for (at, byte) in value.bytes().enumerate() {
    let escaped = match byte {
      b'\\' => "\\\\",
      b'"' => "\\\"",
      b'\n' => "\\n",
      _ => continue,
    };
    out.push_str(&value[plain_from..at]);
    out.push_str(escaped);
    plain_from = at + 1;
  }
  out.push_str(&value[plain_from..]);
  out.push('"');
}

struct Writer(String);

impl Writer {
  fn family(&mut self, name: &str, kind: &str, help: &str) {
    for part in [
      "# HELP ",
      name,
      " ",
      help,
      "\n# TYPE ",
      name,
      " ",
      kind,
      "\n",
    ] {
      self.0.push_str(part);
    }
  }

  /// The request, token and cost families named `{prefix}_requests_total`, …
  /// `scope` says whose figures they are in the help texts.
  fn figures<'r>(
    &mut self,
    prefix: &str,
    scope: &str,
    rows: impl Iterator<Item = (&'r str, &'r Figures)> + Clone,
  ) {
    let requests = format!("{prefix}_requests_total");
    self.family(
      &requests,
      "counter",
      &format!("LLM requests{scope}, by outcome."),
    );
    for (labels, figures) in rows.clone() {
      self.sample(
        &requests,
        labels,
        Some(("outcome", "completed")),
        figures.completed,
      );
      self.sample(
        &requests,
        labels,
        Some(("outcome", "failed")),
        figures.failed,
      );
    }
    let tokens = format!("{prefix}_tokens_total");
    self.family(
      &tokens,
      "counter",
      &format!(
        "LLM tokens{scope}, by type: input includes cache reads and writes, output includes reasoning."
      ),
    );
    for (labels, figures) in rows.clone() {
      let counts = &figures.tokens;
      let counts = [
        counts.input,
        counts.output,
        counts.cache_read,
        counts.cache_write,
        counts.reasoning,
      ];
      for (kind, count) in TOKEN_TYPES.iter().zip(counts) {
        self.sample(&tokens, labels, Some(("type", kind)), count);
      }
    }
    let cost = format!("{prefix}_cost_usd_total");
    self.family(&cost, "counter", &format!("LLM cost{scope} in US dollars."));
    for (labels, figures) in rows {
      self.decimal_sample(&cost, labels, figures.cost_micros);
    }
  }

  /// `name{labels,extra} ` with the braces left out when there are no labels at all.
  fn series(&mut self, name: &str, labels: &str, extra: Option<(&str, &str)>) {
    let out = &mut self.0;
    out.push_str(name);
    if labels.is_empty() && extra.is_none() {
      out.push(' ');
      return;
    }
    out.push('{');
    out.push_str(labels);
    if let Some((label, value)) = extra {
      if !labels.is_empty() {
        out.push(',');
      }
      push_label(out, label, value);
    }
    out.push_str("} ");
  }

  fn sample(&mut self, name: &str, labels: &str, extra: Option<(&str, &str)>, value: u64) {
    self.series(name, labels, extra);
    self.integer(value);
    self.0.push('\n');
  }

  /// A sample of `millionths / 1e6`: dollars from micros, seconds from microseconds.
  fn decimal_sample(&mut self, name: &str, labels: &str, millionths: u64) {
    self.series(name, labels, None);
    self.decimal(millionths);
    self.0.push('\n');
  }

  fn histogram<'r>(
    &mut self,
    name: &str,
    help: &str,
    rows: impl Iterator<Item = (&'r str, &'r HistogramSnapshot)>,
  ) {
    self.family(name, "histogram", help);
    let bucket = format!("{name}_bucket");
    let sum = format!("{name}_sum");
    let count = format!("{name}_count");
    for (labels, histogram) in rows.filter(|(_, histogram)| histogram.count > 0) {
      for (le, &below) in BOUNDARIES_SECONDS.iter().zip(&histogram.buckets) {
        self.sample(&bucket, labels, Some(("le", le)), below);
      }
      self.sample(&bucket, labels, Some(("le", "+Inf")), histogram.count);
      self.decimal_sample(&sum, labels, histogram.sum_micros);
      self.sample(&count, labels, None, histogram.count);
    }
  }

  fn integer(&mut self, value: u64) {
    self.0.push_str(itoa::Buffer::new().format(value));
  }

  /// `millionths / 1e6` exactly, without trailing zeros: 1500000 -> `1.5`, 12 -> `0.000012`.
  fn decimal(&mut self, millionths: u64) {
    self.integer(millionths / 1_000_000);
    let fraction = millionths % 1_000_000;
    if fraction == 0 {
      return;
    }
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(fraction);
    self.0.push('.');
    for _ in digits.len()..6 {
      self.0.push('0');
    }
    self.0.push_str(digits.trim_end_matches('0'));
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::histogram::histogram_of;

  #[test]
  fn renders_a_small_store_exactly() {
    let rows = [
      ModelRow {
        provider: "openai",
        model: "gpt-4o",
        figures: Figures {
          completed: 3,
          failed: 1,
          tokens: TokenCounts {
            input: 1_200,
            output: 300,
            cache_read: 200,
            cache_write: 0,
            reasoning: 50,
          },
          cost_micros: 1_500_012,
        },
        duration: histogram_of(&[15.0, 300.0, 100_000.0]),
        time_to_first_token: HistogramSnapshot::default(),
      },
      ModelRow {
        provider: "unknown",
        model: "llama",
        figures: Figures {
          failed: 2,
          ..Figures::default()
        },
        ..ModelRow::default()
      },
    ];
    let text = render(&Exposition {
      models: &rows,
      agents: None,
      buffered_events: 6,
      dropped_events: 0,
    });
    let duration_buckets: String = BOUNDARIES_SECONDS
      .iter()
      .zip([0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2])
      .map(|(le, count)| {
        format!("llm_request_duration_seconds_bucket{{provider=\"openai\",model=\"gpt-4o\",le=\"{le}\"}} {count}\n")
      })
      .collect();
    let expected = [
      "# HELP llm_requests_total LLM requests, by outcome.\n",
      "# TYPE llm_requests_total counter\n",
      "llm_requests_total{provider=\"openai\",model=\"gpt-4o\",outcome=\"completed\"} 3\n",
      "llm_requests_total{provider=\"openai\",model=\"gpt-4o\",outcome=\"failed\"} 1\n",
      "llm_requests_total{provider=\"unknown\",model=\"llama\",outcome=\"completed\"} 0\n",
      "llm_requests_total{provider=\"unknown\",model=\"llama\",outcome=\"failed\"} 2\n",
      "# HELP llm_tokens_total LLM tokens, by type: input includes cache reads and writes, output includes reasoning.\n",
      "# TYPE llm_tokens_total counter\n",
      "llm_tokens_total{provider=\"openai\",model=\"gpt-4o\",type=\"input\"} 1200\n",
      "llm_tokens_total{provider=\"openai\",model=\"gpt-4o\",type=\"output\"} 300\n",
      "llm_tokens_total{provider=\"openai\",model=\"gpt-4o\",type=\"cache_read\"} 200\n",
      "llm_tokens_total{provider=\"openai\",model=\"gpt-4o\",type=\"cache_write\"} 0\n",
      "llm_tokens_total{provider=\"openai\",model=\"gpt-4o\",type=\"reasoning\"} 50\n",
      "llm_tokens_total{provider=\"unknown\",model=\"llama\",type=\"input\"} 0\n",
      "llm_tokens_total{provider=\"unknown\",model=\"llama\",type=\"output\"} 0\n",
      "llm_tokens_total{provider=\"unknown\",model=\"llama\",type=\"cache_read\"} 0\n",
      "llm_tokens_total{provider=\"unknown\",model=\"llama\",type=\"cache_write\"} 0\n",
      "llm_tokens_total{provider=\"unknown\",model=\"llama\",type=\"reasoning\"} 0\n",
      "# HELP llm_cost_usd_total LLM cost in US dollars.\n",
      "# TYPE llm_cost_usd_total counter\n",
      "llm_cost_usd_total{provider=\"openai\",model=\"gpt-4o\"} 1.500012\n",
      "llm_cost_usd_total{provider=\"unknown\",model=\"llama\"} 0\n",
      "# HELP llm_request_duration_seconds LLM request duration, from request start to last byte.\n",
      "# TYPE llm_request_duration_seconds histogram\n",
      &duration_buckets,
      "llm_request_duration_seconds_bucket{provider=\"openai\",model=\"gpt-4o\",le=\"+Inf\"} 3\n",
      "llm_request_duration_seconds_sum{provider=\"openai\",model=\"gpt-4o\"} 100.315\n",
      "llm_request_duration_seconds_count{provider=\"openai\",model=\"gpt-4o\"} 3\n",
      "# HELP llm_time_to_first_token_seconds Time from request start to the first content of a streamed response.\n",
      "# TYPE llm_time_to_first_token_seconds histogram\n",
      "# HELP llm_analytics_buffered_events Events in the store's buffer, not yet drained or acknowledged.\n",
      "# TYPE llm_analytics_buffered_events gauge\n",
      "llm_analytics_buffered_events 6\n",
      "# HELP llm_analytics_dropped_events_total Events the store could not buffer because its buffer was full.\n",
      "# TYPE llm_analytics_dropped_events_total counter\n",
      "llm_analytics_dropped_events_total 0\n",
    ]
    .concat();
    assert_eq!(text, expected);
  }

  #[test]
  fn escapes_backslashes_quotes_and_newlines_in_label_values() {
    let models = [ModelRow {
      provider: "openai",
      model: "a\\b\"c\nd\u{e9}",
      ..ModelRow::default()
    }];
    let agents = [AgentRow {
      agent: "\"\"\\\n",
      figures: Figures {
        completed: 1,
        ..Figures::default()
      },
    }];
    let text = render(&Exposition {
      models: &models,
      agents: Some(&agents),
      ..Exposition::default()
    });
    let line = text.lines().nth(2).unwrap();
    assert_eq!(
      line,
      "llm_requests_total{provider=\"openai\",model=\"a\\\\b\\\"c\\nd\u{e9}\",outcome=\"completed\"} 0"
    );
    assert!(text
      .contains("\nllm_agent_requests_total{agent=\"\\\"\\\"\\\\\\n\",outcome=\"completed\"} 1\n"));
    // Every line is one sample or one comment: no raw newline escaped a label.
    assert!(text
      .lines()
      .all(|line| line.starts_with("llm_") || line.starts_with("# ")));
  }

  #[test]
  fn per_agent_series_have_families_of_their_own_and_only_when_asked_for() {
    let agents = [AgentRow {
      agent: "team-a",
      figures: Figures {
        completed: 2,
        failed: 1,
        tokens: TokenCounts {
          input: 10,
          output: 20,
          ..TokenCounts::default()
        },
        cost_micros: 2_500_000,
      },
    }];
    let with = render(&Exposition {
      agents: Some(&agents),
      ..Exposition::default()
    });
    let agent_lines: Vec<&str> = with.lines().filter(|line| line.contains("agent")).collect();
    assert_eq!(
      agent_lines,
      [
        "# HELP llm_agent_requests_total LLM requests per agent, by outcome.",
        "# TYPE llm_agent_requests_total counter",
        "llm_agent_requests_total{agent=\"team-a\",outcome=\"completed\"} 2",
        "llm_agent_requests_total{agent=\"team-a\",outcome=\"failed\"} 1",
        "# HELP llm_agent_tokens_total LLM tokens per agent, by type: input includes cache reads and writes, output includes reasoning.",
        "# TYPE llm_agent_tokens_total counter",
        "llm_agent_tokens_total{agent=\"team-a\",type=\"input\"} 10",
        "llm_agent_tokens_total{agent=\"team-a\",type=\"output\"} 20",
        "llm_agent_tokens_total{agent=\"team-a\",type=\"cache_read\"} 0",
        "llm_agent_tokens_total{agent=\"team-a\",type=\"cache_write\"} 0",
        "llm_agent_tokens_total{agent=\"team-a\",type=\"reasoning\"} 0",
        "# HELP llm_agent_cost_usd_total LLM cost per agent in US dollars.",
        "# TYPE llm_agent_cost_usd_total counter",
        "llm_agent_cost_usd_total{agent=\"team-a\"} 2.5",
      ]
    );
    let without = render(&Exposition {
      agents: None,
      ..Exposition::default()
    });
    assert!(!without.contains("agent_"));
  }

  #[test]
  fn writes_money_and_time_as_exact_decimals() {
    let cases = [
      (0, "0"),
      (1, "0.000001"),
      (12, "0.000012"),
      (100_000, "0.1"),
      (1_000_000, "1"),
      (1_500_000, "1.5"),
      (9_007_199_254_740_991, "9007199254.740991"),
      (u64::MAX, "18446744073709.551615"),
    ];
    for (millionths, text) in cases {
      let mut out = Writer(String::new());
      out.decimal(millionths);
      assert_eq!(out.0, text);
      assert_eq!(text.parse::<f64>().unwrap(), millionths as f64 / 1e6);
    }
  }

  #[test]
  fn an_empty_store_still_has_its_families_and_gauges() {
    let text = render(&Exposition::default());
    assert_eq!(text.matches("# TYPE ").count(), 7);
    assert_eq!(
      render(&Exposition {
        agents: Some(&[]),
        ..Exposition::default()
      })
      .matches("# TYPE ")
      .count(),
      10
    );
    assert!(text.ends_with("llm_analytics_dropped_events_total 0\n"));
    assert!(text.contains("\nllm_analytics_buffered_events 0\n"));
  }

  #[test]
  fn the_reserved_room_holds_the_largest_rows() {
    let most = Figures {
      completed: u64::MAX,
      failed: u64::MAX,
      tokens: TokenCounts {
        input: u64::MAX,
        output: u64::MAX,
        cache_read: u64::MAX,
        cache_write: u64::MAX,
        reasoning: u64::MAX,
      },
      cost_micros: u64::MAX,
    };
    let full = HistogramSnapshot {
      count: u64::MAX,
      sum_micros: u64::MAX,
      buckets: [u64::MAX; 14],
    };
    let models: Vec<ModelRow<'_>> = (0..150)
      .map(|_| ModelRow {
        provider: "anthropic",
        model: "claude-3-5-sonnet-20241022-with-a-long-routing-name",
        figures: most,
        duration: full,
        time_to_first_token: full,
      })
      .collect();
    let agents: Vec<AgentRow<'_>> = (0..64)
      .map(|_| AgentRow {
        agent: "agent-0123456789",
        figures: most,
      })
      .collect();
    let exposition = Exposition {
      models: &models,
      agents: Some(&agents),
      buffered_events: u64::MAX,
      dropped_events: u64::MAX,
    };
    let text = render(&exposition);
    let (model_labels, agent_labels) = labels_of(&exposition);
    let room = room_for(&model_labels, &agent_labels);
    assert!(text.len() <= room, "{} > {room}", text.len());
  }
}
