//! One model's prices as a LiteLLM entry states them, and the rule that turns a call's usage into
//! a cost in integer microdollars (SPEC section 10).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::usage::{CostError, Usage, MAX_SAFE_INTEGER};

/// Output budget assumed when a model states neither `max_output_tokens` nor `max_tokens`.
pub const DEFAULT_MAX_OUTPUT_TOKENS: u64 = 128_000;

const MICROS_PER_MILLION_PER_USD_PER_TOKEN: f64 = 1e12;

/// A price for each kind of token a call uses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rates<T> {
  pub input: T,
  pub output: T,
  pub cache_read: T,
  pub cache_write: T,
  pub cache_write_1h: T,
  /// `None` when the entry has no reasoning price: reasoning is then output like any other.
  pub reasoning: Option<T>,
}

impl<T: Copy> Rates<T> {
  fn map<U>(&self, convert: impl Fn(T) -> U) -> Rates<U> {
    Rates {
      input: convert(self.input),
      output: convert(self.output),
      cache_read: convert(self.cache_read),
      cache_write: convert(self.cache_write),
      cache_write_1h: convert(self.cache_write_1h),
      reasoning: self.reasoning.map(convert),
    }
  }
}

/// The prices a call pays, chosen by its input tokens, with every fallback already applied.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tier {
  /// Calls with more input tokens than this pay this tier; 0 for the base prices.
  pub above_input_tokens: u64,
  pub usd_per_token: Rates<f64>,
  /// `round(usdPerToken * 1e12)` for each price.
  pub micros_per_million: Rates<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelPrice {
  /// Ascending by `above_input_tokens`; the first holds the base prices.
  tiers: Vec<Tier>,
  /// `max_output_tokens`, else `max_tokens`.
  pub max_output_tokens: Option<u64>,
  /// The entry's `litellm_provider`.
  pub provider: Option<Box<str>>,
}

/// An entry's own prices at one threshold, before any fallback.
#[derive(Clone, Copy, Debug, Default)]
struct Stated {
  input: Option<f64>,
  output: Option<f64>,
  cache_read: Option<f64>,
  cache_write: Option<f64>,
  cache_write_1h: Option<f64>,
}

impl Stated {
  fn or(self, base: Stated) -> Stated {
    Stated {
      input: self.input.or(base.input),
      output: self.output.or(base.output),
      cache_read: self.cache_read.or(base.cache_read),
      cache_write: self.cache_write.or(base.cache_write),
      cache_write_1h: self.cache_write_1h.or(base.cache_write_1h),
    }
  }

  fn is_empty(&self) -> bool {
    [
      self.input,
      self.output,
      self.cache_read,
      self.cache_write,
      self.cache_write_1h,
    ]
    .iter()
    .all(Option::is_none)
  }

  /// The fallbacks of section 10: cache reads and writes at the input price when the entry has
  /// none of their own, 1-hour writes at the cache-write price.
  fn rates(self, reasoning: Option<f64>) -> Rates<f64> {
    let input = self.input.unwrap_or(0.0);
    let cache_write = self.cache_write.unwrap_or(input);
    Rates {
      input,
      output: self.output.unwrap_or(0.0),
      cache_read: self.cache_read.unwrap_or(input),
      cache_write,
      cache_write_1h: self.cache_write_1h.unwrap_or(cache_write),
      reasoning,
    }
  }

  fn slot(&mut self, field: Field) -> &mut Option<f64> {
    match field {
      Field::Input => &mut self.input,
      Field::Output => &mut self.output,
      Field::CacheRead => &mut self.cache_read,
      Field::CacheWrite => &mut self.cache_write,
      Field::CacheWrite1h => &mut self.cache_write_1h,
    }
  }
}

#[derive(Clone, Copy)]
enum Field {
  Input,
  Output,
  CacheRead,
  CacheWrite,
  CacheWrite1h,
}

