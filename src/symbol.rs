//! Process-wide string interning. Model names, agent ids and provider ids repeat on every request;
//! events and aggregates hold a 4-byte `Symbol` instead of a copy of the string, and the binding
//! passes symbols across the JS boundary instead of converting strings on every call.

use std::num::NonZeroU32;
use std::sync::{Arc, LazyLock};

use dashmap::DashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol(NonZeroU32);

impl Symbol {
  pub fn id(self) -> u32 {
    self.0.get()
  }

  /// The symbol with this id, if one was ever interned.
  pub fn from_id(id: u32) -> Option<Symbol> {
    let symbol = Symbol(NonZeroU32::new(id)?);
    // By entry, not by `count()`: that counts finished pushes, so while another thread is still
    // pushing a lower id it falls short of an id already handed out.
    table().names.get(id as usize - 1).map(|_| symbol)
  }

  pub fn intern(name: &str) -> Symbol {
    table().intern(name)
  }

  pub fn name(self) -> Arc<str> {
    table()
      .names
      .get(self.0.get() as usize - 1)
      .cloned()
      .expect("a Symbol is only made for an interned name")
  }

  /// Number of names interned so far; ids run from 1 to this number.
  pub fn count() -> usize {
    table().names.count()
  }

  /// The names with ids `from_id..`, in id order, for readers that cache symbols incrementally.
  pub fn names_from(from_id: u32) -> Vec<Arc<str>> {
    let names = &table().names;
    // Up to the first entry still being pushed, so a reader's cache never has a gap.
    (from_id.max(1) as usize - 1..)
      .map_while(|index| names.get(index).cloned())
      .collect()
  }
}

struct SymbolTable {
  ids: DashMap<Arc<str>, Symbol>,
  // Append-only and lock-free to read, so resolving a symbol never waits for an intern.
  names: boxcar::Vec<Arc<str>>,
}

impl SymbolTable {
  fn intern(&self, name: &str) -> Symbol {
    if let Some(symbol) = self.ids.get(name) {
      return *symbol;
    }
    let name: Arc<str> = Arc::from(name);
    // The entry holds its shard's lock, so a name racing in from two threads is pushed once.
    *self.ids.entry(name.clone()).or_insert_with(|| {
      let index = self.names.push(name);
      let id = u32::try_from(index + 1).expect("fewer than 4 billion distinct names");
      Symbol(NonZeroU32::new(id).expect("index + 1 is never zero"))
    })
  }
}

fn table() -> &'static SymbolTable {
  static TABLE: LazyLock<SymbolTable> = LazyLock::new(|| SymbolTable {
    ids: DashMap::new(),
    names: boxcar::Vec::new(),
  });
  &TABLE
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn interning_is_idempotent_and_reversible() {
    let a = Symbol::intern("symbol-test-a");
    let b = Symbol::intern("symbol-test-b");
    assert_ne!(a, b);
    assert_eq!(Symbol::intern("symbol-test-a"), a);
    assert_eq!(&*a.name(), "symbol-test-a");
    assert_eq!(Symbol::from_id(b.id()), Some(b));
    assert_eq!(Symbol::from_id(0), None);
    assert_eq!(Symbol::from_id(u32::MAX), None);
    let names = Symbol::names_from(a.id());
    assert_eq!(&*names[0], "symbol-test-a");
  }

  #[test]
  fn concurrent_interning_agrees() {
    let handles: Vec<_> = (0..4)
      .map(|_| {
        std::thread::spawn(|| {
          (0..200)
            .map(|i| Symbol::intern(&format!("race-{i}")))
            .collect::<Vec<_>>()
        })
      })
      .collect();
    let results: Vec<Vec<Symbol>> = handles
      .into_iter()
      .map(|handle| handle.join().unwrap())
      .collect();
    assert!(results.windows(2).all(|pair| pair[0] == pair[1]));
    for (i, symbol) in results[0].iter().enumerate() {
      assert_eq!(&*symbol.name(), format!("race-{i}"));
    }
  }
}
