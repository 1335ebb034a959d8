//! Sign-in under attack: password checks run on a few worker threads (each argon2 check holds
//! ~19 MiB, so memory is bounded by the workers, not by the attempts), attempts are limited per
//! address and per account (governor's GCRA on the server's clock), and an unknown
//! email costs the same check as a known one, so timing tells nothing.

use crate::auth;
use crate::error::AppError;
use clock::SharedClock;
use governor::clock::Clock as _;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Sign-in attempts from one address: a burst of 10, then one every 3 s (20 a minute).
pub const PER_ADDRESS_BURST: u32 = 10;
pub const PER_ADDRESS_EVERY: Duration = Duration::from_secs(3);
/// Attempts for one account, from anywhere: a burst of 10, then one every 30 s.
pub const PER_ACCOUNT_BURST: u32 = 10;
pub const PER_ACCOUNT_EVERY: Duration = Duration::from_secs(30);
/// Single sign-ons started from one address (each stores a sign-in under way): a burst of 30,
/// then one a second. Not counted with passwords: nothing is guessed there.
pub const SSO_STARTS_BURST: u32 = 30;
pub const SSO_STARTS_EVERY: Duration = Duration::from_secs(1);
/// Password checks waiting for a worker; beyond this the server answers "busy, retry".
pub const QUEUE: usize = 256;

use crate::limits::{Keyed, LimiterClock};

struct Check {
    password: String,
    hash: Option<String>,
    answer: oneshot::Sender<bool>,
}

/// The sign-in guard, one per server.
pub struct Guard {
    clock: LimiterClock,
    per_address: Keyed<IpAddr>,
    per_account: Keyed<String>,
    sso_starts: Keyed<IpAddr>,
    checks: mpsc::Sender<Check>,
}

impl Guard {
    /// Starts `workers` password-checking threads (at least one).
    pub fn start(clock: SharedClock, workers: usize) -> Guard {
        let limiter_clock = LimiterClock(clock.clone());
        let quota = |burst: u32, every: Duration| {
            Quota::with_period(every)
                .expect("a period above zero")
                .allow_burst(NonZeroU32::new(burst).expect("a burst above zero"))
        };
        let (checks, rx) = mpsc::channel::<Check>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        // What an unknown email is checked against: a real hash with the same parameters, made
        // by the first worker that needs it (not at every start).
        let decoy: Arc<std::sync::OnceLock<String>> = Arc::default();
        for n in 0..workers.max(1) {
            let (rx, decoy) = (rx.clone(), decoy.clone());
            std::thread::Builder::new()
                .name(format!("password-check-{n}"))
                .spawn(move || loop {
                    let next = rx.lock().map(|mut rx| rx.blocking_recv());
                    let Ok(Some(check)) = next else { return };
                    let ok = match &check.hash {
                        Some(hash) => auth::verify_password(&check.password, hash),
                        None => {
                            let decoy = decoy.get_or_init(|| {
                                auth::hash_password("presently-decoy").expect("a decoy hash")
                            });
                            let _ = auth::verify_password(&check.password, decoy);
                            false
                        }
                    };
                    let _ = check.answer.send(ok);
                })
                .expect("a password-check thread starts");
        }
        Guard {
            clock: limiter_clock.clone(),
            per_address: RateLimiter::new(
                quota(PER_ADDRESS_BURST, PER_ADDRESS_EVERY),
                DefaultKeyedStateStore::default(),
                limiter_clock.clone(),
            ),
            per_account: RateLimiter::new(
                quota(PER_ACCOUNT_BURST, PER_ACCOUNT_EVERY),
                DefaultKeyedStateStore::default(),
                limiter_clock.clone(),
            ),
            sso_starts: RateLimiter::new(
                quota(SSO_STARTS_BURST, SSO_STARTS_EVERY),
                DefaultKeyedStateStore::default(),
                limiter_clock,
            ),
            checks,
        }
    }

    /// Counts an attempt from `address`; refused with when to try again once over the limit.
    pub fn attempt_from(&self, address: IpAddr) -> Result<(), AppError> {
        self.per_address
            .check_key(&crate::network_of(address))
            .map_err(|not_until| {
                AppError::rate_limited(
                    "too many sign-in attempts from your network",
                    not_until.wait_time_from(self.clock.now()),
                )
            })
    }

    /// Counts a single sign-on started from `address`.
    pub fn sso_start_from(&self, address: IpAddr) -> Result<(), AppError> {
        self.sso_starts
            .check_key(&crate::network_of(address))
            .map_err(|not_until| {
                AppError::rate_limited(
                    "too many single sign-ons started from your network",
                    not_until.wait_time_from(self.clock.now()),
                )
            })
    }

    /// Counts an attempt for the account `email` names, whether or not it exists (so that a
    /// limit reached tells nothing about which emails have accounts).
    pub fn attempt_for(&self, email: &str) -> Result<(), AppError> {
        self.per_account
            .check_key(&email.trim().to_lowercase().chars().take(320).collect())
            .map_err(|not_until| {
                AppError::rate_limited(
                    "too many sign-in attempts for this account",
                    not_until.wait_time_from(self.clock.now()),
                )
            })
    }

    /// Checks `password` against `hash` (`None` for an unknown email: checked against a decoy,
    /// always wrong) on a worker; `Err` when the queue is full.
    pub async fn check(&self, password: &str, hash: Option<String>) -> Result<bool, AppError> {
        let (answer, ok) = oneshot::channel();
        self.checks
            .try_send(Check {
                password: password.to_string(),
                hash,
                answer,
            })
            .map_err(|_| {
                AppError::rate_limited(
                    "the server is checking many sign-ins at once",
                    Duration::from_secs(2),
                )
            })?;
        ok.await
            .map_err(|_| AppError::internal("the password check stopped"))
    }

    /// Forgets limits that have fully recovered (keeps memory bounded under many addresses).
    pub fn forget_idle(&self) {
        self.per_address.retain_recent();
        self.per_address.shrink_to_fit();
        self.per_account.retain_recent();
        self.per_account.shrink_to_fit();
        self.sso_starts.retain_recent();
        self.sso_starts.shrink_to_fit();
    }
}

/// Password-checking threads: one per core, at most 4 (each check holds ~19 MiB while it runs).
pub fn workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(4)
}

/// Every minute, forgets the limits of addresses and accounts that have fully recovered, so
/// the limiters' memory follows recent attempts, not every address ever seen.
pub(crate) async fn forget_idle_limits(
    app: std::sync::Weak<super::App>,
    clock: SharedClock,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = clock.sleep(Duration::from_secs(60)) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        match app.upgrade() {
            Some(app) => app.signin.forget_idle(),
            None => return,
        }
    }
}
