//! The event store: a bounded lock-free buffer plus live aggregates.
//!
//! Producers never lock the buffer: slots are reserved with a compare-and-swap on `occupied`, and
//! the events go into the `inbox` (a crossbeam `SegQueue`) as one batch per reservation; the
//! aggregates are updated as `stats` describes. Readers move whatever is in the inbox, in order,
//! to the end of the `ledger` under a mutex that only readers take, and read or remove events
//! there. So a snapshot or an acknowledgement never pops and re-pushes events under producers'
//! feet: nothing recorded concurrently is lost or reordered, and the buffer never holds more than
//! `capacity` events in all.
//!
//! The facade records completed requests into staging areas (`staging`) rather than calling in
//! for each: every read here drains them first, so what any thread recorded is counted and
//! buffered before anything is read. Each buffered event gets a sequence number, increasing and
//! never reused, so a reader can ask for just the events after the last one it saw.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crossbeam::queue::SegQueue;

use crate::budget::{BudgetRule, BudgetStatus, Budgets, Crossing};
use crate::event::{Event, EventId, Payload, StoredEvent};
use crate::staging::StagingArea;
use crate::stats::{ComputedStats, Exhausted, LiveStats, ModelStats};
use crate::stream::{self, EventReceiver, EventSender};
use crate::symbol::{Names, Symbol};

pub const DEFAULT_CAPACITY: usize = 10_000;
pub const MAX_CAPACITY: usize = 10_000_000;
/// Names a store aggregates per dimension (models, agents, provider ids) unless told otherwise.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

pub struct EventStore {
  names: Arc<Names>,
  capacity: usize,
  occupied: AtomicUsize,
  // Batches of events, one per reservation: a batch costs the queue one push however many events
  // it holds. Events are kept as `StoredEvent`s, smaller than an `Event`. Every batch holds at
  // least one reserved event, so `occupied` bounds the inbox; a segmented queue allocates as it
  // fills rather than `capacity` slots up front, so an idle store costs little.
  inbox: SegQueue<Box<[StoredEvent]>>,
  ledger: Mutex<Ledger>,
  areas: RwLock<Vec<Arc<StagingArea>>>,
  dropped: AtomicU64,
  stats: LiveStats,
  budgets: Budgets<Symbol>,
  stream: Option<EventSender>,
}

/// The buffered events in order, each with its sequence number. An acknowledged event leaves a
/// gap (`None`) until the gaps are swept, so acknowledging by sequence number costs a binary
/// search, not a pass over the buffer.
#[derive(Default)]
struct Ledger {
  events: VecDeque<(u64, Option<StoredEvent>)>,
  gaps: usize,
  next_seq: u64,
}

impl Ledger {
  fn push(&mut self, event: StoredEvent) {
    self.next_seq += 1;
    self.events.push_back((self.next_seq, Some(event)));
  }

  fn live(&self) -> impl Iterator<Item = (u64, &StoredEvent)> {
    self
      .events
      .iter()
      .filter_map(|(seq, event)| Some((*seq, event.as_ref()?)))
  }

  /// Removes the event with this sequence number; returns whether it was buffered.
  fn remove(&mut self, seq: u64) -> bool {
    let Ok(index) = self.events.binary_search_by_key(&seq, |(held, _)| *held) else {
      return false;
    };
    if self.events[index].1.take().is_none() {
      return false;
    }
    self.gaps += 1;
    true
  }

  /// Drops the gaps at the front, and all of them once they are half the ledger, so gaps cost
  /// amortised O(1) each.
  fn sweep(&mut self) {
    while matches!(self.events.front(), Some((_, None))) {
      self.events.pop_front();
      self.gaps -= 1;
    }
    if self.gaps > 0 && self.gaps * 2 >= self.events.len() {
      self.events.retain(|(_, event)| event.is_some());
      self.gaps = 0;
    }
  }

  fn clear(&mut self) {
    self.events.clear();
    self.gaps = 0;
  }
}

impl EventStore {
  /// `capacity` is clamped to `1..=MAX_CAPACITY`; callers validate it first.
  pub fn new(capacity: usize) -> Self {
    Self::build(capacity, DEFAULT_MAX_KEYS, None)
  }

  /// A store that aggregates at most `max_keys` names per dimension; further ones are counted
  /// under `(other)`.
  pub fn with_max_keys(capacity: usize, max_keys: usize) -> Self {
    Self::build(capacity, max_keys, None)
  }

  /// A store that also offers every buffered event to a bounded channel of `channel_size`.
  pub fn with_streaming(
    capacity: usize,
    max_keys: usize,
    channel_size: usize,
  ) -> (Self, EventReceiver) {
    let (sender, receiver) = stream::bounded(channel_size);
    (Self::build(capacity, max_keys, Some(sender)), receiver)
  }

  fn build(capacity: usize, max_keys: usize, stream: Option<EventSender>) -> Self {
    let capacity = capacity.clamp(1, MAX_CAPACITY);
    EventStore {
      names: Arc::new(Names::new(max_keys)),
      capacity,
      occupied: AtomicUsize::new(0),
      inbox: SegQueue::new(),
      ledger: Mutex::new(Ledger::default()),
      areas: RwLock::new(Vec::new()),
      dropped: AtomicU64::new(0),
      stats: LiveStats::default(),
      budgets: Budgets::default(),
      stream,
    }
  }

