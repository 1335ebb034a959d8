//! The Windows build of `presently-cli` (`x86_64-pc-windows-gnu`, run under Wine through
//! `scripts/windows/wine-run.sh`) against a real Linux server on loopback: it signs in, its status
//! and message are what the server stores, and a notification sent while it is in Do not disturb
//! waits in its missed-notification center. `scripts/test.sh` builds the program and names it in
//! `PRESENTLY_WINDOWS_CLI`.

mod support;

use presence::StatusId;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

/// The Windows CLI, or why the test cannot run (fails in CI, skips elsewhere, saying so).
fn windows_cli() -> Option<PathBuf> {
    match std::env::var_os("PRESENTLY_WINDOWS_CLI") {
        Some(exe) => Some(PathBuf::from(exe)),
        None => {
            let why = "PRESENTLY_WINDOWS_CLI is not set: scripts/test.sh builds presently-cli.exe for x86_64-pc-windows-gnu and sets it";
            if std::env::var_os("CI").is_some() {
                panic!("{why}");
            }
            eprintln!("skipped: {why}");
            None
        }
    }
}

/// A Linux path as the Windows program sees it under Wine (drive Z: is the Linux root).
fn windows_path(p: &Path) -> String {
    format!("Z:{}", p.display()).replace('/', "\\")
}

/// Runs the Windows CLI under Wine with its store; stdout, or a panic with what it said.
fn wine(exe: &Path, store: &Path, args: &[&str]) -> String {
    let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/windows/wine-run.sh");
    let out = Command::new(runner)
        .arg(exe)
        .arg("--store")
        .arg(windows_path(store))
        .args(args)
        .output()
        .expect("wine-run.sh runs");
    assert!(
        out.status.success(),
        "presently-cli.exe {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_windows_cli_signs_in_changes_presence_and_keeps_a_missed_notification() {
    let Some(exe) = windows_cli() else { return };
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("client.db");
    let url = server.url();

    let (e, s, u) = (exe.clone(), store.clone(), url.clone());
    let said = tokio::task::spawn_blocking(move || {
        wine(
            &e,
            &s,
            &[
                "login",
                "--server",
                &u,
                "--email",
                "bea@one.test",
                "--password",
                PASSWORD,
                "--device",
                "windows-laptop",
            ],
        )
    })
    .await
    .unwrap();
    assert!(said.contains("signed in"), "{said}");

    let (e, s) = (exe.clone(), store.clone());
    tokio::task::spawn_blocking(move || {
        wine(&e, &s, &["set", "busy"]);
        wine(&e, &s, &["message", "On the Windows build"]);
    })
    .await
    .unwrap();
    let slot = server.app().slot(&server.bea).unwrap();
    let person = server.app().person(&slot).await;
    assert!(
        person.claims().iter().any(|c| c.status == StatusId::BUSY),
        "the server holds the Windows CLI's Busy: {:?}",
        person.claims()
    );
    let seen = server.seen(&server.bea).await;
    assert_eq!(
        seen.message.map(|m| m.text.to_string()).as_deref(),
        Some("On the Windows build")
    );

    // In Do not disturb, a notification is held, and the Windows CLI's center has it as missed.
    let (e, s) = (exe.clone(), store.clone());
    tokio::task::spawn_blocking(move || wine(&e, &s, &["dnd", "30m"]))
        .await
        .unwrap();
    server.notify(&server.bea, "Held for Windows").await;
    let (e, s) = (exe.clone(), store.clone());
    let missed = tokio::task::spawn_blocking(move || wine(&e, &s, &["missed"]))
        .await
        .unwrap();
    assert!(
        missed
            .lines()
            .any(|l| l.contains("missed") && l.contains("Held for Windows")),
        "{missed}"
    );
}
