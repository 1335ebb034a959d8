//! What the desktop app's window and its Rust side exchange over Tauri IPC.

use presence::{
    CallSettings, OutOfOffice, PresenceError, SelfView, StatusEntry, Timestamp, UserId,
    WeeklyWindow,
};
use serde::{Deserialize, Serialize};

/// What the window and the tray draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Snapshot {
    pub me: SelfView,
    /// The person as teammates see them (name, photo), when connected to a server that says
    /// so; none on their own.
    pub myself: Option<crate::Member>,
    pub statuses: Vec<StatusEntry>,
    /// Notifications paused until then, whatever the status (DND may hide the pause).
    pub paused_until: Option<Timestamp>,
    /// Unread notifications in the center.
    #[ts(type = "number")]
    pub unread: u64,
    /// The link to the server, in words: "Connected", "Offline: … retrying in 4 s", "Signed
    /// out: …", or "Not connected to a server" when the app runs on its own.
    pub connection: String,
    /// A newer app than this one, published by the server's administrator.
    pub update: Option<crate::rest::AppRelease>,
}

/// A change the window or the tray asks the app for (the one IPC command `change` takes it).
/// Times relative to now are resolved on the app's clock, the one every `now` comes from: the
/// window has no clock of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeRequest {
    /// A change as the engine takes it.
    Change { change: presence::Change },
    /// A status that ends `minutes` from now (Do not disturb for an hour).
    StatusFor {
        status: presence::StatusId,
        minutes: u32,
    },
    /// A status until the next `hour`:`minute` on this computer's clock (today, or tomorrow
    /// when that time has passed).
    StatusUntilTime {
        status: presence::StatusId,
        hour: u8,
        minute: u8,
    },
    /// Notifications paused for `minutes` from now.
    PauseFor { minutes: u32 },
    /// Notifications paused until 08:00 tomorrow, local time.
    PauseUntilTomorrow,
}

/// What the About view and the first-run screen show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct About {
    /// This app's version.
    pub version: String,
    /// The protocol version this app speaks.
    pub protocol: u16,
    /// The server this app is signed in to, its version when known, and as whom.
    pub server: Option<String>,
    pub server_version: Option<String>,
    pub account: Option<String>,
    /// No server chosen yet, and "use without a server" not chosen either: the window shows
    /// the sign-in screen.
    pub first_run: bool,
    /// A newer app than this one, published by the server's administrator.
    pub update: Option<crate::rest::AppRelease>,
}

/// The presence panel: teammates, and since when the list is stale (offline) if it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct TeamPanel {
    pub members: Vec<crate::Member>,
    /// Whom the person pinned (in `members` too), shown first.
    pub favourites: Vec<UserId>,
    pub stale_since: Option<Timestamp>,
    /// The other people on screen (the directory's results), live while they are shown.
    pub glances: Vec<crate::Member>,
}

/// One row of the notification center.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct CenterItem {
    pub notification: crate::Notification,
    /// Held during Do not disturb or a pause and not yet seen: shown first, highlighted.
    pub missed: bool,
}

/// An error as it crosses IPC: `{kind, message, field}`; the message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, ts_rs::TS)]
#[error("{message}")]
pub struct CommandError {
    pub kind: CommandErrorKind,
    pub message: String,
    /// The setting the refusal is about, named as in [`Settings`] (`call`, `out_of_office`,
    /// `statuses`, …), so the window says it beside that setting; none when it is not one.
    #[serde(default)]
    pub field: Option<String>,
}

/// What kind of thing went wrong, for the window to decide how to show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum CommandErrorKind {
    /// The engine refused it (an unknown status, an end in the past, a text too long).
    Invalid,
    /// It needs the server, which cannot be reached or refused it.
    Offline,
    /// The server refused the sign-in or the token: sign in again.
    SignedOut,
    /// The local store failed (disk full, locked).
    Store,
    /// The desktop could not open a link.
    OpenFailed,
    /// Start on login could not be changed.
    Autostart,
    Internal,
}

impl CommandError {
    pub fn new(kind: CommandErrorKind, message: impl Into<String>) -> CommandError {
        CommandError {
            kind,
            message: message.into(),
            field: None,
        }
    }

    /// The same error, said of one setting.
    pub fn about(mut self, field: impl Into<String>) -> CommandError {
        self.field = Some(field.into());
        self
    }
}

impl From<PresenceError> for CommandError {
    fn from(e: PresenceError) -> Self {
        let error = CommandError::new(CommandErrorKind::Invalid, e.to_string());
        match e {
            PresenceError::InvalidSetting { field, .. } => error.about(field),
            _ => error,
        }
    }
}

