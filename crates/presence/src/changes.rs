//! Every way one person's presence state changes, in one place.
//!
//! [`Change`] is what a person does to their own presence (pick a status, set a message, pause
//! notifications, …): it is what the WebSocket frame carries, what the client core keeps in its
//! outbox, and what the desktop app's local mode applies, all through [`Person::apply`]. The other
//! operations come from the system around the person: a device's reports and leases, an
//! integration's calls and meetings, an administrator, and the passing of time ([`Person::settle`]
//! and the deadlines the server sets its timer for).

use serde::{Deserialize, Serialize};

use crate::catalog::StatusId;
use crate::claims::{Claim, ClaimId, ClaimSource};
use crate::device::{DeviceAbout, DeviceActivity, DeviceReport, DeviceState, ReportOutcome};
use crate::ids::{DeviceId, ExternalId};
use crate::person::{InvisibleFrame, Person, Preferences, Settled, Shown, StatusMessage};
use crate::rules::Rules;
use crate::schedule::ClearAfter;
use crate::text::{Emoji, MessageText};
use crate::time::Timestamp;
use crate::PresenceError;

mod activities;

/// A change a person makes to their own presence. Adding a kind of change means adding a variant
/// here and its arm in [`Person::apply`]; the wire, the outbox and the apps carry it as it is.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// Pick a status; with `until` it nests on top and ends then (Do not disturb for an hour is
    /// `do_not_disturb` until an hour from now). Available hands control back to automation.
    SetStatus {
        status: StatusId,
        until: Option<Timestamp>,
    },
    SetMessage {
        text: MessageText,
        emoji: Option<Emoji>,
        clear_after: ClearAfter,
    },
    ClearMessage,
    /// Hold notifications until a time, without changing the status.
    PauseNotifications {
        until: Timestamp,
    },
    ResumeNotifications,
    /// Close after-call work now rather than when its timeout ends.
    CloseWrapUp,
}

impl Change {
    /// Shorthand for Do not disturb until a time (or until changed).
    pub fn do_not_disturb(until: Option<Timestamp>) -> Change {
        Change::SetStatus {
            status: StatusId::DND,
            until,
        }
    }

    /// Pause until a time, or resume with `None`.
    pub fn pause(until: Option<Timestamp>) -> Change {
        match until {
            Some(until) => Change::PauseNotifications { until },
            None => Change::ResumeNotifications,
        }
    }
}

impl Person {
    /// Applies a person's own change. A refused change leaves the state as it was.
    pub fn apply(
        &mut self,
        rules: &Rules,
        now: Timestamp,
        change: Change,
    ) -> Result<(), PresenceError> {
        match change {
            Change::SetStatus { status, until } => {
                self.choose(rules, now, status, until)?;
            }
            Change::SetMessage {
                text,
                emoji,
                clear_after,
            } => self.set_message(rules, now, text, emoji, clear_after)?,
            Change::ClearMessage => self.clear_message(rules, now),
            Change::PauseNotifications { until } => self.pause_notifications(rules, now, until)?,
            Change::ResumeNotifications => self.resume_notifications(rules, now),
            Change::CloseWrapUp => self.close_wrap_up(rules, now, None),
        }
        Ok(())
    }

    fn add_claim(
        &mut self,
        source: ClaimSource,
        status: StatusId,
        now: Timestamp,
        until: Option<Timestamp>,
        device: Option<DeviceId>,
        external: Option<ExternalId>,
    ) -> ClaimId {
        self.next_claim += 1;
        let id = ClaimId(self.next_claim);
        self.claims.push(Claim {
            id,
            source,
            status,
            since: now,
            until,
            device,
            external,
        });
        id
    }

    fn check_until(until: Option<Timestamp>, now: Timestamp) -> Result<(), PresenceError> {
        match until {
            Some(u) if u <= now => Err(PresenceError::ExpiryNotInFuture { until: u, now }),
            _ => Ok(()),
        }
    }

