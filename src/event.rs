//! Analytics events: what a router records about each LLM request and its own lifecycle.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::provider::Provider;
use crate::symbol::Symbol;
use crate::usage::Usage;

/// A UUID v4, stored as bytes so an event stays small and 8-byte aligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventId([u8; 16]);

impl EventId {
  /// Event ids need uniqueness, not secrecy: a per-thread wyrand generator seeded from the OS
  /// makes them without a syscall.
  pub fn new_v4() -> Self {
    Self::new_v4_from(&mut fastrand::Rng::new())
  }

  /// A UUID v4 from `rng`: a batch of events draws its ids from one generator.
  pub fn new_v4_from(rng: &mut fastrand::Rng) -> Self {
    let mut bytes = rng.u128(..).to_be_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    EventId(bytes)
  }

  /// Parses the hyphenated form (any letter case); anything else is `None`.
  pub fn parse(text: &str) -> Option<Self> {
    let text = text.as_bytes();
    if text.len() != 36 || [8, 13, 18, 23].iter().any(|&at| text[at] != b'-') {
      return None;
    }
    let mut bytes = [0u8; 16];
    let mut digits = text.iter().filter(|&&c| c != b'-');
    for byte in &mut bytes {
      let high = hex_value(*digits.next()?)?;
      let low = hex_value(*digits.next()?)?;
      *byte = high << 4 | low;
    }
    Some(EventId(bytes))
  }

  /// The 36-character hyphenated lower-case form, as ASCII.
  pub fn hyphenated(&self) -> [u8; 36] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = [b'-'; 36];
    let mut at = 0;
    for (index, byte) in self.0.iter().enumerate() {
      if matches!(index, 4 | 6 | 8 | 10) {
        at += 1;
      }
      text[at] = HEX[(byte >> 4) as usize];
      text[at + 1] = HEX[(byte & 0x0f) as usize];
      at += 2;
    }
    text
  }
}

fn hex_value(digit: u8) -> Option<u8> {
  match digit {
    b'0'..=b'9' => Some(digit - b'0'),
    b'a'..=b'f' => Some(digit - b'a' + 10),
    b'A'..=b'F' => Some(digit - b'A' + 10),
    _ => None,
  }
}

impl fmt::Display for EventId {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(std::str::from_utf8(&self.hyphenated()).map_err(|_| fmt::Error)?)
  }
}

/// Unix time in milliseconds.
pub fn current_time_ms() -> u64 {
  SystemTime::now()
    .duration_since(UNIX_EPOCH)
    .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

#[derive(Clone, Debug, PartialEq)]
pub struct Event {
  pub id: EventId,
  pub timestamp_ms: u64,
  pub agent: Option<Symbol>,
  pub payload: Payload,
  /// The names its store's tables had no room for: those symbols are `Symbol::OTHER`.
  pub overflow: Option<Box<OverflowNames>>,
}

/// Names an event keeps as strings because its store counts them under `(other)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OverflowNames {
  pub model: Option<Box<str>>,
  pub agent: Option<Box<str>>,
  pub provider_id: Option<Box<str>>,
}

impl OverflowNames {
  /// How many names overflowed.
  pub fn count(&self) -> u64 {
    [&self.model, &self.agent, &self.provider_id]
      .iter()
      .filter(|name| name.is_some())
      .count() as u64
  }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
  LlmRequestCompleted {
    model: Symbol,
    provider: Provider,
    provider_id: Option<Symbol>,
    usage: Usage,
    cost_micros: u64,
    timing: Timing,
  },
  LlmRequestFailed {
    model: Symbol,
    provider: Provider,
    provider_id: Option<Symbol>,
    // Boxed: failures are rare, and the common event stays small.
    error: Option<Box<FailureDetail>>,
  },
  BudgetThresholdReached {
    threshold_percent: u8,
    current_spend_micros: u64,
    budget_micros: u64,
  },
  RouterStarted {
    port: u16,
  },
  RouterStopped {
    total_requests: u64,
    total_cost_micros: u64,
  },
}

/// How long a request took, when the router says, to the microsecond.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timing {
  pub duration_us: Option<u64>,
  pub time_to_first_token_us: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct FailureDetail {
  pub code: Option<Box<str>>,
  pub message: Option<Box<str>>,
}

