//! The presence engine: the one place that decides what status a person has, what teammates see,
//! whether a notification may interrupt, and whom a call or contact goes to.
//!
//! Pure: no I/O, no async, no clock. Every operation takes `now`; the state is plain serde data
//! that adapters (server, desktop app, CLI) store and load. The rules are in
//! `docs/presence-model.md`.

pub mod call;
pub mod catalog;
pub mod changes;
pub mod claims;
pub mod decisions;
pub mod device;
pub mod ids;
pub mod person;
pub mod rules;
pub mod schedule;
pub mod text;
pub mod time;
pub mod views;

pub use call::{BusyAction, CallSettings, PhoneNumber};
pub use catalog::{
    BuiltinOverride, BuiltinStatus, Catalog, Colour, CustomStatus, DirectCallPolicy, Family, Glyph,
    NotificationPolicy, PersonalStatus, PolicyOverrides, StatusEntry, StatusId, StatusPolicy,
    MAX_PERSONAL_STATUSES,
};
pub use changes::Change;
pub use claims::{Claim, ClaimId, ClaimSource};
pub use decisions::{AssignmentCandidate, CallOutcome, Delivery, HoldReason, Notice};
pub use device::{
    DeviceAbout, DeviceActivity, DeviceKind, DeviceReport, DeviceState, Platform, ReportOutcome,
};
pub use ids::{CustomStatusId, DeviceId, ExternalId, TeamId, UserId};
pub use person::{
    Activity, CalendarSpan, OutOfOffice, Person, Preferences, Settled, StatusMessage,
};
pub use rules::{Candidate, OrgPolicy, Resolution, Rules, Standing};
pub use schedule::{ClearAfter, MinuteOfDay, Schedule, TimeZone, WeeklyWindow};
pub use text::{DeviceName, Emoji, MenuName, MessageText, StatusName};
pub use time::{Span, Timestamp};
pub use views::{
    ClaimLine, DeviceLine, DeviceShown, Explanation, Interruptibility, MessageView, NextChange,
    SelfView, StatusView, TeamView,
};

/// Everything the engine refuses, each with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum PresenceError {
    #[error("unknown status \"{0}\": pick one of the organisation's statuses")]
    UnknownStatus(String),
    #[error("\"{0}\" is turned off in this organisation: an administrator can enable it")]
    StatusDisabled(String),
    #[error("\"{0}\" is set automatically and cannot be chosen by hand")]
    AutomaticOnly(String),
    #[error("the {what} is not valid: {reason}")]
    InvalidText { what: &'static str, reason: String },
    #[error("\"{value}\" is not a valid {what}: use letters, digits and - _ . : @ +, at most 64")]
    InvalidId { what: &'static str, value: String },
    #[error("the end time {until} is not after now ({now}): pick a time in the future")]
    ExpiryNotInFuture { until: Timestamp, now: Timestamp },
    #[error("a call or meeting can be planned to end at most {hours} hours ahead: send a nearer end, and renew it (its start again, with a later end) to keep it going")]
    TooFarAhead { hours: i64 },
    #[error("unknown time zone \"{0}\": use an IANA name such as Europe/London")]
    InvalidTimeZone(String),
    #[error("invalid schedule: {0}")]
    InvalidSchedule(String),
    #[error("\"{0}\" is not a phone number: use the international form, such as +441234567890")]
    InvalidPhoneNumber(String),
    #[error("no claim with id {0}: it may have ended already")]
    UnknownClaim(u64),
    #[error("a custom status cannot be in the offline family: pick available, busy, away or do_not_disturb")]
    OfflineFamily,
    #[error("your own statuses: {0}")]
    InvalidPersonalStatus(String),
    #[error("{what} is negative: report how long it has been, zero or more")]
    NegativeSpan { what: &'static str },
    /// A person's setting broken: `field` names it as [`Preferences`] does, so a form can say
    /// it where the setting is.
    #[error("{reason}")]
    InvalidSetting { field: &'static str, reason: String },
}