    /// The person picks a status from the dropdown or the tray.
    ///
    /// - Available hands control back to automation: every personal claim ends, and a scheduled
    ///   DND window in progress is skipped until it ends.
    /// - A status with an end nests on top of what is there; when it ends, the earlier one is back.
    /// - A status without an end replaces every personal claim.
    pub fn choose(
        &mut self,
        rules: &Rules,
        now: Timestamp,
        status: StatusId,
        until: Option<Timestamp>,
    ) -> Result<ClaimId, PresenceError> {
        rules
            .catalog
            .check_selectable_for(&self.preferences.statuses, &status)?;
        Self::check_until(until, now)?;
        self.settle(rules, now);
        let id = if status == StatusId::AVAILABLE {
            self.claims.retain(|c| !c.source.is_personal());
            if let Some(schedule) = &self.preferences.schedule {
                if let Some((_, end)) = schedule.dnd(now) {
                    self.schedule_skipped_until = Some(end);
                }
            }
            if until.is_some() {
                // "Available for an hour" over nothing: record it so that it shows and ends.
                self.add_claim(ClaimSource::Timed, status, now, until, None, None)
            } else {
                ClaimId(0)
            }
        } else if until.is_some() {
            self.add_claim(ClaimSource::Timed, status, now, until, None, None)
        } else {
            self.claims.retain(|c| !c.source.is_personal());
            self.add_claim(ClaimSource::Manual, status, now, None, None, None)
        };
        self.record_shown(rules, now);
        Ok(id)
    }

    /// Ends one claim by id, whichever its place in the stack; the right earlier status is back.
    pub fn end_claim(
        &mut self,
        rules: &Rules,
        now: Timestamp,
        id: ClaimId,
    ) -> Result<Claim, PresenceError> {
        let pos = self
            .claims
            .iter()
            .position(|c| c.id == id)
            .ok_or(PresenceError::UnknownClaim(id.0))?;
        let claim = self.claims.remove(pos);
        self.settle(rules, now);
        Ok(claim)
    }

    /// A device reports. Stale reports (sequence not above the last applied) change nothing.
    pub fn report(
        &mut self,
        rules: &Rules,
        now: Timestamp,
        report: &DeviceReport,
    ) -> ReportOutcome {
        self.settle(rules, now);
        let lease_until = now.plus(rules.policy.device_lease);
        if let Some(known) = self.devices.get(&report.device) {
            if report.seq <= known.last_seq {
                return ReportOutcome::Stale {
                    last_seq: known.last_seq,
                };
            }
        }
        let state = self
            .devices
            .entry(report.device.clone())
            .or_insert_with(|| DeviceState {
                last_seq: 0,
                last_report_at: now,
                lease_until,
                gone_at: None,
                idle_since: None,
                locked_since: None,
                in_call_since: None,
                about: None,
            });
        state.last_seq = report.seq;
        state.last_report_at = now;
        state.lease_until = lease_until;
        state.gone_at = None;
        match report.activity {
            DeviceActivity::Active => {
                state.idle_since = None;
                state.locked_since = None;
            }
            DeviceActivity::Idle { idle_for } => {
                state.idle_since = Some(now.minus(idle_for));
                state.locked_since = None;
            }
            DeviceActivity::Locked { locked_for } => {
                let at = now.minus(locked_for);
                state.locked_since = Some(at);
                state.idle_since = Some(state.idle_since.map_or(at, |i| i.min(at)));
            }
        }
        match (report.in_call, state.in_call_since) {
            (true, None) => state.in_call_since = Some(now),
            (false, Some(_)) => {
                state.in_call_since = None;
                self.after_call(rules, now, Some(report.device.clone()), None);
            }
            _ => {}
        }
        self.record_shown(rules, now);
        ReportOutcome::Applied
    }

    /// Records a device's name and platform (from its sign-in). Returns whether anything
    /// changed; a device that never reported is not recorded by this alone.
    pub fn describe_device(&mut self, device: &DeviceId, about: &DeviceAbout) -> bool {
        match self.devices.get_mut(device) {
            Some(state) if state.about.as_ref() != Some(about) => {
                state.about = Some(about.clone());
                true
            }
            _ => false,
        }
    }

    /// A connected device is still there (a heartbeat without a new report): its lease is
    /// renewed. Returns false, changing nothing, for a device that never reported or is gone:
    /// it must send a report first.
    pub fn keep_alive(&mut self, rules: &Rules, now: Timestamp, device: &DeviceId) -> bool {
        self.settle(rules, now);
        match self.devices.get_mut(device) {
            Some(state) if state.is_live(now) => {
                state.lease_until = now.plus(rules.policy.device_lease);
                true
            }
            _ => false,
        }
    }