impl FailureDetail {
  /// `None` when neither a code nor a message is known.
  pub fn new(code: Option<&str>, message: Option<&str>) -> Option<Box<Self>> {
    (code.is_some() || message.is_some()).then(|| {
      Box::new(FailureDetail {
        code: code.map(Box::from),
        message: message.map(Box::from),
      })
    })
  }
}

impl Event {
  /// A new event with a fresh id, stamped now.
  pub fn new(agent: Option<Symbol>, payload: Payload) -> Self {
    Self::with_timestamp(current_time_ms(), agent, payload)
  }

  pub fn with_timestamp(timestamp_ms: u64, agent: Option<Symbol>, payload: Payload) -> Self {
    Event {
      id: EventId::new_v4(),
      timestamp_ms,
      agent,
      payload,
      overflow: None,
    }
  }
}

/// How a store keeps an event: 72 bytes where `Event` takes more, which decides how much memory a
/// full buffer holds. Completed requests, nearly every event, are stored inline with their figures
/// and durations (in microseconds, up to 71 minutes) in 32 bits and their timestamp in 48 (past
/// the year 10,000); any other event, and a completed one whose figures do not fit, is boxed.
pub(crate) enum StoredEvent {
  Completed(StoredCompleted),
  Boxed(Box<Event>),
}

/// An absent duration, stored inline.
const NO_DURATION: u32 = u32::MAX;

pub(crate) struct StoredCompleted {
  id: EventId,
  timestamp_low: u32,
  timestamp_high: u16,
  provider: Provider,
  agent: Option<Symbol>,
  model: Symbol,
  provider_id: Option<Symbol>,
  // input, output, cache read, cache write, 1-hour cache write, reasoning.
  tokens: [u32; 6],
  cost_micros: u32,
  duration_us: u32,
  time_to_first_token_us: u32,
}

impl StoredEvent {
  pub(crate) fn new(event: Event) -> Self {
    match StoredCompleted::try_from(&event) {
      Some(completed) => StoredEvent::Completed(completed),
      None => StoredEvent::Boxed(Box::new(event)),
    }
  }

  pub(crate) fn id(&self) -> EventId {
    match self {
      StoredEvent::Completed(completed) => completed.id,
      StoredEvent::Boxed(event) => event.id,
    }
  }

  /// Shows the event to `visit` without allocating: an inline one is rebuilt on the stack.
  pub(crate) fn show(&self, visit: &mut impl FnMut(&Event)) {
    match self {
      StoredEvent::Completed(completed) => visit(&completed.to_event()),
      StoredEvent::Boxed(event) => visit(event),
    }
  }

  pub(crate) fn to_event(&self) -> Event {
    match self {
      StoredEvent::Completed(completed) => completed.to_event(),
      StoredEvent::Boxed(event) => Event::clone(event),
    }
  }
}

impl StoredCompleted {
  fn try_from(event: &Event) -> Option<Self> {
    let Payload::LlmRequestCompleted {
      model,
      provider,
      provider_id,
      usage,
      cost_micros,
      timing,
    } = event.payload
    else {
      return None;
    };
    if event.overflow.is_some() {
      return None;
    }
    let narrow = |count: u64| u32::try_from(count).ok();
    let duration = |us: Option<u64>| {
      us.map_or(Some(NO_DURATION), |us| {
        narrow(us).filter(|&us| us != NO_DURATION)
      })
    };
    Some(StoredCompleted {
      id: event.id,
      timestamp_low: event.timestamp_ms as u32,
      timestamp_high: u16::try_from(event.timestamp_ms >> 32).ok()?,
      provider,
      agent: event.agent,
      model,
      provider_id,
      tokens: [
        narrow(usage.input_tokens)?,
        narrow(usage.output_tokens)?,
        narrow(usage.cache_read_tokens)?,
        narrow(usage.cache_write_tokens)?,
        narrow(usage.cache_write_1h_tokens)?,
        narrow(usage.reasoning_tokens)?,
      ],
      cost_micros: narrow(cost_micros)?,
      duration_us: duration(timing.duration_us)?,
      time_to_first_token_us: duration(timing.time_to_first_token_us)?,
    })
  }

