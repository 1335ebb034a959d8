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