/// The events the app's Rust side sends the window, by name. The UI's `EVENTS` in
/// `ui/src/lib/generated.ts` is generated from this list, so the two cannot drift.
pub mod events {
    /// A new [`super::Snapshot`].
    pub const PRESENCE_CHANGED: &str = "presence-changed";
    /// A new [`super::TeamPanel`].
    pub const TEAM_CHANGED: &str = "team-changed";
    /// The notification center changed: read it again.
    pub const CENTER_CHANGED: &str = "center-changed";
    /// Bring the center into view (at a notification's seq, or null).
    pub const SHOW_CENTER: &str = "show-center";
    /// Put the cursor in the status message field.
    pub const FOCUS_MESSAGE: &str = "focus-message";
    /// Open the settings (the tray panel's "Settings").
    pub const SHOW_SETTINGS: &str = "show-settings";
    /// The window's theme changed ("system", "light" or "dark"): the quick panel follows.
    pub const THEME_CHANGED: &str = "theme-changed";

    /// Every event, as (the UI's constant name, the event's name).
    pub const ALL: &[(&str, &str)] = &[
        ("presenceChanged", PRESENCE_CHANGED),
        ("teamChanged", TEAM_CHANGED),
        ("centerChanged", CENTER_CHANGED),
        ("showCenter", SHOW_CENTER),
        ("focusMessage", FOCUS_MESSAGE),
        ("showSettings", SHOW_SETTINGS),
        ("themeChanged", THEME_CHANGED),
    ];
}

/// The settings the window edits: the person's own (kept on the server, the same on every
/// device) and this computer's. Times of day are minutes after midnight in the person's time
/// zone; days 0 = Monday … 6 = Sunday.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Settings {
    /// The server this app is signed in to, and as whom.
    pub server: Option<String>,
    pub account: Option<String>,
    pub time_zone: String,
    /// Away when idle or locked; off: idle and lock change nothing.
    pub auto_away: bool,
    /// Away after this many minutes without input; none: the organisation's threshold.
    pub idle_after_minutes: Option<u32>,
    /// Outside these, direct calls follow the out-of-hours action. Empty: always working.
    pub working_hours: Vec<WeeklyWindow>,
    /// Notifications held, status unchanged.
    pub quiet_hours: Vec<WeeklyWindow>,
    /// Do not disturb on a weekly schedule (below any status chosen by hand).
    pub dnd_schedule: Vec<WeeklyWindow>,
    /// People whose urgent notifications reach the person in Do not disturb, a pause and quiet
    /// hours.
    pub urgent_from: Vec<UserId>,
    /// What a direct call does when the person cannot take it, and Forward to phone's number.
    pub call: CallSettings,
    /// Out of office: from, until, and the message teammates see.
    pub out_of_office: Option<OutOfOffice>,
    /// The person's own statuses (name, emoji, family), listed after the organisation's.
    #[serde(default)]
    pub statuses: Vec<presence::PersonalStatus>,
    /// What the organisation allows; none without a server.
    pub limits: Option<crate::rest::PersonalLimits>,
    /// Why the person's own settings could not be read (the server cannot be reached): the
    /// window shows this computer's settings only, and a save leaves the others as they are.
    pub unavailable: Option<String>,
    /// Show desktop notifications (off: everything still lands in the center).
    pub desktop_notifications: bool,
    pub start_on_login: bool,
    /// On this computer: On a call while one of `call_apps` uses the microphone.
    pub call_detection: bool,
    /// The applications that make a call (names as the sound server knows them: "zoom").
    pub call_apps: Vec<String>,
    /// Why auto-away cannot work on this computer's session (no idle time to be had: a
    /// Wayland compositor with no idle protocol, no display); none when it works.
    #[serde(default)]
    pub auto_away_unavailable: Option<String>,
    /// On this computer: what the desktop's own Do not disturb does to Presently — `dnd`
    /// (Do not disturb too), `pause` (Presently's notifications only) or `off`.
    #[serde(default = "default_desktop_dnd")]
    pub desktop_dnd: String,
    /// On this computer: the desktop's banners off while Presently holds notifications.
    #[serde(default = "default_true")]
    pub quiet_desktop: bool,
    /// Why this desktop's Do not disturb cannot be followed (not GNOME); none when it can.
    #[serde(default)]
    pub desktop_dnd_unavailable: Option<String>,
}

fn default_desktop_dnd() -> String {
    "dnd".into()
}

fn default_true() -> bool {
    true
}