  pub fn capacity(&self) -> usize {
    self.capacity
  }

  /// The store's names, by dimension.
  pub fn names(&self) -> &Arc<Names> {
    &self.names
  }

  /// Counts the event, then buffers it if there is room; returns whether it was buffered.
  /// Never blocks and never evicts: a full buffer drops the new event and counts the drop. An
  /// event whose figures would take a total past 2^53 - 1 is refused and changes nothing.
  pub fn record(&self, event: Event) -> Result<bool, Exhausted> {
    self.record_priced(event, true)
  }

  /// Like `record`; `priced` tells whether a completed request's model resolved to a price.
  pub fn record_priced(&self, event: Event, priced: bool) -> Result<bool, Exhausted> {
    if let crate::event::Payload::LlmRequestCompleted {
      usage, cost_micros, ..
    } = &event.payload
    {
      self
        .stats
        .reserve(usage.input_tokens, usage.output_tokens, *cost_micros)?;
    }
    // What this thread staged comes first, so that events keep the order they were recorded in.
    self.drain_staged();
    self.stats.apply(&event, priced);
    if let Some(overflow) = &event.overflow {
      self.stats.count_overflowed(overflow.count());
    }
    let spender = match event.payload {
      Payload::LlmRequestCompleted { .. } => event.agent,
      _ => None,
    };
    let buffered = self.buffer_counted(event);
    if let Some(agent) = spender {
      self.check_budget(agent, self.stats.agent_cost_micros(agent));
    }
    Ok(buffered)
  }

  /// Sets (or replaces) an agent's budget, and records a crossing for each threshold its spend
  /// has already reached.
  pub fn set_budget(&self, agent: Symbol, rule: BudgetRule) {
    self.drain_staged();
    let crossing = self
      .budgets
      .set(agent, rule, || self.stats.agent_cost_micros(agent));
    if let Some(crossing) = crossing {
      self.record_crossing(agent, crossing);
    }
  }

  pub fn remove_budget(&self, agent: Symbol) -> bool {
    self.budgets.remove(&agent)
  }

  pub fn budget_status(&self, agent: Symbol) -> Option<BudgetStatus> {
    self.drain_staged();
    self
      .budgets
      .status(&agent, self.stats.agent_cost_micros(agent))
  }

  /// One agent's figures, without a snapshot of the store.
  pub fn agent_stats(&self, agent: Symbol) -> Option<ModelStats> {
    self.drain_staged();
    self.stats.agent(agent)
  }

  /// The crossings an agent's new spend makes, for the caller to record once its batch is in.
  pub(crate) fn budget_crossing(&self, agent: Symbol, spent: u64) -> Option<(Symbol, Crossing)> {
    Some((agent, self.budgets.check(&agent, spent)?))
  }

  pub(crate) fn check_budget(&self, agent: Symbol, spent: u64) {
    if let Some((agent, crossing)) = self.budget_crossing(agent, spent) {
      self.record_crossing(agent, crossing);
    }
  }

  /// Records one `budget_threshold_reached` event per threshold crossed.
  pub(crate) fn record_crossing(&self, agent: Symbol, crossing: Crossing) {
    for threshold_percent in crossing.thresholds {
      let payload = Payload::BudgetThresholdReached {
        threshold_percent,
        current_spend_micros: crossing.spent_micros,
        budget_micros: crossing.limit_micros,
      };
      self.buffer_counted(Event::new(Some(agent), payload));
    }
  }

  /// A new staging area of `rows` rows for one writer (see `staging`). A writer that outgrows its
  /// area takes a larger one and abandons the old: areas are drained in the order they were
  /// taken, so its rows keep their order.
  pub fn staging_area(&self, rows: usize) -> Arc<StagingArea> {
    let area = Arc::new(StagingArea::new(rows));
    self
      .areas
      .write()
      .unwrap_or_else(PoisonError::into_inner)
      .push(area.clone());
    area
  }

