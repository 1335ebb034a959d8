//! A real `presently-cli run` against a real server, through what happens to a laptop: a sleep
//! longer than its device lease (the process stopped with SIGSTOP, then continued), a clock set
//! back (libfaketime), a reinstall, and two machines. In each the person comes back by
//! themselves, within seconds, without a restart.
#![cfg(target_os = "linux")]

mod support;

use presence::{Span, StatusId};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// A short device lease for the organisation: the server asks for a heartbeat every third of it.
async fn lease(server: &Server, secs: i64) {
    server
        .policy(|p| p.device_lease = Span::seconds(secs))
        .await;
}

async fn status(server: &Server) -> StatusId {
    server.seen(&server.bea).await.status.status
}

fn signal(run: &CliRun, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &run.child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{name}");
}

/// `presently-cli login` without `--device`: the installation's own id, printed.
fn login_installation(store: &Path, server: &str) -> String {
    let out = Command::new(cli())
        .arg("--store")
        .arg(store)
        .args(["login", "--server", server, "--email", "bea@one.test"])
        .args(["--password", PASSWORD])
        .output()
        .expect("presently-cli runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let id = text
        .split("(device ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("the device id in {text:?}"));
    id.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_stopped_past_its_lease_is_back_within_seconds_of_continuing() {
    let server = Server::start().await;
    lease(&server, 6).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_path(dir.path(), "laptop");
    login(&store, &server.url(), "bea@one.test", "laptop");
    let app = run(&store, &[], &["--no-notifications", "--no-auto-away"]);
    app.wait_for("online", |l| l.contains("\"online\"")).await;
    eventually("available", || async {
        status(&server).await == StatusId::AVAILABLE
    })
    .await;
    // Ten seconds of heartbeats at the pace the server asked for (2 s for a 6 s lease): never
    // Offline while the process runs, though 30 s is the client's own default.
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        assert_eq!(
            status(&server).await,
            StatusId::AVAILABLE,
            "a live device lapsed"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // The lid closes: nothing runs, nothing is sent, and after the lease the person is Offline.
    signal(&app, "STOP");
    eventually("offline while stopped", || async {
        status(&server).await == StatusId::OFFLINE
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(status(&server).await, StatusId::OFFLINE);

    // The lid opens: Available again by itself.
    signal(&app, "CONT");
    let woke = Instant::now();
    eventually("available after waking", || async {
        status(&server).await == StatusId::AVAILABLE
    })
    .await;
    eprintln!("back {} ms after SIGCONT", woke.elapsed().as_millis());
    drop(app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_set_back_an_hour_still_reports_the_device() {
    if !require("faketime") {
        return;
    }
    let server = Server::start().await;
    lease(&server, 6).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_path(dir.path(), "laptop");
    login(&store, &server.url(), "bea@one.test", "laptop");
    let first = run(&store, &[], &["--no-notifications", "--no-auto-away"]);
    eventually("available", || async {
        status(&server).await == StatusId::AVAILABLE
    })
    .await;
    drop(first);
    eventually("offline once the app has stopped", || async {
        status(&server).await == StatusId::OFFLINE
    })
    .await;

    // The same installation started again with its clock an hour behind: its reports' sequence
    // numbers (taken from the clock) are below the last one the server applied. The server says
    // so and the device reports again above it.
    let behind = [
        ("LD_PRELOAD", FAKETIME.to_string()),
        ("FAKETIME", "-1h".to_string()),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1".to_string()),
    ];
    let again = run(&store, &behind, &["--no-notifications", "--no-auto-away"]);
    again.wait_for("online", |l| l.contains("\"online\"")).await;
    eventually("available with the clock behind", || async {
        status(&server).await == StatusId::AVAILABLE
    })
    .await;
    drop(again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinstall_and_a_second_machine_are_devices_of_their_own() {
    let server = Server::start().await;
    lease(&server, 6).await;
    let dir = tempfile::tempdir().unwrap();
    let first_install = store_path(dir.path(), "first");
    let first = login_installation(&first_install, &server.url());
    let app = run(
        &first_install,
        &[],
        &["--no-notifications", "--no-auto-away"],
    );
    eventually("available", || async {
        status(&server).await == StatusId::AVAILABLE
    })
    .await;
    drop(app);
    eventually("offline", || async {
        status(&server).await == StatusId::OFFLINE
    })
    .await;

    // Reinstalled: the store (and the id in it) is gone; the new installation makes its own.
    std::fs::remove_file(&first_install).unwrap();
    let reinstalled = store_path(dir.path(), "reinstalled");
    let second = login_installation(&reinstalled, &server.url());
    assert_ne!(first, second, "a reinstall is a new device");
    assert!(second.starts_with("desktop-"), "{second}");
    let app = run(&reinstalled, &[], &["--no-notifications", "--no-auto-away"]);
    eventually("available after the reinstall", || async {
        status(&server).await == StatusId::AVAILABLE
    })
    .await;

    // A second machine signed in to the same account: a third id. Closing one leaves the
    // person Available on the other (with one shared id, closing one would sign out both).
    let other_machine = store_path(dir.path(), "other");
    let third = login_installation(&other_machine, &server.url());
    assert!(
        third != first && third != second,
        "{first} {second} {third}"
    );
    let other = run(
        &other_machine,
        &[],
        &["--no-notifications", "--no-auto-away"],
    );
    other.wait_for("online", |l| l.contains("\"online\"")).await;
    drop(app);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        status(&server).await,
        StatusId::AVAILABLE,
        "the other machine still counts"
    );
    drop(other);
    eventually("offline when both have stopped", || async {
        status(&server).await == StatusId::OFFLINE
    })
    .await;
}
