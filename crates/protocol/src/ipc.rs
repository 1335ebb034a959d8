//! What the desktop app's window and its Rust side exchange over Tauri IPC.

use presence::{PresenceError, SelfView, StatusEntry, Timestamp};
use serde::{Deserialize, Serialize};

/// What the window and the tray draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Snapshot {
    pub me: SelfView,
    pub statuses: Vec<StatusEntry>,
    /// Notifications paused until then, whatever the status (DND may hide the pause).
    pub paused_until: Option<Timestamp>,
    /// Unread notifications in the center.
    #[ts(type = "number")]
    pub unread: u64,
    /// The link to the server, in words: "Connected", "Offline: … retrying in 4 s", "Signed
    /// out: …", or "Not connected to a server" when the app runs on its own.
    pub connection: String,
}

/// The presence panel: teammates, and since when the list is stale (offline) if it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct TeamPanel {
    pub members: Vec<crate::Member>,
    pub stale_since: Option<Timestamp>,
}

/// One row of the notification center.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct CenterItem {
    pub notification: crate::Notification,
    /// Held during Do not disturb or a pause and not yet seen: shown first, highlighted.
    pub missed: bool,
}

/// An error as it crosses IPC: `{kind, message}`; the message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, ts_rs::TS)]
#[error("{message}")]
pub struct CommandError {
    pub kind: String,
    pub message: String,
}

impl From<PresenceError> for CommandError {
    fn from(e: PresenceError) -> Self {
        let kind = serde_json::to_value(&e)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "presence".into());
        CommandError {
            kind,
            message: e.to_string(),
        }
    }
}

/// The settings the window edits. Times of day are minutes after midnight, in the person's
/// time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Settings {
    /// The server this app is signed in to, and as whom.
    pub server: Option<String>,
    pub account: Option<String>,
    pub time_zone: String,
    /// Away after this many minutes without input; none: the organisation's threshold.
    pub idle_after_minutes: Option<u32>,
    /// Quiet hours every day (notifications held, status unchanged); none: no quiet hours.
    pub quiet_from: Option<u16>,
    pub quiet_to: Option<u16>,
    /// Show desktop notifications (off: everything still lands in the center).
    pub desktop_notifications: bool,
    pub start_on_login: bool,
}
