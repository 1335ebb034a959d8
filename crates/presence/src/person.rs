//! One person's presence state: claims, devices, message, pause, preferences. Plain data with
//! read-only accessors; every change to it is in [`crate::changes`], so the rules and the views
//! read a person without depending on how one changes.

use litemap::LiteMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use crate::call::CallSettings;
use crate::catalog::{PersonalStatus, StatusId};
use crate::claims::{Claim, ClaimSource};
use crate::device::DeviceState;
use crate::ids::{DeviceId, UserId};
use crate::schedule::{Schedule, TimeZone};
use crate::text::{Emoji, MessageText};
use crate::time::{Span, Timestamp};
use crate::PresenceError;

/// A status message ("On a deadline") with an optional emoji and end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusMessage {
    pub text: MessageText,
    pub emoji: Option<Emoji>,
    pub set_at: Timestamp,
    pub expires: Option<Timestamp>,
}

/// A person's own settings that the rules read.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    pub time_zone: TimeZone,
    pub schedule: Option<Schedule>,
    /// Overrides the organisation's idle threshold for this person.
    pub idle_after: Option<Span>,
    /// Senders whose urgent notifications break through DND, a pause and quiet hours.
    pub breakthrough: BTreeSet<UserId>,
    pub call: CallSettings,
    /// Away when every device is idle or locked, as the organisation's policy says. Off: idle
    /// and lock change nothing for this person (an organisation's inactivity timeout still
    /// applies, and the organisation turning auto-away off turns it off for everyone).
    #[serde(default = "yes")]
    pub auto_away: bool,
    /// Away from work between two instants.
    #[serde(default)]
    pub out_of_office: Option<OutOfOffice>,
    /// Statuses the person made for themselves, listed after the organisation's.
    #[serde(default)]
    pub statuses: Vec<PersonalStatus>,
}

impl Preferences {
    /// How long without input before Away a person may choose for themselves.
    pub const IDLE_AFTER_RANGE: (Span, Span) = (Span::seconds(60), Span::hours(4));
    /// The most people on the urgent allow-list.
    pub const MAX_BREAKTHROUGH: usize = 100;

