//! The event store: a bounded lock-free buffer plus live aggregates.
//!
//! Producers never lock the buffer: slots are reserved with a compare-and-swap on `occupied`, and
//! the events go into the `inbox` (a crossbeam `ArrayQueue`) as one batch per reservation; the
//! aggregates are updated as `stats` describes. Readers move whatever is in the inbox, in order,
//! to the end of the `ledger` under a mutex that only readers take, and read or remove events
//! there. So a snapshot or an acknowledgement never pops and re-pushes events under producers'
//! feet: nothing recorded concurrently is lost or reordered, and the buffer never holds more than
//! `capacity` events in all.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use crossbeam::queue::ArrayQueue;

use crate::event::{Event, EventId, StoredEvent};
use crate::stats::{ComputedStats, LiveStats};
use crate::stream::{self, EventReceiver, EventSender};

pub const DEFAULT_CAPACITY: usize = 10_000;
pub const MAX_CAPACITY: usize = 10_000_000;

pub struct EventStore {
  capacity: usize,
  occupied: AtomicUsize,
  // Batches of events, one per reservation: a batch costs the queue one push however many events
  // it holds. Events are kept as `StoredEvent`s, two thirds the size of an `Event`. Every batch
  // holds at least one reserved event, so the inbox never holds more batches than `capacity`.
  inbox: ArrayQueue<Box<[StoredEvent]>>,
  ledger: Mutex<VecDeque<StoredEvent>>,
  dropped: AtomicU64,
  stats: LiveStats,
  stream: Option<EventSender>,
}

impl Default for EventStore {
  fn default() -> Self {
    Self::new(DEFAULT_CAPACITY)
  }
}

impl EventStore {
  /// `capacity` is clamped to `1..=MAX_CAPACITY`; callers validate it first.
  pub fn new(capacity: usize) -> Self {
    Self::build(capacity, None)
  }

  /// A store that also offers every buffered event to a bounded channel of `channel_size`.
  pub fn with_streaming(capacity: usize, channel_size: usize) -> (Self, EventReceiver) {
    let (sender, receiver) = stream::bounded(channel_size);
    (Self::build(capacity, Some(sender)), receiver)
  }

  fn build(capacity: usize, stream: Option<EventSender>) -> Self {
    let capacity = capacity.clamp(1, MAX_CAPACITY);
    EventStore {
      capacity,
      occupied: AtomicUsize::new(0),
      inbox: ArrayQueue::new(capacity),
      ledger: Mutex::new(VecDeque::new()),
      dropped: AtomicU64::new(0),
      stats: LiveStats::default(),
      stream,
    }
  }

  pub fn capacity(&self) -> usize {
    self.capacity
  }

  /// Counts the event, then buffers it if there is room; returns whether it was buffered.
  /// Never blocks and never evicts: a full buffer drops the new event and counts the drop.
  pub fn record(&self, event: Event) -> bool {
    self.stats.apply(&event);
    self.buffer(event)
  }

  /// Buffers an event whose figures are already counted.
  fn buffer(&self, event: Event) -> bool {
    if !self.reserve_slot() {
      self.dropped.fetch_add(1, Ordering::Relaxed);
      return false;
    }
    if let Some(stream) = &self.stream {
      stream.offer(&event);
    }
    // The reservation guarantees a free slot: the inbox never holds more than `occupied` batches.
    if self
      .inbox
      .push(Box::new([StoredEvent::new(event)]))
      .is_err()
    {
      self.release_slots(1);
      self.dropped.fetch_add(1, Ordering::Relaxed);
      return false;
    }
    true
  }

  /// Buffers a batch that fills a reservation, in order; `wanted` events were recorded in all, and
  /// those beyond the batch are counted as dropped. Returns how many were buffered.
  pub(crate) fn push_reserved(&self, batch: Vec<StoredEvent>, wanted: usize) -> usize {
    let mut buffered = 0;
    if !batch.is_empty() {
      if let Some(stream) = &self.stream {
        batch
          .iter()
          .for_each(|event| stream.offer(&event.to_event()));
      }
      let reserved = batch.len();
      // As in `buffer`, the reservation guarantees a free slot.
      if self.inbox.push(batch.into_boxed_slice()).is_ok() {
        buffered = reserved;
      } else {
        self.release_slots(reserved);
      }
    }
    if wanted > buffered {
      self
        .dropped
        .fetch_add((wanted - buffered) as u64, Ordering::Relaxed);
    }
    buffered
  }

  fn reserve_slot(&self) -> bool {
    self.reserve_slots(1) == 1
  }

