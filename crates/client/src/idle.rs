//! Auto-away: how long the person has been idle, whether the screen is locked, behind a trait.
//!
//! On Windows and macOS, the session's own idle time and lock ([`crate::windows`],
//! [`crate::macos`]). On Linux:
//! X11 idle time (`user-idle`, the XScreenSaver extension) in an X11 session; on Wayland, GNOME's
//! idle monitor over the session bus, else the compositor's own idle protocol
//! ([`crate::wayland_idle`]: KDE, wlroots compositors such as sway); without a display, GNOME's
//! idle monitor when it is there; otherwise a clear "auto-away unavailable on this session"
//! state, said in Settings. Never XWayland's idle time in a Wayland session (it misses typing in
//! native Wayland windows), and never a crash: `user-idle`'s X11 backend is only called with a
//! display.

pub use crate::idle_source::{screen_locked, IdleSample, IdleSource};
use crate::sync::{Command, SyncHandle};
#[cfg(not(any(windows, target_os = "macos")))]
use futures_util::stream::{BoxStream, StreamExt};
use presence::{DeviceActivity, Span};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// X11 idle time.
pub struct X11Idle;

impl IdleSource for X11Idle {
    fn sample(&self) -> IdleSample {
        if std::env::var_os("DISPLAY").is_none() {
            return IdleSample::Unavailable {
                reason: "no X11 display".into(),
            };
        }
        match user_idle::UserIdle::get_time() {
            Ok(t) => IdleSample::Known {
                idle_ms: t.as_milliseconds() as u64,
                locked: screen_locked(),
            },
            Err(e) => IdleSample::Unavailable {
                reason: format!("X11 idle time unavailable: {e:?}"),
            },
        }
    }
    fn name(&self) -> &'static str {
        "x11"
    }
}

/// GNOME's idle monitor (Wayland and X11 sessions) over the session bus.
pub struct MutterIdle {
    conn: zbus::blocking::Connection,
}

impl MutterIdle {
    pub fn connect() -> Option<MutterIdle> {
        let conn = zbus::blocking::Connection::session().ok()?;
        let me = MutterIdle { conn };
        matches!(me.sample(), IdleSample::Known { .. }).then_some(me)
    }
}

impl IdleSource for MutterIdle {
    fn sample(&self) -> IdleSample {
        let reply = self.conn.call_method(
            Some("org.gnome.Mutter.IdleMonitor"),
            "/org/gnome/Mutter/IdleMonitor/Core",
            Some("org.gnome.Mutter.IdleMonitor"),
            "GetIdletime",
            &(),
        );
        match reply.and_then(|m| m.body().deserialize::<u64>()) {
            Ok(ms) => IdleSample::Known {
                idle_ms: ms,
                locked: screen_locked(),
            },
            Err(e) => IdleSample::Unavailable {
                reason: format!("the session's idle monitor did not answer: {e}"),
            },
        }
    }
    fn name(&self) -> &'static str {
        "mutter"
    }
}

/// No way to know: auto-away is off, and says so.
pub struct NoIdle(pub String);

impl IdleSource for NoIdle {
    fn sample(&self) -> IdleSample {
        IdleSample::Unavailable {
            reason: self.0.clone(),
        }
    }
    fn name(&self) -> &'static str {
        "none"
    }
}

/// Where idle time can come from, in the order [`detect`] tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    X11,
    Mutter,
    Wayland,
}

/// The sources to try for a session with a Wayland display and/or an X11 one. On Wayland, X11
/// is never among them: XWayland's idle time does not see typing in native Wayland windows, so
/// it would make a person Away while they work.
pub fn plan(wayland: bool, x11: bool) -> &'static [Source] {
    match (wayland, x11) {
        (true, _) => &[Source::Mutter, Source::Wayland],
        (false, true) => &[Source::X11],
        (false, false) => &[Source::Mutter],
    }
}