const BASE_KEYS: [(&str, Field); 5] = [
  ("input_cost_per_token", Field::Input),
  ("output_cost_per_token", Field::Output),
  ("cache_read_input_token_cost", Field::CacheRead),
  ("cache_creation_input_token_cost", Field::CacheWrite),
  (
    "cache_creation_input_token_cost_above_1hr",
    Field::CacheWrite1h,
  ),
];

// `<prefix><N>k_tokens`. The 1-hour write's tiered form (LiteLLM's own name for it) comes before
// the plain cache write's, whose prefix it shares.
const TIERED_KEYS: [(&str, Field); 5] = [
  ("input_cost_per_token_above_", Field::Input),
  ("output_cost_per_token_above_", Field::Output),
  ("cache_read_input_token_cost_above_", Field::CacheRead),
  (
    "cache_creation_input_token_cost_above_1hr_above_",
    Field::CacheWrite1h,
  ),
  ("cache_creation_input_token_cost_above_", Field::CacheWrite),
];

const REASONING_KEY: &str = "output_cost_per_reasoning_token";

/// What a LiteLLM entry is: prices, or another entry's name.
pub(crate) enum Entry {
  Priced(ModelPrice),
  Alias(String),
}

/// `None` for an entry that does not parse: not an object, a price that is not a finite,
/// non-negative number (or is above 2^53-1 micros per million), or no per-token price at all.
pub(crate) fn parse_entry(entry: &Value) -> Option<Entry> {
  let fields: &Map<String, Value> = entry.as_object()?;
  if let Some(target) = fields.get("alias_of") {
    return Some(Entry::Alias(target.as_str()?.to_owned()));
  }
  let mut base = Stated::default();
  let mut above: BTreeMap<u64, Stated> = BTreeMap::new();
  let mut reasoning = None;
  for (key, value) in fields {
    if let Some((_, field)) = BASE_KEYS.iter().find(|(name, _)| name == key) {
      *base.slot(*field) = price(value)?;
    } else if key == REASONING_KEY {
      reasoning = price(value)?;
    } else if let Some((threshold, field)) = tiered_key(key) {
      *above.entry(threshold).or_default().slot(field) = price(value)?;
    }
  }
  let base_tier = tier(0, base.rates(reasoning));
  let tiers: Vec<Tier> = std::iter::once(base_tier)
    .chain(
      above
        .into_iter()
        .filter(|(_, stated)| !stated.is_empty())
        .map(|(threshold, stated)| tier(threshold, stated.or(base).rates(reasoning))),
    )
    .collect();
  let priced = ModelPrice {
    tiers,
    max_output_tokens: token_limit(fields, "max_output_tokens")
      .or_else(|| token_limit(fields, "max_tokens")),
    provider: fields
      .get("litellm_provider")
      .and_then(Value::as_str)
      .map(Box::from),
  };
  priced.has_valid_pricing().then_some(Entry::Priced(priced))
}

/// `Some(None)` for an absent (null) price, `None` for one that is not a usable price.
fn price(value: &Value) -> Option<Option<f64>> {
  if value.is_null() {
    return Some(None);
  }
  let usd = value.as_f64()?;
  let usable = usd.is_finite()
    && usd >= 0.0
    && (usd * MICROS_PER_MILLION_PER_USD_PER_TOKEN).round() <= MAX_SAFE_INTEGER as f64;
  usable.then_some(Some(usd))
}

/// The threshold of a `…_above_<N>k_tokens` key, in tokens. N may have up to three decimals
/// (`271.999k` is 271,999 tokens), as LiteLLM's own parser allows.
fn tiered_key(key: &str) -> Option<(u64, Field)> {
  TIERED_KEYS.iter().find_map(|(prefix, field)| {
    let thousands = key.strip_prefix(prefix)?.strip_suffix("k_tokens")?;
    Some((thousands_to_tokens(thousands)?, *field))
  })
}

fn thousands_to_tokens(thousands: &str) -> Option<u64> {
  let (whole, fraction) = thousands.split_once('.').unwrap_or((thousands, ""));
  let digits = |text: &str| !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
  if !digits(whole) || (thousands.contains('.') && (!digits(fraction) || fraction.len() > 3)) {
    return None;
  }
  let fraction_tokens = format!("{fraction:0<3}").parse::<u64>().ok()?;
  whole
    .parse::<u64>()
    .ok()?
    .checked_mul(1000)?
    .checked_add(fraction_tokens)
    .filter(|&tokens| tokens <= MAX_SAFE_INTEGER)
}

