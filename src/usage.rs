//! One call's token counts, the same for every provider (OpenTelemetry GenAI semantics), and the
//! ways a cost computed from them can be refused.

use std::fmt;

/// The largest integer a JavaScript number holds exactly: a cost above it is refused.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
  /// Every input token: cache reads and cache writes included.
  pub input_tokens: u64,
  /// Every output token: reasoning included.
  pub output_tokens: u64,
  /// Of `input_tokens`: read from the prompt cache.
  pub cache_read_tokens: u64,
  /// Of `input_tokens`: written to the prompt cache (the default, 5-minute TTL).
  pub cache_write_tokens: u64,
  /// Of `input_tokens`: written to the prompt cache with a 1-hour TTL.
  pub cache_write_1h_tokens: u64,
  /// Of `output_tokens`: reasoning ("thinking") tokens.
  pub reasoning_tokens: u64,
}

impl Usage {
  /// Plain input and output tokens, as the crate's positional calls give them.
  pub fn plain(input_tokens: u64, output_tokens: u64) -> Self {
    Usage {
      input_tokens,
      output_tokens,
      ..Usage::default()
    }
  }

  /// The parts no other count covers: input neither read from nor written to the cache, and
  /// output that is not reasoning. Refused when the cache parts exceed `input_tokens` or the
  /// reasoning exceeds `output_tokens`.
  pub fn uncovered(&self) -> Result<(u64, u64), CostError> {
    let uncached_input = self
      .input_tokens
      .checked_sub(self.cache_read_tokens)
      .and_then(|rest| rest.checked_sub(self.cache_write_tokens))
      .and_then(|rest| rest.checked_sub(self.cache_write_1h_tokens))
      .ok_or(CostError::CachePartsExceedInput)?;
    let plain_output = self
      .output_tokens
      .checked_sub(self.reasoning_tokens)
      .ok_or(CostError::ReasoningExceedsOutput)?;
    Ok((uncached_input, plain_output))
  }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CostError {
  /// `cache_read_tokens + cache_write_tokens + cache_write_1h_tokens > input_tokens`.
  CachePartsExceedInput,
  /// `reasoning_tokens > output_tokens`.
  ReasoningExceedsOutput,
  /// The cost would pass 2^53-1 micros: a figure must be exact or refused.
  Overflow,
}

impl fmt::Display for CostError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(match self {
      CostError::CachePartsExceedInput => {
        "usage: cacheReadTokens + cacheWriteTokens + cacheWrite1hTokens must not exceed inputTokens"
      }
      CostError::ReasoningExceedsOutput => "usage.reasoningTokens must not exceed outputTokens",
      CostError::Overflow => {
        "usage: the cost passes Number.MAX_SAFE_INTEGER microdollars and cannot be exact"
      }
    })
  }
}

impl std::error::Error for CostError {}