/// The best source this session offers, or [`NoIdle`] saying why there is none. On Windows and
/// macOS, the session's own idle time and lock ([`crate::windows::WindowsIdle`],
/// [`crate::macos::MacIdle`]).
pub fn detect() -> Box<dyn IdleSource> {
    #[cfg(windows)]
    return Box::new(crate::windows::WindowsIdle);
    #[cfg(target_os = "macos")]
    return Box::new(crate::macos::MacIdle);
    #[allow(unreachable_code)]
    let wayland = std::env::var_os("WAYLAND_DISPLAY").is_some();
    let x11 = std::env::var_os("DISPLAY").is_some();
    let mut why = Vec::new();
    for source in plan(wayland, x11) {
        match source {
            Source::X11 => return Box::new(X11Idle),
            Source::Mutter => match MutterIdle::connect() {
                Some(m) => return Box::new(m),
                None => why.push("no GNOME idle monitor on the session bus".to_string()),
            },
            Source::Wayland => {
                #[cfg(target_os = "linux")]
                match crate::wayland_idle::WaylandIdle::connect(crate::wayland_idle::TIMEOUT) {
                    Ok(w) => {
                        tracing::info!(
                            protocol = w.protocol(),
                            "idle time from the Wayland compositor"
                        );
                        return Box::new(w);
                    }
                    Err(e) => why.push(e),
                }
            }
        }
    }
    if !wayland && !x11 {
        why.insert(0, "no display".into());
    }
    Box::new(NoIdle(format!(
        "auto-away unavailable on this session: {}",
        why.join("; ")
    )))
}

/// Why auto-away cannot work here, if it cannot: what the person is told in Settings.
pub fn unavailable(source: &dyn IdleSource) -> Option<String> {
    match source.sample() {
        IdleSample::Unavailable { reason } => Some(reason),
        IdleSample::Known { .. } => None,
    }
}

/// How a sample becomes a report: locked → Locked; idle past `report_after` → Idle (with how
/// long, so the server places the Away threshold exactly); otherwise Active.
pub fn activity(sample: &IdleSample, report_after: Duration) -> Option<DeviceActivity> {
    match sample {
        IdleSample::Unavailable { .. } => None,
        IdleSample::Known {
            locked: true,
            idle_ms,
        } => Some(DeviceActivity::Locked {
            locked_for: Span(*idle_ms as i64),
        }),
        IdleSample::Known { idle_ms, .. } if *idle_ms >= report_after.as_millis() as u64 => {
            Some(DeviceActivity::Idle {
                idle_for: Span(*idle_ms as i64),
            })
        }
        IdleSample::Known { .. } => Some(DeviceActivity::Active),
    }
}

/// What a lock (or sleep) as it happens reports: Locked from now, or Active again (the idle
/// loop corrects it at its next sample).
fn locked_now(locked: bool) -> DeviceActivity {
    if locked {
        DeviceActivity::Locked {
            locked_for: Span::ZERO,
        }
    } else {
        DeviceActivity::Active
    }
}

fn same_kind(a: &DeviceActivity, b: &DeviceActivity) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// Samples the idle source every `every` and reports a change of activity to the server. A
/// wall-clock jump bigger than the sampling interval means the machine slept: the activity is
/// reported afresh after resume. A screen the desktop said is locked (`lock`) counts as locked.
pub async fn run(
    source: Box<dyn IdleSource>,
    sync: SyncHandle,
    every: Duration,
    report_after: Duration,
    lock: ScreenLock,
) {
    let source: std::sync::Arc<dyn IdleSource> = source.into();
    let mut last: Option<DeviceActivity> = None;
    let mut last_wall = chrono::Utc::now();
    loop {
        let s = source.clone();
        let sample = match tokio::task::spawn_blocking(move || s.sample()).await {
            Ok(IdleSample::Known { idle_ms, locked }) => IdleSample::Known {
                idle_ms,
                locked: locked || lock.locked(),
            },
            Ok(unavailable) => unavailable,
            Err(_) => IdleSample::Unavailable {
                reason: "the idle check failed".into(),
            },
        };
        tracing::debug!(?sample, "idle sample");
        let wall = chrono::Utc::now();
        let slept = (wall - last_wall).num_milliseconds() > (every.as_millis() as i64) * 3;
        last_wall = wall;
        if let Some(now) = activity(&sample, report_after) {
            if slept || last.as_ref().is_none_or(|l| !same_kind(l, &now)) {
                sync.send(Command::Activity(now)).await;
                last = Some(now);
            }
        }
        tokio::time::sleep(every).await;
    }
}

