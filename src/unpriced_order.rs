//! The order of a store's unpriced models by name, kept between reads. A model stays unpriced once
//! it was (its count never falls), so most reads meet the models the last one met: a store with a
//! million unpriced names then sorts them once, not at every `stats()`.

use std::sync::{Mutex, PoisonError};

use crate::symbol::{Symbol, SymbolTable};

#[derive(Default)]
pub struct UnpricedOrder(Mutex<Sorted>);

#[derive(Default)]
struct Sorted {
  /// The models as the last read met them, in the order of its walk.
  met: Vec<Symbol>,
  by_name: Vec<Symbol>,
}

impl UnpricedOrder {
  /// Calls `visit` with `met` sorted by name: sorted anew only when it differs from the last read's.
  /// Compared whole rather than by count: two walks overlapping a recording may each meet a model
  /// the other missed.
  pub fn sorted<R>(
    &self,
    met: Vec<Symbol>,
    models: &SymbolTable,
    visit: impl FnOnce(&[Symbol]) -> R,
  ) -> R {
    let mut last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
    if last.met != met {
      // By the names themselves rather than by symbol, which would look each name up at every
      // comparison.
      let mut by_name: Vec<(&str, Symbol)> = met
        .iter()
        .map(|&model| (&**models.name_ref(model), model))
        .collect();
      by_name.sort_unstable();
      last.by_name = by_name.into_iter().map(|(_, model)| model).collect();
      last.met = met;
    }
    visit(&last.by_name)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn sorts_by_name_and_follows_a_changed_set() {
    let models = SymbolTable::new(16);
    let [b, a, c] = ["b", "a", "c"].map(|name| models.intern(name).unwrap());
    let order = UnpricedOrder::default();
    let sorted = |met: Vec<Symbol>| order.sorted(met, &models, |sorted| sorted.to_vec());
    assert_eq!(sorted(vec![b, a]), vec![a, b]);
    assert_eq!(sorted(vec![b, a]), vec![a, b]);
    // As many models as before, but not the same ones.
    assert_eq!(sorted(vec![b, c]), vec![b, c]);
    assert_eq!(sorted(vec![c, b, a]), vec![a, b, c]);
    assert_eq!(sorted(Vec::new()), Vec::<Symbol>::new());
  }
}
