//! The app as a package installed it on a clean Debian 12 (`scripts/install-test.sh` makes the
//! root with debootstrap, installs the `.deb` into it with apt, and runs this with
//! `PRESENTLY_INSTALLED_ROOT` set): the installed `/usr/bin/presently`, started in that root
//! under this test's Xvfb and private session bus (reached through their abstract sockets),
//! shows its tray over D-Bus and signs in to a real server; the desktop and autostart entries
//! are where a desktop looks for them.
#![cfg(target_os = "linux")]

mod support;

use presence::StatusId;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{require, Desktop, TestServer, Tray, PASSWORD};
use tokio::task::block_in_place;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_installed_package_starts_shows_its_tray_and_signs_in() {
    let Some(root) = std::env::var_os("PRESENTLY_INSTALLED_ROOT").map(PathBuf::from) else {
        eprintln!(
            "skipped here: scripts/install-test.sh runs this against a clean Debian root \
             (scripts/test.sh calls it)"
        );
        return;
    };
    assert!(
        require("Xvfb") && require("dbus-daemon"),
        "Xvfb and dbus-daemon are needed"
    );
    // What the package put where a desktop looks.
    let entry = std::fs::read_to_string(root.join("usr/share/applications/Presently.desktop"))
        .expect("the desktop entry is installed");
    assert!(entry.contains("Exec=presently") && entry.contains("Icon=presently"));
    let autostart = std::fs::read_to_string(root.join("etc/xdg/autostart/presently.desktop"))
        .expect("the autostart entry is installed");
    assert!(autostart.contains("Exec=/usr/bin/presently --autostart"));
    for size in ["16x16", "32x32", "48x48", "128x128", "256x256", "512x512"] {
        let icon = root.join(format!("usr/share/icons/hicolor/{size}/apps/presently.png"));
        assert!(icon.exists(), "{} is installed", icon.display());
    }

    let ts = TestServer::start().await;
    let desktop = Desktop::start();
    let home = Path::new("/home/person");
    std::fs::create_dir_all(root.join("home/person")).unwrap();
    let log = std::fs::File::create(desktop.home.join("installed-app.log")).unwrap();
    let mut app = Command::new("/usr/sbin/chroot")
        .arg(&root)
        .arg("/usr/bin/presently")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("DISPLAY", &desktop.display)
        .env("DBUS_SESSION_BUS_ADDRESS", &desktop.bus_address)
        .env("HOME", home)
        .env("NO_AT_BRIDGE", "1")
        .env("RUST_LOG", "info")
        .env("PRESENTLY_SERVER", ts.url())
        .env("PRESENTLY_EMAIL", "bea@one.test")
        .env("PRESENTLY_PASSWORD", PASSWORD)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("chroot starts the installed app");

    let bus = desktop.bus();
    let tray = block_in_place(|| Tray::find(&bus, Duration::from_secs(60)));
    let log =
        || std::fs::read_to_string(desktop.home.join("installed-app.log")).unwrap_or_default();
    let tray =
        tray.unwrap_or_else(|| panic!("the installed app shows no tray; its log:\n{}", log()));
    // Signed in: its device makes bea Available on the server.
    let mut seen = StatusId::OFFLINE;
    for _ in 0..150 {
        seen = ts.bea_status().await;
        if seen == StatusId::AVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        seen,
        StatusId::AVAILABLE,
        "the installed app signed in; its log:\n{}",
        log()
    );
    // And its tray shows the server's view: the menu's first line.
    let headline = || {
        block_in_place(|| tray.layout(&bus))
            .children
            .first()
            .map(|e| e.label.clone())
            .unwrap_or_default()
    };
    test_support::wait_until(Duration::from_secs(15), "the tray shows Available", || {
        headline() == "✓ Available"
    });
    // The person's data is in their home inside the root.
    assert!(root
        .join("home/person/.local/share/presently/client.db")
        .exists());
    block_in_place(|| tray.click_label(&bus, "Quit"));
    for _ in 0..50 {
        if app.try_wait().ok().flatten().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = app.kill();
    let _ = app.wait();
}
