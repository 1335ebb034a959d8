//! Idle time on Wayland from a real compositor: sway in its headless backend (Debian 12's sway
//! 1.7, wlroots 0.15, which offers KDE's `org_kde_kwin_idle`; `ext-idle-notify-v1` is the same
//! code path with the other interface, on newer compositors). Input is real input to the
//! compositor: a virtual pointer (wlr's `zwlr_virtual_pointer_manager_v1`) moved on its seat.
//!
//! Shown: the compositor says idle after the timeout and the sample counts from then; input
//! brings the idle time back to zero; the notification is re-armed; a compositor that goes
//! away makes the source "unavailable" in words, never a stale idle time.
#![cfg(target_os = "linux")]

use presently_client::idle::{IdleSample, IdleSource};
use presently_client::wayland_idle::WaylandIdle;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use test_support::require;
use wayland_client::globals::{registry_queue_init, GlobalListContents};
use wayland_client::protocol::{wl_registry, wl_seat};
use wayland_client::{delegate_noop, Connection, Dispatch, QueueHandle};
use wayland_protocols_wlr::virtual_pointer::v1::client::{
    zwlr_virtual_pointer_manager_v1::ZwlrVirtualPointerManagerV1,
    zwlr_virtual_pointer_v1::ZwlrVirtualPointerV1,
};

/// A headless sway with its own runtime directory; killed when dropped. sway refuses to run
/// as root, so as root it runs as `nobody`.
struct Sway {
    child: Child,
    dir: tempfile::TempDir,
}

impl Sway {
    fn start() -> Sway {
        let dir = tempfile::tempdir().expect("a runtime directory");
        let config = dir.path().join("config");
        std::fs::write(&config, "output HEADLESS-1 resolution 800x600\n").unwrap();
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let mut cmd = if root {
            // The directory must be the compositor's own (0700); root can still reach it.
            let status = Command::new("chown")
                .args(["-R", "65534:65534"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "sway"]);
            c
        } else {
            Command::new("sway")
        };
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let child = cmd
            .arg("-c")
            .arg(&config)
            .env("XDG_RUNTIME_DIR", dir.path())
            .env("HOME", dir.path())
            .env("WLR_BACKENDS", "headless")
            .env("WLR_LIBINPUT_NO_DEVICES", "1")
            .env("WLR_RENDERER", "pixman")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("DISPLAY")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sway starts");
        let sway = Sway { child, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !sway.socket().exists() {
            assert!(Instant::now() < deadline, "sway made no Wayland socket");
            std::thread::sleep(Duration::from_millis(50));
        }
        sway
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("wayland-1")
    }

    fn connect(&self) -> UnixStream {
        connect(&self.socket())
    }
}

impl Drop for Sway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn connect(path: &Path) -> UnixStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match UnixStream::connect(path) {
            Ok(s) => return s,
            Err(e) if Instant::now() > deadline => panic!("cannot reach sway: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A person's hand on the mouse: a virtual pointer on sway's seat.
struct Hand {
    conn: Connection,
    pointer: ZwlrVirtualPointerV1,
}

struct Nothing;

impl Dispatch<wl_registry::WlRegistry, GlobalListContents> for Nothing {
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
delegate_noop!(Nothing: ignore wl_seat::WlSeat);
delegate_noop!(Nothing: ZwlrVirtualPointerManagerV1);
delegate_noop!(Nothing: ZwlrVirtualPointerV1);

impl Hand {
    fn on(sway: &Sway) -> Hand {
        let conn = Connection::from_socket(sway.connect()).unwrap();
        let (globals, mut queue) = registry_queue_init::<Nothing>(&conn).unwrap();
        let qh = queue.handle();
        let seat: wl_seat::WlSeat = globals.bind(&qh, 1..=1, ()).unwrap();
        let manager: ZwlrVirtualPointerManagerV1 = globals
            .bind(&qh, 1..=1, ())
            .expect("sway offers virtual pointers");
        let pointer = manager.create_virtual_pointer(Some(&seat), &qh, ());
        queue.roundtrip(&mut Nothing).unwrap();
        Hand { conn, pointer }
    }

    fn moves(&self) {
        self.pointer.motion(0, 5.0, 5.0);
        self.pointer.frame();
        self.conn.flush().unwrap();
    }
}

/// Samples until `pred` holds; panics after 10 s with the last sample.
fn until(source: &WaylandIdle, what: &str, pred: impl Fn(&IdleSample) -> bool) -> IdleSample {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = source.sample();
        if pred(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "waited 10 s for {what}: {s:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn idle_ms(s: &IdleSample) -> Option<u64> {
    match s {
        IdleSample::Known { idle_ms, .. } => Some(*idle_ms),
        IdleSample::Unavailable { .. } => None,
    }
}

#[test]
fn idle_time_comes_from_the_wayland_compositor_and_input_resets_it() {
    if !require("sway") {
        return;
    }
    let sway = Sway::start();
    let timeout = Duration::from_millis(400);
    let source = WaylandIdle::connect_to(sway.connect(), timeout).expect("an idle protocol");
    assert_eq!(source.protocol(), "org_kde_kwin_idle");
    assert_eq!(source.name(), "wayland");

    // Nobody touches anything: idle from the compositor's word, counted from the last input.
    let idle = until(&source, "idle", |s| idle_ms(s).is_some_and(|ms| ms > 0));
    assert!(
        idle_ms(&idle).unwrap() >= timeout.as_millis() as u64,
        "{idle:?}"
    );

    // A hand on the mouse: active again at once.
    let hand = Hand::on(&sway);
    hand.moves();
    until(&source, "active after input", |s| idle_ms(s) == Some(0));

    // Left alone again: the compositor says idle again (the notification is re-armed).
    until(&source, "idle again", |s| {
        idle_ms(s).is_some_and(|ms| ms > 0)
    });

    // The compositor goes away: unavailable, in words, never a stale idle time.
    drop(hand);
    drop(sway);
    let gone = until(&source, "unavailable", |s| idle_ms(s).is_none());
    let IdleSample::Unavailable { reason } = gone else {
        unreachable!()
    };
    assert!(reason.contains("auto-away unavailable"), "{reason}");
    assert!(reason.contains("went away"), "{reason}");
}

#[test]
fn a_compositor_without_an_idle_protocol_is_said_in_words() {
    // No compositor at all at the address: an error that says so, not a panic.
    let dir = tempfile::tempdir().unwrap();
    let listener = std::os::unix::net::UnixListener::bind(dir.path().join("wayland-9")).unwrap();
    let socket = UnixStream::connect(dir.path().join("wayland-9")).unwrap();
    drop(listener);
    let err = match WaylandIdle::connect_to(socket, Duration::from_secs(1)) {
        Ok(_) => panic!("a dead socket gave an idle source"),
        Err(e) => e,
    };
    assert!(err.contains("Wayland compositor"), "{err}");
}
