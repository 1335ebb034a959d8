//! The administration API's bodies under `/api/v1/admin` (an administrator's device token), and
//! the routes a person uses on their own account: a one-time code (invite or password reset),
//! changing their password, seeing and signing out their devices.

use super::{Role, TeamRef};
use presence::{DeviceActivity, DeviceId, DeviceName, Platform, TeamView, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// A person of the organisation as an administrator sees them.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUser {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// False once deactivated: cannot sign in, shown Offline, history kept.
    pub active: bool,
    /// An administrator reset the password and the person has not set a new one yet.
    pub password_reset: bool,
    pub teams: Vec<TeamRef>,
    /// What teammates see of the person now.
    pub view: TeamView,
    /// Devices signed in (tokens not revoked).
    pub devices: u32,
    /// The version of their photo; none: initials.
    #[serde(default)]
    pub avatar: Option<String>,
}

/// `GET /admin/users`.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUsers {
    pub users: Vec<AdminUser>,
}

/// `POST /admin/users`: a person with a password the administrator gives them.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    pub name: String,
    pub password: String,
    #[serde(default = "member")]
    pub role: Role,
    /// IANA time zone; UTC when absent.
    pub time_zone: Option<String>,
    /// Team ids to join.
    #[serde(default)]
    pub teams: Vec<String>,
}

fn member() -> Role {
    Role::Member
}

/// `PATCH /admin/users/{user}`: what to change; an absent field stays as it is.
#[derive(
    utoipa::ToSchema, ts_rs::TS, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub name: Option<String>,
    pub role: Option<Role>,
    /// False deactivates (sessions closed at once, shown Offline, tokens revoked, history
    /// kept); true reactivates (the person signs in again).
    pub active: Option<bool>,
}

/// Where an invite stands.
#[derive(
    utoipa::ToSchema, ts_rs::TS, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum InviteState {
    Pending,
    Used,
    Expired,
    Revoked,
}

/// What became of the mail that carried a code (an invite or a password reset).
#[derive(
    utoipa::ToSchema, ts_rs::TS, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum MailState {
    /// The relay accepted it.
    Sent,
    /// It was not sent: `error` says why; the code still works.
    Failed,
}

/// The last mail sent with a code; absent when the server has no `[mail]` relay.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailDelivery {
    pub state: MailState,
    pub at: Timestamp,
    /// Why it failed, and what to check.
    pub error: Option<String>,
}

#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub teams: Vec<TeamRef>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub state: InviteState,
    /// The invite's mail, when the server sends mail.
    #[serde(default)]
    pub mail: Option<MailDelivery>,
}

/// `GET /admin/invites`, newest first.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invites {
    pub invites: Vec<Invite>,
}

/// `POST /admin/invites`: invite a person by email.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInvite {
    pub email: String,
    /// A name to start with; the person may give their own.
    pub name: Option<String>,
    #[serde(default = "member")]
    pub role: Role,
    #[serde(default)]
    pub teams: Vec<String>,
    /// 1 hour to 30 days; 7 days when absent.
    #[ts(type = "number | null")]
    pub expires_in_hours: Option<u32>,
}

/// The answer to an invite: the code, shown once, and a link that carries it.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteCreated {
    pub invite: Invite,
    pub code: String,
    /// The console's page where the person sets their password with the code.
    pub link: String,
}

/// `POST /sessions/code`: sign in with a one-time code (an invite or a password reset),
/// setting the password (and, for an invite, the name).
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemCode {
    pub code: String,
    /// The new password: at least 8 characters.
    pub password: String,
    /// For an invite: the person's name (the invite's when absent).
    pub name: Option<String>,
    pub device: DeviceId,
    /// As in [`crate::rest::SignIn`].
    #[serde(default)]
    pub device_name: Option<DeviceName>,
    #[serde(default)]
    pub platform: Option<Platform>,
}

