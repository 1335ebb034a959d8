//! The REST API's bodies under `/api/v1`: what each route takes and what it answers. The server
//! (de)serializes exactly these, the client core and the CLI read them, and the OpenAPI
//! document describes them. Errors are [`ErrorBody`] with the HTTP status of their kind.

use crate::{Member, Notification, NotificationSeq, WireError};
use presence::{
    DeviceId, DeviceName, DirectCallPolicy, Family, NotificationPolicy, OrgPolicy, Platform,
    SelfView, Span, StatusEntry, StatusId, TeamView, Timestamp, UserId, WeeklyWindow,
};
use serde::{Deserialize, Serialize};

mod admin;
mod sso;
pub use admin::*;
pub use sso::*;

/// Every error: `{"error": {"kind", "message"}}`.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: WireError,
}

/// `GET /version` (no sign-in): what this server is, which protocol versions it speaks, and the
/// app release its administrator publishes, so an app can say before signing in whether it fits
/// and when an update exists.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerVersion {
    /// The server's version (semantic versioning).
    pub server: String,
    /// The newest protocol version the server speaks.
    pub protocol: u16,
    /// The oldest protocol version the server still speaks.
    pub min_protocol: u16,
    /// The latest desktop app, when the administrator publishes one (`[app]` in the config).
    pub app: Option<AppRelease>,
}

/// A desktop app release an administrator publishes to their organisation.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRelease {
    /// Its version (semantic versioning), compared with the running app's.
    pub version: String,
    /// Where to get it (a download page, or the package itself).
    pub url: String,
    /// What changed, in a sentence or two.
    pub notes: Option<String>,
}

/// A person's role in their organisation.
#[derive(
    utoipa::ToSchema, ts_rs::TS, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
}

/// `POST /sessions`: sign in a device with an email and password.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub email: String,
    pub password: String,
    /// This installation's device id (letters, digits and - _ . : @ +).
    pub device: DeviceId,
    /// What the person calls this device ("Work laptop"; the computer's name by default),
    /// shown to them in "Why am I shown as X?" and to administrators, never to teammates.
    #[serde(default)]
    pub device_name: Option<DeviceName>,
    /// What it runs on; teammates see its kind (desktop, mobile, web) while it makes the person
    /// reachable. Other when absent.
    #[serde(default)]
    pub platform: Option<Platform>,
}

/// The answer to a sign-in: the device token (shown once) and who signed in.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub token: String,
    pub user: UserId,
    pub name: String,
    pub org: String,
    pub device: DeviceId,
    pub role: Role,
}

#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRef {
    pub id: String,
    pub name: String,
}

#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamRef {
    pub id: String,
    pub name: String,
}

/// `GET /me`: the signed-in person, their device, their view and their teams.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub user: UserId,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub org: OrgRef,
    pub device: DeviceId,
    pub view: SelfView,
    #[ts(type = "number")]
    pub unread: u64,
    pub teams: Vec<TeamRef>,
    /// The version of the person's photo; none: initials.
    #[serde(default)]
    pub avatar: Option<String>,
}

/// `POST /me/changes`: a change to the person's own presence from a script, exactly the
/// WebSocket's `change` (the engine's `Change`), applied once per request id and device.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfChange {
    /// The caller's id for this change (1–100 characters): sent again, it changes nothing again.
    #[schema(value_type = String)]
    pub request: crate::RequestId,
    pub change: presence::Change,
}

/// The answer to `POST /me/changes`: how the person is shown now.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeApplied {
    #[schema(value_type = String)]
    pub request: crate::RequestId,
    pub view: SelfView,
}

/// `PUT /me/calendar`: the person's calendar to follow.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSource {
    /// "ics": an iCalendar address (https:// or webcal://), such as the "secret address in
    /// iCal format" Google Calendar gives or a calendar Microsoft 365 publishes.
    /// "caldav": a CalDAV server (https://) with a user name and password: the calendar's own
    /// address, or the server's, whose first calendar of events is followed.
    pub kind: String,
    pub url: String,
    /// CalDAV's user name.
    #[serde(default)]
    #[ts(optional)]
    pub user: Option<String>,
    /// CalDAV's password (an app password where the provider gives those); sealed at rest and
    /// never shown again.
    #[serde(default)]
    #[ts(optional)]
    pub password: Option<String>,
}