/// Suspend and resume: logind's `PrepareForSleep` on the system bus. Before sleep the device
/// reports itself locked (away at once, rather than Available until its lease lapses); after
/// resume it reports active, and the idle loop corrects that on its next sample. Without a
/// system bus or logind this does nothing.
pub fn watch_sleep(sync: SyncHandle, runtime: tokio::runtime::Handle) {
    if cfg!(any(windows, target_os = "macos")) {
        // The session watcher [`watch_lock`] starts on Windows and macOS hears sleep too.
        return;
    }
    std::thread::spawn(move || {
        let Ok(conn) = zbus::blocking::Connection::system() else {
            tracing::info!("no system bus: suspend and resume are not watched");
            return;
        };
        let proxy = zbus::blocking::Proxy::new(
            &conn,
            "org.freedesktop.login1",
            "/org/freedesktop/login1",
            "org.freedesktop.login1.Manager",
        );
        let Ok(signals) = proxy.and_then(|p| p.receive_signal("PrepareForSleep")) else {
            tracing::info!("logind is not available: suspend and resume are not watched");
            return;
        };
        for message in signals {
            let Ok(going_to_sleep) = message.body().deserialize::<bool>() else {
                continue;
            };
            let activity = locked_now(going_to_sleep);
            runtime.block_on(sync.send(Command::Activity(activity)));
        }
    });
}

/// Whether the desktop last said the screen is locked (see [`watch_lock`]).
#[derive(Clone, Default)]
pub struct ScreenLock(Arc<AtomicBool>);