  fn to_event(&self) -> Event {
    let [input, output, cache_read, cache_write, cache_write_1h, reasoning] =
      self.tokens.map(u64::from);
    let duration = |us: u32| (us != NO_DURATION).then_some(u64::from(us));
    Event {
      id: self.id,
      overflow: None,
      timestamp_ms: u64::from(self.timestamp_high) << 32 | u64::from(self.timestamp_low),
      agent: self.agent,
      payload: Payload::LlmRequestCompleted {
        model: self.model,
        provider: self.provider,
        provider_id: self.provider_id,
        usage: Usage {
          input_tokens: input,
          output_tokens: output,
          cache_read_tokens: cache_read,
          cache_write_tokens: cache_write,
          cache_write_1h_tokens: cache_write_1h,
          reasoning_tokens: reasoning,
        },
        cost_micros: self.cost_micros.into(),
        timing: Timing {
          duration_us: duration(self.duration_us),
          time_to_first_token_us: duration(self.time_to_first_token_us),
        },
      },
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::symbol::SymbolTable;

  fn symbol(index: usize) -> Symbol {
    let table = SymbolTable::new(10);
    (0..index)
      .map(|at| table.intern(&format!("stored-{at}")).unwrap())
      .last()
      .unwrap()
  }

  #[test]
  fn ids_are_version_4_and_round_trip() {
    let id = EventId::new_v4();
    let text = id.to_string();
    assert_eq!(text.len(), 36);
    assert_eq!(&text[14..15], "4");
    assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"));
    assert_eq!(EventId::parse(&text), Some(id));
    assert_eq!(EventId::parse(&text.to_uppercase()), Some(id));
    assert_ne!(EventId::new_v4(), id);
  }

  #[test]
  fn malformed_ids_do_not_parse() {
    for text in [
      "",
      "not-a-uuid",
      "0123456789abcdef0123456789abcdef0123",
      "g1234567-89ab-4cde-8f01-23456789abcd",
    ] {
      assert_eq!(EventId::parse(text), None, "{text}");
    }
  }

  #[test]
  fn events_stay_compact() {
    assert_eq!(std::mem::size_of::<StoredEvent>(), 72);
  }

  fn completed(timestamp_ms: u64, input_tokens: u64, cost_micros: u64) -> Event {
    let payload = Payload::LlmRequestCompleted {
      model: symbol(1),
      provider: Provider::Anthropic,
      provider_id: Some(symbol(2)),
      usage: Usage {
        input_tokens,
        output_tokens: 7,
        cache_read_tokens: input_tokens / 2,
        cache_write_tokens: input_tokens / 4,
        cache_write_1h_tokens: input_tokens / 8,
        reasoning_tokens: 3,
      },
      cost_micros,
      timing: Timing {
        duration_us: Some(1_234_567),
        time_to_first_token_us: None,
      },
    };
    Event::with_timestamp(timestamp_ms, Some(symbol(3)), payload)
  }

  #[test]
  fn stored_events_give_back_what_was_stored() {
    let failed = Event::new(
      None,
      Payload::LlmRequestFailed {
        model: symbol(1),
        provider: Provider::Unknown,
        provider_id: None,
        error: FailureDetail::new(Some("rate_limited"), Some("slow down")),
      },
    );
    let largest = (1u64 << 53) - 1;
    let events = [
      completed(1_767_225_600_123, 1_000, 2_500),
      completed((1 << 48) - 1, u32::MAX.into(), u32::MAX.into()),
      completed(1 << 48, 1, 1),
      completed(largest, largest, largest),
      completed(1_767_225_600_123, 1 << 32, 0),
      failed,
      Event::new(None, Payload::RouterStarted { port: 8080 }),
    ];
    for event in events {
      let stored = StoredEvent::new(event.clone());
      assert_eq!(stored.id(), event.id);
      assert_eq!(stored.to_event(), event);
      let mut shown = Vec::new();
      stored.show(&mut |event| shown.push(event.clone()));
      assert_eq!(shown, [event]);
    }
  }

  #[test]
  fn only_completed_events_that_fit_are_stored_inline() {
    assert!(matches!(
      StoredEvent::new(completed(1_767_225_600_123, 1_000, 2_500)),
      StoredEvent::Completed(_)
    ));
    assert!(matches!(
      StoredEvent::new(completed(1 << 48, 1, 1)),
      StoredEvent::Boxed(_)
    ));
    assert!(matches!(
      StoredEvent::new(completed(0, 1 << 32, 1)),
      StoredEvent::Boxed(_)
    ));
    assert!(matches!(
      StoredEvent::new(Event::new(None, Payload::RouterStarted { port: 1 })),
      StoredEvent::Boxed(_)
    ));
  }

  #[test]
  fn timestamps_are_unix_milliseconds() {
    assert!(current_time_ms() > 1_600_000_000_000);
  }
}
