//! Staging areas: where one JavaScript thread writes the completed requests it records into a
//! store, in memory the store owns (`layout::staging`).
//!
//! The writer fills the row at `head`, then publishes it with one atomic store of `head + 1`.
//! Any reader, on any thread, drains the published rows into the store before it reads, so a
//! record is visible everywhere as soon as the call that wrote it returns; and since the rows
//! live as long as the store rather than the writer's thread, a terminated worker loses nothing
//! it recorded. Drains of one area are serialized by its own lock, so a writer that finds its
//! ring full and drains it itself waits at most for another drain of the same area, never for a
//! reader of the buffer.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::layout::staging::{bytes, row, BUFFER_FULL, HEAD, MAX_ROWS, ROWS_AT, TAIL};

pub struct StagingArea {
  // `u64` words so that the rows are 8-byte aligned; the header's `u32` counters live in the
  // first words. Atomics because the writer is another thread (and another language).
  memory: Box<[AtomicU64]>,
  rows: usize,
  drain: Mutex<()>,
  abandoned: AtomicBool,
}

impl StagingArea {
  /// An area of `rows` rows, at most `MAX_ROWS`.
  pub fn new(rows: usize) -> Self {
    let rows = rows.clamp(1, MAX_ROWS);
    StagingArea {
      memory: (0..bytes(rows) / 8).map(|_| AtomicU64::new(0)).collect(),
      rows,
      drain: Mutex::new(()),
      abandoned: AtomicBool::new(false),
    }
  }

  /// The start of the area, for the binding to hand to its writer.
  pub fn as_ptr(&self) -> *mut u8 {
    self.memory.as_ptr() as *mut u8
  }

  pub fn byte_len(&self) -> usize {
    bytes(self.rows)
  }

  pub fn rows(&self) -> usize {
    self.rows
  }

  fn counter(&self, index: usize) -> &AtomicU32 {
    // SAFETY: `index` is a header slot inside the first words; an `AtomicU32` has the size of a
    // `u32` and an alignment the `u64` words satisfy, and every access to it is atomic.
    unsafe { &*(self.memory.as_ptr().cast::<AtomicU32>().add(index)) }
  }

  /// The writer has gone: once drained, the area can be let go.
  pub fn abandon(&self) {
    self.abandoned.store(true, Ordering::Release);
  }

  pub fn is_abandoned(&self) -> bool {
    self.abandoned.load(Ordering::Acquire)
  }

  /// Tells the writer whether the last drain found the buffer full, so it can skip reading the
  /// clock for rows that will most likely be dropped.
  pub fn set_buffer_full(&self, full: bool) {
    self
      .counter(BUFFER_FULL)
      .store(u32::from(full), Ordering::Relaxed);
  }

  /// Hands the published rows to `record`, oldest first, in at most two runs of whole rows (the
  /// ring wraps), then frees them for the writer. Returns how many rows there were.
  pub fn drain(&self, mut record: impl FnMut(&[f64])) -> usize {
    // Nothing published since the last drain: no lock to take. A drain still under way elsewhere
    // has not moved the tail yet, so this only skips rows already recorded, whose effects the
    // acquire load of the tail makes visible here.
    if self.counter(HEAD).load(Ordering::Acquire) == self.counter(TAIL).load(Ordering::Acquire) {
      return 0;
    }
    let _serialized = self.drain.lock().unwrap_or_else(PoisonError::into_inner);
    let head = self.counter(HEAD).load(Ordering::Acquire);
    let tail = self.counter(TAIL).load(Ordering::Relaxed);
    let count = head.wrapping_sub(tail) as usize;
    if count == 0 {
      return 0;
    }
    // A writer never publishes more than a ring's worth; anything else is not a row count.
    let count = count.min(self.rows);
    let first = tail as usize % self.rows;
    let until_end = count.min(self.rows - first);
    record(self.rows_from(first, until_end));
    if until_end < count {
      record(self.rows_from(0, count - until_end));
    }
    self.counter(TAIL).store(head, Ordering::Release);
    count
  }

  fn rows_from(&self, first: usize, count: usize) -> &[f64] {
    let start = ROWS_AT + first * row::STRIDE;
    let words = &self.memory[start..start + count * row::STRIDE];
    // SAFETY: these rows were published before `head` was read with acquire ordering, and the
    // writer does not touch a published row until `tail` passes it, which happens only after
    // this borrow ends; a `u64` word and an `f64` have the same size and alignment.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<f64>(), words.len()) }
  }
}

/// Writes rows as the facade does, for tests of the readers.
#[cfg(test)]
impl StagingArea {
  /// Fills the row at `head` and publishes it; false when the ring is full.
  pub(crate) fn publish(&self, fields: &[f64]) -> bool {
    let head = self.counter(HEAD).load(Ordering::Relaxed);
    if head.wrapping_sub(self.counter(TAIL).load(Ordering::Acquire)) as usize >= self.rows {
      return false;
    }
    let at = ROWS_AT + (head as usize % self.rows) * row::STRIDE;
    for (offset, value) in fields.iter().enumerate() {
      self.memory[at + offset].store(value.to_bits(), Ordering::Relaxed);
    }
    self
      .counter(HEAD)
      .store(head.wrapping_add(1), Ordering::Release);
    true
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn row_of(first: f64) -> Vec<f64> {
    (0..row::STRIDE).map(|field| first + field as f64).collect()
  }

  #[test]
  fn drains_published_rows_in_order_across_the_wrap() {
    let area = StagingArea::new(MAX_ROWS);
    let mut seen = Vec::new();
    for round in 0..3 {
      for index in 0..700 {
        assert!(area.publish(&row_of((round * 1000 + index) as f64)));
      }
      area.drain(|rows| seen.extend(rows.chunks_exact(row::STRIDE).map(|row| row[0])));
    }
    let expected: Vec<f64> = (0..3)
      .flat_map(|round| (0..700).map(move |index| (round * 1000 + index) as f64))
      .collect();
    assert_eq!(seen, expected);
    assert_eq!(area.drain(|_| panic!("nothing left")), 0);
  }

  #[test]
  fn concurrent_drains_take_each_row_once() {
    let area = std::sync::Arc::new(StagingArea::new(MAX_ROWS));
    let total = std::sync::Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..3)
      .map(|_| {
        let (area, total) = (area.clone(), total.clone());
        std::thread::spawn(move || {
          for _ in 0..2_000 {
            area.drain(|rows| {
              let sum: f64 = rows.chunks_exact(row::STRIDE).map(|row| row[0]).sum();
              total.fetch_add(sum as u64, Ordering::Relaxed);
            });
          }
        })
      })
      .collect();
    let mut written = 0u64;
    for value in 1..=20_000u64 {
      // As the facade does, a writer that finds its ring full drains it itself.
      while !area.publish(&row_of(value as f64)) {
        area.drain(|rows| {
          let sum: f64 = rows.chunks_exact(row::STRIDE).map(|row| row[0]).sum();
          total.fetch_add(sum as u64, Ordering::Relaxed);
        });
      }
      written += value;
    }
    readers
      .into_iter()
      .for_each(|reader| reader.join().unwrap());
    area.drain(|rows| {
      let sum: f64 = rows.chunks_exact(row::STRIDE).map(|row| row[0]).sum();
      total.fetch_add(sum as u64, Ordering::Relaxed);
    });
    assert_eq!(total.load(Ordering::Relaxed), written);
  }
}
