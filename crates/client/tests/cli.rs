//! `presently-cli` for scripts, against a real server on loopback: `status` prints and sets
//! (over REST, at once), `team` lists teammates with their status, both also as JSON, and a
//! reader that stops early (`| head`) ends the output without a panic.

mod support;

use presence::StatusId;
use std::io::Read;
use std::process::{Command, Stdio};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_prints_and_sets_its_status_and_lists_its_team() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_path(dir.path(), "script");
    let url = server.url();
    let login_store = store.clone();
    tokio::task::spawn_blocking(move || login(&login_store, &url, "bea@one.test", "script"))
        .await
        .unwrap();
    let cli = |args: &'static [&'static str]| {
        let store = store.clone();
        tokio::task::spawn_blocking(move || cli_ok(&store, &[], args))
    };

    // Bea's desktop is online (a script sets the status of someone at work: with no device of
    // theirs online, they are shown Offline whatever they chose).
    let laptop_token = server.token(&server.bea, "laptop").await;
    let laptop_store = presently_client::store::Store::open(&dir.path().join("laptop.db"))
        .await
        .unwrap();
    let (laptop, _task) = presently_client::sync::spawn(
        laptop_store,
        std::sync::Arc::new(presently_client::notifier::Recorder::default()),
        presently_client::sync::Options::new(
            &server.endpoint(),
            &laptop_token,
            presence::DeviceId::parse("laptop").unwrap(),
        ),
    );
    eventually("bea online", || async {
        server.seen(&server.bea).await.status.status == StatusId::AVAILABLE
    })
    .await;

    // Busy for an hour: set at once (no `run` needed), and printed.
    let out = cli(&["status", "busy", "--for", "1h"]).await.unwrap();
    assert_eq!(out.lines().next(), Some("Busy"), "{out}");
    assert_eq!(server.seen(&server.bea).await.status.status, StatusId::BUSY);
    assert!(
        server.seen(&server.bea).await.status.until.is_some(),
        "it ends by itself"
    );
    let out = cli(&["status", "--json"]).await.unwrap();
    let me: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(me["view"]["status"]["status"], "busy", "{out}");

    // The team: cal, Offline (no device of cal's is connected), as text and as JSON.
    let out = cli(&["team"]).await.unwrap();
    assert!(
        out.lines()
            .any(|l| l.starts_with("Cal") && l.contains("Offline")),
        "{out}"
    );
    let out = cli(&["team", "--json"]).await.unwrap();
    let team: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(team["members"][0]["user"], server.cal.as_str(), "{out}");

    // A status that is not there: the server's words, and a failure exit.
    let store2 = store.clone();
    let refused = tokio::task::spawn_blocking(move || {
        Command::new(support::cli())
            .arg("--store")
            .arg(&store2)
            .args(["status", "nonsense"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("nonsense"), "{said}");

    // A reader that closes at once: no panic, success.
    let store3 = store.clone();
    let status = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(support::cli())
            .arg("--store")
            .arg(&store3)
            .args(["team", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (child.wait().unwrap(), err)
    })
    .await
    .unwrap();
    assert!(status.0.success(), "{}", status.1);
    assert!(!status.1.contains("panicked"), "{}", status.1);
    laptop.stop();
}