    /// The rules a person's settings follow, whoever saves them (the server takes none that
    /// break them; the app says which before it sends). The error names the field.
    pub fn check(&self) -> Result<(), PresenceError> {
        let invalid = |field, reason: &str| {
            Err(PresenceError::InvalidSetting {
                field,
                reason: reason.to_string(),
            })
        };
        if let Some(idle) = self.idle_after {
            let (min, max) = Self::IDLE_AFTER_RANGE;
            if !(min..=max).contains(&idle) {
                return invalid(
                    "idle_after",
                    "Away after: between 1 minute and 4 hours without input, or empty for your organisation's",
                );
            }
        }
        PersonalStatus::check_all(&self.statuses).map_err(|e| PresenceError::InvalidSetting {
            field: "statuses",
            reason: e.to_string(),
        })?;
        if self.breakthrough.len() > Self::MAX_BREAKTHROUGH {
            return invalid(
                "breakthrough",
                "at most 100 people on the urgent allow-list",
            );
        }
        if let Some(o) = &self.out_of_office {
            if o.until <= o.from {
                return invalid(
                    "out_of_office",
                    "Out of office: the return must be after the start",
                );
            }
            if o.until.0 - o.from.0 > Span::hours(366 * 24).millis() {
                return invalid("out_of_office", "Out of office: at most a year at a time");
            }
        }
        if let Some(schedule) = &self.schedule {
            let windows = [
                (
                    "schedule.working_hours",
                    "working hours",
                    &schedule.working_hours,
                ),
                ("schedule.quiet_hours", "quiet hours", &schedule.quiet_hours),
                (
                    "schedule.do_not_disturb",
                    "Do not disturb schedule",
                    &schedule.do_not_disturb,
                ),
            ];
            for (field, what, list) in windows {
                for w in list.iter() {
                    if w.days.is_empty() {
                        return Err(PresenceError::InvalidSetting {
                            field,
                            reason: format!("each window of the {what} needs at least one day"),
                        });
                    }
                    if w.days.iter().any(|d| *d > 6) {
                        return Err(PresenceError::InvalidSetting {
                            field,
                            reason: format!("the {what}: days are 0 (Monday) to 6 (Sunday)"),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// Out of office from `from` until `until`: teammates see Out of office, until when, and the
/// message; notifications are held for the return; direct calls follow the call settings. It
/// needs no device (a laptop left at home still says so), and only the person's settings end
/// it early.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutOfOffice {
    pub from: Timestamp,
    pub until: Timestamp,
    pub message: Option<MessageText>,
}

impl OutOfOffice {
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.from <= now && now < self.until
    }
}

fn yes() -> bool {
    true
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            time_zone: TimeZone::UTC,
            schedule: None,
            idle_after: None,
            breakthrough: BTreeSet::new(),
            call: CallSettings::default(),
            auto_away: true,
            out_of_office: None,
            statuses: Vec::new(),
        }
    }
}

/// The activities an integration (phone system, meeting tool, calendar) reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    Call,
    Meeting,
}

impl Activity {
    /// How long a call or meeting an integration starts lasts when the sender gives no end: a
    /// sender that went silent (crashed, lost its network) never leaves it stuck. The sender
    /// renews it by sending its start again with a later end, or ends it.
    pub const BOUND: Span = Span::hours(4);
    /// The furthest ahead a call or meeting may be planned to end (a renewal included).
    pub const LONGEST: Span = Span::hours(24);

    pub(crate) fn source(self) -> ClaimSource {
        match self {
            Activity::Call => ClaimSource::Call,
            Activity::Meeting => ClaimSource::Meeting,
        }
    }
    pub(crate) fn status(self) -> StatusId {
        match self {
            Activity::Call => StatusId::ON_A_CALL,
            Activity::Meeting => StatusId::IN_A_MEETING,
        }
    }
}

/// What [`Person::settle`] applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    pub expired: Vec<Claim>,
    pub lapsed: Vec<DeviceId>,
    pub message_cleared: bool,
    pub pause_ended: bool,
}

impl Settled {
    pub fn is_empty(&self) -> bool {
        self.expired.is_empty()
            && self.lapsed.is_empty()
            && !self.message_cleared
            && !self.pause_ended
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Shown {
    pub status: StatusId,
    pub since: Timestamp,
}

/// A person's devices are stored as a JSON object keyed by device, as they were while they were
/// a `BTreeMap`. `LiteMap`'s own `Serialize` writes an empty map as a list (`[]`: with no first
/// key, it cannot tell that keys are strings), which an earlier release cannot read: a rollback,
/// or an older node beside a newer one on PostgreSQL, would refuse the stored person. `LiteMap`'s
/// `Deserialize` takes either form, so what was stored as `[]` is read too.
fn devices_as_map<S: serde::Serializer>(
    devices: &LiteMap<DeviceId, DeviceState>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(devices.iter())
}

/// Everything the engine knows about one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Person {
    pub(crate) next_claim: u64,
    pub(crate) claims: Vec<Claim>,
    #[serde(serialize_with = "devices_as_map")]
    pub(crate) devices: LiteMap<DeviceId, DeviceState>,
    pub(crate) message: Option<StatusMessage>,
    pub(crate) pause_until: Option<Timestamp>,
    /// Choosing Available during a scheduled DND window skips the rest of that window.
    pub(crate) schedule_skipped_until: Option<Timestamp>,
    pub(crate) shown: Option<Shown>,
    /// While Invisible: what teammates saw when it began, which nothing changed since reaches.
    #[serde(default)]
    pub(crate) invisible: Option<InvisibleFrame>,
    /// What the person's calendar says, as the server last read it (ended spans dropped).
    #[serde(default)]
    pub(crate) calendar: Vec<CalendarSpan>,
    pub preferences: Preferences,
}

/// A span of the person's calendar: a meeting, or out of office, from `start` until `end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarSpan {
    pub start: Timestamp,
    pub end: Timestamp,
    pub out_of_office: bool,
}

impl CalendarSpan {
    /// At most this many spans are kept (the nearest first): a few days of a busy calendar.
    pub const MAX: usize = 500;
}

/// What teammates saw of a person when they went Invisible. Their message stays as it was (and
/// still clears at its own time, as an offline person's would) until they are visible again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InvisibleFrame {
    pub message: Option<StatusMessage>,
}

impl Person {
    pub fn new(preferences: Preferences) -> Person {
        Person {
            preferences,
            ..Person::default()
        }
    }

    pub fn claims(&self) -> &[Claim] {
        &self.claims
    }

    /// The spans of the person's calendar the engine knows, ended ones dropped at each settle.
    pub fn calendar(&self) -> &[CalendarSpan] {
        &self.calendar
    }

    pub fn devices(&self) -> &LiteMap<DeviceId, DeviceState> {
        &self.devices
    }

    pub fn message(&self, now: Timestamp) -> Option<&StatusMessage> {
        self.message
            .as_ref()
            .filter(|m| m.expires.is_none_or(|e| now < e))
    }

    pub fn paused_until(&self, now: Timestamp) -> Option<Timestamp> {
        self.pause_until.filter(|u| now < *u)
    }

    pub fn has_live_device(&self, now: Timestamp) -> bool {
        self.devices.values().any(|d| d.is_live(now))
    }

    /// A copy whose connected devices keep their leases for good, to look ahead.
    pub(crate) fn assuming_devices_stay(&self, now: Timestamp) -> Person {
        let mut p = self.clone();
        for (_, d) in p.devices.iter_mut().filter(|(_, d)| d.is_live(now)) {
            d.lease_until = Timestamp(i64::MAX);
        }
        p
    }

    /// Test and tooling aid: the personal claims in stack order, oldest first.
    pub fn personal_stack(&self) -> Vec<&Claim> {
        let mut v: Vec<&Claim> = self
            .claims
            .iter()
            .filter(|c| c.source.is_personal())
            .collect();
        v.sort_by_key(|c| (c.since, c.id));
        v
    }
}
