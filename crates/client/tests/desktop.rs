//! The real `presently-cli run` in a private desktop: desktop notifications through a real
//! notification daemon on a private session bus (python-dbusmock, which logs every call),
//! auto-away from real X11 idle time under Xvfb (xdotool for activity), and a kill -9 in the
//! middle of a burst of notifications.
// A Linux desktop (Xvfb, a session bus, an XDG notification daemon) is what these drive.
#![cfg(target_os = "linux")]

mod support;

use presence::{Span, StatusId};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

fn desktop_tools() -> bool {
    require("Xvfb")
        && require("dbus-daemon")
        && require("dbusmock")
        && require("xdotool")
        && require("gdbus")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shown_when_available_held_in_dnd_summary_after_and_closed_when_dismissed_elsewhere() {
    if !desktop_tools() {
        return;
    }
    let desktop = Desktop::start();
    let server = Server::start().await;
    let store = store_path(desktop.home.as_path(), "client");
    login(&store, &server.url(), "bea@one.test", "laptop");
    let env = [("DBUS_SESSION_BUS_ADDRESS", desktop.bus_address.clone())];
    let app = run(&store, &env, &["--no-auto-away"]);
    app.wait_for("online", |l| l.contains("\"online\"")).await;
    eventually("bea available", || async {
        server.seen(&server.bea).await.status.status == StatusId::AVAILABLE
    })
    .await;

    // Available: a desktop notification.
    let first = server.notify(&server.bea, "Build failed").await;
    eventually("a Notify call", || async {
        desktop
            .notify_lines()
            .iter()
            .any(|l| l.contains("Build failed"))
    })
    .await;
    let line = desktop
        .notify_lines()
        .into_iter()
        .find(|l| l.contains("Build failed"))
        .unwrap();
    assert!(line.contains("\"Presently\""), "app name: {line}");
    assert!(line.contains("body of Build failed"), "{line}");

    // Do not disturb (set from the CLI, through the same store's outbox): nothing shown,
    // everything kept.
    let out = cli_ok(&store, &[], &["dnd", "1h"]);
    assert!(out.contains("done"), "{out}");
    app.wait_for("dnd self view", |l| l.contains("do_not_disturb"))
        .await;
    let before = desktop.notify_lines().len();
    server.notify(&server.bea, "While focused").await;
    server.notify(&server.bea, "Also while focused").await;
    app.wait_for("stored while DND", |l| l.contains("Also while focused"))
        .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        desktop.notify_lines().len(),
        before,
        "nothing shown in DND:\n{}",
        desktop.notify_log()
    );
    let missed = cli_ok(&store, &[], &["missed"]);
    assert!(
        missed.contains("missed") && missed.contains("While focused"),
        "{missed}"
    );

    // Leaving DND: one summary.
    cli_ok(&store, &[], &["set", "available"]);
    eventually("the summary", || async {
        desktop
            .notify_lines()
            .iter()
            .any(|l| l.contains("You missed 2 notifications"))
    })
    .await;
    assert_eq!(
        desktop.notify_lines().len(),
        before + 1,
        "one summary, not a replay:\n{}",
        desktop.notify_log()
    );

    // Dismissed on another device: the shown notification closes here.
    let phone = server.token(&server.bea, "phone").await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/v1/notifications/dismiss", server.url()))
        .bearer_auth(&phone)
        .json(&serde_json::json!({"notifications": [first]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    eventually("CloseNotification", || async {
        desktop.notify_log().contains("CloseNotification 1")
    })
    .await;
    drop(app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_from_a_teammate_shows_their_face() {
    if !desktop_tools() {
        return;
    }
    let desktop = Desktop::start();
    let server = Server::start().await;
    // Cal, bea's teammate, has a photo.
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        80,
        80,
        image::Rgb([30, 120, 200]),
    ))
    .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
    .unwrap();
    let face = server
        .app()
        .set_face(
            &presently_server::app::Actor::command_line(),
            &server.org,
            server.cal.as_str(),
            Some(png),
        )
        .await
        .unwrap()
        .unwrap();
    let store = store_path(desktop.home.as_path(), "client");
    login(&store, &server.url(), "bea@one.test", "laptop");
    let env = [("DBUS_SESSION_BUS_ADDRESS", desktop.bus_address.clone())];
    let app = run(&store, &env, &["--no-auto-away"]);
    app.wait_for("online", |l| l.contains("\"online\"")).await;

    server
        .notify_from(&server.bea, "Cal asks: lunch?", Some(&server.cal))
        .await;
    server.notify(&server.bea, "Build failed").await;
    eventually("both shown", || async {
        let lines = desktop.notify_lines();
        lines.iter().any(|l| l.contains("lunch?"))
            && lines.iter().any(|l| l.contains("Build failed"))
    })
    .await;
    let lines = desktop.notify_lines();
    let from_cal = lines.iter().find(|l| l.contains("lunch?")).unwrap();
    // The image-path hint names cal's photo, kept beside the store, at this version.
    let path = from_cal
        .split('"')
        .find(|p| p.contains(&face.version) && p.ends_with(".jpg"))
        .unwrap_or_else(|| panic!("no face on the notification: {from_cal}"));
    assert!(from_cal.contains("image-path"), "{from_cal}");
    let jpeg = std::fs::read(path).expect("the face is a file");
    assert_eq!(
        image::guess_format(&jpeg).unwrap(),
        image::ImageFormat::Jpeg
    );
    // A notification from no one has no face.
    let from_nobody = lines.iter().find(|l| l.contains("Build failed")).unwrap();
    assert!(!from_nobody.contains("image-path"), "{from_nobody}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_away_from_real_x11_idle_time_restores_the_exact_earlier_status() {
    if !desktop_tools() {
        return;
    }
    let desktop = Desktop::start();
    let server = Server::start().await;
    server.policy(|p| p.idle_after = Span::seconds(2)).await;
    let store = store_path(desktop.home.as_path(), "client");
    login(&store, &server.url(), "bea@one.test", "laptop");
    desktop.xdotool(&["mousemove", "10", "10"]);
    // A status message that clears in an hour, set before stepping away. (A status chosen by
    // hand, such as Busy, outranks auto-away in the model and would not change at all.)
    cli_ok(
        &store,
        &[],
        &[
            "message",
            "Reviewing the release",
            "--emoji",
            "🚀",
            "--clear-after",
            "1h",
        ],
    );
    let before = server.seen(&server.bea).await.message.expect("message set");
    let env = [
        ("DBUS_SESSION_BUS_ADDRESS", desktop.bus_address.clone()),
        ("DISPLAY", desktop.display.clone()),
    ];
    let app = run(
        &store,
        &env,
        &[
            "--no-notifications",
            "--idle-report-after",
            "1s",
            "--idle-every",
            "300ms",
        ],
    );
    app.wait_for("auto-away on X11", |l| {
        l.contains("\"auto_away\"") && l.contains("x11")
    })
    .await;
    // Keep active while online, then stop touching anything.
    desktop.xdotool(&["mousemove", "20", "20"]);
    eventually("Away after the idle threshold", || async {
        server.seen(&server.bea).await.status.status == StatusId::AWAY
    })
    .await;
    // Activity: exactly what was there before, with its end time.
    desktop.xdotool(&["mousemove", "200", "200"]);
    eventually("Available again", || async {
        server.seen(&server.bea).await.status.status == StatusId::AVAILABLE
    })
    .await;
    let back = server.seen(&server.bea).await;
    assert_eq!(
        back.message,
        Some(before),
        "the same message, clearing at the same time"
    );
    drop(app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_display_auto_away_says_it_is_unavailable() {
    if !desktop_tools() {
        return;
    }
    let desktop = Desktop::start();
    let server = Server::start().await;
    let store = store_path(desktop.home.as_path(), "client");
    login(&store, &server.url(), "bea@one.test", "laptop");
    let env = [("DBUS_SESSION_BUS_ADDRESS", desktop.bus_address.clone())];
    let app = run(&store, &env, &["--no-notifications"]);
    app.wait_for("the unavailable state", |l| {
        l.contains("\"auto_away\"") && l.contains("unavailable")
    })
    .await;
    app.wait_for("still online", |l| l.contains("\"online\""))
        .await;
    drop(app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_in_a_burst_loses_nothing_and_duplicates_nothing() {
    if !desktop_tools() {
        return;
    }
    let desktop = Desktop::start();
    let server = Server::start().await;
    let store = store_path(desktop.home.as_path(), "client");
    login(&store, &server.url(), "bea@one.test", "laptop");
    let env = [("DBUS_SESSION_BUS_ADDRESS", desktop.bus_address.clone())];
    let mut app = run(&store, &env, &["--no-auto-away"]);
    app.wait_for("online", |l| l.contains("\"online\"")).await;
    const TOTAL: u64 = 300;
    let mut killed = false;
    for i in 1..=TOTAL {
        server.notify(&server.bea, &format!("burst {i}")).await;
        if i == 120 {
            app.kill9();
            killed = true;
        }
    }
    assert!(killed);
    let app = run(&store, &env, &["--no-auto-away"]);
    app.wait_for("online again", |l| l.contains("\"online\""))
        .await;
    let s = presently_client::store::Store::open(&store).await.unwrap();
    eventually("all in the center", || async {
        s.seqs().await.unwrap().len() as u64 >= TOTAL
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seqs = s.seqs().await.unwrap();
    assert_eq!(
        seqs,
        (1..=TOTAL).collect::<Vec<_>>(),
        "every notification exactly once"
    );
    drop(app);
}

/// `gdbus <command> --address <address> <args…>`; whether it succeeded.
fn gdbus(address: &str, args: &[&str]) -> bool {
    Command::new("gdbus")
        .arg(args[0])
        .args(["--address", address])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A private bus standing in for the system bus, with python-dbusmock's logind on it.
struct SystemBus {
    address: String,
    daemon: std::process::Child,
    logind: std::process::Child,
}

impl SystemBus {
    fn start() -> SystemBus {
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut address = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_string();
        let logind = Command::new("/usr/bin/python3")
            .args(["-m", "dbusmock", "--system", "-t", "logind"])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let bus = SystemBus {
            address,
            daemon,
            logind,
        };
        wait_until(
            Duration::from_secs(10),
            "logind on the private system bus",
            || {
                bus.gdbus(&[
                    "introspect",
                    "--dest",
                    "org.freedesktop.login1",
                    "--object-path",
                    "/org/freedesktop/login1",
                ])
            },
        );
        bus
    }

    /// `gdbus <args>` on this bus; whether it succeeded.
    fn gdbus(&self, args: &[&str]) -> bool {
        gdbus(&self.address, args)
    }

    /// A method call on logind's object at `path`.
    fn logind(&self, path: &str, method: &str, args: &[&str]) -> bool {
        let mut all = vec![
            "call",
            "--dest",
            "org.freedesktop.login1",
            "--object-path",
            path,
            "--method",
            method,
        ];
        all.extend_from_slice(args);
        self.gdbus(&all)
    }
}

impl Drop for SystemBus {
    fn drop(&mut self) {
        for c in [&mut self.logind, &mut self.daemon] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_reports_away_before_sleep_and_active_after_resume() {
    if !desktop_tools() {
        return;
    }
    let desktop = Desktop::start();
    let system = SystemBus::start();
    let emit = |going: bool| {
        system.logind(
            "/org/freedesktop/login1",
            "org.freedesktop.DBus.Mock.EmitSignal",
            &[
                "org.freedesktop.login1.Manager",
                "PrepareForSleep",
                "b",
                if going { "[<true>]" } else { "[<false>]" },
            ],
        )
    };
    let server = Server::start().await;
    let store = store_path(desktop.home.as_path(), "client");
    login(&store, &server.url(), "bea@one.test", "laptop");
    desktop.xdotool(&["mousemove", "5", "5"]);
    let env = [
        ("DBUS_SESSION_BUS_ADDRESS", desktop.bus_address.clone()),
        ("DBUS_SYSTEM_BUS_ADDRESS", system.address.clone()),
        ("DISPLAY", desktop.display.clone()),
    ];
    let app = run(&store, &env, &["--no-notifications"]);
    app.wait_for("online", |l| l.contains("\"online\"")).await;
    eventually("available", || async {
        server.seen(&server.bea).await.status.status == StatusId::AVAILABLE
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(emit(true));
    eventually("away before sleep", || async {
        server.seen(&server.bea).await.status.status == StatusId::AWAY
    })
    .await;
    desktop.xdotool(&["mousemove", "50", "50"]);
    assert!(emit(false));
    eventually("available after resume", || async {
        server.seen(&server.bea).await.status.status == StatusId::AVAILABLE
    })
    .await;
    drop(app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_lock_from_logind_or_a_screen_saver_is_away_at_once_and_back_on_unlock() {
    if !desktop_tools() {
        return;
    }
    let desktop = Desktop::start();
    let system = SystemBus::start();
    // The person's logind session, and GNOME's screen saver on the session bus.
    assert!(system.logind(
        "/org/freedesktop/login1",
        "org.freedesktop.DBus.Mock.AddSession",
        &["c7", "seat0", "1000", "person", "true"],
    ));
    let mut screensaver = Command::new("/usr/bin/python3")
        .args(["-m", "dbusmock", "--session", "-t", "gnome_screensaver"])
        .env("DBUS_SESSION_BUS_ADDRESS", &desktop.bus_address)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let session_bus = |args: &[&str]| gdbus(&desktop.bus_address, args);
    wait_until(
        Duration::from_secs(10),
        "the screen saver on the session bus",
        || {
            session_bus(&[
                "introspect",
                "--dest",
                "org.gnome.ScreenSaver",
                "--object-path",
                "/org/gnome/ScreenSaver",
            ])
        },
    );
    let server = Server::start().await;
    let store = store_path(desktop.home.as_path(), "client");
    login(&store, &server.url(), "bea@one.test", "laptop");
    desktop.xdotool(&["mousemove", "5", "5"]);
    let env = [
        ("DBUS_SESSION_BUS_ADDRESS", desktop.bus_address.clone()),
        ("DBUS_SYSTEM_BUS_ADDRESS", system.address.clone()),
        ("DISPLAY", desktop.display.clone()),
        ("XDG_SESSION_ID", "c7".to_string()),
    ];
    // Idle is reported after 30 s and the organisation's Away threshold is 5 minutes: within
    // this test only a lock can make the person Away.
    let app = run(&store, &env, &["--no-notifications"]);
    app.wait_for("online", |l| l.contains("\"online\"")).await;
    let available =
        || async { server.seen(&server.bea).await.status.status == StatusId::AVAILABLE };
    let away = || async { server.seen(&server.bea).await.status.status == StatusId::AWAY };
    eventually("available", available).await;
    // Listening starts as the app starts; give its match rules a moment to be in place.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let session = "/org/freedesktop/login1/session/c7";

    // logind asks the session to lock (loginctl lock-session), then to unlock.
    assert!(system.logind(session, "org.freedesktop.login1.Session.Lock", &[]));
    eventually("away on logind's Lock", away).await;
    assert!(system.logind(session, "org.freedesktop.login1.Session.Unlock", &[]));
    eventually("available on logind's Unlock", available).await;

    // The screen locker says it holds the screen: LockedHint.
    assert!(system.logind(
        session,
        "org.freedesktop.login1.Session.SetLockedHint",
        &["true"]
    ));
    eventually("away on LockedHint", away).await;
    assert!(system.logind(
        session,
        "org.freedesktop.login1.Session.SetLockedHint",
        &["false"]
    ));
    eventually("available when LockedHint clears", available).await;

    // GNOME's screen saver.
    let gnome = |on: &str| {
        session_bus(&[
            "call",
            "--dest",
            "org.gnome.ScreenSaver",
            "--object-path",
            "/org/gnome/ScreenSaver",
            "--method",
            "org.gnome.ScreenSaver.SetActive",
            on,
        ])
    };
    assert!(gnome("true"));
    eventually("away when the screen saver starts", away).await;
    assert!(gnome("false"));
    eventually("available when it stops", available).await;
    assert!(
        app.lines()
            .iter()
            .filter(|l| l.contains("\"locked\""))
            .count()
            >= 3,
        "each lock reported as locked:\n{}",
        app.lines().join("\n")
    );
    drop(app);
    let _ = screensaver.kill();
    let _ = screensaver.wait();
}
