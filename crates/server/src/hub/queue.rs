//! Each connection's queue of frames to send: bounded, and holding no memory while empty.
//!
//! tokio's `mpsc` allocates its slots 32 at a time and keeps a used block for reuse, so every
//! connection held two blocks (about 1.6 KiB) for its whole life, though an idle connection's
//! queue is empty nearly always. `futures`' bounded sender needs `&mut self` to send, and the
//! hub sends under a shared lock. This one is a `VecDeque` and the receiver's waker under one
//! mutex, and the `VecDeque`'s memory is given back whenever it is drained: an idle
//! connection's queue is its small shared header alone (docs/benchmarks.md).

use super::Outgoing;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

/// A bounded queue of at most `capacity` frames, with any number of senders and one receiver.
pub fn channel(capacity: usize) -> (Sender, Receiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            senders: 1,
            receiving: true,
            waiting: None,
        }),
        capacity,
    });
    (Sender(shared.clone()), Receiver(shared))
}

struct Shared {
    state: Mutex<State>,
    capacity: usize,
}

struct State {
    items: VecDeque<Outgoing>,
    senders: usize,
    receiving: bool,
    /// The receiver, waiting for a frame or for the last sender to go.
    waiting: Option<Waker>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held; a poisoned state is still whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Queues frames for one connection.
pub struct Sender(Arc<Shared>);

impl Sender {
    /// Queues `item`, or gives it back when the queue is full or its connection has ended.
    pub fn try_send(&self, item: Outgoing) -> Result<(), Outgoing> {
        let waiting = {
            let mut state = self.0.state();
            if !state.receiving || state.items.len() >= self.0.capacity {
                return Err(item);
            }
            state.items.push_back(item);
            state.waiting.take()
        };
        if let Some(receiver) = waiting {
            receiver.wake();
        }
        Ok(())
    }
}

impl Clone for Sender {
    fn clone(&self) -> Self {
        self.0.state().senders += 1;
        Sender(self.0.clone())
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let waiting = {
            let mut state = self.0.state();
            state.senders -= 1;
            if state.senders == 0 {
                state.waiting.take()
            } else {
                None
            }
        };
        if let Some(receiver) = waiting {
            receiver.wake();
        }
    }
}

/// The connection's end of its queue.
pub struct Receiver(Arc<Shared>);

impl Receiver {
    /// The next frame, waiting for one; `None` once every sender is gone and the queue is
    /// drained. Cancel-safe: a frame is taken only by the call that returns it.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        std::future::poll_fn(|cx| {
            let mut state = self.0.state();
            if let Some(item) = take(&mut state) {
                return Poll::Ready(Some(item));
            }
            if state.senders == 0 {
                return Poll::Ready(None);
            }
            if !state
                .waiting
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                state.waiting = Some(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// The next frame if one is queued.
    pub fn try_recv(&mut self) -> Option<Outgoing> {
        take(&mut self.0.state())
    }

    #[cfg(test)]
    fn held(&self) -> usize {
        self.0.state().items.capacity()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.receiving = false;
        state.items = VecDeque::new();
        state.waiting = None;
    }
}

/// The first frame; the queue's memory is given back once it is empty.
fn take(state: &mut State) -> Option<Outgoing> {
    let item = state.items.pop_front();
    if state.items.is_empty() && state.items.capacity() > 0 {
        state.items = VecDeque::new();
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::Frame;

    fn frame(n: u8) -> Outgoing {
        Outgoing::Frame(Frame::from(n.to_string()))
    }

    fn byte(o: Option<Outgoing>) -> u8 {
        match o {
            Some(Outgoing::Frame(f)) => f.text().as_str().parse().unwrap(),
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    #[test]
    fn frames_come_out_in_order_up_to_the_capacity() {
        let (tx, mut rx) = channel(3);
        for n in 0..3 {
            tx.try_send(frame(n)).unwrap();
        }
        assert!(tx.try_send(frame(9)).is_err(), "a full queue refuses");
        assert_eq!(byte(rx.try_recv()), 0);
        tx.try_send(frame(3)).unwrap();
        for n in 1..4 {
            assert_eq!(byte(rx.try_recv()), n);
        }
        assert!(rx.try_recv().is_none());
    }

    #[test]
    fn a_drained_queue_holds_no_memory() {
        let (tx, mut rx) = channel(4096);
        assert_eq!(rx.held(), 0);
        for n in 0..100 {
            tx.try_send(frame(n)).unwrap();
        }
        assert!(rx.held() >= 100);
        while rx.try_recv().is_some() {}
        assert_eq!(rx.held(), 0);
    }

    #[test]
    fn an_ended_connection_refuses_frames() {
        let (tx, rx) = channel(8);
        let other = tx.clone();
        drop(rx);
        assert!(tx.try_send(frame(1)).is_err());
        assert!(other.try_send(frame(2)).is_err());
    }

    #[tokio::test]
    async fn the_receiver_wakes_for_a_frame_and_ends_after_the_last_sender() {
        let (tx, mut rx) = channel(8);
        let board = tx.clone();
        let waiting = tokio::spawn(async move {
            let first = byte(rx.recv().await);
            let second = byte(rx.recv().await);
            let end = rx.recv().await;
            (first, second, end.is_none())
        });
        tokio::task::yield_now().await;
        tx.try_send(frame(7)).unwrap();
        board.try_send(frame(8)).unwrap();
        drop(tx);
        tokio::task::yield_now().await;
        drop(board);
        assert_eq!(waiting.await.unwrap(), (7, 8, true));
    }

    #[tokio::test]
    async fn frames_queued_before_the_last_sender_went_are_still_received() {
        let (tx, mut rx) = channel(8);
        tx.try_send(frame(1)).unwrap();
        drop(tx);
        assert_eq!(byte(rx.recv().await), 1);
        assert!(rx.recv().await.is_none());
    }
}