/// `GET /me/calendar`: the person's calendar (never its secret address) and how reading it goes.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarState {
    pub kind: String,
    /// The address's scheme and host, for the person to recognise it.
    pub shown: String,
    /// Followed since.
    pub since: Timestamp,
    /// The last time it was read.
    pub last_read: Option<Timestamp>,
    /// Unreachable (or unreadable) since; none while it reads.
    pub failing_since: Option<Timestamp>,
    /// What went wrong last, in words.
    pub last_error: Option<String>,
}

/// `GET /me/favourites`: whom the person pinned (as their panel shows them), and whom they
/// wait to be told is Available.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Favourites {
    pub people: Vec<crate::Member>,
    pub waiting: Vec<UserId>,
}

/// `PUT /me/avatar`, `PUT /admin/users/{user}/avatar`: the photo as stored.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Avatar {
    /// Its version (also its ETag): teammates see it in their team snapshot.
    pub version: String,
    /// The sizes stored, in pixels; `GET /people/{user}/avatar?size=` serves the smallest at
    /// least as large as asked.
    pub sizes: Vec<u32>,
}

/// `GET /me/limits`: what the organisation allows the person to choose in their settings.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalLimits {
    /// Auto-away is on for the organisation; off, a person's own setting changes nothing.
    pub auto_away: bool,
    /// The organisation's idle threshold, used when the person sets none.
    pub idle_after: Span,
    /// The shortest and longest idle threshold a person may set.
    pub idle_after_min: Span,
    pub idle_after_max: Span,
    /// Idle this long on every device → Offline, whatever the person sets (none: never).
    pub offline_after: Option<Span>,
    /// Forward to phone is offered in the organisation.
    pub forward_to_phone: bool,
    /// The organisation's teams (a call can be redirected to one).
    pub teams: Vec<TeamRef>,
}

/// `GET /team`.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub members: Vec<Member>,
}

/// `GET /statuses`: what the person may choose.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statuses {
    pub statuses: Vec<StatusEntry>,
}

/// `GET /notifications?after=&limit=`: a page, oldest first.
#[derive(
    utoipa::ToSchema,
    utoipa::IntoParams,
    ts_rs::TS,
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
)]
#[into_params(parameter_in = Query)]
pub struct NotificationsQuery {
    #[ts(type = "number | null")]
    pub after: Option<u64>,
    /// 1 to 1000; 100 when absent.
    pub limit: Option<u32>,
}

#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationsPage {
    pub notifications: Vec<Notification>,
    /// The `after` of the next page; none when this one is empty.
    pub next_after: Option<NotificationSeq>,
    #[ts(type = "number")]
    pub unread: u64,
}

/// `POST /notifications` (an integration's API key): a notification for a person.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendNotification {
    /// The person's id or email.
    pub user: String,
    pub title: String,
    #[serde(default)]
    pub body: String,
    /// The sender's user id, for the urgent allow-list.
    pub sender: Option<String>,
    #[serde(default)]
    pub urgent: bool,
    /// The caller's id for this notification: sending it again returns the stored one.
    pub external_id: Option<String>,
    /// Where "Open" takes the person: an absolute http or https address.
    pub link: Option<String>,
}

#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationSent {
    pub notification: Notification,
    /// True when `external_id` was sent before: nothing new was stored or delivered.
    pub duplicate: bool,
}

/// `POST /notifications/read` and `/dismiss`.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationList {
    pub notifications: Vec<NotificationSeq>,
}

/// The notifications a read or dismiss changed.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changed {
    pub changed: Vec<NotificationSeq>,
}

/// What an integration reports.
#[derive(
    utoipa::ToSchema, ts_rs::TS, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationKind {
    CallStarted,
    CallEnded,
    MeetingStarted,
    MeetingEnded,
    WrapUpClosed,
}

impl IntegrationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationKind::CallStarted => "call_started",
            IntegrationKind::CallEnded => "call_ended",
            IntegrationKind::MeetingStarted => "meeting_started",
            IntegrationKind::MeetingEnded => "meeting_ended",
            IntegrationKind::WrapUpClosed => "wrap_up_closed",
        }
    }
}

/// `POST /integrations/events`: a call, meeting or wrap-up, applied once per `external_id`.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationEvent {
    /// The person's id or email.
    pub user: String,
    pub kind: IntegrationKind,
    pub external_id: String,
    /// For a start: when the call or meeting is planned to end (at most 24 hours ahead). Without
    /// it, it ends 4 hours after its start unless renewed: send the start again (same
    /// `external_id`) with a later `until`, or without one for 4 more hours from now.
    pub until: Option<Timestamp>,
}

