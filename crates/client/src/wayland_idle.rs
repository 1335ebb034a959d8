//! Idle time from the Wayland compositor itself: `ext-idle-notify-v1` (KDE Plasma 6, wlroots
//! 0.17 and later, COSMIC, …) or KDE's older `org_kde_kwin_idle` (KDE Plasma 5, wlroots up to
//! 0.16: sway 1.7 in Debian 12). Both say "no input for `timeout`" and "input again"; the idle
//! time is counted from those, so it holds for input to native Wayland windows as well as to
//! XWayland ones (X11's idle time only sees the latter).
//!
//! One thread owns the connection and blocks on its events; a sample reads what it last heard.
//! If the compositor goes away the source says so ("unavailable") rather than guessing.

use crate::idle_source::{screen_locked, IdleSample, IdleSource};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wayland_client::globals::{registry_queue_init, GlobalListContents};
use wayland_client::protocol::{wl_registry, wl_seat};
use wayland_client::{delegate_noop, Connection, Dispatch, QueueHandle};
use wayland_protocols::ext::idle_notify::v1::client::{
    ext_idle_notification_v1::{self, ExtIdleNotificationV1},
    ext_idle_notifier_v1::ExtIdleNotifierV1,
};
use wayland_protocols_plasma::idle::client::{
    org_kde_kwin_idle::OrgKdeKwinIdle,
    org_kde_kwin_idle_timeout::{self, OrgKdeKwinIdleTimeout},
};

/// How long without input before the compositor says "idle". The idle time is known from then
/// on; below it the person counts as active, which is well under any auto-away threshold (at
/// least a minute).
pub const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct Heard {
    /// Since when there has been no input, once the compositor said so.
    idle_since: Option<Instant>,
    /// Why the connection ended, once it has.
    lost: Option<String>,
}

struct Watch {
    heard: Arc<Mutex<Heard>>,
    timeout: Duration,
}

impl Watch {
    fn idled(&self) {
        let since = Instant::now()
            .checked_sub(self.timeout)
            .unwrap_or_else(Instant::now);
        self.heard.lock().expect("idle state").idle_since = Some(since);
    }

    fn resumed(&self) {
        self.heard.lock().expect("idle state").idle_since = None;
    }
}

impl Dispatch<wl_registry::WlRegistry, GlobalListContents> for Watch {
    fn event(
        _: &mut Self,
        _: &wl_registry::WlRegistry,
        _: wl_registry::Event,
        _: &GlobalListContents,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

impl Dispatch<ExtIdleNotificationV1, ()> for Watch {
    fn event(
        watch: &mut Self,
        _: &ExtIdleNotificationV1,
        event: ext_idle_notification_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            ext_idle_notification_v1::Event::Idled => watch.idled(),
            ext_idle_notification_v1::Event::Resumed => watch.resumed(),
            _ => {}
        }
    }
}

impl Dispatch<OrgKdeKwinIdleTimeout, ()> for Watch {
    fn event(
        watch: &mut Self,
        _: &OrgKdeKwinIdleTimeout,
        event: org_kde_kwin_idle_timeout::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            org_kde_kwin_idle_timeout::Event::Idle => watch.idled(),
            org_kde_kwin_idle_timeout::Event::Resumed => watch.resumed(),
            _ => {}
        }
    }
}

delegate_noop!(Watch: ignore wl_seat::WlSeat);
delegate_noop!(Watch: ExtIdleNotifierV1);
delegate_noop!(Watch: OrgKdeKwinIdle);

/// The compositor's idle notifications.
pub struct WaylandIdle {
    heard: Arc<Mutex<Heard>>,
    protocol: &'static str,
}

impl WaylandIdle {
    /// Connects to the compositor in `WAYLAND_DISPLAY` and asks to be told after `timeout`
    /// without input. An error in words when there is no compositor or it offers neither
    /// protocol.
    pub fn connect(timeout: Duration) -> Result<WaylandIdle, String> {
        let conn = Connection::connect_to_env()
            .map_err(|e| format!("no Wayland compositor to ask: {e}"))?;
        WaylandIdle::over(conn, timeout)
    }

    /// The same over a socket already connected to a compositor.
    pub fn connect_to(
        socket: std::os::unix::net::UnixStream,
        timeout: Duration,
    ) -> Result<WaylandIdle, String> {
        let conn = Connection::from_socket(socket)
            .map_err(|e| format!("no Wayland compositor to ask: {e}"))?;
        WaylandIdle::over(conn, timeout)
    }

    fn over(conn: Connection, timeout: Duration) -> Result<WaylandIdle, String> {
        let (globals, mut queue) = registry_queue_init::<Watch>(&conn)
            .map_err(|e| format!("the Wayland compositor did not list its interfaces: {e}"))?;
        let qh = queue.handle();
        let seat: wl_seat::WlSeat = globals
            .bind(&qh, 1..=1, ())
            .map_err(|e| format!("the Wayland compositor has no seat: {e}"))?;
        let ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
        let protocol = if let Ok(notifier) = globals.bind::<ExtIdleNotifierV1, _, _>(&qh, 1..=1, ())
        {
            notifier.get_idle_notification(ms, &seat, &qh, ());
            "ext-idle-notify-v1"
        } else if let Ok(kde) = globals.bind::<OrgKdeKwinIdle, _, _>(&qh, 1..=1, ()) {
            kde.get_idle_timeout(&seat, ms, &qh, ());
            "org_kde_kwin_idle"
        } else {
            return Err(
                "the Wayland compositor offers no idle protocol (ext-idle-notify-v1 or org_kde_kwin_idle)"
                    .into(),
            );
        };
        let heard = Arc::new(Mutex::new(Heard::default()));
        let mut watch = Watch {
            heard: heard.clone(),
            timeout,
        };
        queue
            .roundtrip(&mut watch)
            .map_err(|e| format!("the Wayland compositor did not answer: {e}"))?;
        std::thread::Builder::new()
            .name("wayland-idle".into())
            .spawn(move || loop {
                if let Err(e) = queue.blocking_dispatch(&mut watch) {
                    tracing::warn!(error = %e, "the Wayland connection for idle time ended");
                    watch.heard.lock().expect("idle state").lost =
                        Some(format!("the Wayland compositor went away: {e}"));
                    return;
                }
            })
            .map_err(|e| format!("cannot start the idle thread: {e}"))?;
        Ok(WaylandIdle { heard, protocol })
    }

    /// Which protocol the compositor answered with.
    pub fn protocol(&self) -> &'static str {
        self.protocol
    }
}

impl IdleSource for WaylandIdle {
    fn sample(&self) -> IdleSample {
        let heard = self.heard.lock().expect("idle state");
        if let Some(reason) = &heard.lost {
            return IdleSample::Unavailable {
                reason: format!("auto-away unavailable: {reason}"),
            };
        }
        let idle_ms = heard
            .idle_since
            .map_or(0, |since| since.elapsed().as_millis() as u64);
        drop(heard);
        IdleSample::Known {
            idle_ms,
            locked: screen_locked(),
        }
    }

    fn name(&self) -> &'static str {
        "wayland"
    }
}