fn token_limit(fields: &Map<String, Value>, key: &str) -> Option<u64> {
  fields.get(key).and_then(Value::as_u64)
}

fn tier(above_input_tokens: u64, usd_per_token: Rates<f64>) -> Tier {
  Tier {
    above_input_tokens,
    usd_per_token,
    micros_per_million: usd_per_token.map(usd_per_token_to_micros_per_million),
  }
}

fn usd_per_token_to_micros_per_million(usd_per_token: f64) -> u64 {
  // The parser admits only finite, non-negative prices within 2^53-1 micros per million.
  (usd_per_token * MICROS_PER_MILLION_PER_USD_PER_TOKEN).round() as u64
}

/// `floor(tokens * perMillion / 1e6)`, exact: the product of two u64 always fits in a u128.
fn component(tokens: u64, per_million: u64) -> u128 {
  tokens as u128 * per_million as u128 / 1_000_000
}

/// The flat layout of a model's tiers that the recording hot path reads, one row of `STRIDE`
/// numbers per tier, ascending; the first row is the base prices. Prices are micros per million
/// tokens with every fallback applied; `REASONING` is -1 when the entry has no reasoning price.
pub mod tier_row {
  pub const STRIDE: usize = 7;
  pub const ABOVE_INPUT_TOKENS: usize = 0;
  pub const INPUT: usize = 1;
  pub const OUTPUT: usize = 2;
  pub const CACHE_READ: usize = 3;
  pub const CACHE_WRITE: usize = 4;
  pub const CACHE_WRITE_1H: usize = 5;
  pub const REASONING: usize = 6;
  pub const NO_REASONING_PRICE: f64 = -1.0;
}

impl ModelPrice {
  /// Ascending by `above_input_tokens`; the first holds the base prices.
  pub fn tiers(&self) -> &[Tier] {
    &self.tiers
  }

  pub fn base(&self) -> &Tier {
    &self.tiers[0]
  }

  /// The tiers laid out as `tier_row` says. Every figure is below 2^53, so each is exact as f64.
  pub fn tier_rows(&self) -> Vec<f64> {
    let mut rows = vec![0.0; self.tiers.len() * tier_row::STRIDE];
    for (tier, row) in self
      .tiers
      .iter()
      .zip(rows.chunks_exact_mut(tier_row::STRIDE))
    {
      let rates = tier.micros_per_million;
      row[tier_row::ABOVE_INPUT_TOKENS] = tier.above_input_tokens as f64;
      row[tier_row::INPUT] = rates.input as f64;
      row[tier_row::OUTPUT] = rates.output as f64;
      row[tier_row::CACHE_READ] = rates.cache_read as f64;
      row[tier_row::CACHE_WRITE] = rates.cache_write as f64;
      row[tier_row::CACHE_WRITE_1H] = rates.cache_write_1h as f64;
      row[tier_row::REASONING] = rates
        .reasoning
        .map_or(tier_row::NO_REASONING_PRICE, |micros| micros as f64);
    }
    rows
  }

  /// The largest threshold the call's input tokens pass, else the base prices.
  pub fn tier_for(&self, input_tokens: u64) -> &Tier {
    self
      .tiers
      .iter()
      .rev()
      .find(|tier| input_tokens > tier.above_input_tokens)
      .unwrap_or(self.base())
  }

  pub fn has_valid_pricing(&self) -> bool {
    self.tiers.iter().any(|tier| {
      let rates = tier.micros_per_million;
      [
        rates.input,
        rates.output,
        rates.cache_read,
        rates.cache_write,
        rates.cache_write_1h,
        rates.reasoning.unwrap_or(0),
      ]
      .iter()
      .any(|&micros| micros > 0)
    })
  }

