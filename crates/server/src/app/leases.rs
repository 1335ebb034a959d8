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
use presence::{DeviceId, Person, Timestamp};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often queued renewals are written: the most a queued renewal waits.
pub const FLUSH: Duration = Duration::from_secs(1);

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

/// One queued renewal as it is written: the person as of `at`, onto `version`.
struct Renewal {
    slot: Arc<Slot>,
    device: DeviceId,
    person: Person,
    applied: Vec<String>,
    deadline: Option<i64>,
    version: i64,
    at: Timestamp,
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
                            self.reread(&user.id, &mut st, &rules).await?;
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

    /// Writes every queued renewal, in one statement per few hundred people. One that another
    /// node (or a change here) stored meanwhile is renewed and stored on its own, as a heartbeat
    /// did before queues. Returns how many were written together.
    pub async fn store_leases(&self) -> usize {
        let queued = self.leases.take();
        if queued.is_empty() {
            return 0;
        }
        let mut batch = Vec::with_capacity(queued.len());
        for (slot, device) in queued {
            let mut st = slot.state.lock().await;
            st.lease_queued = false;
            let Ok(rules) = self.rules(&slot.org) else {
                continue;
            };
            let now = self.clock.now();
            // A change stored the person (and so the leases) since.
            if now.0 - st.stored_at.0 < rules.policy.device_lease.millis() / 2 {
                continue;
            }
            batch.push(Renewal {
                device,
                person: st.person.clone(),
                applied: st.applied.clone(),
                deadline: next_wakeup(&st.person, &rules, now).map(|t| t.0),
                version: st.version,
                at: now,
                slot: slot.clone(),
            });
        }
        let writes: Vec<StateWrite<'_>> = batch
            .iter()
            .map(|r| StateWrite {
                user: r.slot.id.as_str(),
                state: &r.person,
                applied_requests: &r.applied,
                next_deadline: r.deadline,
                version: r.version,
            })
            .collect();
        let stored: HashMap<String, i64> = match self.db.save_states(&writes).await {
            Ok(s) => s.into_iter().collect(),
            Err(e) => {
                // Kept for the next flush: the stored leases still have most of their time.
                tracing::warn!(error = %e, people = batch.len(), "could not store lease renewals; trying again in {} ms", FLUSH.as_millis());
                for r in batch {
                    let mut st = r.slot.state.lock().await;
                    if !st.lease_queued {
                        st.lease_queued = true;
                        self.leases.push(r.slot.clone(), r.device);
                    }
                }
                return 0;
            }
        };
        let written = stored.len();
        for r in batch {
            let mut st = r.slot.state.lock().await;
            match stored.get(r.slot.id.as_str()) {
                Some(&v) if st.version == r.version => {
                    self.tell_stored(&r.slot.id, &st, v, &r.person, None, r.deadline);
                    st.version = v;
                    st.stored_at = r.at;
                    st.stored_deadline = r.deadline;
                }
                // Stored, and a change here stored the person again since: nothing left to do.
                Some(_) => {}
                None => {
                    drop(st);
                    if let Err(e) = self.renew(&r.slot, &r.device, false).await {
                        tracing::warn!(user = %r.slot.id, error = %e, "could not store a lease renewal");
                    }
                }
            }
        }
        written
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
