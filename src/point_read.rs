//! Point reads: the figures a router asks for on every request (`agentStats`, `budgetStatus`),
//! passed through an area of memory rather than through a native call's arguments.
//!
//! What a native call costs is mostly its receiver and its arguments: napi-rs converts them in a
//! scope that records each borrow of a native object in a process-wide table, where a function
//! with neither is a plain call. So a thread's reader writes the store's handle and the agent's
//! id into this thread's area (`layout::point_read`), calls a native function without arguments,
//! and finds the figures in the same area. The area and the handles belong to one JavaScript
//! thread: only it touches them, and only between its native calls.

use std::cell::Cell;
use std::sync::Arc;

use crate::layout::point_read::LENGTH;
use crate::store::EventStore;

/// The numbers a point read passes through, in memory the reader views as a `Float64Array`.
pub struct ReadArea {
  // Cells, as the reader writes this memory while the area is shared.
  cells: Box<[Cell<f64>]>,
}

impl Default for ReadArea {
  fn default() -> Self {
    ReadArea {
      cells: (0..LENGTH).map(|_| Cell::new(0.0)).collect(),
    }
  }
}

impl ReadArea {
  /// The start of the area, for the binding to hand to the reader.
  pub fn as_ptr(&self) -> *mut u8 {
    self.cells.as_ptr().cast::<u8>().cast_mut()
  }

  pub fn byte_len(&self) -> usize {
    self.cells.len() * size_of::<f64>()
  }

  pub fn get(&self, at: usize) -> f64 {
    self.cells[at].get()
  }

  pub fn set(&self, at: usize, value: f64) {
    self.cells[at].set(value);
  }

  /// Runs `write` on the area as `2 * LENGTH` `i32` slots.
  pub fn with_slots<T>(&self, write: impl FnOnce(&mut [i32]) -> T) -> T {
    // SAFETY: `f64` cells are aligned for `i32`s and hold two each. Cells are not `Sync`, so only
    // this thread reaches them, and nothing else touches them while `write` has the only access.
    let slots =
      unsafe { std::slice::from_raw_parts_mut(self.as_ptr().cast::<i32>(), 2 * self.cells.len()) };
    write(slots)
  }

  /// Writes `values` from `at` on.
  pub fn write(&self, at: usize, values: &[f64]) {
    for (cell, &value) in self.cells[at..].iter().zip(values) {
      cell.set(value);
    }
  }
}

/// The id a reader wrote, if the number is one: a whole number from 0 to `u32::MAX`.
pub fn id_in(value: f64) -> Option<u32> {
  let id = value as u32;
  (f64::from(id) == value).then_some(id)
}

/// One thread's stores, each named by a handle its reads pass as a number. A store keeps its
/// handle until the thread lets go of it; a handle let go of is given to the next store.
#[derive(Default)]
pub struct StoreHandles {
  slots: Vec<Option<Arc<EventStore>>>,
  free: Vec<usize>,
}

impl StoreHandles {
  /// A new handle for `store`, from 1 (a zeroed area names no store).
  pub fn open(&mut self, store: Arc<EventStore>) -> f64 {
    let slot = match self.free.pop() {
      Some(slot) => {
        self.slots[slot] = Some(store);
        slot
      }
      None => {
        self.slots.push(Some(store));
        self.slots.len() - 1
      }
    };
    (slot + 1) as f64
  }

  pub fn close(&mut self, handle: f64) {
    if let Some(slot) = self.slot(handle) {
      if self.slots[slot].take().is_some() {
        self.free.push(slot);
      }
    }
  }

  /// The store a handle names: none for a closed handle or a number that was never one.
  pub fn get(&self, handle: f64) -> Option<&EventStore> {
    self.slots[self.slot(handle)?].as_deref()
  }

  fn slot(&self, handle: f64) -> Option<usize> {
    let slot = (id_in(handle)? as usize).checked_sub(1)?;
    (slot < self.slots.len()).then_some(slot)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn store() -> Arc<EventStore> {
    Arc::new(EventStore::new(16))
  }

  #[test]
  fn handles_name_their_own_store_until_closed_and_are_then_reused() {
    let mut handles = StoreHandles::default();
    let (first, second) = (store(), store());
    let a = handles.open(first.clone());
    let b = handles.open(second.clone());
    assert_ne!(a, b);
    assert!(std::ptr::eq(handles.get(a).unwrap(), &*first));
    assert!(std::ptr::eq(handles.get(b).unwrap(), &*second));
    handles.close(a);
    assert!(handles.get(a).is_none());
    handles.close(a);
    let third = store();
    let c = handles.open(third.clone());
    assert_eq!(c, a, "a closed handle is given to the next store");
    assert!(std::ptr::eq(handles.get(c).unwrap(), &*third));
    assert!(std::ptr::eq(handles.get(b).unwrap(), &*second));
    // Only what its slot held: a closed handle leaves the store to its other owners.
    drop(handles);
    assert_eq!(Arc::strong_count(&first), 1);
  }

  #[test]
  fn numbers_that_were_never_handles_name_no_store() {
    let mut handles = StoreHandles::default();
    let handle = handles.open(store());
    for number in [
      0.0,
      -1.0,
      handle + 1.0,
      handle + 0.5,
      f64::NAN,
      f64::INFINITY,
      2.0f64.powi(40),
    ] {
      assert!(handles.get(number).is_none(), "{number}");
    }
  }

  #[test]
  fn ids_are_whole_numbers_a_u32_holds() {
    assert_eq!(id_in(7.0), Some(7));
    assert_eq!(id_in(0.0), Some(0));
    assert_eq!(id_in(f64::from(u32::MAX)), Some(u32::MAX));
    for number in [7.5, -1.0, f64::NAN, 2.0f64.powi(32), f64::INFINITY] {
      assert_eq!(id_in(number), None, "{number}");
    }
  }

  #[test]
  fn the_area_as_slots_is_the_same_memory() {
    let area = ReadArea::default();
    let length = area.with_slots(|slots| {
      slots[2] = 7;
      slots[LENGTH * 2 - 1] = -1;
      slots.len()
    });
    assert_eq!(length, LENGTH * 2);
    assert_eq!(area.get(1).to_ne_bytes()[..4], 7i32.to_ne_bytes());
    assert_eq!(
      area.get(LENGTH - 1).to_ne_bytes()[4..],
      (-1i32).to_ne_bytes()
    );
  }

  #[test]
  fn the_area_reads_back_what_was_written() {
    let area = ReadArea::default();
    assert_eq!(area.byte_len(), LENGTH * 8);
    area.write(3, &[1.5, 2.5]);
    assert_eq!(
      (area.get(2), area.get(3), area.get(4), area.get(5)),
      (0.0, 1.5, 2.5, 0.0)
    );
  }
}
