//! Presence without a server: the engine run for this device alone, so the tray and the window
//! work before (or without) signing in. The same [`Change`]s apply here as on the server.

use presence::{
    Change, DeviceActivity, DeviceId, DeviceReport, Explanation, Person, PresenceError, Rules,
    SelfView, StatusEntry, Timestamp,
};

/// This device's person, under the default rules, on its own.
#[derive(Debug, Clone)]
pub struct LocalPresence {
    rules: Rules,
    person: Person,
    device: DeviceId,
    seq: u64,
}

impl LocalPresence {
    /// Starts present (active on this device) at `now`.
    pub fn new(rules: Rules, now: Timestamp) -> LocalPresence {
        let mut local = LocalPresence {
            rules,
            person: Person::default(),
            device: DeviceId::parse(crate::session::DEFAULT_DEVICE).expect("a valid id"),
            // Milliseconds since the epoch: grows across restarts without storing anything.
            seq: now.millis().max(1) as u64,
        };
        local.heartbeat(now);
        local
    }

    pub fn apply(&mut self, now: Timestamp, change: Change) -> Result<(), PresenceError> {
        self.person.apply(&self.rules, now, change)
    }

    /// Reports this device as present and applies whatever fell due. Returns when something
    /// changes next by itself.
    pub fn heartbeat(&mut self, now: Timestamp) -> Option<Timestamp> {
        self.seq += 1;
        let report = DeviceReport {
            device: self.device.clone(),
            seq: self.seq,
            activity: DeviceActivity::Active,
            in_call: false,
        };
        self.person.report(&self.rules, now, &report);
        self.person.next_deadline(&self.rules, now)
    }

    pub fn self_view(&self, now: Timestamp) -> SelfView {
        self.rules.self_view(&self.person, now)
    }

    pub fn explain(&self, now: Timestamp) -> Explanation {
        self.rules.explain(&self.person, now)
    }

    pub fn selectable(&self) -> Vec<StatusEntry> {
        self.rules.selectable(&self.person)
    }

    pub fn paused_until(&self, now: Timestamp) -> Option<Timestamp> {
        self.person.paused_until(now)
    }
}
