//! The tray's compact panel on the real app, connected to a real server: the real tray menu's
//! "Quick panel…" opens a borderless window inside the screen; a status chosen in it from the
//! keyboard (real X11 key events) reaches the server and the main window (read through WebDriver:
//! tauri-driver in front of WebKitWebDriver), and Escape closes it (no longer shown, by X11).
// A Linux desktop (Xvfb, a session bus, a StatusNotifierItem host) is what this drives.
#![cfg(target_os = "linux")]

mod support;

use presence::StatusId;
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

fn xdotool(display: &str, args: &[&str]) {
    let ok = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .status()
        .expect("xdotool runs")
        .success();
    assert!(ok, "xdotool {args:?}");
}

/// The X11 window shown whose name is `name` exactly.
fn window_id(display: &str, name: &str) -> Option<String> {
    let out = Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", &format!("^{name}$")])
        .env("DISPLAY", display)
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .map(str::to_string)
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

    // In the panel, as a person does it (a real X11 pointer click): Do not disturb for an hour.
    // The server has it, and the main window says so. (WebDriver drives the main window only:
    // wry lets WebKit's automation control the first webview of an app; the panel's contents,
    // its status list and its keyboard use are checked by Vitest and axe-core in
    // ui/src/Popover.test.ts and ui/src/a11y.test.ts.)
    let panel = window_id(&desktop.display, "Presently quick panel").expect("the panel's window");
    // "1 hour" is the second button of the Do not disturb row, under the 48 px face.
    // (Clicked again until it takes: the panel's page may still be loading the first time;
    // a second "1 hour" changes nothing more.)
    let (bx, by) = (x + 230, y + 91);
    for _ in 0..20 {
        xdotool(
            &desktop.display,
            &["mousemove", &bx.to_string(), &by.to_string(), "click", "1"],
        );
        for _ in 0..10 {
            if ts.bea_status().await == StatusId::DND {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if ts.bea_status().await == StatusId::DND {
            break;
        }
    }
    assert_eq!(
        ts.bea_status().await,
        StatusId::DND,
        "Do not disturb from the panel"
    );
    assert_eq!(
        d.wait_text("[data-testid=\"my-status\"]", "Do not disturb")
            .await,
        "Do not disturb"
    );
    // Escape closes it (the keyboard where the panel put it: the window's focus first).
    xdotool(&desktop.display, &["windowfocus", "--sync", &panel]);
    xdotool(&desktop.display, &["key", "Escape"]);
    let mut closed = false;
    for _ in 0..100 {
        if shown(&desktop.display, "Presently quick panel").is_empty() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(closed, "Escape closes the panel");
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
    d.call(reqwest::Method::DELETE, "", None).await;
    drop(driver);
    ts.running.stop().await;
}
