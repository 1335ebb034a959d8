//! The app's one source of presence state: the client core's session with a server when
//! connected ([`crate::remote::Remote`]), else the client core's [`LocalPresence`] for this
//! device alone, so that the tray and the window work on their own.

use presence::{Change, Explanation, Rules, Timestamp};
use presently_client::local::LocalPresence;
use std::sync::Mutex;
use tokio::sync::Notify;

use clock::SharedClock;
pub use protocol::ipc::{CommandError, Snapshot};

/// How long a command waits for the server to apply a change before answering with the change
/// pending (it stays in the outbox and is sent when the server answers).
pub const APPLY_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

pub struct AppState {
    local: Mutex<LocalPresence>,
    /// Set when the app is connected to a server: then the server decides, through the client
    /// core, and the local engine is not used.
    pub remote: std::sync::OnceLock<crate::remote::Remote>,
    /// Why the app could not connect at start, shown instead of the connection state.
    pub startup_error: Mutex<Option<String>>,
    /// This installation's local store (the session, the center, the settings kept here);
    /// none when it could not be opened (the reason is in `startup_error`).
    pub store: std::sync::OnceLock<presently_client::store::Store>,
    /// No server chosen and "use without a server" not chosen: the window shows sign-in.
    pub first_run: std::sync::atomic::AtomicBool,
    /// What the server said of itself (`GET /version`) when the app connected: its version,
    /// and a newer app its administrator publishes.
    pub server_version: Mutex<Option<protocol::rest::ServerVersion>>,
    /// Wakes the timer task when the next deadline may have moved.
    pub changed: Notify,
    /// Every `now` the app uses.
    pub clock: SharedClock,
}

impl AppState {
    pub fn new(rules: Rules, clock: SharedClock) -> AppState {
        AppState {
            local: Mutex::new(LocalPresence::new(rules, clock.now())),
            remote: std::sync::OnceLock::new(),
            startup_error: Mutex::new(None),
            store: std::sync::OnceLock::new(),
            first_run: std::sync::atomic::AtomicBool::new(false),
            server_version: Mutex::new(None),
            changed: Notify::new(),
            clock,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut LocalPresence) -> T) -> T {
        // A poisoned lock means a panic elsewhere already; the state itself is plain data.
        let mut guard = self.local.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// A newer app than this one, when the server publishes one.
    pub fn update(&self) -> Option<protocol::rest::AppRelease> {
        let known = self.server_version.lock().ok()?;
        let release = known.as_ref()?.app.as_ref()?;
        release
            .is_newer_than(env!("CARGO_PKG_VERSION"))
            .then(|| release.clone())
    }

    /// Opens where the server's administrator says to get the newer app, in the browser.
    pub fn open_update(&self) -> Result<(), CommandError> {
        use protocol::ipc::CommandErrorKind;
        let update = self.update().ok_or_else(|| {
            CommandError::new(
                CommandErrorKind::Invalid,
                "no update is published for this app",
            )
        })?;
        let link = protocol::Link::parse(update.url.clone()).map_err(|e| {
            CommandError::new(
                CommandErrorKind::Invalid,
                format!(
                    "the update's address ({}) cannot be opened: {e}",
                    update.url
                ),
            )
        })?;
        crate::commands::notifications::open_link(&link)
    }

    pub fn snapshot(&self) -> Snapshot {
        if let Some(r) = self.remote.get() {
            let local = self.with(|l| l.self_view(self.clock.now()));
            let me = r.me().unwrap_or(local);
            let paused_until = match me.interruptibility {
                presence::Interruptibility::Paused { until } => Some(until),
                _ => None,
            };
            let statuses = r.statuses();
            return Snapshot {
                me,
                statuses: if statuses.is_empty() {
                    self.with(|l| l.selectable())
                } else {
                    statuses
                },
                paused_until,
                unread: r.unread(),
                connection: r.connection(),
                update: self.update(),
            };
        }
        self.with(|l| {
            let now = self.clock.now();
            Snapshot {
                me: l.self_view(now),
                statuses: l.selectable(),
                paused_until: l.paused_until(now),
                unread: 0,
                connection: self
                    .startup_error
                    .lock()
                    .ok()
                    .and_then(|e| e.clone())
                    .unwrap_or_else(|| "Not connected to a server".into()),
                update: None,
            }
        })
    }

    pub fn explain(&self) -> Explanation {
        self.with(|l| l.explain(self.clock.now()))
    }

    /// Applies a person's change and returns the state after it: through the client core and
    /// the server when connected (waiting, at most [`APPLY_WAIT`], for the server to apply it;
    /// offline, the change waits in the outbox and the state shows it pending), else to the
    /// local engine.
    pub async fn apply(&self, change: Change) -> Result<Snapshot, CommandError> {
        if let Some(r) = self.remote.get() {
            if let Err(refused) = r.apply_change(change, APPLY_WAIT).await {
                return Err(CommandError::new(
                    protocol::ipc::CommandErrorKind::Invalid,
                    refused.message,
                ));
            }
            return Ok(self.snapshot());
        }
        self.with(|l| l.apply(self.clock.now(), change))?;
        self.changed.notify_one();
        Ok(self.snapshot())
    }

    /// Reports this device as present and applies whatever fell due. Returns the next deadline.
    pub fn tick(&self) -> Option<Timestamp> {
        if self.remote.get().is_some() {
            // The server keeps the time; the client core heartbeats.
            return None;
        }
        self.with(|l| l.heartbeat(self.clock.now()))
    }
}
