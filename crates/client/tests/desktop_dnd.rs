//! The desktop's own Do not disturb, both ways, with the real `presently-cli run` and a real
//! server.
//! - GNOME's real setting: `gsettings` on the keyfile backend in a private config directory (a
//!   GNOME session reads the same key through dconf). The desktop's banners off → the person is
//!   Do not disturb for teammates, and back when they come on; Presently's Do not disturb (set
//!   on another device) → the desktop's banners off, and on again after.
//! - KDE Plasma's notification inhibition, on a private session bus with a notification server
//!   that has Plasma's `Inhibited` / `Inhibit` / `UnInhibit` (python-dbusmock with
//!   `dbusmock/kde_notifications.py`; plasmashell itself cannot run headless here).
#![cfg(target_os = "linux")]

mod support;

use presence::{Change, StatusId};
use std::process::Command;
use support::*;

struct Gsettings(tempfile::TempDir);

impl Gsettings {
    fn new() -> Gsettings {
        Gsettings(tempfile::tempdir().unwrap())
    }

    fn env(&self) -> [(&'static str, String); 3] {
        [
            ("GSETTINGS_BACKEND", "keyfile".into()),
            ("XDG_CONFIG_HOME", self.0.path().display().to_string()),
            // No session bus: a notification server of the test's own session is not taken
            // for KDE's.
            ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent".into()),
        ]
    }

    fn command(&self) -> Command {
        let mut c = Command::new("gsettings");
        c.envs(self.env());
        c
    }

    fn banners(&self) -> String {
        let out = self
            .command()
            .args(["get", "org.gnome.desktop.notifications", "show-banners"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn set_banners(&self, on: bool) {
        let status = self
            .command()
            .args([
                "set",
                "org.gnome.desktop.notifications",
                "show-banners",
                if on { "true" } else { "false" },
            ])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktops_do_not_disturb_and_presentlys_follow_each_other() {
    if !require("gsettings") {
        return;
    }
    let g = Gsettings::new();
    assert_eq!(g.banners(), "true", "GNOME's schema is installed");
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_path(dir.path(), "laptop");
    login(&store, &server.url(), "bea@one.test", "laptop");
    let app = run(
        &store,
        &g.env(),
        &[
            "--no-notifications",
            "--no-auto-away",
            "--no-call-detection",
            "--desktop-dnd-every",
            "200ms",
        ],
    );
    app.wait_for("following GNOME", |l| {
        l.contains("\"desktop_dnd\"") && l.contains("gnome")
    })
    .await;
    let status = || async { server.seen(&server.bea).await.status.status };
    eventually("available", || async {
        status().await == StatusId::AVAILABLE
    })
    .await;

    // The desktop's Do not disturb on: Presently follows, and teammates see it.
    g.set_banners(false);
    eventually("do not disturb", || async {
        status().await == StatusId::DND
    })
    .await;
    // Off again: back to what was there.
    g.set_banners(true);
    eventually("available again", || async {
        status().await == StatusId::AVAILABLE
    })
    .await;

    // Presently's Do not disturb from another device: the desktop's banners go off, and come
    // back when it ends.
    server
        .app()
        .mutate(&server.bea, None, |p, rules, now| {
            Ok(p.apply(rules, now, Change::do_not_disturb(None))?)
        })
        .await
        .unwrap();
    eventually("the desktop's banners off", || async {
        g.banners() == "false"
    })
    .await;
    assert_eq!(status().await, StatusId::DND);
    server
        .app()
        .mutate(&server.bea, None, |p, rules, now| {
            Ok(p.apply(
                rules,
                now,
                Change::SetStatus {
                    status: StatusId::AVAILABLE,
                    until: None,
                },
            )?)
        })
        .await
        .unwrap();
    eventually("the desktop's banners on again", || async {
        g.banners() == "true"
    })
    .await;
    // And that was not taken for the person turning the desktop's Do not disturb off and on.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(status().await, StatusId::AVAILABLE);
}

/// A notification server with KDE Plasma's inhibition on the desktop's bus.
struct Plasma {
    bus: String,
    daemon: std::process::Child,
}

impl Plasma {
    fn start(desktop: &test_support::Desktop) -> Plasma {
        let template = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/dbusmock/kde_notifications.py"
        );
        let daemon = Command::new("/usr/bin/python3")
            .args(["-m", "dbusmock", "--session", "-t", template])
            .env("DBUS_SESSION_BUS_ADDRESS", &desktop.bus_address)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("python3-dbusmock starts");
        let plasma = Plasma {
            bus: desktop.bus_address.clone(),
            daemon,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while plasma
            .call("org.freedesktop.DBus.Mock.Inhibitions", &[])
            .is_none()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the notification server is on the bus"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        plasma
    }

    fn call(&self, method: &str, args: &[&str]) -> Option<String> {
        let out = Command::new("gdbus")
            .args(["call", "--address", &self.bus])
            .args(["--dest", "org.freedesktop.Notifications"])
            .args(["--object-path", "/org/freedesktop/Notifications"])
            .args(["--method", method])
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// The person's switch in Plasma's tray.
    fn set_dnd(&self, on: bool) {
        let arg = if on { "true" } else { "false" };
        assert!(self
            .call("org.freedesktop.DBus.Mock.SetDoNotDisturb", &[arg])
            .is_some());
    }

    fn inhibited(&self) -> bool {
        self.call(
            "org.freedesktop.DBus.Properties.Get",
            &["org.freedesktop.Notifications", "Inhibited"],
        )
        .is_some_and(|v| v.contains("true"))
    }

    /// How many inhibitions applications hold.
    fn inhibitions(&self) -> u32 {
        let out = self
            .call("org.freedesktop.DBus.Mock.Inhibitions", &[])
            .unwrap_or_default();
        out.trim_start_matches("(uint32 ")
            .trim_end_matches(",)")
            .parse()
            .unwrap_or(u32::MAX)
    }
}

impl Drop for Plasma {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kdes_notification_inhibition_and_presentlys_do_not_disturb_follow_each_other() {
    if !(require("dbusmock") && require("gdbus") && require("Xvfb") && require("dbus-daemon")) {
        return;
    }
    let desktop = test_support::Desktop::start();
    let plasma = Plasma::start(&desktop);
    assert!(!plasma.inhibited());
    let server = Server::start().await;
    let store = store_path(desktop.home.as_path(), "laptop");
    login(&store, &server.url(), "bea@one.test", "laptop");
    let env = [
        ("DBUS_SESSION_BUS_ADDRESS", desktop.bus_address.clone()),
        // GNOME's schema readable too, as on many KDE desktops: KDE's switch is the one used.
        ("GSETTINGS_BACKEND", "memory".to_string()),
    ];
    let app = run(
        &store,
        &env,
        &[
            "--no-notifications",
            "--no-auto-away",
            "--no-call-detection",
            "--desktop-dnd-every",
            "200ms",
        ],
    );
    app.wait_for("following KDE", |l| {
        l.contains("\"desktop_dnd\"") && l.contains("\"kde\"")
    })
    .await;
    let status = || async { server.seen(&server.bea).await.status.status };
    eventually("available", || async {
        status().await == StatusId::AVAILABLE
    })
    .await;

    // Do not disturb from Plasma's tray: Presently follows, teammates see it; off: back.
    plasma.set_dnd(true);
    eventually("do not disturb", || async {
        status().await == StatusId::DND
    })
    .await;
    assert_eq!(
        plasma.inhibitions(),
        0,
        "the person's own switch is not Presently's to hold"
    );
    plasma.set_dnd(false);
    eventually("available again", || async {
        status().await == StatusId::AVAILABLE
    })
    .await;

    // Presently's Do not disturb from another device: Presently holds an inhibition, and
    // releases it when Do not disturb ends.
    let set = |change: Change| {
        let server = &server;
        async move {
            server
                .app()
                .mutate(&server.bea, None, |p, rules, now| {
                    Ok(p.apply(rules, now, change.clone())?)
                })
                .await
                .unwrap();
        }
    };
    let available = || Change::SetStatus {
        status: StatusId::AVAILABLE,
        until: None,
    };
    set(Change::do_not_disturb(None)).await;
    eventually("the desktop's notifications inhibited", || async {
        plasma.inhibited() && plasma.inhibitions() == 1
    })
    .await;
    set(available()).await;
    eventually("the inhibition released", || async {
        !plasma.inhibited() && plasma.inhibitions() == 0
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(
        status().await,
        StatusId::AVAILABLE,
        "Presently's own inhibition is not followed back"
    );

    // Inhibited by Presently, then the person turns Plasma's Do not disturb off by hand (which
    // clears every inhibition): left so, and Presently's Do not disturb stays as it is.
    set(Change::do_not_disturb(None)).await;
    eventually("inhibited again", || async { plasma.inhibitions() == 1 }).await;
    plasma.set_dnd(false);
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert_eq!(
        plasma.inhibitions(),
        0,
        "the person's hand is not overruled"
    );
    assert_eq!(status().await, StatusId::DND);
    // Presently's Do not disturb ends and comes back: the desktop is quieted again.
    set(available()).await;
    eventually("available", || async {
        status().await == StatusId::AVAILABLE
    })
    .await;
    set(Change::do_not_disturb(None)).await;
    eventually("inhibited once more", || async {
        plasma.inhibitions() == 1
    })
    .await;
}
