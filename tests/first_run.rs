//! The first run, through the real window (WebDriver: tauri-driver in front of WebKitWebDriver)
//! and a real server: started with nothing configured, the app shows the sign-in screen; an
//! address with nothing listening, a certificate from a CA the app does not trust and a wrong
//! password each show their words in place; the right one connects without a restart (the person is
//! Available to the server), the server's published update shows in the window and the tray;
//! About names both versions; Sign out revokes the device on the server and the next start is the
//! sign-in screen again, where an invite code signs a new person in.
//!
//! With `PRESENTLY_SCREENSHOTS=<dir>` it also saves the sign-in screen there (the README's;
//! `scripts/screenshots.sh` does).
#![cfg(target_os = "linux")]

mod support;

use presence::StatusId;
use std::time::Duration;
use support::{require, Desktop, TauriDriver, TestServer, Tray, PASSWORD};
use tokio::task::block_in_place;

const APP: &str = env!("CARGO_BIN_EXE_presently");

async fn until_status(ts: &TestServer, user: &presence::UserId, want: StatusId) {
    for _ in 0..150 {
        if ts.status_of(user).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(ts.status_of(user).await, want, "{user:?} on the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_run_signs_in_on_a_screen_shows_updates_and_signs_out() {
    if !["Xvfb", "dbus-daemon", "tauri-driver", "WebKitWebDriver"]
        .iter()
        .all(|t| require(t))
    {
        return;
    }
    let ts = TestServer::start().await;
    *ts.running.app.release.write().unwrap() = Some(protocol::rest::AppRelease {
        version: "99.0.0".into(),
        url: "https://presently.example.test/download".into(),
        notes: Some("A test release.".into()),
    });
    let desktop = Desktop::start();
    let store = desktop.home.join("client.db");
    let driver = TauriDriver::start(&desktop, &store, &[]);
    let d = driver.session(APP).await;

    // Nothing configured: the sign-in screen, not the main window.
    assert_eq!(
        d.wait_text("#signin-heading", "Welcome to Presently").await,
        "Welcome to Presently"
    );
    if let Ok(dir) = std::env::var("PRESENTLY_SCREENSHOTS") {
        // The desktop's own capture: WebKitWebDriver's screenshot hangs with a CPU-drawn view.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let path = std::path::Path::new(&dir).join("first-run.png");
        block_in_place(|| desktop.screenshot(&path));
    }

    // Nothing listening at the address: the network error, in words.
    let nothing = format!("http://127.0.0.1:{}", support::free_port());
    d.type_into("input[aria-label=\"Server address\"]", &nothing)
        .await;
    d.type_into("input[aria-label=\"Email\"]", "bea@one.test")
        .await;
    d.type_into("input[aria-label=\"Password\"]", PASSWORD)
        .await;
    d.click("button.primary").await;
    let error = d
        .wait_text("[data-testid=\"signin-error\"]", "cannot reach the server")
        .await;
    assert!(error.contains(&nothing), "{error}");
    // A server whose certificate comes from a CA this app does not trust: said so.
    let ca = test_support::tls::TestCa::new(&desktop.home, "company");
    let issued = ca.issue(
        &desktop.home,
        "server",
        &["localhost"],
        test_support::tls::Validity::Current,
    );
    let untrusted = TestServer::start_tls(&issued.cert_file, &issued.key_file).await;
    d.type_into("input[aria-label=\"Server address\"]", &untrusted.url())
        .await;
    d.click("button.primary").await;
    let error = d
        .wait_text("[data-testid=\"signin-error\"]", "cannot connect securely")
        .await;
    assert!(error.contains("certificate"), "{error}");

    // A wrong password: the server's words, in place; nothing else changes.
    d.type_into("input[aria-label=\"Server address\"]", &ts.url())
        .await;
    d.type_into("input[aria-label=\"Password\"]", "not the password")
        .await;
    d.click("button.primary").await;
    let error = d
        .wait_text("[data-testid=\"signin-error\"]", "wrong email or password")
        .await;
    assert!(error.contains("wrong email or password"), "{error}");
    assert_eq!(ts.bea_status().await, StatusId::OFFLINE);

    // The right one: connected at once, no restart (the same WebDriver session sees it).
    d.type_into("input[aria-label=\"Password\"]", PASSWORD)
        .await;
    d.click("button.primary").await;
    until_status(&ts, &ts.bea, StatusId::AVAILABLE).await;
    assert_eq!(
        d.wait_text("[data-testid=\"my-status\"]", "Available")
            .await,
        "Available"
    );
    // The server publishes a newer app: the window and the tray say so.
    let banner = d
        .wait_text("[data-testid=\"update-banner\"]", "99.0.0")
        .await;
    assert!(banner.contains("Presently 99.0.0 is available"), "{banner}");
    let bus = desktop.bus();
    let tray = block_in_place(|| Tray::find(&bus, Duration::from_secs(30))).expect("the tray");
    let has_update = || {
        block_in_place(|| {
            tray.layout(&bus)
                .flatten()
                .iter()
                .any(|e| e.label == "Update available: Presently 99.0.0…")
        })
    };
    test_support::wait_until(
        Duration::from_secs(15),
        "the tray's update item",
        has_update,
    );

    // About: both versions. Sign out: the server revokes this device.
    d.click("header button.settings-button[aria-expanded]")
        .await;
    let version = d
        .wait_text("[data-testid=\"app-version\"]", env!("CARGO_PKG_VERSION"))
        .await;
    assert!(version.contains(&format!("protocol {}", protocol::PROTOCOL_VERSION)));
    let server = d
        .wait_text("[data-testid=\"about-server\"]", "version")
        .await;
    assert!(server.contains(env!("CARGO_PKG_VERSION")), "{server}");
    let signed_in = ts
        .running
        .app
        .devices(&ts.org, Some(&ts.bea))
        .await
        .unwrap();
    assert_eq!(signed_in.len(), 1, "one device signed in");
    d.click("[data-testid=\"sign-out\"]").await;
    until_status(&ts, &ts.bea, StatusId::OFFLINE).await;
    for _ in 0..100 {
        if ts
            .running
            .app
            .devices(&ts.org, Some(&ts.bea))
            .await
            .unwrap()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        ts.running
            .app
            .devices(&ts.org, Some(&ts.bea))
            .await
            .unwrap()
            .is_empty(),
        "the device is signed out on the server"
    );
    d.quit().await;

    // The app restarted itself at the sign-in screen; quit it from its tray, then a new start
    // is the sign-in screen too, where an invite code makes a new person and signs them in.
    let tray = block_in_place(|| Tray::find(&bus, Duration::from_secs(60))).expect("the tray");
    block_in_place(|| tray.click_label(&bus, "Quit"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let made = ts
        .running
        .app
        .invite(
            &presently_server::app::Actor::command_line(),
            &ts.org,
            protocol::rest::CreateInvite {
                email: "dee@one.test".into(),
                name: Some("Dee".into()),
                role: protocol::rest::Role::Member,
                teams: vec![],
                expires_in_hours: None,
            },
        )
        .await
        .unwrap();
    let d = driver.session(APP).await;
    d.wait_text("#signin-heading", "Welcome to Presently").await;
    // The tabs: email and password, invite code, single sign-on.
    d.click("[role=\"tab\"]:nth-of-type(2)").await;
    d.type_into("input[aria-label=\"Server address\"]", &ts.url())
        .await;
    d.type_into("input[aria-label=\"Invite code\"]", &made.code)
        .await;
    d.type_into("input[aria-label=\"New password\"]", "dee's own password")
        .await;
    d.click("button.primary").await;
    assert_eq!(
        d.wait_text("[data-testid=\"my-status\"]", "Available")
            .await,
        "Available"
    );
    let dee = ts
        .running
        .app
        .db
        .user_by_email("dee@one.test")
        .await
        .unwrap()
        .expect("the invite made the account");
    let dee = presence::UserId::parse(dee.id).unwrap();
    until_status(&ts, &dee, StatusId::AVAILABLE).await;
    d.quit().await;
}
