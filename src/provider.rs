//! LLM providers and the rule that infers one from a model name.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Provider {
  OpenAI = 0,
  Anthropic = 1,
  #[default]
  Unknown = 2,
}

impl Provider {
  pub const ALL: [Provider; 3] = [Provider::OpenAI, Provider::Anthropic, Provider::Unknown];

  pub fn as_str(self) -> &'static str {
    match self {
      Provider::OpenAI => "openai",
      Provider::Anthropic => "anthropic",
      Provider::Unknown => "unknown",
    }
  }

  /// Case-insensitive; any other name is `Unknown`.
  pub fn parse(name: &str) -> Provider {
    if name.eq_ignore_ascii_case("openai") {
      Provider::OpenAI
    } else if name.eq_ignore_ascii_case("anthropic") {
      Provider::Anthropic
    } else {
      Provider::Unknown
    }
  }

  pub fn from_index(index: u8) -> Option<Provider> {
    Provider::ALL.get(index as usize).copied()
  }

  pub fn index(self) -> usize {
    self as usize
  }
}

impl fmt::Display for Provider {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(self.as_str())
  }
}

impl FromStr for Provider {
  type Err = std::convert::Infallible;

  fn from_str(name: &str) -> Result<Self, Self::Err> {
    Ok(Provider::parse(name))
  }
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
  text.len() >= prefix.len()
    && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
  // The prefixes are ASCII, so a match ends on a character boundary.
  starts_with_ignore_case(text, prefix).then(|| &text[prefix.len()..])
}

/// The crate's rules on a bare model name: `gpt-`, `o1-`, `o3-`, `chatgpt-` are OpenAI's, and so
/// is any `o<digit>` name (`o1`, `o3`, `o4-mini`); `claude-` is Anthropic's.
fn family(model: &str) -> Provider {
  const OPENAI_PREFIXES: [&str; 4] = ["gpt-", "o1-", "o3-", "chatgpt-"];
  let reasoning_series =
    matches!(model.as_bytes(), [b'o' | b'O', digit, ..] if digit.is_ascii_digit());
  if reasoning_series
    || OPENAI_PREFIXES
      .iter()
      .any(|prefix| starts_with_ignore_case(model, prefix))
  {
    Provider::OpenAI
  } else if starts_with_ignore_case(model, "claude-") {
    Provider::Anthropic
  } else {
    Provider::Unknown
  }
}

/// A Bedrock model id for Claude: `anthropic.claude-…`, or with a cross-region inference prefix
/// (`us.`, `eu.`, `apac.`, `global.`, …) before it.
fn is_bedrock_claude(model: &str) -> bool {
  let vendor = match model.split_once('.') {
    Some((region, rest)) if !starts_with_ignore_case(model, "anthropic.") => {
      let is_region = !region.is_empty()
        && region
          .bytes()
          .all(|byte| byte.is_ascii_alphabetic() || byte == b'-');
      if !is_region {
        return false;
      }
      rest
    }
    _ => model,
  };
  strip_prefix_ignore_case(vendor, "anthropic.")
    .is_some_and(|id| starts_with_ignore_case(id, "claude-"))
}

/// The provider of a model name, in any letter case: the crate's rules, seen through the routing
/// prefixes and cloud ids routers use (SPEC section 4).
pub fn infer_provider(model: &str) -> Provider {
  const OPENAI_ROUTES: [&str; 2] = ["openai/", "azure/"];
  if OPENAI_ROUTES
    .iter()
    .any(|route| starts_with_ignore_case(model, route))
  {
    return Provider::OpenAI;
  }
  if starts_with_ignore_case(model, "anthropic/") {
    return Provider::Anthropic;
  }
  if let Some(id) = strip_prefix_ignore_case(model, "bedrock/") {
    return if is_bedrock_claude(id) {
      Provider::Anthropic
    } else {
      Provider::Unknown
    };
  }
  if let Some(id) = strip_prefix_ignore_case(model, "vertex_ai/") {
    return if starts_with_ignore_case(id, "claude-") {
      Provider::Anthropic
    } else {
      Provider::Unknown
    };
  }
  if is_bedrock_claude(model) {
    return Provider::Anthropic;
  }
  family(model)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn names_round_trip() {
    for provider in Provider::ALL {
      assert_eq!(Provider::parse(provider.as_str()), provider);
      assert_eq!(provider.to_string(), provider.as_str());
      assert_eq!(Provider::from_index(provider as u8), Some(provider));
    }
    assert_eq!(Provider::from_index(3), None);
  }

  #[test]
  fn parse_is_case_insensitive() {
    assert_eq!(Provider::parse("OpenAI"), Provider::OpenAI);
    assert_eq!(Provider::parse("ANTHROPIC"), Provider::Anthropic);
    assert_eq!(Provider::parse(""), Provider::Unknown);
    assert_eq!("other".parse::<Provider>().unwrap(), Provider::Unknown);
    assert_eq!(Provider::default(), Provider::Unknown);
  }

  #[test]
  fn inference_follows_prefixes() {
    for model in ["gpt-4o", "GPT-4", "o1-mini", "o3-mini", "chatgpt-4o-latest"] {
      assert_eq!(infer_provider(model), Provider::OpenAI, "{model}");
    }
    for model in [
      "claude-3-opus-20240229",
      "CLAUDE-3-SONNET",
      "claude-instant-1.2",
    ] {
      assert_eq!(infer_provider(model), Provider::Anthropic, "{model}");
    }
    for model in [
      "llama-2-70b",
      "gpt4",
      "",
      "é-claude-",
      "omni",
      "o",
      "claude",
    ] {
      assert_eq!(infer_provider(model), Provider::Unknown, "{model}");
    }
  }

  #[test]
  fn inference_sees_the_names_routers_use() {
    for model in [
      "o1",
      "o3",
      "o4-mini",
      "O3-PRO",
      "o5",
      "openai/gpt-4o",
      "OpenAI/o3",
      "azure/gpt-4o",
      "azure/my-deployment",
    ] {
      assert_eq!(infer_provider(model), Provider::OpenAI, "{model}");
    }
    for model in [
      "anthropic/claude-sonnet-4-5",
      "Anthropic/claude-3-haiku",
      "bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0",
      "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
      "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
      "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
      "apac.anthropic.claude-sonnet-4-20250514-v1:0",
      "global.anthropic.claude-opus-4-5-20251101-v1:0",
      "anthropic.claude-3-haiku-20240307-v1:0",
      "vertex_ai/claude-sonnet-4-5@20250929",
    ] {
      assert_eq!(infer_provider(model), Provider::Anthropic, "{model}");
    }
    for model in [
      "bedrock/amazon.nova-pro-v1:0",
      "bedrock/gpt-4o",
      "vertex_ai/gemini-2.5-pro",
      "us.meta.llama3-70b",
      "u1.anthropic.claude-3",
      "mistral/mistral-large",
      "openai-gpt-4o",
    ] {
      assert_eq!(infer_provider(model), Provider::Unknown, "{model}");
    }
  }
}