/// `POST /admin/users/{user}/password-reset`: the code the person uses to set a new password,
/// shown once. Their old password stops working and their devices are signed out.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordReset {
    pub code: String,
    pub link: String,
    pub expires_at: Timestamp,
    /// The mail that carried the code to the person, when the server sends mail.
    #[serde(default)]
    pub mail: Option<MailDelivery>,
}

/// `PUT /me/password`.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current: String,
    /// At least 8 characters.
    pub new: String,
    /// Also sign out every other device.
    #[serde(default)]
    pub sign_out_others: bool,
}

/// A signed-in device.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub user: UserId,
    pub user_name: String,
    pub device: DeviceId,
    /// The name and platform it signed in with (none and other for an older sign-in).
    #[serde(default)]
    pub name: Option<DeviceName>,
    #[serde(default)]
    pub platform: Platform,
    pub signed_in_at: Timestamp,
    /// Its last report, if it reported since it signed in.
    pub last_report_at: Option<Timestamp>,
    /// What it reported last; none when its lease lapsed or it never reported.
    pub activity: Option<DeviceActivity>,
    /// The device asking (for `GET /me/devices`).
    #[serde(default)]
    pub current: bool,
}

/// `GET /me/devices`, `GET /admin/devices`, `GET /admin/users/{user}/devices`.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Devices {
    pub devices: Vec<DeviceInfo>,
}

/// An integration's API key (never the key itself after it was made).
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// Who made it; none for the command line.
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeys {
    pub keys: Vec<ApiKey>,
}

/// `POST /admin/keys`.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    pub name: String,
}

/// A new key: shown once.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCreated {
    pub key: ApiKey,
    pub secret: String,
}

/// A team with its members.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTeam {
    pub id: String,
    pub name: String,
    pub members: Vec<UserId>,
}

#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTeams {
    pub teams: Vec<AdminTeam>,
}

/// `POST /admin/teams`, `PATCH /admin/teams/{team}`.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamName {
    pub name: String,
}

/// One administrative action.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    pub at: Timestamp,
    /// The administrator; none for the command line.
    pub actor_id: Option<UserId>,
    /// Who, in words (an administrator's name and email, or the command line).
    pub actor: String,
    /// What, as a stable word: `user.create`, `user.deactivate`, `team.rename`, …
    pub action: String,
    /// On what: an id, with its name or email.
    pub target: String,
    pub detail: String,
}

/// `GET /admin/audit?before=&limit=`: newest first.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// The `before` of the next (older) page; none at the end.
    pub next_before: Option<Timestamp>,
    /// The `before_id` of the next page, with `next_before`: entries of one millisecond are
    /// paged by id, none skipped.
    pub next_before_id: Option<String>,
}

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
pub struct AuditQuery {
    /// Entries older than this (milliseconds since the epoch).
    #[ts(type = "number | null")]
    pub before: Option<i64>,
    /// With `before`: also the entries of that millisecond whose id sorts before this one
    /// (`next_before_id` of the previous page).
    pub before_id: Option<String>,
    /// 1 to 500; 100 when absent.
    pub limit: Option<u32>,
}

/// `GET /admin/statuses`: every custom status of the organisation, the disabled ones too.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomStatuses {
    pub statuses: Vec<presence::CustomStatus>,
    /// The ids someone has chosen now (these cannot be deleted; disable them instead).
    pub in_use: Vec<presence::CustomStatusId>,
}

/// `GET /admin/policy`: the organisation's rules as they are.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRules {
    pub policy: presence::OrgPolicy,
    pub quiet_hours: Vec<presence::WeeklyWindow>,
    pub do_not_disturb: Vec<presence::WeeklyWindow>,
    pub forward_to_phone_enabled: bool,
    /// The organisation's changes to built-in statuses.
    pub builtin: Vec<presence::BuiltinOverride>,
    /// Every built-in status as it is in this organisation (offered or not, its policy).
    pub builtin_statuses: Vec<presence::StatusEntry>,
}

/// One person in the organisation's directory.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEntry {
    /// Name, time zone and what teammates see (Invisible shows as Offline).
    pub member: crate::Member,
    pub email: String,
    pub teams: Vec<TeamRef>,
}

