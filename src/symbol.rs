//! String interning, one table per store and dimension (models, agents, provider ids). Names
//! repeat on every request; events and aggregates hold a 4-byte `Symbol` instead of a copy of the
//! string, and the binding passes symbols across the JS boundary instead of converting strings on
//! every call. A table belongs to its store, so dropping the store gives its names back, and it
//! holds at most `limit` names: further ones are counted under `(other)` (`Symbol::OTHER`) and
//! kept by their events as strings, so a flood of distinct names cannot grow memory without bound.

use std::hash::BuildHasherDefault;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use rustc_hash::FxHasher;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol(NonZeroU32);

impl Symbol {
  /// The key every name beyond a table's limit is counted under.
  pub const OTHER: Symbol = Symbol(NonZeroU32::MIN);
  pub const OTHER_NAME: &'static str = "(other)";

  pub fn id(self) -> u32 {
    self.0.get()
  }
}

/// The names of one dimension of one store.
pub struct SymbolTable {
  ids: DashMap<Arc<str>, Symbol, BuildHasherDefault<FxHasher>>,
  // Append-only and lock-free to read, so resolving a symbol never waits for an intern.
  names: boxcar::Vec<Arc<str>>,
  interned: AtomicUsize,
  // The highest id `intern` has returned: every id up to it names an entry.
  handed_out: AtomicU32,
  limit: usize,
}

/// The ids a table had handed out when it was read: checking a batch's ids against it costs a
/// comparison each.
#[derive(Clone, Copy)]
pub struct HandedOut(u32);

impl HandedOut {
  /// The symbol with this id, if the table had handed it out.
  #[inline]
  pub fn symbol(self, id: u32) -> Option<Symbol> {
    if id <= self.0 {
      NonZeroU32::new(id).map(Symbol)
    } else {
      None
    }
  }

  /// The symbol of an optional id (0: absent, `Some(None)`), if the table had handed it out:
  /// without a branch on the id being 0, which a mix of requests takes at random.
  #[inline]
  pub fn optional_symbol(self, id: u32) -> Option<Option<Symbol>> {
    (id <= self.0).then_some(NonZeroU32::new(id).map(Symbol))
  }
}

impl SymbolTable {
  /// A table for at most `limit` names besides `(other)`.
  pub fn new(limit: usize) -> Self {
    let table = SymbolTable {
      ids: DashMap::default(),
      names: boxcar::Vec::new(),
      interned: AtomicUsize::new(0),
      handed_out: AtomicU32::new(Symbol::OTHER.id()),
      limit,
    };
    table.names.push(Arc::from(Symbol::OTHER_NAME));
    table
  }

  /// The symbol of `name`, interning it on first sight; `None` once the table is full.
  pub fn intern(&self, name: &str) -> Option<Symbol> {
    if let Some(symbol) = self.ids.get(name) {
      return Some(*symbol);
    }
    // The entry holds its shard's lock, so a name racing in from two threads is pushed once.
    match self.ids.entry(Arc::from(name)) {
      Entry::Occupied(entry) => Some(*entry.get()),
      Entry::Vacant(entry) => {
        if self.interned.fetch_add(1, Ordering::Relaxed) >= self.limit {
          self.interned.fetch_sub(1, Ordering::Relaxed);
          return None;
        }
        let index = self.names.push(entry.key().clone());
        let id = u32::try_from(index + 1).ok().and_then(NonZeroU32::new)?;
        // Before the id is returned, so that whoever holds an id finds it handed out.
        self.handed_out.fetch_max(id.get(), Ordering::Release);
        Some(*entry.insert(Symbol(id)))
      }
    }
  }

  /// The symbol with this id, if this table handed it out.
  pub fn from_id(&self, id: u32) -> Option<Symbol> {
    let symbol = Symbol(NonZeroU32::new(id)?);
    // By entry, not by count: while another thread is still pushing a lower id, the count falls
    // short of an id already handed out.
    self.names.get(id as usize - 1).map(|_| symbol)
  }