  /// Reserves up to `wanted` slots; returns how many it got. The caller fills them (for a batch,
  /// with `push_reserved`) or gives them back with `release_slots`.
  pub(crate) fn reserve_slots(&self, wanted: usize) -> usize {
    let mut occupied = self.occupied.load(Ordering::Relaxed);
    loop {
      let granted = wanted.min(self.capacity.saturating_sub(occupied));
      if granted == 0 {
        return 0;
      }
      match self.occupied.compare_exchange_weak(
        occupied,
        occupied + granted,
        Ordering::AcqRel,
        Ordering::Relaxed,
      ) {
        Ok(_) => return granted,
        Err(current) => occupied = current,
      }
    }
  }

  pub(crate) fn release_slots(&self, count: usize) {
    if count > 0 {
      self.occupied.fetch_sub(count, Ordering::AcqRel);
    }
  }

  pub fn live_stats(&self) -> &LiveStats {
    &self.stats
  }

  pub fn stats(&self) -> ComputedStats {
    self.stats.snapshot()
  }

  /// Buffered events, also those being pushed at this moment.
  pub fn len(&self) -> usize {
    self.occupied.load(Ordering::Acquire)
  }

  pub fn is_empty(&self) -> bool {
    self.len() == 0
  }

  pub fn dropped_count(&self) -> u64 {
    self.dropped.load(Ordering::Relaxed)
  }

  /// Acknowledged events leave the buffer, so every buffered event is unsynced.
  pub fn unsynced_count(&self) -> usize {
    self.len()
  }

  fn with_ledger<R>(&self, read: impl FnOnce(&mut VecDeque<StoredEvent>) -> R) -> R {
    let mut ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
    while let Some(batch) = self.inbox.pop() {
      let (held, needed) = (ledger.len(), ledger.len() + batch.len());
      if needed > ledger.capacity() {
        // Doubling keeps moves amortised; the store's capacity bounds the events, so it bounds
        // the allocation too.
        let wanted = (ledger.capacity() * 2).min(self.capacity).max(needed);
        ledger.reserve_exact(wanted - held);
      }
      ledger.extend(batch.into_vec());
    }
    read(&mut ledger)
  }

  /// Lends the buffered events to `read` under the readers' lock, so they are read in place rather
  /// than copied out; the buffer is unchanged.
  pub fn read_buffered<R>(&self, read: impl FnOnce(&Buffered) -> R) -> R {
    self.with_ledger(|ledger| read(&Buffered(ledger)))
  }

  /// Like `read_buffered`; the events leave the buffer if `take` returns true. Returns how many
  /// left.
  pub fn take_buffered(&self, take: impl FnOnce(&Buffered) -> bool) -> usize {
    let taken = self.with_ledger(|ledger| {
      if !take(&Buffered(ledger)) {
        return 0;
      }
      let taken = ledger.len();
      ledger.clear();
      taken
    });
    self.release_slots(taken);
    taken
  }

  /// Copies of the buffered events, oldest first; the buffer is unchanged.
  pub fn snapshot_events(&self) -> Vec<Event> {
    self.read_buffered(|events| events.to_vec())
  }

  /// The buffered events not yet acknowledged, oldest first.
  pub fn unsynced_events(&self) -> Vec<Event> {
    self.snapshot_events()
  }

  /// Removes and returns every buffered event, oldest first.
  pub fn drain_all(&self) -> Vec<Event> {
    let mut events = Vec::new();
    self.take_buffered(|buffered| {
      events = buffered.to_vec();
      true
    });
    events
  }

  /// Removes the acknowledged events; returns how many of the ids were found in the buffer.
  pub fn mark_synced(&self, ids: &[EventId]) -> usize {
    if ids.is_empty() {
      return 0;
    }
    let acknowledged: HashSet<EventId> = ids.iter().copied().collect();
    let removed = self.with_ledger(|ledger| {
      let before = ledger.len();
      ledger.retain(|event| !acknowledged.contains(&event.id()));
      before - ledger.len()
    });
    self.release_slots(removed);
    removed
  }
}

/// The buffered events, oldest first, as `EventStore::read_buffered` lends them.
pub struct Buffered<'a>(&'a VecDeque<StoredEvent>);

impl Buffered<'_> {
  pub fn len(&self) -> usize {
    self.0.len()
  }

  pub fn is_empty(&self) -> bool {
    self.0.is_empty()
  }

  /// Shows each event to `visit` without allocating for it.
  pub fn for_each(&self, mut visit: impl FnMut(&Event)) {
    self.0.iter().for_each(|stored| stored.show(&mut visit));
  }

  pub fn to_vec(&self) -> Vec<Event> {
    let mut events = Vec::with_capacity(self.len());
    self.for_each(|event| events.push(event.clone()));
    events
  }
}