  /// Records every row the writers published, and lets go of the areas whose writers are gone.
  pub fn drain_staged(&self) {
    let mut abandoned = false;
    {
      let areas = self.areas.read().unwrap_or_else(PoisonError::into_inner);
      for area in areas.iter() {
        // Before draining: a writer that gave up after this check leaves its rows for the next.
        let gone = area.is_abandoned();
        self.drain_area(area);
        abandoned |= gone;
      }
    }
    if abandoned {
      self
        .areas
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|area| {
          !area.is_abandoned() || {
            // Rows published between the drain above and this write lock.
            area.drain(|rows| self.record_staged(rows));
            false
          }
        });
    }
  }

  /// Records the rows one writer published. A writer whose ring is full drains its own area only:
  /// draining every thread's would have busy writers on several threads work on each other's rows.
  pub fn drain_area(&self, area: &StagingArea) {
    if area.drain(|rows| self.record_staged(rows)) > 0 {
      area.set_buffer_full(self.len() >= self.capacity);
    }
  }

  /// Buffers an event whose figures are already counted.
  pub(crate) fn buffer_counted(&self, event: Event) -> bool {
    if !self.reserve_slot() {
      self.dropped.fetch_add(1, Ordering::Relaxed);
      return false;
    }
    if let Some(stream) = &self.stream {
      stream.offer(&event);
    }
    self.inbox.push(Box::new([StoredEvent::new(event)]));
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
      buffered = batch.len();
      self.inbox.push(batch.into_boxed_slice());
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
    self.drain_staged();
    self.stats.snapshot(self.names.clone())
  }

  /// Buffered events, also those being pushed at this moment; staged ones count once drained
  /// (`drain_staged`).
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

  fn with_ledger<R>(&self, read: impl FnOnce(&mut Ledger) -> R) -> R {
    self.drain_staged();
    let mut ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
    while let Some(batch) = self.inbox.pop() {
      let events = &mut ledger.events;
      let (held, needed) = (events.len(), events.len() + batch.len());
      if needed > events.capacity() {
        // Doubling keeps moves amortised; the store's capacity bounds the live events, and
        // sweeping bounds the gaps, so this bounds the allocation too.
        let wanted = (events.capacity() * 2).min(self.capacity * 2).max(needed);
        events.reserve_exact(wanted - held);
      }
      batch
        .into_vec()
        .into_iter()
        .for_each(|event| ledger.push(event));
    }
    read(&mut ledger)
  }

  /// Lends the buffered events to `read` under the readers' lock, so they are read in place rather
  /// than copied out; the buffer is unchanged.
  pub fn read_buffered<R>(&self, read: impl FnOnce(&Buffered) -> R) -> R {
    self.with_ledger(|ledger| {
      read(&Buffered {
        ledger,
        after: 0,
        max: usize::MAX,
      })
    })
  }

  /// Like `read_buffered`, for at most `max` events whose sequence numbers follow `after`.
  pub fn read_after<R>(&self, after: u64, max: usize, read: impl FnOnce(&Buffered) -> R) -> R {
    self.with_ledger(|ledger| read(&Buffered { ledger, after, max }))
  }

  /// Like `read_buffered`; the events leave the buffer if `take` returns true. Returns how many
  /// left.
  pub fn take_buffered(&self, take: impl FnOnce(&Buffered) -> bool) -> usize {
    let taken = self.with_ledger(|ledger| {
      let buffered = Buffered {
        ledger,
        after: 0,
        max: usize::MAX,
      };
      if !take(&buffered) {
        return 0;
      }
      let taken = buffered.len();
      ledger.clear();
      taken
    });
    self.release_slots(taken);
    self.note_room(taken);
    taken
  }

  /// Tells the writers that the buffer has room again once events left it.
  fn note_room(&self, freed: usize) {
    if freed > 0 {
      let areas = self.areas.read().unwrap_or_else(PoisonError::into_inner);
      areas.iter().for_each(|area| area.set_buffer_full(false));
    }
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
      let seqs: Vec<u64> = ledger
        .live()
        .filter(|(_, event)| acknowledged.contains(&event.id()))
        .map(|(seq, _)| seq)
        .collect();
      seqs.iter().for_each(|&seq| {
        ledger.remove(seq);
      });
      ledger.sweep();
      seqs.len()
    });
    self.release_slots(removed);
    self.note_room(removed);
    removed
  }

  /// Removes the events with these sequence numbers; returns how many were buffered.
  pub fn acknowledge(&self, seqs: &[u64]) -> usize {
    let removed = self.with_ledger(|ledger| {
      let removed = seqs.iter().filter(|&&seq| ledger.remove(seq)).count();
      ledger.sweep();
      removed
    });
    self.release_slots(removed);
    self.note_room(removed);
    removed
  }
}

/// The buffered events, oldest first, as `EventStore::read_buffered` lends them: those after a
/// sequence number, up to a count.
pub struct Buffered<'a> {
  ledger: &'a Ledger,
  after: u64,
  max: usize,
}

impl Buffered<'_> {
  fn events(&self) -> impl Iterator<Item = (u64, &StoredEvent)> {
    let events = &self.ledger.events;
    let first = events.partition_point(|(seq, _)| *seq <= self.after);
    events
      .range(first..)
      .filter_map(|(seq, event)| Some((*seq, event.as_ref()?)))
      .take(self.max)
  }

  pub fn len(&self) -> usize {
    if self.after == 0 && self.max == usize::MAX {
      return self.ledger.events.len() - self.ledger.gaps;
    }
    self.events().count()
  }

  pub fn is_empty(&self) -> bool {
    self.len() == 0
  }

  /// Shows each event and its sequence number to `visit` without allocating for it.
  pub fn for_each(&self, mut visit: impl FnMut(u64, &Event)) {
    self
      .events()
      .for_each(|(seq, stored)| stored.show(&mut |event| visit(seq, event)));
  }

  pub fn to_vec(&self) -> Vec<Event> {
    let mut events = Vec::new();
    self.for_each(|_, event| events.push(event.clone()));
    events
  }
}