  /// The ids handed out so far. A reader that got an id from a thread that had it from `intern`
  /// (through a release-acquire pair, as a staged row is) finds that id in the result.
  pub fn handed_out(&self) -> HandedOut {
    HandedOut(self.handed_out.load(Ordering::Acquire))
  }

  pub fn name(&self, symbol: Symbol) -> Arc<str> {
    Arc::clone(self.name_ref(symbol))
  }

  /// The name without counting a reference to it, for readers that only compare or copy it.
  pub fn name_ref(&self, symbol: Symbol) -> &Arc<str> {
    self
      .names
      .get(symbol.id() as usize - 1)
      .expect("a Symbol is only made by its own table")
  }

  /// The names with ids `from_id..`, in id order, for readers that cache symbols incrementally.
  pub fn names_from(&self, from_id: u32) -> Vec<Arc<str>> {
    // Up to the first entry still being pushed, so a reader's cache never has a gap.
    (from_id.max(1) as usize - 1..)
      .map_while(|index| self.names.get(index).cloned())
      .collect()
  }
}

/// A store's tables, one per dimension.
pub struct Names {
  pub models: SymbolTable,
  pub agents: SymbolTable,
  pub provider_ids: SymbolTable,
}

impl Names {
  pub fn new(max_keys: usize) -> Self {
    Names {
      models: SymbolTable::new(max_keys),
      agents: SymbolTable::new(max_keys),
      provider_ids: SymbolTable::new(max_keys),
    }
  }

  /// Dimensions as the binding numbers them.
  pub fn table(&self, dimension: u32) -> Option<&SymbolTable> {
    match dimension {
      0 => Some(&self.models),
      1 => Some(&self.agents),
      2 => Some(&self.provider_ids),
      _ => None,
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn interning_is_idempotent_and_reversible() {
    let table = SymbolTable::new(10);
    let a = table.intern("symbol-test-a").unwrap();
    let b = table.intern("symbol-test-b").unwrap();
    assert_ne!(a, b);
    assert_ne!(a, Symbol::OTHER);
    assert_eq!(table.intern("symbol-test-a"), Some(a));
    assert_eq!(&*table.name(a), "symbol-test-a");
    assert_eq!(&*table.name(Symbol::OTHER), "(other)");
    assert_eq!(table.from_id(b.id()), Some(b));
    assert_eq!(table.from_id(0), None);
    assert_eq!(table.from_id(u32::MAX), None);
    let handed_out = table.handed_out();
    assert_eq!(handed_out.symbol(b.id()), Some(b));
    assert_eq!(handed_out.symbol(Symbol::OTHER.id()), Some(Symbol::OTHER));
    assert_eq!(handed_out.symbol(0), None);
    assert_eq!(handed_out.symbol(b.id() + 1), None);
    assert_eq!(&*table.names_from(a.id())[0], "symbol-test-a");
  }

  #[test]
  fn a_full_table_refuses_new_names_and_keeps_its_own() {
    let table = SymbolTable::new(2);
    let kept = table.intern("kept").unwrap();
    table.intern("second").unwrap();
    assert_eq!(table.intern("third"), None);
    assert_eq!(table.intern("kept"), Some(kept));
    assert_eq!(table.names_from(1).len(), 3);
  }

  #[test]
  fn concurrent_interning_agrees_and_respects_the_limit() {
    let table = Arc::new(SymbolTable::new(150));
    let handles: Vec<_> = (0..4)
      .map(|_| {
        let table = table.clone();
        std::thread::spawn(move || {
          (0..200)
            .map(|i| table.intern(&format!("race-{i}")))
            .collect::<Vec<_>>()
        })
      })
      .collect();
    let results: Vec<Vec<Option<Symbol>>> = handles
      .into_iter()
      .map(|handle| handle.join().unwrap())
      .collect();
    let interned: std::collections::HashSet<Symbol> =
      results.iter().flatten().flatten().copied().collect();
    assert_eq!(interned.len(), 150);
    for (i, symbol) in results[0].iter().enumerate() {
      if let Some(symbol) = symbol {
        assert_eq!(&*table.name(*symbol), format!("race-{i}"));
        assert!(results.iter().all(|result| result[i] == Some(*symbol)));
      }
    }
  }
}
