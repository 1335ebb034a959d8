//! Auto-away: how long the person has been idle, whether the screen is locked, behind a trait.
//!
//! X11 idle time (`user-idle`, the XScreenSaver extension) where `DISPLAY` is set; on Wayland or
//! without a display, GNOME's idle monitor over the session bus when it is there; otherwise a
//! clear "auto-away unavailable on this session" state. Never a crash: `user-idle`'s X11 backend
//! is only called with a display.

use crate::sync::{Command, SyncHandle};
use presence::{DeviceActivity, Span};
use std::time::Duration;

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

/// The best source this session offers.
pub fn detect() -> Box<dyn IdleSource> {
    let wayland = std::env::var_os("WAYLAND_DISPLAY").is_some();
    if std::env::var_os("DISPLAY").is_some() && !wayland {
        return Box::new(X11Idle);
    }
    if let Some(m) = MutterIdle::connect() {
        return Box::new(m);
    }
    if std::env::var_os("DISPLAY").is_some() {
        // XWayland: X11 idle time only counts input to X11 windows; better than nothing.
        return Box::new(X11Idle);
    }
    Box::new(NoIdle(
        "auto-away unavailable on this session: no display and no idle monitor on the session bus"
            .into(),
    ))
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

fn same_kind(a: &DeviceActivity, b: &DeviceActivity) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// Samples the idle source every `every` and reports a change of activity to the server. A
/// wall-clock jump bigger than the sampling interval means the machine slept: the activity is
/// reported afresh after resume.
pub async fn run(
    source: Box<dyn IdleSource>,
    sync: SyncHandle,
    every: Duration,
    report_after: Duration,
) {
    let source: std::sync::Arc<dyn IdleSource> = source.into();
    let mut last: Option<DeviceActivity> = None;
    let mut last_wall = chrono::Utc::now();
    loop {
        let s = source.clone();
        let sample = tokio::task::spawn_blocking(move || s.sample())
            .await
            .unwrap_or(IdleSample::Unavailable {
                reason: "the idle check failed".into(),
            });
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
            let activity = if going_to_sleep {
                DeviceActivity::Locked {
                    locked_for: Span::ZERO,
                }
            } else {
                DeviceActivity::Active
            };
            runtime.block_on(sync.send(Command::Activity(activity)));
        }
    });
}
