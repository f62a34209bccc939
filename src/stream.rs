//! The optional live stream of a store's events: a bounded channel that recording never waits on.
//!
//! A full channel drops the new event and counts it. Waiting is the consumer's business: a Rust
//! consumer can block in `recv_timeout`; the JavaScript facade, which alone records into a
//! streaming store from its own thread, resumes its waiting consumers itself after each record.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crossbeam::channel::{self, Receiver, RecvTimeoutError, Sender, TrySendError};

use crate::event::Event;

/// The store's end: offers each recorded event, counting those the full channel could not take.
pub(crate) struct EventSender {
  sender: Sender<Event>,
  dropped: Arc<AtomicU64>,
}

impl EventSender {
  pub(crate) fn offer(&self, event: &Event) {
    match self.sender.try_send(event.clone()) {
      Ok(()) => {}
      Err(TrySendError::Full(_)) => {
        self.dropped.fetch_add(1, Relaxed);
      }
      // A closed receiver wants no more events; nothing is lost that anyone waits for.
      Err(TrySendError::Disconnected(_)) => {}
    }
  }
}

pub(crate) fn bounded(size: usize) -> (EventSender, EventReceiver) {
  let (sender, receiver) = channel::bounded(size);
  let dropped = Arc::new(AtomicU64::new(0));
  (
    EventSender {
      sender,
      dropped: dropped.clone(),
    },
    EventReceiver {
      receiver: Mutex::new(Some(receiver)),
      dropped,
    },
  )
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
  dropped: Arc<AtomicU64>,
}

impl EventReceiver {
  fn with_receiver<R>(&self, closed: R, f: impl FnOnce(&Receiver<Event>) -> R) -> R {
    let guard = self.receiver.lock().unwrap_or_else(PoisonError::into_inner);
    match guard.as_ref() {
      Some(receiver) => f(receiver),
      None => closed,
    }
  }

  pub fn try_recv(&self) -> Received {
    self.with_receiver(Received::Closed, |receiver| match receiver.try_recv() {
      Ok(event) => Received::Event(event),
      Err(channel::TryRecvError::Empty) => Received::Empty,
      Err(channel::TryRecvError::Disconnected) => Received::Closed,
    })
  }

  /// Waits up to `timeout` for an event, without holding the lock that `close()` takes.
  pub fn recv_timeout(&self, timeout: Duration) -> Received {
    let receiver = self
      .receiver
      .lock()
      .unwrap_or_else(PoisonError::into_inner)
      .clone();
    let Some(receiver) = receiver else {
      return Received::Closed;
    };
    match receiver.recv_timeout(timeout) {
      Ok(event) => Received::Event(event),
      Err(RecvTimeoutError::Timeout) => Received::Empty,
      Err(RecvTimeoutError::Disconnected) => Received::Closed,
    }
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
    self.dropped.load(Relaxed)
  }

  /// Ends the stream: the events still in the channel are discarded and recording goes on.
  pub fn close(&self) {
    self
      .receiver
      .lock()
      .unwrap_or_else(PoisonError::into_inner)
      .take();
  }
}
