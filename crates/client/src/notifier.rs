//! Desktop notifications behind a trait: `notify-rust` (org.freedesktop.Notifications on Linux)
//! for the app, anything that records calls for a unit test.

use protocol::Notification;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
#[error("desktop notifications are unavailable: {0}")]
pub struct NotifyError(pub String);

/// An action a person took on a shown notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Open(u64),
    MarkRead(u64),
}

pub trait Notifier: Send + Sync + 'static {
    /// Shows one notification; returns the desktop's id for it.
    fn show(&self, n: &Notification) -> Result<u32, NotifyError>;
    /// Closes a shown notification (read or dismissed elsewhere).
    fn close(&self, seq: u64);
    /// "You missed N notifications", after Do not disturb or a pause ends.
    fn summary(&self, missed: u64) -> Result<u32, NotifyError>;
}

/// The real thing: notify-rust over D-Bus.
pub struct DesktopNotifier {
    icon: String,
    /// Turned off in settings: nothing is shown; everything still lands in the center.
    enabled: std::sync::atomic::AtomicBool,
    shown: Mutex<HashMap<u64, notify_rust::NotificationHandle>>,
    actions: Option<std::sync::mpsc::Sender<Action>>,
}

impl DesktopNotifier {
    pub fn new(icon: impl Into<String>, actions: Option<std::sync::mpsc::Sender<Action>>) -> Self {
        DesktopNotifier {
            icon: icon.into(),
            enabled: std::sync::atomic::AtomicBool::new(true),
            shown: Mutex::new(HashMap::new()),
            actions,
        }
    }

    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn base(&self) -> notify_rust::Notification {
        let mut n = notify_rust::Notification::new();
        n.appname("Presently").icon(&self.icon);
        n
    }
}

/// Whether the notification server supports actions (buttons).
pub fn supports_actions() -> bool {
    notify_rust::get_capabilities()
        .map(|c| c.iter().any(|c| c == "actions"))
        .unwrap_or(false)
}

impl Notifier for DesktopNotifier {
    fn show(&self, n: &Notification) -> Result<u32, NotifyError> {
        if !self.enabled() {
            return Err(NotifyError("turned off in settings".into()));
        }
        let mut d = self.base();
        d.summary(&n.title).body(&n.body);
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            d.urgency(if n.urgent {
                notify_rust::Urgency::Critical
            } else {
                notify_rust::Urgency::Normal
            });
            if self.actions.is_some() {
                d.action("default", "Open").action("read", "Mark read");
            }
        }
        let handle = d.show().map_err(|e| NotifyError(e.to_string()))?;
        let id = handle.id();
        self.shown
            .lock()
            .expect("notifier lock")
            .insert(n.seq.0, handle);
        Ok(id)
    }

    fn close(&self, seq: u64) {
        if let Some(h) = self.shown.lock().expect("notifier lock").remove(&seq) {
            h.close();
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
        d.show()
            .map(|h| h.id())
            .map_err(|e| NotifyError(e.to_string()))
    }
}

/// Records what would be shown (unit tests of the sync logic only; the real daemon is used in
/// the end-to-end tests).
#[derive(Default)]
pub struct Recorder {
    pub shown: Mutex<Vec<u64>>,
    pub closed: Mutex<Vec<u64>>,
    pub summaries: Mutex<Vec<u64>>,
}

impl Notifier for Recorder {
    fn show(&self, n: &Notification) -> Result<u32, NotifyError> {
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