    /// Whether `device` has ever reported to this person (live or lapsed): a heartbeat from a
    /// known device whose lease lapsed (a laptop that slept) means it must report again.
    pub fn knows_device(&self, device: &DeviceId) -> bool {
        self.devices.contains_key(device)
    }

    /// A device signs out: it is gone at once, no lease to wait for.
    pub fn sign_out(&mut self, rules: &Rules, now: Timestamp, device: &DeviceId) {
        if let Some(state) = self.devices.get_mut(device) {
            state.gone_at.get_or_insert(now);
            state.lease_until = state.lease_until.min(now);
            state.in_call_since = None;
        }
        self.settle(rules, now);
    }

    /// The person's account was deactivated: every device is signed out and everything on them
    /// ends (an administrator's status, calls, meetings, their own choices, message, pause), so
    /// they are Offline to everyone from now, with nothing of it coming back if the account is
    /// reactivated. Their preferences stay. Doing it again changes nothing.
    pub fn depart(&mut self, rules: &Rules, now: Timestamp) {
        for (_, state) in self.devices.iter_mut() {
            if state.is_live(now) {
                state.gone_at.get_or_insert(now);
                state.lease_until = state.lease_until.min(now);
            }
            state.in_call_since = None;
        }
        self.claims.clear();
        self.message = None;
        self.pause_until = None;
        self.invisible = None;
        self.schedule_skipped_until = None;
        self.settle(rules, now);
    }

    /// An administrator forces a status, above everything else.
    pub fn admin_set(
        &mut self,
        rules: &Rules,
        now: Timestamp,
        status: StatusId,
        until: Option<Timestamp>,
    ) -> Result<ClaimId, PresenceError> {
        rules
            .catalog
            .entry(&status)
            .ok_or_else(|| PresenceError::UnknownStatus(status.to_string()))?;
        Self::check_until(until, now)?;
        self.claims.retain(|c| c.source != ClaimSource::Admin);
        let id = self.add_claim(ClaimSource::Admin, status, now, until, None, None);
        self.settle(rules, now);
        Ok(id)
    }

    pub fn admin_clear(&mut self, rules: &Rules, now: Timestamp) {
        self.claims.retain(|c| c.source != ClaimSource::Admin);
        self.settle(rules, now);
    }

    pub fn set_message(
        &mut self,
        rules: &Rules,
        now: Timestamp,
        text: MessageText,
        emoji: Option<Emoji>,
        clear_after: ClearAfter,
    ) -> Result<(), PresenceError> {
        let expires = clear_after.resolve(now, &self.preferences.time_zone)?;
        self.message = Some(StatusMessage {
            text,
            emoji,
            set_at: now,
            expires,
        });
        self.settle(rules, now);
        Ok(())
    }

    pub fn clear_message(&mut self, rules: &Rules, now: Timestamp) {
        self.message = None;
        self.settle(rules, now);
    }

