//! Time for the adapters, in one port. The engine takes `now` as an argument; whatever calls it
//! (the server, the client core, the desktop app) reads `now` from a [`Clock`] and waits on the
//! same clock, so a test can move time by hand and see a timer fire at its exact instant without
//! sleeping.
//!
//! [`SystemClock`] is the wall clock. [`ManualClock`] moves only when told; every wait on it wakes
//! as soon as the clock reaches its instant, never before.

use presence::{Span, Timestamp};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// A future a clock resolves when it reaches an instant.
pub type Wait = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    fn now(&self) -> Timestamp;

    /// Resolves when this clock reads `at` or later (at once for an instant already past).
    fn sleep_until(&self, at: Timestamp) -> Wait;

    /// Resolves `span` from now on this clock.
    fn sleep(&self, span: Duration) -> Wait {
        let at = Timestamp(self.now().0.saturating_add(span.as_millis() as i64));
        self.sleep_until(at)
    }
}

/// A shared clock, as servers and clients hold it.
pub type SharedClock = Arc<dyn Clock>;

/// The time ran out before the future finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

/// Runs `future` for at most `span` of `clock`'s time.
pub async fn timeout<F: Future>(
    clock: &dyn Clock,
    span: Duration,
    future: F,
) -> Result<F::Output, Elapsed> {
    let limit = clock.sleep(span);
    tokio::select! {
        out = future => Ok(out),
        _ = limit => Err(Elapsed),
    }
}

/// The wall clock (milliseconds since the Unix epoch, UTC).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp(ms)
    }

    fn sleep_until(&self, at: Timestamp) -> Wait {
        // Measured once against the wall clock: whoever waits looks at `now` again when it wakes
        // (a clock set back or forward meanwhile is seen then).
        let wait = (at.0 - self.now().0).max(0) as u64;
        Box::pin(tokio::time::sleep(Duration::from_millis(wait)))
    }
}

/// A clock for tests: it stands still until [`ManualClock::advance`] or [`ManualClock::set`].
#[derive(Debug)]
pub struct ManualClock {
    now: watch::Sender<Timestamp>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Arc<ManualClock> {
        Arc::new(ManualClock {
            now: watch::Sender::new(start),
        })
    }

    /// Starts at the wall clock's current time (stored rows then carry plausible dates).
    pub fn starting_now() -> Arc<ManualClock> {
        ManualClock::new(SystemClock.now())
    }

    pub fn advance(&self, span: Span) -> Timestamp {
        let mut at = Timestamp(0);
        self.now.send_modify(|t| {
            *t = t.plus(span);
            at = *t;
        });
        at
    }

    /// Moves to `at`: forward, or back, as a wall clock set back does.
    pub fn set(&self, at: Timestamp) {
        self.now.send_replace(at);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.borrow()
    }

    fn sleep_until(&self, at: Timestamp) -> Wait {
        let mut rx = self.now.subscribe();
        Box::pin(async move {
            if rx.wait_for(|t| *t >= at).await.is_err() {
                // The clock is gone: nothing will ever reach `at`.
                std::future::pending::<()>().await;
            }
        })
    }
}
