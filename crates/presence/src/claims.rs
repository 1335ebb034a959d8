//! Claims: every source of status is a claim with a priority and an optional expiry.

use serde::{Deserialize, Serialize};

use crate::catalog::StatusId;
use crate::ids::{DeviceId, ExternalId};
use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClaimId(pub u64);

/// Where a claim comes from. The first group is stored; the second is derived from devices and
/// the schedule each time the engine resolves.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimSource {
    /// A status the person chose, without an end.
    Manual,
    /// A status the person chose for a while ("Do not disturb for 1 hour", "Busy until 15:00").
    Timed,
    /// A call, from a device report or a phone-system integration.
    Call,
    /// A meeting, from a meeting tool or calendar integration.
    Meeting,
    /// Wrap-up after a call; ends when the wrap-up is closed or after the organisation's timeout.
    AfterCallWork,
    /// An administrator's override.
    Admin,
    /// The person's do-not-disturb schedule (derived).
    Schedule,
    /// The person's out-of-office dates (derived).
    OutOfOffice,
    /// The person's calendar: a meeting, or out of office (derived from the spans the server
    /// read from it).
    Calendar,
    /// Every device idle past the threshold, or locked (derived).
    Idle,
    /// Every device idle past the organisation's inactivity timeout (derived).
    Inactivity,
    /// No device is connected (derived).
    NoDevice,
    /// Nothing else holds: a device is connected and active (derived).
    Automatic,
}

impl ClaimSource {
    /// Sources a person controls by choosing from the dropdown. They form one stack of their own,
    /// ordered by recency, whose top then competes with the other sources by priority.
    pub fn is_personal(self) -> bool {
        matches!(self, ClaimSource::Manual | ClaimSource::Timed)
    }

    pub fn describe(self) -> &'static str {
        match self {
            ClaimSource::Manual => "you chose it",
            ClaimSource::Timed => "you chose it for a set time",
            ClaimSource::Call => "a call is in progress",
            ClaimSource::Meeting => "a meeting is in progress",
            ClaimSource::AfterCallWork => "wrap-up after a call",
            ClaimSource::Admin => "an administrator set it",
            ClaimSource::Schedule => "your do-not-disturb schedule",
            ClaimSource::OutOfOffice => "you are out of office (set in your settings)",
            ClaimSource::Calendar => "your calendar says so",
            ClaimSource::Idle => "no activity on any of your devices",
            ClaimSource::Inactivity => "inactive for longer than your organisation's timeout",
            ClaimSource::NoDevice => "none of your devices is connected",
            ClaimSource::Automatic => "you are active on a device",
        }
    }
}

/// The priority of a claim: higher wins. A personal do-not-disturb sits above a call (a call
/// beats Available and Away, not a manual DND); an activity (call, meeting, wrap-up) sits above
/// other personal choices; automation from idle time sits below them (a manual choice is
/// protected from automation).
pub fn priority(source: ClaimSource, status: &StatusId) -> u8 {
    match source {
        ClaimSource::Admin => 100,
        ClaimSource::Manual | ClaimSource::Timed if status == &StatusId::DND => 90,
        ClaimSource::OutOfOffice => 80,
        ClaimSource::Calendar if status == &StatusId::OUT_OF_OFFICE => 80,
        ClaimSource::Call => 70,
        ClaimSource::Meeting => 65,
        ClaimSource::AfterCallWork => 60,
        ClaimSource::Inactivity => 55,
        ClaimSource::Manual | ClaimSource::Timed => 50,
        ClaimSource::Schedule => 45,
        // Below anything the person chose (and their do-not-disturb schedule), above idle: in a
        // meeting away from the keyboard shows the meeting.
        ClaimSource::Calendar => 40,
        ClaimSource::Idle => 30,
        ClaimSource::NoDevice => 1,
        ClaimSource::Automatic => 0,
    }
}

/// A stored claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub id: ClaimId,
    pub source: ClaimSource,
    pub status: StatusId,
    pub since: Timestamp,
    /// Ends at this instant exactly (active while `now < until`).
    pub until: Option<Timestamp>,
    /// The device that reported it, if any.
    pub device: Option<DeviceId>,
    /// The integration's id of the event, if any.
    pub external: Option<ExternalId>,
}

impl Claim {
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.until.is_none_or(|u| now < u)
    }
}

/// Sorting key of a candidate: priority, then the most recent, then the latest claim.
pub(crate) fn rank(
    source: ClaimSource,
    status: &StatusId,
    since: Timestamp,
    id: Option<ClaimId>,
) -> (u8, Timestamp, u64) {
    (priority(source, status), since, id.map_or(0, |i| i.0))
}
