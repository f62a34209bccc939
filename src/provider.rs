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

/// `gpt-`, `o1-`, `o3-`, `chatgpt-` are OpenAI's; `claude-` is Anthropic's; in any letter case.
pub fn infer_provider(model: &str) -> Provider {
  const OPENAI_PREFIXES: [&str; 4] = ["gpt-", "o1-", "o3-", "chatgpt-"];
  if OPENAI_PREFIXES
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
    for model in ["llama-2-70b", "o1", "gpt4", "", "é-claude-"] {
      assert_eq!(infer_provider(model), Provider::Unknown, "{model}");
    }
  }
}
