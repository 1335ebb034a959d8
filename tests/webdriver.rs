//! The real window through WebDriver (tauri-driver in front of WebKitWebDriver), connected to a
//! real server: open the status dropdown, choose Busy, and a second client (a teammate's client
//! core over WebSocket, and the teammate's REST view) sees Busy; the window's own label follows.
//! Then Do not disturb from the tray menu shows in the window, and a status set on another of
//! the person's devices reaches the window and the tray icon; the tray's message and center items
//! put the keyboard focus where they say. The directory's results stay live: someone in no team
//! with the person, found there, changes status and the row follows without a new search.
// A Linux desktop (Xvfb, a session bus, an XDG notification daemon) is what these drive.
#![cfg(target_os = "linux")]

mod support;

use presence::{Change, DeviceId, StatusId, UserId};
use presently_client::notifier::Recorder;
use presently_client::store::Store;
use presently_client::sync::{self, Event, Options, SyncHandle};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{require, Desktop, TauriDriver, TestServer, Tray, PASSWORD};
use test_support::webdriver::settle;
use tokio::task::block_in_place;

const APP: &str = env!("CARGO_BIN_EXE_presently");

/// A desktop client core (the app's own sync engine) for another device, on its own store.
async fn client(server: &str, token: &str, device: &str, dir: &std::path::Path) -> SyncHandle {
    let store = Store::open(&dir.join(format!("{device}.db")))
        .await
        .expect("store opens");
    let server =
        presently_client::server::Server::new(server, &presently_client::server::Trust::default())
            .expect("a loopback address");
    let options = Options::new(&server, token, DeviceId::parse(device).unwrap());
    sync::spawn(store, Arc::new(Recorder::default()), options).0
}

