//! The optional live stream of a store's events: a bounded channel that recording never waits on.
//!
//! A consumer can wait without holding a thread: it arms the stream, and the next event offered,
//! or the end of the stream, calls the waker it registered, once. Producers pay one fence and one
//! load per streamed event for this; the waker runs only for a consumer that is waiting.

use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crossbeam::channel::{self, Receiver, RecvTimeoutError, Sender, TrySendError};

use crate::event::Event;

/// Called when an armed stream has an event for its consumer, or has ended. It runs on the
/// producer's thread, so it must only hand the news on (and must not panic).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// What both ends share besides the channel.
#[derive(Default)]
struct Shared {
  dropped: AtomicU64,
  /// A consumer is waiting for the waker.
  armed: AtomicBool,
  /// The store is gone: nothing more will arrive.
  ended: AtomicBool,
  waker: Mutex<Option<Waker>>,
}

impl Shared {
  fn waker(&self) -> MutexGuard<'_, Option<Waker>> {
    self.waker.lock().unwrap_or_else(PoisonError::into_inner)
  }

  /// Calls the waker if a consumer armed the stream since the last call.
  fn wake_if_armed(&self) {
    // Pairs with the fence in `EventReceiver::arm`: either this load sees the consumer's `armed`,
    // or the consumer's emptiness check sees what was sent before this fence.
    fence(SeqCst);
    if self.armed.load(Relaxed) && self.armed.swap(false, Relaxed) {
      let waker = self.waker().clone();
      if let Some(waker) = waker {
        waker();
      }
    }
  }
}

/// The store's end: offers each recorded event, counting those the full channel could not take.
pub(crate) struct EventSender {
  sender: Sender<Event>,
  shared: Arc<Shared>,
}

impl EventSender {
  pub(crate) fn offer(&self, event: &Event) {
    match self.sender.try_send(event.clone()) {
      Ok(()) => self.shared.wake_if_armed(),
      Err(TrySendError::Full(_)) => {
        self.shared.dropped.fetch_add(1, Relaxed);
      }
      // A closed receiver wants no more events; nothing is lost that anyone waits for.
      Err(TrySendError::Disconnected(_)) => {}
    }
  }
}

impl Drop for EventSender {
  fn drop(&mut self) {
    self.shared.ended.store(true, Release);
    self.shared.wake_if_armed();
  }
}

pub(crate) fn bounded(size: usize) -> (EventSender, EventReceiver) {
  let (sender, receiver) = channel::bounded(size);
  let shared = Arc::new(Shared::default());
  (EventSender { sender, shared: shared.clone() }, EventReceiver { receiver: Mutex::new(Some(receiver)), shared })
}

/// What a receive returned.
#[derive(Debug, PartialEq)]
pub enum Received {
  Event(Event),
  /// Nothing arrived in time; the stream is still open.
  Empty,
  /// Closed by `close()` or because its store is gone; nothing more will arrive.
  Closed,
}

/// The consumer's end of a store's stream.
pub struct EventReceiver {
  // `None` once closed: dropping the crossbeam receiver is what tells the sender to stop.
  receiver: Mutex<Option<Receiver<Event>>>,
  shared: Arc<Shared>,
}

impl EventReceiver {
  fn with_receiver<R>(&self, closed: R, f: impl FnOnce(&Receiver<Event>) -> R) -> R {
    let guard = self.receiver.lock().unwrap_or_else(PoisonError::into_inner);
    match guard.as_ref() {
      Some(receiver) => f(receiver),
      None => closed,
    }
  }

  fn receiver(&self) -> Option<Receiver<Event>> {
    self.receiver.lock().unwrap_or_else(PoisonError::into_inner).clone()
  }

  /// An empty channel whose store is gone is over. `ended` is set just before the crossbeam
  /// sender goes, so a waker called from the store's drop already reads `Closed`.
  fn empty(&self) -> Received {
    if self.shared.ended.load(Acquire) { Received::Closed } else { Received::Empty }
  }

  pub fn try_recv(&self) -> Received {
    self.with_receiver(Received::Closed, |receiver| match receiver.try_recv() {
      Ok(event) => Received::Event(event),
      Err(channel::TryRecvError::Empty) => self.empty(),
      Err(channel::TryRecvError::Disconnected) => Received::Closed,
    })
  }

  /// Waits up to `timeout` for an event, without holding the lock that `close()` takes.
  pub fn recv_timeout(&self, timeout: Duration) -> Received {
    let Some(receiver) = self.receiver() else { return Received::Closed };
    match receiver.recv_timeout(timeout) {
      Ok(event) => Received::Event(event),
      Err(RecvTimeoutError::Timeout) => self.empty(),
      Err(RecvTimeoutError::Disconnected) => Received::Closed,
    }
  }

  /// Replaces the waker that `arm` asks for.
  pub fn set_waker(&self, waker: Option<Waker>) {
    *self.shared.waker() = waker;
  }

  /// Asks for one call of the waker at the next event or at the end of the stream. Returns
  /// whether to wait for it: `false` when an event is already waiting or the stream is over
  /// (the waker may then still be called once, which a consumer must tolerate).
  pub fn arm(&self) -> bool {
    self.shared.armed.store(true, Relaxed);
    // Pairs with the fence in `Shared::wake_if_armed`.
    fence(SeqCst);
    self.with_receiver(false, |receiver| receiver.is_empty() && !self.shared.ended.load(Acquire))
  }

  /// Events waiting to be received.
  pub fn len(&self) -> usize {
    self.with_receiver(0, Receiver::len)
  }

  pub fn is_empty(&self) -> bool {
    self.len() == 0
  }

  /// Events not streamed because the channel was full.
  pub fn dropped_count(&self) -> u64 {
    self.shared.dropped.load(Relaxed)
  }

  /// Ends the stream: the events still in the channel are discarded, recording goes on, and an
  /// armed waker is called so its consumer sees the end.
  pub fn close(&self) {
    self.receiver.lock().unwrap_or_else(PoisonError::into_inner).take();
    let waker = self.shared.waker().take();
    if self.shared.armed.swap(false, Relaxed) {
      if let Some(waker) = waker {
        waker();
      }
    }
  }

}

impl Drop for EventReceiver {
  /// The store outlives its receiver: let go of the waker (and what it holds) now, not then.
  fn drop(&mut self) {
    self.shared.waker().take();
  }
}
