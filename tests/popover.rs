//! The tray's compact panel on the real app, connected to a real server: the real tray menu's
//! "Quick panel…" opens a borderless window inside the screen (by X11 geometry); through WebDriver
//! (tauri-driver in front of WebKitWebDriver), switched to the panel's window, Do not disturb
//! chosen in it reaches the server and the main window, and Escape pressed in it closes it (no
//! longer shown, by X11).
// A Linux desktop (Xvfb, a session bus, a StatusNotifierItem host) is what this drives.
#![cfg(target_os = "linux")]

mod support;

use presence::StatusId;
use reqwest::Method;
use std::process::Command;
use std::time::Duration;
use support::{require, Desktop, TauriDriver, TestServer, Tray, PASSWORD};
use tokio::task::block_in_place;

const APP: &str = env!("CARGO_BIN_EXE_presently");

/// The X11 windows shown whose name is `name` exactly, with their geometry (x, y, w, h).
fn shown(display: &str, name: &str) -> Vec<(i32, i32, i32, i32)> {
    let out = Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", &format!("^{name}$")])
        .env("DISPLAY", display)
        .output()
        .expect("xdotool runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|id| {
            let g = Command::new("xdotool")
                .args(["getwindowgeometry", "--shell", id])
                .env("DISPLAY", display)
                .output()
                .ok()?;
            let text = String::from_utf8_lossy(&g.stdout).to_string();
            let field = |k: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(&format!("{k}=")))
                    .and_then(|v| v.trim().parse::<i32>().ok())
            };
            Some((field("X")?, field("Y")?, field("WIDTH")?, field("HEIGHT")?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tray_panel_opens_beside_the_tray_chooses_a_status_and_closes() {
    if ![
        "Xvfb",
        "dbus-daemon",
        "tauri-driver",
        "WebKitWebDriver",
        "xdotool",
    ]
    .iter()
    .all(|t| require(t))
    {
        return;
    }
    let ts = TestServer::start().await;
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
    for _ in 0..100 {
        if ts.bea_status().await == StatusId::AVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(ts.bea_status().await, StatusId::AVAILABLE);
    assert!(shown(&desktop.display, "Presently quick panel").is_empty());

    // The real tray menu's entry opens the panel.
    let bus = desktop.bus();
    let tray = block_in_place(|| Tray::find(&bus, Duration::from_secs(30))).expect("the tray");
    block_in_place(|| {
        let item = tray
            .layout(&bus)
            .flatten()
            .into_iter()
            .find(|e| e.label == "Quick panel…")
            .expect("a Quick panel… entry in the tray menu")
            .id;
        tray.click(&bus, item)
    });
    let mut at = vec![];
    for _ in 0..100 {
        at = shown(&desktop.display, "Presently quick panel");
        if !at.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (x, y, w, h) = *at.first().expect("the panel is shown");
    // Wholly on the screen (Xvfb's 1280 × 1024 unless told otherwise).
    let screen = d
        .script("return [window.screen.width, window.screen.height];")
        .await;
    let (sw, sh) = (
        screen[0].as_i64().unwrap() as i32,
        screen[1].as_i64().unwrap() as i32,
    );
    assert!(
        x >= 0 && y >= 0 && x + w <= sw && y + h <= sh,
        "the panel ({x}, {y}, {w} × {h}) is inside the {sw} × {sh} screen"
    );

    // The panel is a WebDriver window of its own beside the main one (both webviews are in the
    // app's one web context that WebKit's automation controls): switched to, it is driven like
    // the window.
    let main_window = d.call(Method::GET, "/window", None).await;
    let handles = d.call(Method::GET, "/window/handles", None).await;
    let panel_window = handles
        .as_array()
        .into_iter()
        .flatten()
        .find(|h| **h != main_window)
        .cloned()
        .unwrap_or_else(|| panic!("the panel is a window WebDriver can switch to: {handles}"));
    d.call(
        Method::POST,
        "/window",
        Some(serde_json::json!({ "handle": panel_window })),
    )
    .await;
    assert_eq!(
        d.wait_text("[data-testid=\"popover-name\"]", "Bea").await,
        "Bea"
    );
    // Do not disturb for an hour ("1 hour" is the second button of its row): the server has it.
    d.click(".dnd button:nth-of-type(2)").await;
    for _ in 0..100 {
        if ts.bea_status().await == StatusId::DND {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        ts.bea_status().await,
        StatusId::DND,
        "Do not disturb from the panel"
    );
    assert!(
        d.wait_text(".dnd .on", "Do not disturb until")
            .await
            .starts_with("Do not disturb until"),
        "the panel says until when"
    );
    // Escape, pressed in the panel, closes it: no longer shown, by X11.
    let escape = "\u{E00C}";
    d.call(
        Method::POST,
        "/actions",
        Some(
            serde_json::json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": [
            { "type": "keyDown", "value": escape }, { "type": "keyUp", "value": escape }
        ] }] }),
        ),
    )
    .await;
    let mut closed = false;
    for _ in 0..100 {
        if shown(&desktop.display, "Presently quick panel").is_empty() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(closed, "Escape closes the panel");
    // The main window says so too.
    d.call(
        Method::POST,
        "/window",
        Some(serde_json::json!({ "handle": main_window })),
    )
    .await;
    assert_eq!(
        d.wait_text("[data-testid=\"my-status\"]", "Do not disturb")
            .await,
        "Do not disturb"
    );
    // Opened again from the window's side (the same command the menu entry runs), it shows.
    d.script("window.__TAURI_INTERNALS__.invoke('open_popover'); return true;")
        .await;
    let mut again = false;
    for _ in 0..100 {
        if !shown(&desktop.display, "Presently quick panel").is_empty() {
            again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again, "the panel opens again");
    d.call(Method::DELETE, "", None).await;
    drop(driver);
    ts.running.stop().await;
}