/// Waits for the client to see `user` with `status` (in a team snapshot or a delta).
async fn sees(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    user: &UserId,
    status: StatusId,
) {
    let wait = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let seen = match events.recv().await {
                Ok(Event::Team { members }) => members
                    .iter()
                    .any(|m| &m.user == user && m.view.status.status == status),
                Ok(Event::Delta { user: u, view }) => &u == user && view.status.status == status,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => false,
                Err(e) => panic!("the client's events ended: {e}"),
            };
            if seen {
                return;
            }
        }
    });
    wait.await
        .unwrap_or_else(|_| panic!("the second client sees {user:?} as {status}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_the_tray_and_other_clients_stay_in_step() {
    if !["Xvfb", "dbus-daemon", "tauri-driver", "WebKitWebDriver"]
        .iter()
        .all(|t| require(t))
    {
        return;
    }
    let ts = TestServer::start().await;
    let (app, bea, cal) = (ts.running.app.clone(), ts.bea.clone(), ts.cal.clone());
    let phone = DeviceId::parse("phone").unwrap();
    let cal_token = app.issue_token(&cal, &phone).await.unwrap();
    let bea_phone_token = app.issue_token(&bea, &phone).await.unwrap();
    let clients = tempfile::tempdir().unwrap();

    let desktop = Desktop::start();
    let server = ts.url();
    let store = desktop.home.join("client.db");
    let driver = TauriDriver::start(
        &desktop,
        &store,
        &[
            ("PRESENTLY_SERVER", &server),
            ("PRESENTLY_EMAIL", "bea@one.test"),
            ("PRESENTLY_PASSWORD", PASSWORD),
        ],
    );
    let d = driver.session(APP).await;

    // The app signs in and its device makes bea Available.
    let seen = || ts.bea_status();
    for _ in 0..100 {
        if seen().await == StatusId::AVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(seen().await, StatusId::AVAILABLE);

    // A teammate's desktop client, connected over WebSocket.
    let cal_client = client(&server, &cal_token, "phone", clients.path()).await;
    let mut cal_events = cal_client.subscribe();
    sees(&mut cal_events, &bea, StatusId::AVAILABLE).await;

    // Open the avatar dropdown and choose Busy.
    d.click("button.avatar").await;
    d.click("[data-status=\"busy\"]").await;

    // The teammate's client sees Busy, and so does their REST view.
    sees(&mut cal_events, &bea, StatusId::BUSY).await;
    let teammate = reqwest::Client::new();
    let mut busy = false;
    for _ in 0..100 {
        let v: Value = teammate
            .get(format!("{server}/api/v1/team"))
            .bearer_auth(&cal_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        busy = v["members"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|m| m["user"] == bea.as_str() && m["view"]["status"]["status"] == "busy");
        if busy {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(busy, "the teammate sees Busy");
    // And the window says so.
    assert_eq!(
        d.wait_text("[data-testid=\"my-status\"]", "Busy").await,
        "Busy"
    );

    // Do not disturb from the tray menu: the window says so, and so does the server.
    let bus = desktop.bus();
    let tray = block_in_place(|| Tray::find(&bus, Duration::from_secs(30))).expect("the tray");
    let icon = || block_in_place(|| format!("{:?}", tray.property(&bus, "IconName")));
    // Clicks the first menu item whose label starts with `label` (the center item ends with its
    // unread count).
    let click = |label: &str| {
        block_in_place(|| {
            let layout = tray.layout(&bus);
            let item = layout
                .flatten()
                .into_iter()
                .find(|e| e.label.starts_with(label))
                .unwrap_or_else(|| panic!("a tray item {label}"))
                .id;
            tray.click(&bus, item)
        })
    };
    let busy_icon = icon();
    click("Do not disturb");
    assert_eq!(
        d.wait_text("[data-testid=\"my-status\"]", "Do not disturb")
            .await,
        "Do not disturb"
    );
    assert_eq!(seen().await, StatusId::DND);
    sees(&mut cal_events, &bea, StatusId::DND).await;
    let dnd_icon = icon();
    assert_ne!(busy_icon, dnd_icon, "the tray icon shows DND");

    // Available from another of bea's devices: the window, the tray's first line and its icon
    // follow (the figure printed is how long the tray took, not asserted).
    let bea_phone = client(&server, &bea_phone_token, "phone", clients.path()).await;
    let sent = Instant::now();
    bea_phone
        .send(sync::Command::Change(Change::SetStatus {
            status: StatusId::AVAILABLE,
            until: None,
        }))
        .await
        .expect("the change is queued");
    let mut first_line = String::new();
    for _ in 0..100 {
        first_line = block_in_place(|| {
            tray.layout(&bus)
                .children
                .first()
                .map(|e| e.label.clone())
                .unwrap_or_default()
        });
        if first_line.contains("Available") && icon() != dnd_icon {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "tray followed another device's change in {:?}",
        sent.elapsed()
    );
    assert!(
        first_line.contains("Available"),
        "the tray's first line: {first_line}"
    );
    assert_ne!(icon(), dnd_icon, "the tray icon left DND");
    assert_eq!(
        d.wait_text("[data-testid=\"my-status\"]", "Available")
            .await,
        "Available"
    );

    // The tray's "Set status message…" opens the window at the message field, and its center
    // item at the notification center (keyboard focus, not just the window).
    click("Set status message…");
    assert_eq!(d.wait_focus("status-message").await, "status-message");
    click("Notification center");
    assert_eq!(d.wait_focus("center-heading").await, "center-heading");

    // The directory finds dan, in no team with bea, Offline; dan's client comes online and the
    // row says Available without another search (the app watches the results on screen).
    let dan = app
        .create_user(
            &ts.org,
            "dan@one.test",
            "Dan",
            PASSWORD,
            presently_server::db::Role::Member,
            "UTC",
            &[],
        )
        .await
        .unwrap();
    d.click("[data-testid=\"tab-directory\"]").await;
    d.type_into("[data-testid=\"directory-search\"]", "dan@")
        .await;
    d.click(".directory button[type=submit]").await;
    let row = ".directory [data-testid=\"person\"]";
    let status_of_row = || async {
        d.script(&format!(
            "const e = document.querySelector('{row}'); return e ? e.dataset.status : '';"
        ))
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    };
    assert_eq!(settle("offline", status_of_row).await, "offline");
    let watched = settle("1", || async { app.hub.glance_count().to_string() }).await;
    assert_eq!(watched, "1", "the app watches the result on screen");
    let dan_token = app
        .issue_token(&dan, &DeviceId::parse("dan-phone").unwrap())
        .await
        .unwrap();
    let dan_phone = client(&server, &dan_token, "dan-phone", clients.path()).await;
    let got = settle("available", status_of_row).await;
    assert_eq!(got, "available", "the row follows dan's change");

    dan_phone.stop();
    bea_phone.stop();
    cal_client.stop();
    d.call(reqwest::Method::DELETE, "", None).await;
    drop(driver);
    ts.running.stop().await;
}
