//! What every idle source gives: a sample of the time since the last input (or why it cannot
//! tell), and whether the screen is locked. The sources themselves are in [`crate::idle`] (X11,
//! GNOME's Mutter) and [`crate::wayland_idle`]; this leaf is what both take, so the Wayland
//! source does not import the module that picks it.

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum IdleSample {
    Known { idle_ms: u64, locked: bool },
    Unavailable { reason: String },
}

pub trait IdleSource: Send + Sync + 'static {
    fn sample(&self) -> IdleSample;
    fn name(&self) -> &'static str;
}

/// Whether the screen saver / lock screen is active (org.freedesktop.ScreenSaver), if known.
pub fn screen_locked() -> bool {
    let Ok(conn) = zbus::blocking::Connection::session() else {
        return false;
    };
    conn.call_method(
        Some("org.freedesktop.ScreenSaver"),
        "/org/freedesktop/ScreenSaver",
        Some("org.freedesktop.ScreenSaver"),
        "GetActive",
        &(),
    )
    .and_then(|m| m.body().deserialize::<bool>())
    .unwrap_or(false)
}

/// What a desktop's session watcher hears as it happens (Windows' session and power messages,
/// macOS's workspace and screen-lock notifications).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    /// The screen was locked (true) or unlocked (false).
    Locked(bool),
    /// The computer is going to sleep (true) or has woken (false).
    Sleeping(bool),
}
