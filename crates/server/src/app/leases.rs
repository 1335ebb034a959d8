//! Device leases: heartbeats renew them in memory, and the renewals are stored only when the
//! stored lease would otherwise run short, many people in one statement.
//!
//! A stored lease is what keeps a person online for the cluster's other nodes and across a
//! restart, so it must never lapse while the device is still heard from. A heartbeat comes every
//! third of a lease; once the stored lease has half a lease or less left, the renewal is queued
//! and [`store`] writes every queued one together within [`FLUSH`] (one statement and one
//! commit for hundreds of people, where each used to be a write of its own). A lease too short
//! for that margin (tests use leases of seconds) is stored at once, as before.

use super::registry::{next_wakeup, CONFLICT_RETRIES};
use super::{App, Slot};
use crate::db::StateWrite;
use crate::error::AppError;
use clock::SharedClock;
use presence::DeviceId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often queued renewals are written: the most a queued renewal waits.
pub const FLUSH: Duration = Duration::from_secs(1);

/// People written in one statement of a flush, their locks held only while it runs: a change
/// to one of them waits for one short statement, not for the whole flush (on PostgreSQL, 300
/// renewals in 200-row statements held people for about 150 ms, the p99 of every change).
pub const FLUSH_BATCH: usize = 50;

/// What a heartbeat found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beat {
    /// The device's lease was live and is renewed.
    Alive,
    /// The device reported before, but its lease lapsed: it must report again.
    Lapsed,
    /// The device has not reported on this connection's person yet.
    NotReported,
}

/// Renewals waiting for [`store`]: each person at most once.
#[derive(Default)]
pub struct Queued(std::sync::Mutex<Vec<(Arc<Slot>, DeviceId)>>);

impl Queued {
    fn push(&self, slot: Arc<Slot>, device: DeviceId) {
        self.0.lock().expect("lease queue").push((slot, device));
    }

    fn take(&self) -> Vec<(Arc<Slot>, DeviceId)> {
        std::mem::take(&mut *self.0.lock().expect("lease queue"))
    }
}

impl App {
    /// A heartbeat: renews the device's lease in memory, and queues the renewal for storing
    /// when the stored lease runs short. Lapsed or NotReported when the device has no live
    /// lease (it must report first).
    pub async fn heartbeat(&self, user: &Arc<Slot>, device: &DeviceId) -> Result<Beat, AppError> {
        self.renew(user, device, true).await
    }

    /// Renews `device`'s lease; with `queue`, a renewal due for storing waits for [`store`],
    /// without, it is stored before this returns.
    async fn renew(
        &self,
        user: &Arc<Slot>,
        device: &DeviceId,
        queue: bool,
    ) -> Result<Beat, AppError> {
        let rules = self.rules(&user.org)?;
        let lease = rules.policy.device_lease.millis();
        let mut st = user.state.lock().await;
        for _ in 0..CONFLICT_RETRIES {
            let now = self.clock.now();
            let mut person = st.person.clone();
            if !person.keep_alive(&rules, now, device) {
                return Ok(if person.knows_device(device) {
                    Beat::Lapsed
                } else {
                    Beat::NotReported
                });
            }
            let deadline = next_wakeup(&person, &rules, now);
            let since = now.0 - st.stored_at.0;
            // The stored leases have half a lease or less left: due for storing. Queued when
            // what is left outlasts two flushes; stored now otherwise.
            if since >= lease / 2 {
                if queue && lease - since > 2 * FLUSH.as_millis() as i64 {
                    if !st.lease_queued {
                        st.lease_queued = true;
                        self.leases.push(user.clone(), device.clone());
                    }
                } else {
                    let stored = self
                        .db
                        .save_state(
                            user.id.as_str(),
                            &person,
                            &st.applied,
                            deadline.map(|t| t.0),
                            st.version,
                        )
                        .await?;
                    match stored {
                        Some(v) => {
                            self.tell_stored(
                                &user.id,
                                &st,
                                v,
                                &person,
                                None,
                                deadline.map(|t| t.0),
                            );
                            st.version = v;
                            st.stored_deadline = deadline.map(|t| t.0);
                        }
                        None => {
                            self.reread(user, &mut st, &rules).await?;
                            continue;
                        }
                    }
                    st.stored_at = now;
                }
            }
            st.person = person;
            self.publish_views(user, &mut st, &rules, now);
            let _ = self.timers.send((user.id.clone(), deadline));
            return Ok(Beat::Alive);
        }
        Err(AppError::internal(
            "this person was changed too often elsewhere to renew the device's lease: try again",
        ))
    }

