//! The wire protocol: every frame a client and the server exchange, as JSON text frames over a
//! WebSocket, tagged by `type`. Shared by the server and every client so they cannot drift.
//!
//! Decoding is the one way in: [`decode_client`] and [`decode_server`] check the size first, then
//! parse, and say precisely what was wrong, so a bad frame gets a typed error instead of a panic
//! or a dropped connection.

use presence::{Change, Delivery, DeviceId, DeviceReport, SelfView, TeamView, Timestamp, UserId};
use serde::{Deserialize, Serialize};

pub mod bridges;
pub mod ipc;
pub mod rest;

/// Bumped on any incompatible change. The server answers a `hello` with a version outside
/// [`MIN_PROTOCOL_VERSION`]..=[`PROTOCOL_VERSION`] with an `unsupported_version` error that names
/// the versions it speaks and which side to update; `GET /api/v1/version` says the same before a
/// client signs in.
pub const PROTOCOL_VERSION: u16 = 3;

/// The oldest protocol a server of this version still speaks.
pub const MIN_PROTOCOL_VERSION: u16 = 2;

/// Whether a server speaking `min..=max` accepts a client speaking `client`, and if not, what
/// the person should do, in words.
pub fn protocol_mismatch(client: u16, min: u16, max: u16) -> Option<String> {
    if client < min {
        Some(format!(
            "this app is too old for the server (the app speaks protocol {client}, the server \
             {min} to {max}): update Presently to the latest version"
        ))
    } else if client > max {
        Some(format!(
            "this app is newer than the server (the app speaks protocol {client}, the server \
             {min} to {max}): ask your administrator to update the server, or install the \
             version of Presently that matches it"
        ))
    } else {
        None
    }
}

/// `major.minor.patch` of a version (a leading `v`, and a pre-release or build suffix, ignored),
/// or None when it is not one.
pub fn version_parts(version: &str) -> Option<(u64, u64, u64)> {
    let core = version.trim().trim_start_matches('v');
    let core = core.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let v = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(v)
}

impl rest::AppRelease {
    /// Whether this release is newer than the app version `running`.
    pub fn is_newer_than(&self, running: &str) -> bool {
        match (version_parts(&self.version), version_parts(running)) {
            (Some(latest), Some(running)) => latest > running,
            _ => false,
        }
    }
}

/// The largest frame either side accepts.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// A client's id for one request, echoed in the `ack` or `error` that answers it. Clients use it
/// to make replays idempotent (the outbox resends with the same id).
#[derive(ts_rs::TS)]
#[ts(type = "string")]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub String);

impl RequestId {
    /// What is wrong with this request id, if anything: 1 to 100 characters, none a control
    /// character (on every frame and REST request that carries one).
    pub fn problem(&self) -> Option<&'static str> {
        if self.0.is_empty() || self.0.len() > 100 {
            Some("the request id must have 1 to 100 characters")
        } else if self.0.chars().any(char::is_control) {
            Some("the request id must not contain control characters")
        } else {
            None
        }
    }
}

/// A notification's id: its position in the user's notification sequence (the resume cursor).
#[derive(ts_rs::TS, utoipa::ToSchema)]
#[ts(type = "number")]
#[schema(value_type = u64)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NotificationSeq(pub u64);

#[derive(ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// First frame on a connection.
    Hello {
        protocol: u16,
        token: String,
        device: DeviceId,
        /// Deliver every notification after this one (none: from the start of what is unread).
        resume_after: Option<NotificationSeq>,
    },
    /// A change to the person's own presence (status, message, pause, …): the engine's
    /// [`Change`], applied once per request id.
    Change {
        request: RequestId,
        change: Change,
    },
    DeviceReport {
        report: DeviceReport,
    },
    MarkRead {
        request: RequestId,
        notifications: Vec<NotificationSeq>,
    },
    Dismiss {
        request: RequestId,
        notifications: Vec<NotificationSeq>,
    },
    MarkAllRead {
        request: RequestId,
    },
    Heartbeat,
    /// An administrator's console: from now on this connection also gets a `board_snapshot` of
    /// everyone in the organisation and every `presence_delta` of theirs.
    WatchBoard,
    /// (Protocol 3.) The people on this connection's screen beyond its teammates and favourites
    /// (the directory's visible results): answered with `watching`, their views now, then every
    /// `presence_delta` of theirs. The list replaces the previous one; an empty one stops. At
    /// most [`MAX_WATCHED`]; people of another organisation are left out.
    WatchPeople {
        people: Vec<UserId>,
    },
}