/// `GET /directory?q=&status=`: everyone in the organisation who matches, by name.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    pub people: Vec<DirectoryEntry>,
    /// More matched than were returned: narrow the search.
    pub more: bool,
}

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
pub struct DirectoryQuery {
    /// Words to find in a name, email or team name (all of them, any case).
    pub q: Option<String>,
    /// Only people shown in this family: available, busy, away, do_not_disturb, offline.
    pub family: Option<presence::Family>,
    /// 1 to 200; 50 when absent.
    pub limit: Option<u32>,
}

/// What an outgoing webhook can be sent.
#[derive(
    utoipa::ToSchema, ts_rs::TS, Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize,
)]
pub enum WebhookEvent {
    /// What teammates now see of a person (Invisible is Offline: never revealed).
    #[serde(rename = "status.changed")]
    StatusChanged,
    /// A notification for a person was stored (shown, or held for later).
    #[serde(rename = "notification.created")]
    NotificationCreated,
    /// A person read notifications, on any device.
    #[serde(rename = "notification.read")]
    NotificationRead,
    /// A person dismissed notifications, on any device.
    #[serde(rename = "notification.dismissed")]
    NotificationDismissed,
    /// A person was added, changed (name, email, role), deactivated, reactivated or deleted.
    #[serde(rename = "account.changed")]
    AccountChanged,
    /// Sent by "Send a test" (`POST /admin/webhooks/{id}/test`), whatever the endpoint takes.
    #[serde(rename = "ping")]
    Ping,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 5] = [
        WebhookEvent::StatusChanged,
        WebhookEvent::NotificationCreated,
        WebhookEvent::NotificationRead,
        WebhookEvent::NotificationDismissed,
        WebhookEvent::AccountChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::StatusChanged => "status.changed",
            WebhookEvent::NotificationCreated => "notification.created",
            WebhookEvent::NotificationRead => "notification.read",
            WebhookEvent::NotificationDismissed => "notification.dismissed",
            WebhookEvent::AccountChanged => "account.changed",
            WebhookEvent::Ping => "ping",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookEvent> {
        WebhookEvent::ALL
            .into_iter()
            .chain([WebhookEvent::Ping])
            .find(|e| e.as_str() == s)
    }
}

/// An organisation's outgoing webhook, as the console lists it (never its secret).
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: String,
    /// An https address.
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub description: String,
    /// Off: nothing is sent (turned off by an administrator, or after a day of failures).
    pub enabled: bool,
    pub created_at: Timestamp,
    /// Since when its deliveries fail; none while they arrive.
    pub failing_since: Option<Timestamp>,
    /// Why it was turned off, when the server did it.
    pub disabled_reason: Option<String>,
}

/// `POST /admin/webhooks`.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookCreate {
    pub url: String,
    pub events: Vec<WebhookEvent>,
    #[serde(default)]
    pub description: String,
}

/// The endpoint made, with the key its deliveries are signed with: shown this once.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookCreated {
    pub webhook: Webhook,
    pub secret: String,
}

/// `PATCH /admin/webhooks/{id}`: what to change (turning it on again clears its failures).
#[derive(
    utoipa::ToSchema, ts_rs::TS, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct WebhookUpdate {
    pub url: Option<String>,
    pub events: Option<Vec<WebhookEvent>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// One delivery to an endpoint, with its last attempt.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// Also the `id` in the body and the `Presently-Delivery` header.
    pub id: String,
    pub event: WebhookEvent,
    pub created_at: Timestamp,
    pub attempts: u32,
    /// pending, delivered or failed (a day of attempts, none answered 2xx).
    pub state: String,
    /// When it is tried next, while pending.
    pub next_at: Option<Timestamp>,
    pub last_at: Option<Timestamp>,
    /// The HTTP status the endpoint answered last.
    pub last_status: Option<u16>,
    /// What went wrong last, in words.
    pub last_error: Option<String>,
}

/// `GET /admin/webhooks/{id}/deliveries`: the newest first.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDeliveries {
    pub deliveries: Vec<WebhookDelivery>,
}
