//! Desktop notifications behind a trait: `notify-rust` (org.freedesktop.Notifications on Linux)
//! for the app, anything that records calls for a unit test.

use protocol::Notification;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
#[error("desktop notifications are unavailable: {0}")]
pub struct NotifyError(pub String);

/// What a person clicked on a shown desktop notification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", content = "seq", rename_all = "snake_case")]
pub enum Action {
    /// The notification itself or its Open button: go to what it is about.
    Open(u64),
    /// Its Mark read button.
    MarkRead(u64),
    /// The "You missed N notifications" summary: show the center.
    OpenCenter,
}

pub trait Notifier: Send + Sync + 'static {
    /// Shows one notification (with the face of the person it is from, when there is one);
    /// returns the desktop's id for it.
    fn show(&self, n: &Notification, face: Option<&std::path::Path>) -> Result<u32, NotifyError>;
    /// Closes a shown notification (read or dismissed elsewhere).
    fn close(&self, seq: u64);
    /// "You missed N notifications", after Do not disturb or a pause ends.
    fn summary(&self, missed: u64) -> Result<u32, NotifyError>;
}

/// The real thing: notify-rust over D-Bus.
pub struct DesktopNotifier {
    icon: String,
    /// Turned off in settings: nothing is shown; everything still lands in the center.
    enabled: AtomicBool,
    /// Shown notifications by sequence, with the desktop's id for each.
    shown: Mutex<HashMap<u64, shown::Handle>>,
    /// The desktop's id of the last summary shown.
    summary_id: Mutex<Option<u32>>,
    /// Buttons are added once someone listens for them and the notification server has them.
    actions: AtomicBool,
}

/// What the desktop gives back for a shown notification. On XDG desktops (Linux, the BSDs) a
/// handle with the notification server's id, which can close it; Windows toasts and macOS
/// notifications give nothing back, so they get a local id and are left for the person to close
/// (the center stays the record either way).
#[cfg(all(unix, not(target_os = "macos")))]
mod shown {
    pub type Handle = notify_rust::NotificationHandle;

    pub fn display(n: &notify_rust::Notification) -> notify_rust::error::Result<Handle> {
        n.show()
    }

    pub fn id(h: &Handle) -> u32 {
        h.id()
    }

    pub fn close(h: Handle) {
        h.close()
    }
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
mod shown {
    use std::sync::atomic::{AtomicU32, Ordering};

    pub struct Handle(u32);

    static NEXT: AtomicU32 = AtomicU32::new(1);

    pub fn display(n: &notify_rust::Notification) -> notify_rust::error::Result<Handle> {
        n.show()?;
        Ok(Handle(NEXT.fetch_add(1, Ordering::Relaxed)))
    }

    pub fn id(h: &Handle) -> u32 {
        h.0
    }

    pub fn close(_: Handle) {}
}

const NOTIFICATIONS: &str = "org.freedesktop.Notifications";

/// The app's id on Windows (its AppUserModelID, the bundle identifier in tauri.conf.json),
/// which toasts are shown under.
pub const WINDOWS_APP_ID: &str = "app.presently.desktop";

/// The notification server's click and close signals, if it has buttons.
fn subscribe() -> Option<(
    zbus::blocking::proxy::SignalIterator<'static>,
    zbus::blocking::proxy::SignalIterator<'static>,
)> {
    let conn = zbus::blocking::Connection::session()
        .map_err(
            |e| tracing::info!(error = %e, "no session bus: desktop notification buttons are off"),
        )
        .ok()?;
    let proxy = zbus::blocking::Proxy::new(&conn, NOTIFICATIONS, NOTIFICATIONS_PATH, NOTIFICATIONS)
        .map_err(|e| tracing::info!(error = %e, "no notification server: buttons are off"))
        .ok()?;
    let capabilities: Vec<String> = proxy.call("GetCapabilities", &()).unwrap_or_default();
    if !capabilities.iter().any(|c| c == "actions") {
        tracing::info!("the notification server has no buttons (actions)");
        return None;
    }
    Some((
        proxy.receive_signal("ActionInvoked").ok()?,
        proxy.receive_signal("NotificationClosed").ok()?,
    ))
}
const NOTIFICATIONS_PATH: &str = "/org/freedesktop/Notifications";

impl DesktopNotifier {
    pub fn new(icon: impl Into<String>) -> Self {
        DesktopNotifier {
            icon: icon.into(),
            enabled: AtomicBool::new(true),
            shown: Mutex::new(HashMap::new()),
            summary_id: Mutex::new(None),
            actions: AtomicBool::new(false),
        }
    }

    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Adds Open and Mark read buttons to what is shown from now on, where the notification
    /// server supports actions, and calls `on_action` for each click. Also forgets notifications
    /// the desktop reports closed. Where the session has no bus or the server has no actions,
    /// notifications stay plain. Everything runs on threads of its own (blocking D-Bus calls
    /// must not run on an async runtime's threads).
    pub fn listen_for_actions(self: &Arc<Self>, on_action: impl Fn(Action) + Send + 'static) {
        let me = Arc::downgrade(self);
        std::thread::spawn(move || {
            let Some((invoked, closed)) = subscribe() else {
                return;
            };
            // Subscribed before the first button is offered, so no click is missed.
            match me.upgrade() {
                Some(me) => me.actions.store(true, Ordering::Relaxed),
                None => return,
            }
            let forget = me.clone();
            std::thread::spawn(move || {
                for message in closed {
                    let Some(me) = forget.upgrade() else { return };
                    if let Ok((id, _reason)) = message.body().deserialize::<(u32, u32)>() {
                        me.forget(id);
                    }
                }
            });
            for message in invoked {
                let Some(me) = me.upgrade() else { return };
                let Ok((id, key)) = message.body().deserialize::<(u32, String)>() else {
                    continue;
                };
                if let Some(action) = me.action(id, &key) {
                    on_action(action);
                }
            }
        });
    }

