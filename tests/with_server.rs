//! The real app under Xvfb and a private session bus, connected to a real server: the tray
//! menu sets Do not disturb on the server, a notification sent to the server's API then shows no
//! desktop notification and waits in the center (the tray counts it), and leaving DND shows one
//! summary.
// A Linux desktop (Xvfb, a session bus, an XDG notification daemon) is what these drive.
#![cfg(target_os = "linux")]

mod support;

use presence::StatusId;
use std::process::Child;
use std::time::Duration;
use support::{
    click_notification, notification_daemon, record_browser, require, wait_for, Desktop,
    TestServer, Tray, PASSWORD,
};

const APP: &str = env!("CARGO_BIN_EXE_presently");

#[test]
fn tray_dnd_reaches_the_server_and_holds_notifications_in_the_center() {
    if !["Xvfb", "dbus-daemon", "gdbus"].iter().all(|t| require(t)) || !require("dbusmock") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ts = rt.block_on(TestServer::start());
    let (app, org) = (ts.running.app.clone(), ts.org.clone());
    let seen = |rt: &tokio::runtime::Runtime| rt.block_on(ts.bea_status());

    let desktop = Desktop::start();
    let log = desktop.home.join("notify.log");
    let daemon = notification_daemon(&desktop, &log, None);
    let bus = desktop.bus();
    let server = ts.url();
    let child = launch_as_bea(&desktop, &server);
    let tray = Tray::find(&bus, Duration::from_secs(30)).expect("the tray appears");
    assert!(
        wait_for(Duration::from_secs(20), || (seen(&rt)
            == StatusId::AVAILABLE)
            .then_some(()))
        .is_some(),
        "the app signs in and its device makes bea Available on the server"
    );

    // Do not disturb from the tray menu: the server has it, and the tray's first line follows.
    tray.click_label(&bus, "Do not disturb");
    assert!(
        wait_for(Duration::from_secs(10), || (seen(&rt) == StatusId::DND)
            .then_some(()))
        .is_some(),
        "the server shows DND"
    );
    assert!(wait_for(Duration::from_secs(10), || {
        let l = tray.layout(&bus);
        l.children
            .first()
            .is_some_and(|e| e.label.contains("Do not disturb"))
            .then_some(())
    })
    .is_some());

    // A notification through the server's API: no desktop notification, one unread in the tray.
    rt.block_on(app.notify(
        &org,
        protocol::rest::SendNotification {
            user: "bea@one.test".into(),
            title: "Deploy finished".into(),
            body: "All green".into(),
            sender: None,
            urgent: false,
            external_id: Some("ci-1".into()),
            link: None,
        },
    ))
    .unwrap();
    assert!(
        wait_for(Duration::from_secs(10), || {
            tray.layout(&bus)
                .find("Notification center (1 unread)")
                .map(|_| ())
        })
        .is_some(),
        "the tray counts the held notification: {:?}",
        tray.layout(&bus)
            .children
            .iter()
            .map(|e| e.label.clone())
            .collect::<Vec<_>>()
    );
    std::thread::sleep(Duration::from_millis(500));
    let notify_lines = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(" Notify "))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert!(
        notify_lines().is_empty(),
        "nothing shown in DND: {:?}",
        notify_lines()
    );

    // Back to Available from the tray: one summary.
    tray.click_label(&bus, "Available");
    assert!(
        wait_for(Duration::from_secs(10), || {
            notify_lines()
                .iter()
                .any(|l| l.contains("You missed 1 notification"))
                .then_some(())
        })
        .is_some(),
        "a summary after DND: {:?}",
        notify_lines()
    );
    assert_eq!(notify_lines().len(), 1);

    quit(&tray, &bus, child, daemon);
    rt.block_on(ts.running.stop());
}