/// The most people one `watch_people` may name (a screenful of results).
pub const MAX_WATCHED: usize = 50;

impl ClientMessage {
    /// The request id a frame carries, if its kind has one.
    pub fn request(&self) -> Option<&RequestId> {
        match self {
            ClientMessage::Change { request, .. }
            | ClientMessage::MarkRead { request, .. }
            | ClientMessage::Dismiss { request, .. }
            | ClientMessage::MarkAllRead { request } => Some(request),
            ClientMessage::Hello { .. }
            | ClientMessage::DeviceReport { .. }
            | ClientMessage::Heartbeat
            | ClientMessage::WatchBoard
            | ClientMessage::WatchPeople { .. } => None,
        }
    }
}

/// A teammate as the presence panel shows them.
#[derive(ts_rs::TS, utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user: UserId,
    pub name: String,
    /// IANA time zone, for the teammate's local time.
    pub time_zone: String,
    pub view: TeamView,
    /// The version of their photo (`GET /api/v1/people/{user}/avatar?size=`); none: show their
    /// initials. A new version means a new photo: fetch it again.
    #[serde(default)]
    pub avatar: Option<String>,
}

#[derive(ts_rs::TS, utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub seq: NotificationSeq,
    pub title: String,
    pub body: String,
    pub sender: Option<UserId>,
    pub urgent: bool,
    pub created_at: Timestamp,
    /// What the engine decided when it arrived: shown, or held and why.
    pub delivery: Delivery,
    pub read: bool,
    pub dismissed: bool,
    /// Where "Open" takes the person (the chat message, the ticket, the call): an http or https
    /// address, or none.
    #[serde(default)]
    pub link: Option<Link>,
}

/// An http or https address a notification opens, at most [`Link::MAX_BYTES`] long. Anything
/// else (`file:`, `javascript:`, a relative path) is refused where it enters, so a client can
/// hand a stored link to the system's browser as it is.
#[derive(ts_rs::TS, utoipa::ToSchema)]
#[ts(type = "string")]
#[schema(value_type = String)]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Link(String);

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LinkError(String);

impl Link {
    pub const MAX_BYTES: usize = 2048;

