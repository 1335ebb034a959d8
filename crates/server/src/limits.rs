//! Rate limiters on the server's clock. Each limiter (per connection in `ws`, per address and
//! per account at sign-in in `app::signin`) reads the server's clock like everything else, so a
//! test that moves the clock by hand moves their windows too. Below both, so neither imports
//! the other.

use clock::SharedClock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::RateLimiter;
use std::time::Duration;

/// The server's clock, as governor reads time.
#[derive(Clone)]
pub(crate) struct LimiterClock(pub(crate) SharedClock);

impl governor::clock::Clock for LimiterClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        Duration::from_millis(self.0.now().0.max(0) as u64)
    }
}

/// One limit (a connection's frames).
pub(crate) type Single =
    RateLimiter<NotKeyed, InMemoryState, LimiterClock, NoOpMiddleware<Duration>>;

/// A limit per key (an address, an account).
pub(crate) type Keyed<K> =
    RateLimiter<K, DefaultKeyedStateStore<K>, LimiterClock, NoOpMiddleware<Duration>>;

/// A limit per person: `burst` at once, then one per `every`, on the server's clock.
pub(crate) fn per_person(clock: SharedClock, burst: u32, every: Duration) -> Keyed<String> {
    RateLimiter::new(
        governor::Quota::with_period(every)
            .expect("a period above zero")
            .allow_burst(std::num::NonZeroU32::new(burst).expect("a burst above zero")),
        DefaultKeyedStateStore::default(),
        LimiterClock(clock),
    )
}

/// Counts one of `person`'s changes; over the limit, `what` and when to try again.
pub(crate) fn count(
    limiter: &Keyed<String>,
    person: &str,
    clock: &SharedClock,
    what: &str,
) -> Result<(), crate::error::AppError> {
    use governor::clock::Clock as _;
    limiter.check_key(&person.to_string()).map_err(|not_until| {
        crate::error::AppError::rate_limited(
            what,
            not_until.wait_time_from(LimiterClock(clock.clone()).now()),
        )
    })
}