impl ScreenLock {
    pub fn locked(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Screen lock and unlock as they happen, each reported at once (Away on lock, back on unlock)
/// rather than at the next idle sample:
/// - logind's session on the system bus: its `Lock` and `Unlock` signals and its `LockedHint`
///   property (set by every screen locker that follows logind: GNOME, KDE, swaylock, …);
/// - the screen savers on the session bus: `org.freedesktop.ScreenSaver` (KDE, Xfce, Cinnamon,
///   MATE) and `org.gnome.ScreenSaver`, by their `ActiveChanged` signal.
///
/// A service that is not running now is still listened to: a locker started later is heard.
/// Without either bus this does nothing, and says so in the log.
///
/// On Windows and macOS, the session's lock and unlock and sleep and wake, heard by a window of
/// Presently's own ([`crate::windows::watch_session`]) or AppKit's notifications
/// ([`crate::macos::watch_session`]), reported as on Linux.
pub fn watch_lock(sync: SyncHandle) -> ScreenLock {
    let lock = ScreenLock::default();
    let state = lock.clone();
    #[cfg(any(windows, target_os = "macos"))]
    {
        use crate::idle_source::SessionEvent;
        let runtime = tokio::runtime::Handle::current();
        let report = move |event| {
            let activity = match event {
                SessionEvent::Locked(locked) => {
                    state.0.store(locked, Ordering::SeqCst);
                    tracing::info!(locked, "the screen lock changed");
                    locked_now(locked)
                }
                SessionEvent::Sleeping(sleeping) => locked_now(sleeping),
            };
            // Off the runtime's threads (the watcher's window thread, AppKit's main thread).
            let sync = sync.clone();
            runtime.spawn(async move { sync.send(Command::Activity(activity)).await });
        };
        #[cfg(windows)]
        if let Err(e) = crate::windows::watch_session(report) {
            tracing::info!(error = %e, "lock and sleep are seen only at each idle sample");
        }
        #[cfg(target_os = "macos")]
        crate::macos::watch_session(report);
    }
    #[cfg(not(any(windows, target_os = "macos")))]
    tokio::spawn(async move {
        let mut streams: Vec<BoxStream<'static, bool>> = Vec::new();
        match zbus::Connection::system().await {
            Ok(system) => match logind_lock(&system).await {
                Ok(mut s) => streams.append(&mut s),
                Err(e) => {
                    tracing::info!(error = %e, "logind's session is not available: its lock is not watched")
                }
            },
            Err(e) => tracing::info!(error = %e, "no system bus: logind's lock is not watched"),
        }
        match zbus::Connection::session().await {
            Ok(session) => {
                for (name, path) in [
                    (
                        "org.freedesktop.ScreenSaver",
                        "/org/freedesktop/ScreenSaver",
                    ),
                    ("org.gnome.ScreenSaver", "/org/gnome/ScreenSaver"),
                ] {
                    match screensaver(&session, name, path).await {
                        Ok(s) => streams.push(s),
                        Err(e) => {
                            tracing::info!(error = %e, name, "a screen saver interface cannot be watched")
                        }
                    }
                }
            }
            Err(e) => tracing::info!(error = %e, "no session bus: the screen saver is not watched"),
        }
        if streams.is_empty() {
            return;
        }
        let mut all = futures_util::stream::select_all(streams);
        while let Some(locked) = all.next().await {
            if state.0.swap(locked, Ordering::SeqCst) == locked {
                continue;
            }
            tracing::info!(locked, "the screen lock changed");
            let activity = locked_now(locked);
            sync.send(Command::Activity(activity)).await;
        }
    });
    lock
}

/// This process's logind session: `XDG_SESSION_ID`, else the session of this process, else
/// logind's `auto` (the caller's session).
#[cfg(not(any(windows, target_os = "macos")))]
async fn logind_session(
    system: &zbus::Connection,
) -> zbus::Result<zbus::zvariant::OwnedObjectPath> {
    let manager = zbus::Proxy::new(
        system,
        "org.freedesktop.login1",
        "/org/freedesktop/login1",
        "org.freedesktop.login1.Manager",
    )
    .await?;
    if let Ok(id) = std::env::var("XDG_SESSION_ID") {
        return manager.call("GetSession", &(id,)).await;
    }
    match manager
        .call("GetSessionByPID", &(std::process::id(),))
        .await
    {
        Ok(path) => Ok(path),
        Err(_) => Ok(
            zbus::zvariant::ObjectPath::try_from("/org/freedesktop/login1/session/auto")?.into(),
        ),
    }
}

#[cfg(not(any(windows, target_os = "macos")))]
async fn logind_lock(system: &zbus::Connection) -> zbus::Result<Vec<BoxStream<'static, bool>>> {
    let path = logind_session(system).await?;
    let session = zbus::Proxy::new(
        system,
        "org.freedesktop.login1",
        path,
        "org.freedesktop.login1.Session",
    )
    .await?;
    let lock = session.receive_signal("Lock").await?.map(|_| true).boxed();
    let unlock = session
        .receive_signal("Unlock")
        .await?
        .map(|_| false)
        .boxed();
    let hint = session
        .receive_property_changed::<bool>("LockedHint")
        .await
        .filter_map(|change| async move { change.get().await.ok() })
        .boxed();
    Ok(vec![lock, unlock, hint])
}

#[cfg(not(any(windows, target_os = "macos")))]
async fn screensaver(
    session: &zbus::Connection,
    name: &'static str,
    path: &'static str,
) -> zbus::Result<BoxStream<'static, bool>> {
    let proxy = zbus::Proxy::new(session, name, path, name).await?;
    Ok(proxy
        .receive_signal("ActiveChanged")
        .await?
        .filter_map(|m| async move { m.body().deserialize::<bool>().ok() })
        .boxed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wayland_session_never_counts_xwaylands_idle_time() {
        // XWayland sets DISPLAY too: X11 idle time would miss typing in Wayland windows.
        assert_eq!(plan(true, true), [Source::Mutter, Source::Wayland]);
        assert_eq!(plan(true, false), [Source::Mutter, Source::Wayland]);
        assert_eq!(plan(false, true), [Source::X11]);
        assert_eq!(plan(false, false), [Source::Mutter]);
    }

    #[test]
    fn no_source_says_so_and_reports_nothing() {
        let none = NoIdle("auto-away unavailable on this session: no display".into());
        assert_eq!(
            unavailable(&none).as_deref(),
            Some("auto-away unavailable on this session: no display")
        );
        assert_eq!(activity(&none.sample(), Duration::from_secs(30)), None);
    }
}