    pub fn parse(raw: impl Into<String>) -> Result<Link, LinkError> {
        let raw = raw.into();
        if raw.len() > Self::MAX_BYTES {
            return Err(LinkError(format!(
                "the link is longer than {} bytes: link to a shorter address",
                Self::MAX_BYTES
            )));
        }
        let parsed = url::Url::parse(&raw).map_err(|e| {
            LinkError(format!(
                "the link \"{}\" is not an absolute address ({e}): send a full http or https URL",
                short(&raw)
            ))
        })?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(LinkError(
                "the link carries a user name or password: links must not hold credentials".into(),
            ));
        }
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(LinkError(format!(
                "the link \"{}\" is not an http or https address: only web links can be opened",
                short(&raw)
            )));
        }
        Ok(Link(parsed.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

impl TryFrom<String> for Link {
    type Error = LinkError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Link::parse(s)
    }
}

impl From<Link> for String {
    fn from(l: Link) -> String {
        l.0
    }
}

impl std::fmt::Display for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Welcome {
        protocol: u16,
        user: UserId,
        device: DeviceId,
        server_time: Timestamp,
        /// The newest notification sequence at the moment of the welcome.
        cursor: NotificationSeq,
        /// How often this connection should send a heartbeat: a third of the organisation's
        /// device lease (at most 30 s), so a live client renews its lease in time.
        /// Absent from servers before protocol 3: the client's own default.
        #[serde(default)]
        #[ts(optional, type = "number")]
        heartbeat_ms: Option<u64>,
    },
    /// Everyone in the user's teams; sent after the welcome, and again when they change (who
    /// is in them, a name, a photo).
    TeamSnapshot {
        members: Vec<Member>,
        /// The person themselves as teammates see them (their name and photo): absent from
        /// servers before 0.2.
        #[serde(default)]
        #[ts(optional)]
        me: Option<Member>,
        /// Whom the person pinned (in `members` too), oldest first: absent from servers before
        /// 0.2.
        #[serde(default)]
        favourites: Vec<UserId>,
    },
    /// One teammate's visible presence changed.
    PresenceDelta {
        user: UserId,
        view: TeamView,
    },
    /// The user's own view changed (from any device).
    SelfUpdate {
        view: SelfView,
    },
    Notification {
        notification: Notification,
    },
    /// Read or dismissed on some device: applies to every device of the user.
    NotificationsChanged {
        notifications: Vec<NotificationSeq>,
        read: bool,
        dismissed: bool,
    },
    Ack {
        request: RequestId,
    },
    Error {
        request: Option<RequestId>,
        error: WireError,
    },
    HeartbeatAck {
        server_time: Timestamp,
    },
    /// (Protocol 3.) The server holds no live report from this device: its lease lapsed (it
    /// was silent too long: a laptop that slept), or its last report was older than one the
    /// server applied (`last_seq`: a clock set back). Report again, with a sequence number above
    /// `last_seq`; until then the device does not count toward the person's presence.
    ReportNeeded {
        #[ts(type = "number | null")]
        last_seq: Option<u64>,
        reason: String,
    },
    /// (Protocol 3.) A device report was applied.
    ReportApplied {
        #[ts(type = "number")]
        seq: u64,
    },
    /// Everyone in the organisation (for `watch_board`), again whenever its people or teams
    /// change.
    BoardSnapshot {
        members: Vec<Member>,
    },
    /// (Protocol 3.) The answer to `watch_people`: those of them this connection may see, as
    /// teammates see them; their `presence_delta`s follow.
    Watching {
        members: Vec<Member>,
    },
    /// (Protocol 3.) The statuses the person may choose changed: they edited their own on some
    /// device, or the organisation changed its catalog. The same list as `GET /statuses`.
    Statuses {
        statuses: Vec<presence::StatusEntry>,
    },
}

/// What went wrong, for a program (`kind`) and for a person (`message`, which says what to do).
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    thiserror::Error,
    ts_rs::TS,
    utoipa::ToSchema,
)]
#[error("{message}")]
pub struct WireError {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(
    ts_rs::TS, utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    TooLarge,
    Malformed,
    UnknownType,
    UnsupportedVersion,
    Unauthorized,
    Forbidden,
    NotFound,
    Invalid,
    /// The request clashes with what exists (an email or a status already taken).
    Conflict,
    /// The path exists, not with this HTTP method.
    MethodNotAllowed,
    RateLimited,
    Internal,
}

impl ErrorKind {
    /// Whether the connection ends after this error. Bad frames and refused requests keep it;
    /// a failed sign-in or a protocol mismatch ends it.
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            ErrorKind::Unauthorized | ErrorKind::UnsupportedVersion
        )
    }
}

impl WireError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> WireError {
        WireError {
            kind,
            message: message.into(),
        }
    }
}

impl From<presence::PresenceError> for WireError {
    fn from(e: presence::PresenceError) -> Self {
        let kind = match e {
            presence::PresenceError::UnknownClaim(_) => ErrorKind::NotFound,
            _ => ErrorKind::Invalid,
        };
        WireError::new(kind, e.to_string())
    }
}

fn decode<T: for<'de> Deserialize<'de>>(frame: &str, known: &[&str]) -> Result<T, WireError> {
    if frame.len() > MAX_FRAME_BYTES {
        return Err(WireError::new(
            ErrorKind::TooLarge,
            format!(
                "the frame has {} bytes; at most {MAX_FRAME_BYTES} are accepted: send less at a time",
                frame.len()
            ),
        ));
    }
    let value: serde_json::Value = serde_json::from_str(frame).map_err(|e| {
        WireError::new(
            ErrorKind::Malformed,
            format!("the frame is not valid JSON: {e}"),
        )
    })?;
    match value.get("type").and_then(|t| t.as_str()) {
        None => {
            return Err(WireError::new(
                ErrorKind::Malformed,
                "the frame has no \"type\" field: every frame is an object with a type",
            ))
        }
        Some(t) if !known.contains(&t) => {
            return Err(WireError::new(
                ErrorKind::UnknownType,
                format!(
                    "unknown message type \"{}\": this server speaks protocol {PROTOCOL_VERSION}",
                    t.chars().take(40).collect::<String>()
                ),
            ))
        }
        Some(_) => {}
    }
    serde_json::from_value(value)
        .map_err(|e| WireError::new(ErrorKind::Invalid, format!("the message is not valid: {e}")))
}