#[test]
fn desktop_notification_buttons_open_the_link_and_mark_read_on_the_server() {
    if !["Xvfb", "dbus-daemon", "gdbus"].iter().all(|t| require(t)) || !require("dbusmock") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ts = rt.block_on(TestServer::start());
    let desktop = Desktop::start();
    let log = desktop.home.join("notify.log");
    let daemon = notification_daemon(&desktop, &log, Some("body actions"));
    let opened = desktop.home.join("opened.txt");
    record_browser(&desktop, &opened);
    let bus = desktop.bus();
    let server = ts.url();
    let child = launch_as_bea(&desktop, &server);
    let tray = Tray::find(&bus, Duration::from_secs(30)).expect("the tray appears");
    assert!(
        wait_for(Duration::from_secs(20), || (rt.block_on(ts.bea_status())
            == StatusId::AVAILABLE)
            .then_some(()))
        .is_some(),
        "the app is connected"
    );
    let send = |title: &str, link: Option<&str>| {
        rt.block_on(ts.running.app.notify(
            &ts.org,
            protocol::rest::SendNotification {
                user: "bea@one.test".into(),
                title: title.into(),
                body: "from the test".into(),
                sender: None,
                urgent: false,
                external_id: None,
                link: link.map(str::to_owned),
            },
        ))
        .unwrap()
        .0
        .seq
    };
    // dbusmock numbers notifications 1, 2, … in the order Notify is called.
    let shown_as = |title: &str| {
        wait_for(Duration::from_secs(10), || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains(" Notify "))
                .position(|l| l.contains(title))
                .map(|i| i as u32 + 1)
        })
    };
    let read_on_server = |seq: protocol::NotificationSeq| {
        rt.block_on(
            ts.running
                .app
                .db
                .notifications(ts.bea.as_str(), seq.0 - 1, 1, true),
        )
        .unwrap()
        .first()
        .is_some_and(|n| n.seq == seq && n.read)
    };

    // Open on a notification with a link: the browser gets the link; it is read everywhere.
    let link = format!("{server}/thread/7");
    let linked = send("Build failed", Some(&link));
    let logs = || {
        format!(
            "notification daemon:\n{}\napp:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default(),
            std::fs::read_to_string(desktop.home.join("app.log")).unwrap_or_default()
        )
    };
    let id =
        shown_as("Build failed").unwrap_or_else(|| panic!("the notification is shown; {}", logs()));
    let line = std::fs::read_to_string(&log).unwrap();
    assert!(
        line.contains(r#""default", "Open", "read", "Mark read""#),
        "Open and Mark read buttons where the server has actions: {line}"
    );
    assert!(!read_on_server(linked));
    click_notification(&desktop, id, "default");
    assert_eq!(
        wait_for(Duration::from_secs(10), || std::fs::read_to_string(&opened)
            .ok()),
        Some(format!("{link}\n")),
        "the desktop's browser opens the link"
    );
    assert!(
        wait_for(Duration::from_secs(10), || read_on_server(linked)
            .then_some(()))
        .is_some(),
        "opened is read on the server"
    );

    // Mark read on another: read on the server, nothing opened.
    let plain = send("Lunch?", None);
    let id = shown_as("Lunch?").unwrap_or_else(|| panic!("the second is shown; {}", logs()));
    click_notification(&desktop, id, "read");
    assert!(
        wait_for(Duration::from_secs(10), || read_on_server(plain)
            .then_some(()))
        .is_some(),
        "Mark read reaches the server"
    );
    assert_eq!(std::fs::read_to_string(&opened).unwrap().lines().count(), 1);

    quit(&tray, &bus, child, daemon);
    rt.block_on(ts.running.stop());
}