    /// Writes every queued renewal, in one statement per [`FLUSH_BATCH`] people. Each person's
    /// lock is held from the copy to the write of their batch, so nothing on this node changes
    /// them in between; one busy at that moment waits for the next flush. One that another node
    /// stored meanwhile is renewed and stored on its own, as a heartbeat did before queues.
    /// Returns how many were written together.
    pub async fn store_leases(&self) -> usize {
        let mut queued = self.leases.take().into_iter();
        let mut written = 0;
        loop {
            let batch: Vec<_> = queued.by_ref().take(FLUSH_BATCH).collect();
            if batch.is_empty() {
                return written;
            }
            match self.store_batch(batch).await {
                Some(n) => written += n,
                None => {
                    // The database refused: the rest waits for the next flush too.
                    for (slot, device) in queued {
                        self.leases.push(slot, device);
                    }
                    return written;
                }
            }
        }
    }

    /// One batch of [`store_leases`]: how many were written, or None when the write failed
    /// (all of them queued again).
    async fn store_batch(&self, queued: Vec<(Arc<Slot>, DeviceId)>) -> Option<usize> {
        let mut held = Vec::with_capacity(queued.len());
        for (slot, device) in queued {
            let Ok(mut st) = slot.state.clone().try_lock_owned() else {
                // Busy (a change or a heartbeat): still queued, for the next flush.
                self.leases.push(slot, device);
                continue;
            };
            st.lease_queued = false;
            let Ok(rules) = self.rules(&slot.org) else {
                continue;
            };
            let now = self.clock.now();
            // A change stored the person (and so the leases) since.
            if now.0 - st.stored_at.0 < rules.policy.device_lease.millis() / 2 {
                continue;
            }
            let deadline = next_wakeup(&st.person, &rules, now).map(|t| t.0);
            held.push((slot, device, st, deadline, now));
        }
        let writes: Vec<StateWrite<'_>> = held
            .iter()
            .map(|(slot, _, st, deadline, _)| StateWrite {
                user: slot.id.as_str(),
                state: &st.person,
                applied_requests: &st.applied,
                next_deadline: *deadline,
                version: st.version,
            })
            .collect();
        let result = self.db.save_states(&writes).await;
        drop(writes);
        let stored: HashMap<String, i64> = match result {
            Ok(s) => s.into_iter().collect(),
            Err(e) => {
                // Kept for the next flush: the stored leases still have most of their time.
                tracing::warn!(error = %e, people = held.len(), "could not store lease renewals; trying again in {} ms", FLUSH.as_millis());
                for (slot, device, mut st, ..) in held {
                    st.lease_queued = true;
                    self.leases.push(slot, device);
                }
                return None;
            }
        };
        let mut elsewhere = Vec::new();
        for (slot, device, mut st, deadline, at) in held {
            match stored.get(slot.id.as_str()) {
                Some(&v) => {
                    self.tell_stored(&slot.id, &st, v, &st.person, None, deadline);
                    st.version = v;
                    st.stored_at = at;
                    st.stored_deadline = deadline;
                }
                None => elsewhere.push((slot, device)),
            }
        }
        for (slot, device) in elsewhere {
            if let Err(e) = self.renew(&slot, &device, false).await {
                tracing::warn!(user = %slot.id, error = %e, "could not store a lease renewal");
            }
        }
        Some(stored.len())
    }
}

/// Writes the queued renewals every [`FLUSH`] until the server stops ([`crate::Running::stop`]
/// writes what is left, after the last connection is gone).
pub(crate) async fn store(
    app: std::sync::Weak<App>,
    clock: SharedClock,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = clock.sleep(FLUSH) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        let Some(app) = app.upgrade() else {
            return;
        };
        app.store_leases().await;
    }
}