  /// Section 10's rule: each component floored on its own, summed; exact or refused.
  pub fn usage_cost_micros(&self, usage: &Usage) -> Result<u64, CostError> {
    u64::try_from(self.total_micros(usage)?)
      .ok()
      .filter(|&micros| micros <= MAX_SAFE_INTEGER)
      .ok_or(CostError::Overflow)
  }

  fn total_micros(&self, usage: &Usage) -> Result<u128, CostError> {
    let (uncached, plain_output) = usage.uncovered()?;
    let rates = self.tier_for(usage.input_tokens).micros_per_million;
    // Without a reasoning price the output is one component: splitting it would floor twice.
    let output = match rates.reasoning {
      Some(reasoning) => {
        component(plain_output, rates.output) + component(usage.reasoning_tokens, reasoning)
      }
      None => component(usage.output_tokens, rates.output),
    };
    Ok(
      component(uncached, rates.input)
        + component(usage.cache_read_tokens, rates.cache_read)
        + component(usage.cache_write_tokens, rates.cache_write)
        + component(usage.cache_write_1h_tokens, rates.cache_write_1h)
        + output,
    )
  }

  /// The most a request can cost: its input plus the largest output it may produce.
  pub fn max_cost_micros(
    &self,
    input_tokens: u64,
    request_max_output: Option<u64>,
  ) -> Result<u64, CostError> {
    let model_max = self.max_output_tokens.unwrap_or(DEFAULT_MAX_OUTPUT_TOKENS);
    let output_tokens = request_max_output.map_or(model_max, |requested| requested.min(model_max));
    self.usage_cost_micros(&Usage::plain(input_tokens, output_tokens))
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::json;

  fn priced(entry: Value) -> ModelPrice {
    match parse_entry(&entry) {
      Some(Entry::Priced(price)) => price,
      _ => panic!("{entry} does not parse as prices"),
    }
  }

  fn usage(input: u64, cache_read: u64, cache_write: u64, cache_write_1h: u64) -> Usage {
    Usage {
      input_tokens: input,
      cache_read_tokens: cache_read,
      cache_write_tokens: cache_write,
      cache_write_1h_tokens: cache_write_1h,
      ..Usage::default()
    }
  }

  #[test]
  fn reads_every_field_and_converts_to_micros_per_million() {
    let price = priced(json!({
      "input_cost_per_token": 3e-6, "output_cost_per_token": 1.5e-5,
      "cache_read_input_token_cost": 3e-7, "cache_creation_input_token_cost": 3.75e-6,
      "cache_creation_input_token_cost_above_1hr": 6e-6, "output_cost_per_reasoning_token": 2e-5,
      "litellm_provider": "anthropic", "max_tokens": 8192, "mode": "chat"
    }));
    let base = price.base().micros_per_million;
    assert_eq!(
      base,
      Rates {
        input: 3_000_000,
        output: 15_000_000,
        cache_read: 300_000,
        cache_write: 3_750_000,
        cache_write_1h: 6_000_000,
        reasoning: Some(20_000_000)
      }
    );
    assert_eq!(price.provider.as_deref(), Some("anthropic"));
    assert_eq!(price.max_output_tokens, Some(8192));
    assert_eq!(price.tiers().len(), 1);
  }

  #[test]
  fn missing_cache_prices_fall_back() {
    let plain = priced(json!({ "input_cost_per_token": 2e-6, "output_cost_per_token": 8e-6 }));
    let rates = plain.base().micros_per_million;
    assert_eq!(
      (rates.cache_read, rates.cache_write, rates.cache_write_1h),
      (2_000_000, 2_000_000, 2_000_000)
    );
    assert_eq!(rates.reasoning, None);
    let five_minutes = priced(json!({
      "input_cost_per_token": 2e-6, "output_cost_per_token": 8e-6, "cache_creation_input_token_cost": 2.5e-6
    }));
    assert_eq!(
      five_minutes.base().micros_per_million.cache_write_1h,
      2_500_000
    );
    // 1,000 uncached at 2 + 1,000 read at 2 (no read price) + 1,000 written 1 h at 2.5 (the write price).
    assert_eq!(
      five_minutes.usage_cost_micros(&usage(3000, 1000, 0, 1000)),
      Ok(2000 + 2000 + 2500)
    );
  }

  #[test]
  fn each_component_is_floored_on_its_own() {
    let price = priced(json!({
      "input_cost_per_token": 1.5e-6, "output_cost_per_token": 1.5e-6,
      "cache_read_input_token_cost": 1.5e-6, "cache_creation_input_token_cost": 1.5e-6
    }));
    // Four components of one token at 1.5 micros each: 1 + 1 + 1 + 1, never floor(6.0).
    let call = Usage {
      output_tokens: 1,
      ..usage(3, 1, 1, 0)
    };
    assert_eq!(price.usage_cost_micros(&call), Ok(1 + 1 + 1 + 1));
  }

  #[test]
  fn without_a_reasoning_price_the_output_is_one_component() {
    let price = priced(json!({ "input_cost_per_token": 0, "output_cost_per_token": 1.5e-6 }));
    let call = Usage {
      output_tokens: 2,
      reasoning_tokens: 1,
      ..Usage::default()
    };
    assert_eq!(price.usage_cost_micros(&call), Ok(3));
    let reasoning = priced(json!({
      "input_cost_per_token": 0, "output_cost_per_token": 1.5e-6, "output_cost_per_reasoning_token": 1.5e-6
    }));
    assert_eq!(reasoning.usage_cost_micros(&call), Ok(1 + 1));
    let dearer = priced(json!({
      "input_cost_per_token": 0, "output_cost_per_token": 1e-6, "output_cost_per_reasoning_token": 4e-6
    }));
    let thinking = Usage {
      output_tokens: 1000,
      reasoning_tokens: 600,
      ..Usage::default()
    };
    assert_eq!(dearer.usage_cost_micros(&thinking), Ok(400 + 2400));
  }

  #[test]
  fn the_largest_passed_threshold_sets_the_tier() {
    let price = priced(json!({
      "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6,
      "cache_read_input_token_cost": 1e-7,
      "input_cost_per_token_above_128k_tokens": 2e-6,
      "input_cost_per_token_above_200k_tokens": 4e-6, "output_cost_per_token_above_200k_tokens": 6e-6,
      "cache_creation_input_token_cost_above_200k_tokens": 5e-6,
      "cache_creation_input_token_cost_above_1hr_above_200k_tokens": 8e-6,
      "input_cost_per_token_above_200k_tokens_priority": 9e-6
    }));
    let thresholds: Vec<u64> = price
      .tiers()
      .iter()
      .map(|tier| tier.above_input_tokens)
      .collect();
    assert_eq!(thresholds, vec![0, 128_000, 200_000]);
    assert_eq!(price.tier_for(128_000).above_input_tokens, 0);
    assert_eq!(price.tier_for(128_001).above_input_tokens, 128_000);
    assert_eq!(price.tier_for(200_000).above_input_tokens, 128_000);
    assert_eq!(price.tier_for(200_001).above_input_tokens, 200_000);
    // In the 128k tier only the input price is the tier's: output, cache read stay base, and
    // the cache writes (no price of their own) follow the tier's input.
    let middle = price.tier_for(150_000).micros_per_million;
    assert_eq!(
      (
        middle.input,
        middle.output,
        middle.cache_read,
        middle.cache_write,
        middle.cache_write_1h
      ),
      (2_000_000, 2_000_000, 100_000, 2_000_000, 2_000_000)
    );
    let top = price.tier_for(250_000).micros_per_million;
    assert_eq!(
      (
        top.input,
        top.output,
        top.cache_read,
        top.cache_write,
        top.cache_write_1h
      ),
      (4_000_000, 6_000_000, 100_000, 5_000_000, 8_000_000)
    );
    let call = Usage {
      output_tokens: 1000,
      ..usage(250_000, 10_000, 20_000, 30_000)
    };
    assert_eq!(
      price.usage_cost_micros(&call),
      Ok(190_000 * 4 + 10_000 / 10 + 20_000 * 5 + 30_000 * 8 + 1000 * 6)
    );
  }

  #[test]
  fn thresholds_may_have_three_decimals() {
    let price = priced(json!({
      "input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6,
      "input_cost_per_token_above_271.999k_tokens": 2e-6,
      "output_cost_per_token_above_1.5k_tokens": 3e-6,
      "input_cost_per_token_above_1.2345k_tokens": 9e-6,
      "input_cost_per_token_above_k_tokens": 9e-6,
      "input_cost_per_token_above_12xk_tokens": 9e-6
    }));
    let thresholds: Vec<u64> = price
      .tiers()
      .iter()
      .map(|tier| tier.above_input_tokens)
      .collect();
    assert_eq!(thresholds, vec![0, 1500, 271_999]);
    assert_eq!(price.tier_for(272_000).micros_per_million.input, 2_000_000);
  }

  #[test]
  fn costs_are_exact_beyond_64_bits_or_refused() {
    // (2^53-1) tokens * 1e6 micros per million is past 2^64: the product is taken in 128 bits.
    let most = priced(json!({ "input_cost_per_token": 1e-6, "output_cost_per_token": 0 }));
    assert_eq!(
      most.usage_cost_micros(&Usage::plain(MAX_SAFE_INTEGER, 0)),
      Ok(MAX_SAFE_INTEGER)
    );
    let dear = priced(json!({ "input_cost_per_token": 1e-3, "output_cost_per_token": 1e-3 }));
    assert_eq!(
      dear.usage_cost_micros(&Usage::plain(MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)),
      Err(CostError::Overflow)
    );
  }

  #[test]
  fn max_cost_caps_the_output_at_the_model_limit_and_applies_the_tier() {
    let capped = priced(json!({
      "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6, "max_output_tokens": 1000,
      "input_cost_per_token_above_1k_tokens": 3e-6
    }));
    assert_eq!(capped.max_cost_micros(100, None), Ok(100 + 2000));
    assert_eq!(capped.max_cost_micros(100, Some(10)), Ok(100 + 20));
    assert_eq!(capped.max_cost_micros(100, Some(5000)), Ok(100 + 2000));
    assert_eq!(capped.max_cost_micros(2000, Some(10)), Ok(6000 + 20));
    let uncapped = priced(json!({ "input_cost_per_token": 0, "output_cost_per_token": 1e-6 }));
    assert_eq!(
      uncapped.max_cost_micros(0, None),
      Ok(DEFAULT_MAX_OUTPUT_TOKENS)
    );
  }

  #[test]
  fn parts_above_their_totals_are_refused() {
    let price = priced(json!({ "input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6 }));
    assert_eq!(
      price.usage_cost_micros(&usage(10, 5, 5, 1)),
      Err(CostError::CachePartsExceedInput)
    );
    let reasoning = Usage {
      output_tokens: 1,
      reasoning_tokens: 2,
      ..Usage::default()
    };
    assert_eq!(
      price.usage_cost_micros(&reasoning),
      Err(CostError::ReasoningExceedsOutput)
    );
  }

  #[test]
  fn unusable_entries_do_not_parse() {
    for entry in [
      json!(3),
      json!({ "input_cost_per_token": "cheap", "output_cost_per_token": 1e-6 }),
      json!({ "input_cost_per_token": -1e-6, "output_cost_per_token": 1e-6 }),
      json!({ "input_cost_per_token": 1e-6, "cache_read_input_token_cost": "x" }),
      json!({ "input_cost_per_token": 1e4, "output_cost_per_token": 0 }),
      json!({ "input_cost_per_token": 0, "output_cost_per_token": 0 }),
      json!({ "input_cost_per_pixel": 1e-6 }),
      json!({ "alias_of": 7 }),
    ] {
      assert!(
        !matches!(parse_entry(&entry), Some(Entry::Priced(_))),
        "{entry}"
      );
    }
    assert!(matches!(
      parse_entry(&json!({ "output_cost_per_token": 1e-6, "cache_read_input_token_cost": null })),
      Some(Entry::Priced(_))
    ));
  }
}