#[test]
fn an_app_started_before_its_server_connects_when_the_server_comes_up() {
    if !["Xvfb", "dbus-daemon", "gdbus"].iter().all(|t| require(t)) || !require("dbusmock") {
        return;
    }
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let desktop = Desktop::start();
    let log = desktop.home.join("notify.log");
    let daemon = notification_daemon(&desktop, &log, None);
    let bus = desktop.bus();
    let server = format!("http://{addr}");
    let mut child = launch_as_bea(&desktop, &server);
    let tray = Tray::find(&bus, Duration::from_secs(30)).expect("the tray appears");
    // Nothing answers yet: the app runs and says so.
    std::thread::sleep(Duration::from_secs(1));
    assert!(child.try_wait().unwrap().is_none(), "the app keeps running");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ts = rt.block_on(TestServer::start_at(addr));
    assert!(
        wait_for(Duration::from_secs(30), || (rt.block_on(ts.bea_status())
            == StatusId::AVAILABLE)
            .then_some(()))
        .is_some(),
        "the app signs in once the server is up; app log:\n{}",
        std::fs::read_to_string(desktop.home.join("app.log")).unwrap_or_default()
    );
    quit(&tray, &bus, child, daemon);
    rt.block_on(ts.running.stop());
}

#[test]
fn the_app_signs_in_to_a_tls_server_trusting_the_company_ca() {
    use test_support::tls::{TestCa, Validity};
    if !["Xvfb", "dbus-daemon", "gdbus"].iter().all(|t| require(t)) || !require("dbusmock") {
        return;
    }
    let desktop = Desktop::start();
    let ca = TestCa::new(&desktop.home, "company");
    let issued = ca.issue(&desktop.home, "server", &["localhost"], Validity::Current);
    let log = desktop.home.join("notify.log");
    let daemon = notification_daemon(&desktop, &log, None);
    let bus = desktop.bus();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ts = rt.block_on(TestServer::start_tls(&issued.cert_file, &issued.key_file));
    assert!(ts.url().starts_with("https://"));
    let store = desktop.home.join("client.db");
    let child = desktop.launch_with(
        APP,
        &[
            ("PRESENTLY_SERVER", ts.url().as_str()),
            ("PRESENTLY_CA_FILE", ca.cert_file.to_str().unwrap()),
            ("PRESENTLY_EMAIL", "bea@one.test"),
            ("PRESENTLY_PASSWORD", PASSWORD),
            ("PRESENTLY_STORE", store.to_str().unwrap()),
        ],
    );
    let tray = Tray::find(&bus, Duration::from_secs(30)).expect("the tray appears");
    // Signed in over https and connected over wss: the server sees bea's desktop online.
    assert!(
        wait_for(Duration::from_secs(30), || (rt.block_on(ts.bea_status())
            == StatusId::AVAILABLE)
            .then_some(()))
        .is_some(),
        "the app signs in over TLS; app log:\n{}",
        std::fs::read_to_string(desktop.home.join("app.log")).unwrap_or_default()
    );
    // A change from the tray travels over wss.
    tray.click_label(&bus, "Do not disturb");
    assert!(
        wait_for(Duration::from_secs(15), || (rt.block_on(ts.bea_status())
            == StatusId::DND)
            .then_some(()))
        .is_some(),
        "Do not disturb reaches the server over wss"
    );
    quit(&tray, &bus, child, daemon);
    rt.block_on(ts.running.stop());
}

/// The real app in `desktop`, signed in to `server` as bea, with its own client store.
fn launch_as_bea(desktop: &Desktop, server: &str) -> Child {
    let store = desktop.home.join("client.db");
    desktop.launch_with(
        APP,
        &[
            ("PRESENTLY_SERVER", server),
            ("PRESENTLY_EMAIL", "bea@one.test"),
            ("PRESENTLY_PASSWORD", PASSWORD),
            ("PRESENTLY_STORE", store.to_str().unwrap()),
        ],
    )
}

/// Quit from the tray menu (killed if it has not ended within 10 s), stop the notification daemon,
/// and check that the app ended cleanly.
fn quit(tray: &Tray, bus: &zbus::blocking::Connection, mut app: Child, mut daemon: Child) {
    let status = tray.quit(bus, &mut app);
    let _ = app.kill();
    let _ = daemon.kill();
    let _ = daemon.wait();
    match status {
        Some(s) => assert!(s.success(), "Quit exits cleanly: {s}"),
        None => panic!("the app did not quit from the tray menu within 10 s"),
    }
}
