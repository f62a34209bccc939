//! Named stores shared by every thread of the process: the same name gives the same store in the
//! main thread and in each worker. The registry holds plain Rust data, never a JS reference.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use crate::store::{EventStore, DEFAULT_CAPACITY, DEFAULT_MAX_KEYS};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityMismatch {
  pub name: String,
  pub existing: usize,
  pub requested: usize,
}

impl fmt::Display for CapacityMismatch {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(
      f,
      "shared store {:?} already exists with capacity {}; it cannot be opened with capacity {} (omit the capacity to open it as it is)",
      self.name, self.existing, self.requested
    )
  }
}

impl std::error::Error for CapacityMismatch {}

fn stores() -> &'static Mutex<HashMap<String, Arc<EventStore>>> {
  static STORES: LazyLock<Mutex<HashMap<String, Arc<EventStore>>>> =
    LazyLock::new(Default::default);
  &STORES
}

/// The store registered under `name`, created with `capacity` (default 10,000) if there is none.
/// Asking for an existing store with a different capacity is an error; omitting it never is.
/// `max_keys` applies when the store is created.
pub fn shared(
  name: &str,
  capacity: Option<usize>,
  max_keys: Option<usize>,
) -> Result<Arc<EventStore>, CapacityMismatch> {
  let mut stores = stores().lock().unwrap_or_else(PoisonError::into_inner);
  if let Some(store) = stores.get(name) {
    return match capacity {
      Some(requested) if requested != store.capacity() => Err(CapacityMismatch {
        name: name.to_owned(),
        existing: store.capacity(),
        requested,
      }),
      _ => Ok(store.clone()),
    };
  }
  let store = Arc::new(EventStore::with_max_keys(
    capacity.unwrap_or(DEFAULT_CAPACITY),
    max_keys.unwrap_or(DEFAULT_MAX_KEYS),
  ));
  stores.insert(name.to_owned(), store.clone());
  Ok(store)
}

/// Forgets the name; threads that hold the store keep using it until they let go.
pub fn remove(name: &str) -> bool {
  stores()
    .lock()
    .unwrap_or_else(PoisonError::into_inner)
    .remove(name)
    .is_some()
}

/// Names of the registered stores, sorted.
pub fn names() -> Vec<String> {
  let mut names: Vec<String> = stores()
    .lock()
    .unwrap_or_else(PoisonError::into_inner)
    .keys()
    .cloned()
    .collect();
  names.sort();
  names
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn same_name_same_store() {
    let a = shared("registry-test-same", Some(10), None).unwrap();
    let b = shared("registry-test-same", None, None).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    let other = shared("registry-test-other", None, None).unwrap();
    assert!(!Arc::ptr_eq(&a, &other));
    assert_eq!(other.capacity(), DEFAULT_CAPACITY);
  }

  #[test]
  fn capacity_mismatch_is_an_error() {
    shared("registry-test-mismatch", Some(5), None).unwrap();
    let Err(error) = shared("registry-test-mismatch", Some(6), None) else {
      panic!("a different capacity must be refused")
    };
    assert_eq!((error.existing, error.requested), (5, 6));
    assert!(error.to_string().contains("registry-test-mismatch"));
  }

  #[test]
  fn removed_names_start_fresh() {
    let first = shared("registry-test-remove", None, None).unwrap();
    assert!(names().contains(&"registry-test-remove".to_owned()));
    assert!(remove("registry-test-remove"));
    assert!(!remove("registry-test-remove"));
    let second = shared("registry-test-remove", None, None).unwrap();
    assert!(!Arc::ptr_eq(&first, &second));
  }
}