    /// What a click (the desktop's id and the button's key) means, if it was on one of ours.
    fn action(&self, id: u32, key: &str) -> Option<Action> {
        if *self.summary_id.lock().expect("notifier lock") == Some(id) {
            return Some(Action::OpenCenter);
        }
        let seq = self
            .shown
            .lock()
            .expect("notifier lock")
            .iter()
            .find(|(_, h)| shown::id(h) == id)
            .map(|(seq, _)| *seq)?;
        match key {
            "default" | "open" => Some(Action::Open(seq)),
            "read" => Some(Action::MarkRead(seq)),
            _ => None,
        }
    }

    fn forget(&self, id: u32) {
        self.shown
            .lock()
            .expect("notifier lock")
            .retain(|_, h| shown::id(h) != id);
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    fn buttons(&self) -> bool {
        self.actions.load(Ordering::Relaxed)
    }

    fn base(&self) -> notify_rust::Notification {
        let mut n = notify_rust::Notification::new();
        n.appname("Presently").icon(&self.icon);
        // Windows shows a toast only for an app id it knows: the installer registers this one
        // (Software\Classes\AppUserModelId), with the app's name and icon on the toast.
        #[cfg(windows)]
        n.app_id(WINDOWS_APP_ID);
        n
    }
}

impl Notifier for DesktopNotifier {
    fn show(&self, n: &Notification, face: Option<&std::path::Path>) -> Result<u32, NotifyError> {
        if !self.enabled() {
            return Err(NotifyError("turned off in settings".into()));
        }
        let mut d = self.base();
        d.summary(&n.title).body(&n.body);
        // The sender's face: the image-path hint on Linux, the toast's image on Windows, the
        // banner's picture on macOS.
        if let Some(face) = face.and_then(|f| f.to_str()) {
            d.image_path(face);
        }
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            d.urgency(if n.urgent {
                notify_rust::Urgency::Critical
            } else {
                notify_rust::Urgency::Normal
            });
            if self.buttons() {
                d.action("default", "Open").action("read", "Mark read");
            }
        }
        let handle = shown::display(&d).map_err(|e| NotifyError(e.to_string()))?;
        let id = shown::id(&handle);
        self.shown
            .lock()
            .expect("notifier lock")
            .insert(n.seq.0, handle);
        Ok(id)
    }

    fn close(&self, seq: u64) {
        if let Some(h) = self.shown.lock().expect("notifier lock").remove(&seq) {
            shown::close(h);
        }
    }

    fn summary(&self, missed: u64) -> Result<u32, NotifyError> {
        if !self.enabled() {
            return Err(NotifyError("turned off in settings".into()));
        }
        let mut d = self.base();
        let title = if missed == 1 {
            "You missed 1 notification".to_string()
        } else {
            format!("You missed {missed} notifications")
        };
        d.summary(&title)
            .body("They are waiting in the notification center.");
        #[cfg(all(unix, not(target_os = "macos")))]
        if self.buttons() {
            d.action("default", "Open the center");
        }
        let id = shown::id(&shown::display(&d).map_err(|e| NotifyError(e.to_string()))?);
        *self.summary_id.lock().expect("notifier lock") = Some(id);
        Ok(id)
    }
}

/// Records what would be shown (unit tests of the sync logic only; the real daemon is used in
/// the end-to-end tests).
#[derive(Default)]
pub struct Recorder {
    pub shown: Mutex<Vec<u64>>,
    /// The face shown with each, in the same order.
    pub faces: Mutex<Vec<Option<std::path::PathBuf>>>,
    pub closed: Mutex<Vec<u64>>,
    pub summaries: Mutex<Vec<u64>>,
}

impl Notifier for Recorder {
    fn show(&self, n: &Notification, face: Option<&std::path::Path>) -> Result<u32, NotifyError> {
        self.faces
            .lock()
            .expect("lock")
            .push(face.map(|f| f.to_path_buf()));
        let mut s = self.shown.lock().expect("lock");
        s.push(n.seq.0);
        Ok(s.len() as u32)
    }
    fn close(&self, seq: u64) {
        self.closed.lock().expect("lock").push(seq);
    }
    fn summary(&self, missed: u64) -> Result<u32, NotifyError> {
        self.summaries.lock().expect("lock").push(missed);
        Ok(0)
    }
}
