//! The Windows builds (`x86_64-pc-windows-gnu`, run under Wine through
//! `scripts/windows/wine-run.sh`) with Linux ones, through real servers on loopback:
//! - `presently-cli.exe` against a Linux server: it signs in, its status and message are what
//!   the server stores and what a teammate's Linux client sees, and a notification sent while it
//!   is in Do not disturb waits in its missed-notification center;
//! - `presently-server.exe`, set up with its own `admin` commands on a database named by a
//!   Windows path (a drive letter and backslashes), serving Linux clients that see each other.
//!
//! `scripts/test.sh` builds both programs and names them in `PRESENTLY_WINDOWS_CLI` and
//! `PRESENTLY_WINDOWS_SERVER`.

mod support;

use presence::StatusId;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

/// A Windows program named by `var`, or why the test cannot run (fails in CI, skips elsewhere,
/// saying so).
fn windows_program(var: &str, what: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(exe) => Some(PathBuf::from(exe)),
        None => {
            let why = format!("{var} is not set: scripts/test.sh builds {what} for x86_64-pc-windows-gnu and sets it");
            if std::env::var_os("CI").is_some() {
                panic!("{why}");
            }
            eprintln!("skipped: {why}");
            None
        }
    }
}

fn windows_cli() -> Option<PathBuf> {
    windows_program("PRESENTLY_WINDOWS_CLI", "presently-cli.exe")
}

/// A Linux path as the Windows program sees it under Wine (drive Z: is the Linux root).
fn windows_path(p: &Path) -> String {
    format!("Z:{}", p.display()).replace('/', "\\")
}

fn wine_command(exe: &Path) -> Command {
    let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/windows/wine-run.sh");
    let mut command = Command::new(runner);
    command.arg(exe);
    command
}

/// Runs a Windows program under Wine to its end; stdout, or a panic with what it said.
fn wine_ok(exe: &Path, args: &[&str]) -> String {
    let out = wine_command(exe)
        .args(args)
        .output()
        .expect("wine-run.sh runs");
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}{}",
        exe.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the Windows CLI under Wine with its store.
fn wine(exe: &Path, store: &Path, args: &[&str]) -> String {
    let store = windows_path(store);
    let mut all = vec!["--store", store.as_str()];
    all.extend_from_slice(args);
    wine_ok(exe, &all)
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

    // A teammate on the Linux client, connected before the change, sees it.
    let cal_store = dir.path().join("cal.db");
    login(&cal_store, &url, "cal@one.test", "linux-desktop");
    let cal = run(&cal_store, &[], &[]);
    cal.wait_for("the Linux client's first team view", |l| {
        l.contains("\"team\"")
    })
    .await;

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
    cal.wait_for("the Windows CLI's message on the Linux client", |l| {
        l.contains("On the Windows build")
    })
    .await;

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

/// The server built for Windows, run under Wine, until dropped.
struct WindowsServer(std::process::Child);

impl Drop for WindowsServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_windows_server_set_up_with_its_own_commands_serves_linux_clients() {
    let Some(exe) = windows_program("PRESENTLY_WINDOWS_SERVER", "presently-server.exe") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("server.db");
    // As the default on Windows reads: a drive letter and backslashes.
    let database_url = format!("sqlite://{}", windows_path(&db));

    let (e, u) = (exe.clone(), database_url.clone());
    tokio::task::spawn_blocking(move || {
        let said = wine_ok(
            &e,
            &[
                "--database-url",
                &u,
                "admin",
                "init",
                "--org",
                "One",
                "--email",
                "bea@one.test",
                "--name",
                "Bea",
                "--team",
                "Support",
                "--password",
                PASSWORD,
            ],
        );
        let team = said
            .lines()
            .find_map(|l| l.trim().strip_prefix("team"))
            .and_then(|l| {
                l.rsplit_once('(')
                    .map(|(_, id)| id.trim_end_matches(')').to_string())
            })
            .unwrap_or_else(|| panic!("admin init names the team: {said}"));
        wine_ok(
            &e,
            &[
                "--database-url",
                &u,
                "admin",
                "create-user",
                "--org",
                "One",
                "--email",
                "cal@one.test",
                "--name",
                "Cal",
                "--password",
                PASSWORD,
                "--team",
                &team,
            ],
        );
    })
    .await
    .unwrap();
    assert!(
        db.exists(),
        "the database is where the Windows path names it, not under a host named Z: {}",
        db.display()
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let _server = WindowsServer(
        wine_command(&exe)
            .args(["--database-url", &database_url, "--listen", &listen])
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("the Windows server starts under Wine"),
    );
    let url = format!("http://{listen}");
    let health = format!("{url}/healthz");
    eventually("the Windows server answering /healthz", || {
        let health = health.clone();
        async move {
            reqwest::get(&health)
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;

    // Bea on two Linux devices (one connected, one making changes), Cal on a third.
    let bea_desktop = dir.path().join("bea-desktop.db");
    let bea_store = dir.path().join("bea.db");
    let cal_store = dir.path().join("cal.db");
    login(&bea_desktop, &url, "bea@one.test", "linux-desktop");
    login(&bea_store, &url, "bea@one.test", "linux-laptop");
    login(&cal_store, &url, "cal@one.test", "linux-desktop");
    let bea = run(&bea_desktop, &[], &[]);
    bea.wait_for("Bea's connected device", |l| l.contains("\"self_view\""))
        .await;
    let cal = run(&cal_store, &[], &[]);
    cal.wait_for("Cal's team view, with Bea in it", |l| {
        l.contains("\"team\"") && l.contains("Bea")
    })
    .await;
    cli_ok(&bea_store, &[], &["set", "busy"]);
    cli_ok(&bea_store, &[], &["message", "Served from Windows"]);
    cal.wait_for(
        "Bea Busy with her message, served by the Windows server",
        |l| l.contains("Served from Windows") && l.contains("\"busy\""),
    )
    .await;
    let status = cli_ok(&bea_store, &[], &["status"]);
    assert!(
        status.starts_with("Busy") && status.contains("Served from Windows"),
        "{status}"
    );
}
