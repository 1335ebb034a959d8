//! The app's presence state: this person, this device, the organisation's rules. Until the app
//! syncs with a server (see the client crate), it runs the engine locally so that the tray and
//! the window work on their own.

use presence::{
    DeviceActivity, DeviceId, DeviceReport, Explanation, Person, Rules, StatusId, Timestamp,
};
use std::sync::Mutex;
use tokio::sync::Notify;

use crate::clock;
pub use protocol::ipc::{CommandError, Snapshot};

pub struct AppState {
    inner: Mutex<Inner>,
    /// Set when the app is connected to a server: then the server decides, through the client
    /// core, and the local engine is not used.
    pub remote: std::sync::OnceLock<crate::remote::Remote>,
    /// Why the app could not connect at start, shown instead of the connection state.
    pub startup_error: Mutex<Option<String>>,
    /// Wakes the timer task when the next deadline may have moved.
    pub changed: Notify,
}

struct Inner {
    rules: Rules,
    person: Person,
    device: DeviceId,
    seq: u64,
}

impl AppState {
    pub fn new(rules: Rules) -> AppState {
        let now = clock::now();
        let device = DeviceId::parse("desktop").expect("valid id");
        let mut inner = Inner {
            rules,
            person: Person::default(),
            device,
            // Milliseconds since the epoch: grows across restarts without storing anything.
            seq: now.millis().max(1) as u64,
        };
        inner.heartbeat(now);
        AppState {
            inner: Mutex::new(inner),
            remote: std::sync::OnceLock::new(),
            startup_error: Mutex::new(None),
            changed: Notify::new(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        // A poisoned lock means a panic elsewhere already; the state itself is plain data.
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    pub fn snapshot(&self) -> Snapshot {
        if let Some(r) = self.remote.get() {
            let local = self.with(|i| i.rules.self_view(&i.person, clock::now()));
            let me = r.me().unwrap_or(local);
            let paused_until = match me.interruptibility {
                presence::Interruptibility::Paused { until } => Some(until),
                _ => None,
            };
            let statuses = r.statuses();
            return Snapshot {
                me,
                statuses: if statuses.is_empty() {
                    self.with(|i| i.rules.catalog.selectable())
                } else {
                    statuses
                },
                paused_until,
                unread: r.unread(),
                connection: r.connection(),
            };
        }
        self.with(|i| {
            let now = clock::now();
            Snapshot {
                me: i.rules.self_view(&i.person, now),
                statuses: i.rules.catalog.selectable(),
                paused_until: i.person.paused_until(now),
                unread: 0,
                connection: self
                    .startup_error
                    .lock()
                    .ok()
                    .and_then(|e| e.clone())
                    .unwrap_or_else(|| "Not connected to a server".into()),
            }
        })
    }

    pub fn explain(&self) -> Explanation {
        self.with(|i| i.rules.explain(&i.person, clock::now()))
    }

    pub fn choose(
        &self,
        status: StatusId,
        until: Option<Timestamp>,
    ) -> Result<Snapshot, CommandError> {
        if let Some(r) = self.remote.get() {
            r.choose(status, until);
            return Ok(self.snapshot());
        }
        self.with(|i| i.person.choose(&i.rules, clock::now(), status, until))?;
        self.changed.notify_one();
        Ok(self.snapshot())
    }

    pub fn pause(&self, until: Option<Timestamp>) -> Result<Snapshot, CommandError> {
        if let Some(r) = self.remote.get() {
            r.send(presently_client::sync::Command::Pause { until });
            return Ok(self.snapshot());
        }
        self.with(|i| {
            let now = clock::now();
            match until {
                Some(u) => i.person.pause_notifications(&i.rules, now, u),
                None => {
                    i.person.resume_notifications(&i.rules, now);
                    Ok(())
                }
            }
        })?;
        self.changed.notify_one();
        Ok(self.snapshot())
    }

    /// Reports this device as present and applies whatever fell due. Returns the next deadline.
    pub fn tick(&self) -> Option<Timestamp> {
        if self.remote.get().is_some() {
            // The server keeps the time; the client core heartbeats.
            return None;
        }
        self.with(|i| {
            let now = clock::now();
            i.heartbeat(now);
            i.person.next_deadline(&i.rules, now)
        })
    }
}

impl Inner {
    fn heartbeat(&mut self, now: Timestamp) {
        self.seq += 1;
        let report = DeviceReport {
            device: self.device.clone(),
            seq: self.seq,
            activity: DeviceActivity::Active,
            in_call: false,
        };
        self.person.report(&self.rules, now, &report);
    }
}