pub const CLIENT_TYPES: &[&str] = &[
    "hello",
    "change",
    "device_report",
    "mark_read",
    "dismiss",
    "mark_all_read",
    "heartbeat",
    "watch_board",
    "watch_people",
];

pub const SERVER_TYPES: &[&str] = &[
    "welcome",
    "team_snapshot",
    "presence_delta",
    "self_update",
    "notification",
    "notifications_changed",
    "ack",
    "error",
    "heartbeat_ack",
    "report_needed",
    "report_applied",
    "board_snapshot",
    "watching",
    "statuses",
];

/// Parses a frame from a client.
pub fn decode_client(frame: &str) -> Result<ClientMessage, WireError> {
    decode(frame, CLIENT_TYPES)
}

/// Parses a frame from the server.
pub fn decode_server(frame: &str) -> Result<ServerMessage, WireError> {
    decode(frame, SERVER_TYPES)
}

/// Reads a client frame stored by an earlier version (a client core's outbox kept across an
/// upgrade): version 1's `set_status`, `set_message`, `clear_message` and `pause_notifications`
/// become a `change`, so nothing a person changed offline is lost. Anything else decodes as
/// [`decode_client`] does.
pub fn decode_stored_client(frame: &str) -> Result<ClientMessage, WireError> {
    let first = decode_client(frame);
    let Err(e) = &first else { return first };
    if e.kind != ErrorKind::UnknownType {
        return first;
    }
    let Ok(serde_json::Value::Object(mut v)) = serde_json::from_str::<serde_json::Value>(frame)
    else {
        return first;
    };
    let kind = match v.get("type").and_then(|t| t.as_str()) {
        Some("set_status") => "set_status",
        Some("set_message") => "set_message",
        Some("clear_message") => "clear_message",
        Some("pause_notifications") => match v.get("until") {
            Some(serde_json::Value::Null) | None => "resume_notifications",
            Some(_) => "pause_notifications",
        },
        _ => return first,
    };
    let request = v.remove("request").unwrap_or_default();
    v.remove("type");
    v.insert("kind".into(), kind.into());
    let upgraded = serde_json::json!({"type": "change", "request": request, "change": v});
    decode_client(&upgraded.to_string())
}

/// Serializes a frame. Wire types always serialize; the `expect` documents that invariant.
pub fn encode<T: Serialize>(message: &T) -> String {
    serde_json::to_string(message).expect("wire types serialize to JSON")
}

#[cfg(test)]
mod version_tests {
    use super::*;

    #[test]
    fn versions_compare_by_their_numbers() {
        assert_eq!(version_parts("1.10.2"), Some((1, 10, 2)));
        assert_eq!(version_parts("v0.2.0-beta.1"), Some((0, 2, 0)));
        assert_eq!(version_parts("1.2"), None);
        assert_eq!(version_parts("1.2.3.4"), None);
        let release = |v: &str| rest::AppRelease {
            version: v.into(),
            url: "https://example.org".into(),
            notes: None,
        };
        assert!(release("0.10.0").is_newer_than("0.9.9"));
        assert!(!release("0.1.0").is_newer_than("0.1.0"));
        assert!(!release("garbage").is_newer_than("0.1.0"));
    }

    #[test]
    fn a_protocol_outside_the_range_says_which_side_to_update() {
        assert_eq!(protocol_mismatch(2, 2, 3), None);
        let old = protocol_mismatch(1, 2, 3).unwrap();
        assert!(
            old.contains("too old") && old.contains("update Presently"),
            "{old}"
        );
        let new = protocol_mismatch(4, 2, 3).unwrap();
        assert!(
            new.contains("newer than the server") && new.contains("administrator"),
            "{new}"
        );
    }
}