#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationApplied {
    /// False for an event already applied.
    pub applied: bool,
    /// For a start: when the call or meeting ends by itself unless renewed or ended; none once
    /// it is over (a start sent again after its end changes nothing).
    #[serde(default)]
    pub until: Option<Timestamp>,
    /// What teammates see of the person now.
    pub view: TeamView,
}

/// `GET /integrations/presence`: everyone in the organisation (or the one asked for) as
/// teammates see them, and in Microsoft Graph's, Matrix's and XMPP's words, for a bridge.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgePresence {
    pub people: Vec<BridgePerson>,
}

#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgePerson {
    pub user: UserId,
    pub email: String,
    pub name: String,
    /// What teammates see (Invisible is Offline).
    pub view: TeamView,
    pub graph: crate::bridges::GraphPresence,
    pub matrix: crate::bridges::MatrixPresence,
    pub xmpp: crate::bridges::XmppPresence,
}

/// `GET /integrations/presence?user=`: one person (id or email), else everyone.
#[derive(utoipa::IntoParams, Debug, Clone, Default, Deserialize)]
#[into_params(parameter_in = Query)]
pub struct BridgeQuery {
    pub user: Option<String>,
}

/// A team, by id.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamRequest {
    pub team: String,
}

/// A person, by id or email.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    pub user: String,
}

/// `POST /routing/team-call`: whom a team call rings.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ring {
    pub ring: Vec<UserId>,
}

/// `POST /routing/assign`: who gets the next contact (none: nobody can take it now).
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assigned {
    pub assignee: Option<UserId>,
}

/// `POST /admin/statuses` and `PUT /admin/statuses/{id}`: an organisation's own status.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomStatusRequest {
    /// A slug (letters, digits, - and _); made from the name when absent.
    pub id: Option<String>,
    pub name: String,
    pub emoji: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Its colour and what it means to others: available, busy, away or do_not_disturb.
    pub family: Family,
    /// The family's when absent.
    pub notifications: Option<NotificationPolicy>,
    pub direct_call: Option<DirectCallPolicy>,
    pub team_calls: Option<bool>,
    pub assignable: Option<bool>,
}

fn yes() -> bool {
    true
}

/// `PUT /admin/policy`: the organisation's timeouts, in seconds (10 s to 7 days). An absent
/// field is left as it is; `null` turns an optional one off.
#[derive(
    utoipa::ToSchema, ts_rs::TS, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct PolicyRequest {
    /// Away after this long without input.
    #[ts(type = "number | null")]
    pub idle_after_secs: Option<i64>,
    /// Offline after this long without input.
    #[ts(optional, type = "number | null")]
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub offline_after_secs: Option<Option<i64>>,
    /// After call work after a call, this long at most.
    #[ts(optional, type = "number | null")]
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub after_call_work_secs: Option<Option<i64>>,
    /// Away on idle and screen lock.
    #[serde(default)]
    #[ts(optional)]
    pub auto_away: Option<bool>,
    /// Status-driven routing (team calls, contact assignment); off, the routing API refuses.
    #[serde(default)]
    #[ts(optional)]
    pub routing: Option<bool>,
    /// Forward to phone offered (then people may choose it).
    #[serde(default)]
    #[ts(optional)]
    pub forward_to_phone_enabled: Option<bool>,
    /// Replaces the organisation's changes to built-in statuses: offered or not, ringing for
    /// team calls, taking contacts, what a direct call does.
    #[serde(default)]
    #[ts(optional)]
    pub builtin: Option<Vec<presence::BuiltinOverride>>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
        Option::<i64>::deserialize(d).map(Some)
    }
    pub fn serialize<S: Serializer>(v: &Option<Option<i64>>, s: S) -> Result<S::Ok, S::Error> {
        v.flatten().serialize(s)
    }
}

#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub policy: OrgPolicy,
}

/// `PUT /admin/quiet-hours` (at most 14 windows each), and its answer: the organisation's
/// default quiet hours (notifications held) and Do not disturb windows (the status becomes Do
/// not disturb), for everyone who kept the defaults.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    pub quiet_hours: Vec<WeeklyWindow>,
    /// Absent: left as it is.
    #[serde(default)]
    #[ts(optional)]
    pub do_not_disturb: Option<Vec<WeeklyWindow>>,
}

/// `PUT /admin/users/{user}/status`: a status forced by an administrator, above everything else.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminStatus {
    pub status: StatusId,
    pub until: Option<Timestamp>,
}

/// What teammates see of a person after an administrator's change.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenByOthers {
    pub view: TeamView,
}
