//! The app's one source of presence state: the client core's session with a server when
//! connected ([`crate::remote::Remote`]), else the client core's [`LocalPresence`] for this
//! device alone, so that the tray and the window work on their own.

use presence::{Change, Explanation, Rules, Timestamp};
use presently_client::local::LocalPresence;
use std::sync::Mutex;
use tokio::sync::Notify;

use clock::SharedClock;
pub use protocol::ipc::{ChangeRequest, CommandError, Snapshot};

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
        crate::links::open_link(&link)
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
                myself: r.sync.myself(),
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
                myself: None,
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

    /// The presence panel: the client core's team when connected, else no one.
    pub fn team(&self) -> protocol::ipc::TeamPanel {
        self.remote
            .get()
            .map(|r| r.team())
            .unwrap_or(protocol::ipc::TeamPanel {
                members: vec![],
                favourites: vec![],
                stale_since: None,
                glances: vec![],
            })
    }

    pub fn explain(&self) -> Explanation {
        self.with(|l| l.explain(self.clock.now()))
    }

    /// Resolves what the window or the tray asks for on the app's clock, and applies it.
    pub async fn ask(&self, request: ChangeRequest) -> Result<(), CommandError> {
        self.apply(resolve(request, self.clock.now())?).await
    }

    /// Applies a person's change: through the client core and the server when connected
    /// (waiting, at most [`APPLY_WAIT`], for the server to take or refuse it; offline, the
    /// change waits in the outbox), else to the local engine. The state after it reaches the
    /// window and the tray from the presenter, not from here.
    pub async fn apply(&self, change: Change) -> Result<(), CommandError> {
        if let Some(r) = self.remote.get() {
            return r.apply_change(change, APPLY_WAIT).await.map_err(|refused| {
                CommandError::new(protocol::ipc::CommandErrorKind::Invalid, refused.message)
            });
        }
        self.with(|l| l.apply(self.clock.now(), change))?;
        self.changed.notify_one();
        Ok(())
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

/// The change a request means at `now`: relative times become instants on the app's clock, in
/// this computer's time zone ("until tomorrow" is 08:00 tomorrow).
pub fn resolve(request: ChangeRequest, now: Timestamp) -> Result<Change, CommandError> {
    use chrono::{Days, Local, NaiveTime, TimeZone};
    let invalid = |m: String| CommandError::new(protocol::ipc::CommandErrorKind::Invalid, m);
    let later = |minutes: u32| now.plus(presence::Span::minutes(i64::from(minutes)));
    // The first moment at or after now that the local clock shows `hour`:`minute`.
    let next_local = |hour: u8, minute: u8, days_ahead: u64| {
        let time = NaiveTime::from_hms_opt(hour.into(), minute.into(), 0)
            .ok_or_else(|| invalid(format!("{hour:02}:{minute:02} is not a time of day")))?;
        let today = chrono::DateTime::from_timestamp_millis(now.millis())
            .ok_or_else(|| invalid("this computer's clock is out of range".into()))?
            .with_timezone(&Local)
            .date_naive();
        (days_ahead..=days_ahead + 2)
            .filter_map(|d| today.checked_add_days(Days::new(d)))
            .filter_map(|day| Local.from_local_datetime(&day.and_time(time)).earliest())
            .map(|t| Timestamp(t.timestamp_millis()))
            .find(|t| *t > now)
            .ok_or_else(|| {
                invalid(format!(
                    "{hour:02}:{minute:02} does not come on this computer's calendar"
                ))
            })
    };
    Ok(match request {
        ChangeRequest::Change { change } => change,
        ChangeRequest::StatusFor { status, minutes } => Change::SetStatus {
            status,
            until: Some(later(minutes)),
        },
        ChangeRequest::StatusUntilTime {
            status,
            hour,
            minute,
        } => Change::SetStatus {
            status,
            until: Some(next_local(hour, minute, 0)?),
        },
        ChangeRequest::PauseFor { minutes } => Change::pause(Some(later(minutes))),
        ChangeRequest::PauseUntilTomorrow => Change::pause(Some(next_local(8, 0, 1)?)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Local, TimeZone};
    use presence::StatusId;

    fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> Timestamp {
        let t = Local
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .earliest()
            .unwrap();
        Timestamp(t.timestamp_millis())
    }

    fn until(request: ChangeRequest, now: Timestamp) -> Option<Timestamp> {
        match resolve(request, now).unwrap() {
            Change::SetStatus { until, .. } => until,
            Change::PauseNotifications { until } => Some(until),
            other => panic!("not a timed change: {other:?}"),
        }
    }

    #[test]
    fn a_time_of_day_is_the_next_one_on_the_local_clock() {
        let now = local(2027, 1, 15, 9, 0);
        let at = |hour, minute| ChangeRequest::StatusUntilTime {
            status: StatusId::DND,
            hour,
            minute,
        };
        assert_eq!(until(at(17, 30), now), Some(local(2027, 1, 15, 17, 30)));
        assert_eq!(until(at(8, 0), now), Some(local(2027, 1, 16, 8, 0)));
        // Now itself is not in the future: the same time tomorrow.
        assert_eq!(until(at(9, 0), now), Some(local(2027, 1, 16, 9, 0)));
        let e = resolve(at(24, 0), now).unwrap_err();
        assert!(e.message.contains("not a time of day"), "{e}");
    }

    #[test]
    fn until_tomorrow_is_tomorrow_morning_even_before_this_morning() {
        let early = local(2026, 11, 23, 6, 0);
        assert_eq!(
            until(ChangeRequest::PauseUntilTomorrow, early),
            Some(local(2026, 11, 24, 8, 0))
        );
        let late = local(2026, 11, 23, 22, 30);
        assert_eq!(
            until(ChangeRequest::PauseUntilTomorrow, late),
            Some(local(2026, 11, 24, 8, 0))
        );
    }

    #[test]
    fn for_a_while_counts_from_the_clock_given() {
        let now = Timestamp(1_800_000_000_000);
        let dnd = ChangeRequest::StatusFor {
            status: StatusId::DND,
            minutes: 30,
        };
        assert_eq!(
            until(dnd, now),
            Some(Timestamp(1_800_000_000_000 + 1_800_000))
        );
        let pause = ChangeRequest::PauseFor { minutes: 60 };
        assert_eq!(
            until(pause, now),
            Some(Timestamp(1_800_000_000_000 + 3_600_000))
        );
    }
}