    /// Pause notifications until `until` without changing the status.
    pub fn pause_notifications(
        &mut self,
        rules: &Rules,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<(), PresenceError> {
        Self::check_until(Some(until), now)?;
        self.pause_until = Some(until);
        self.settle(rules, now);
        Ok(())
    }

    pub fn resume_notifications(&mut self, rules: &Rules, now: Timestamp) {
        self.pause_until = None;
        self.settle(rules, now);
    }

    /// Replaces the person's settings. A status of their own that is gone from the new list
    /// ends where the person had chosen it (what was under it shows again).
    pub fn set_preferences(&mut self, rules: &Rules, now: Timestamp, preferences: Preferences) {
        let kept = &preferences.statuses;
        self.claims.retain(|c| match &c.status {
            StatusId::Personal(id) if c.source.is_personal() => kept.iter().any(|s| &s.id == id),
            _ => true,
        });
        self.preferences = preferences;
        self.settle(rules, now);
    }

    /// Applies everything due at `now`: claims whose end has come (exactly: a claim ending at
    /// `t` is gone at `t`), devices whose lease lapsed, a message or pause that ran out. Call it
    /// after loading stored state, and at [`Person::next_deadline`].
    pub fn settle(&mut self, rules: &Rules, now: Timestamp) -> Settled {
        let mut out = Settled::default();
        let (kept, expired): (Vec<_>, Vec<_>) = std::mem::take(&mut self.claims)
            .into_iter()
            .partition(|c| c.is_active(now));
        self.claims = kept;
        out.expired = expired;
        for (id, d) in &mut self.devices {
            if d.gone_at.is_none() && now >= d.lease_until {
                d.gone_at = Some(d.lease_until);
                d.in_call_since = None;
                out.lapsed.push(id.clone());
            }
        }
        // A claim reported by a device goes with the device.
        let devices = &self.devices;
        self.claims.retain(|c| {
            c.device
                .as_ref()
                .is_none_or(|d| devices.get(d).is_some_and(|s| s.is_live(now)))
        });
        if self
            .message
            .as_ref()
            .is_some_and(|m| m.expires.is_some_and(|e| e <= now))
        {
            self.message = None;
            out.message_cleared = true;
        }
        self.calendar.retain(|s| s.end > now);
        if self.pause_until.is_some_and(|u| u <= now) {
            self.pause_until = None;
            out.pause_ended = true;
        }
        if self.schedule_skipped_until.is_some_and(|u| u <= now) {
            self.schedule_skipped_until = None;
        }
        self.record_shown(rules, now);
        out
    }

    fn record_shown(&mut self, rules: &Rules, now: Timestamp) {
        let resolution = rules.resolve(self, now);
        if resolution.invisible_since.is_some() {
            if self.invisible.is_none() {
                self.invisible = Some(InvisibleFrame {
                    message: self.message(now).cloned(),
                });
            }
        } else {
            self.invisible = None;
        }
        let winner = resolution.winner;
        match &self.shown {
            Some(s) if s.status == winner.status => {}
            _ => {
                // Available by default has no moment of its own: it began when whatever was above
                // it ended, which is now.
                let since = if winner.source == ClaimSource::Automatic {
                    now
                } else {
                    winner.since.min(now)
                };
                self.shown = Some(Shown {
                    status: winner.status,
                    since,
                })
            }
        }
    }

    /// The next instant at which something changes by itself (a claim ends, a lease lapses, the
    /// idle threshold passes, a message clears, a schedule window opens or closes). The server
    /// sets a timer for it.
    pub fn next_deadline(&self, rules: &Rules, now: Timestamp) -> Option<Timestamp> {
        self.deadline(rules, now, true)
    }

    /// Like [`Person::next_deadline`], assuming connected devices keep reporting: the next change
    /// a person would notice ("Do not disturb ends at 15:00").
    pub fn next_change(&self, rules: &Rules, now: Timestamp) -> Option<Timestamp> {
        self.deadline(rules, now, false)
    }

    fn deadline(&self, rules: &Rules, now: Timestamp, leases: bool) -> Option<Timestamp> {
        let idle_after = rules.idle_after(self);
        let mut times: Vec<Timestamp> = Vec::new();
        times.extend(self.claims.iter().filter_map(|c| c.until));
        for d in self.devices.values().filter(|d| d.is_live(now)) {
            if leases {
                times.push(d.lease_until);
            }
            if let Some(a) = d.away_from(idle_after).filter(|_| rules.auto_away(self)) {
                times.push(a);
            }
            if let (Some(off), Some(_)) = (rules.policy.offline_after, d.away_from(idle_after)) {
                times.push(d.last_activity().plus(off));
            }
        }
        times.extend(self.message.as_ref().and_then(|m| m.expires));
        // What teammates see while Invisible clears at its own time too.
        times.extend(
            self.invisible
                .as_ref()
                .and_then(|f| f.message.as_ref())
                .and_then(|m| m.expires),
        );
        times.extend(self.pause_until);
        times.extend(self.schedule_skipped_until);
        if let Some(o) = &self.preferences.out_of_office {
            times.extend([o.from, o.until]);
        }
        for s in &self.calendar {
            times.extend([s.start, s.end]);
        }
        if let Some(s) = &self.preferences.schedule {
            times.extend(s.next_boundary(now));
        }
        times.into_iter().filter(|t| *t > now).min()
    }
}
