//! The desktop's own Do not disturb, both ways, with GNOME's real setting: `gsettings` on the
//! keyfile backend in a private config directory (a GNOME session reads the same key through
//! dconf), the real `presently-cli run` and a real server. The desktop's banners off → the
//! person is Do not disturb for teammates, and back when they come on; Presently's Do not
//! disturb (set on another device) → the desktop's banners off, and on again after.
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

    fn env(&self) -> [(&'static str, String); 2] {
        [
            ("GSETTINGS_BACKEND", "keyfile".into()),
            ("XDG_CONFIG_HOME", self.0.path().display().to_string()),
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
