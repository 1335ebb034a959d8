//! A private desktop: Xvfb, a session bus, a home directory, and what runs in it.

use crate::wait_for;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use zbus::blocking::Connection;

pub struct Desktop {
    pub display: String,
    pub bus_address: String,
    pub home: PathBuf,
    xvfb: Child,
    bus: Child,
}

impl Desktop {
    pub fn start() -> Desktop {
        // Xvfb picks a free display itself and prints it (-displayfd): tests that run in
        // parallel never share one.
        let mut xvfb = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
                // Without it the server resets whenever its last client disconnects, and with
                // it the idle time that auto-away reads (a program that opens the display for
                // each reading would never see idle time grow).
                "-noreset",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb starts");
        let mut number = String::new();
        BufReader::new(xvfb.stdout.take().expect("piped"))
            .read_line(&mut number)
            .expect("Xvfb prints its display number");
        let display = format!(":{}", number.trim());

        let home = std::env::temp_dir().join(format!(
            "presently-e2e-{}-{}",
            std::process::id(),
            &display[1..]
        ));
        std::fs::create_dir_all(&home).expect("temp home");
        // Services the bus starts on demand (dconf, which `gsettings` writes through) get this
        // desktop's home, never the real one of whoever runs the tests.
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon starts");
        let mut line = String::new();
        BufReader::new(bus.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("dbus-daemon prints its address");
        Desktop {
            display,
            bus_address: line.trim().to_owned(),
            home,
            xvfb,
            bus,
        }
    }

    /// The real app binary, in this desktop, with its own home directory.
    pub fn launch(&self, binary: &str) -> Child {
        self.launch_with(binary, &[])
    }

    /// The same, with extra environment variables (a server to connect to, credentials).
    pub fn launch_with(&self, binary: &str, env: &[(&str, &str)]) -> Child {
        Command::new(binary)
            .envs(env.iter().copied())
            .env("DISPLAY", &self.display)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address)
            .env("HOME", &self.home)
            .env("XDG_DATA_HOME", self.home.join("data"))
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            // GSettings kept in the process: the desktop's Do not disturb the app follows is
            // never the real one of whoever runs the tests.
            .env("GSETTINGS_BACKEND", "memory")
            .env("NO_AT_BRIDGE", "1")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(self.home.join("app.log"))
                    .map(Stdio::from)
                    .unwrap_or(Stdio::null()),
            )
            .spawn()
            .expect("the app starts")
    }

    pub fn bus(&self) -> Connection {
        zbus::blocking::connection::Builder::address(self.bus_address.as_str())
            .map(|b| b.method_timeout(Duration::from_secs(5)))
            .and_then(|b| b.build())
            .expect("connect to the test session bus")
    }

    /// Runs xdotool on this display (move the pointer, type: what a person does).
    pub fn xdotool(&self, args: &[&str]) {
        let ok = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "xdotool {args:?} failed");
    }

    pub fn screenshot(&self, path: &Path) {
        let ok = Command::new("import")
            .args(["-display", &self.display, "-window", "root"])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "screenshot with ImageMagick's import failed");
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        let _ = self.bus.kill();
        let _ = self.xvfb.kill();
        let _ = self.bus.wait();
        let _ = self.xvfb.wait();
        if std::thread::panicking() {
            // Kept for a look at the app's log and the notification daemon's calls.
            eprintln!(
                "the failed test's desktop home is kept: {}",
                self.home.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.home);
        }
    }
}

/// python-dbusmock's notification daemon on the desktop's bus, logging every call to `log`.
/// python-dbusmock's notification daemon on the desktop's bus, logging every call to `log`.
/// `capabilities`: what it advertises (none: dbusmock's default, which has no buttons).
pub fn notification_daemon(desktop: &Desktop, log: &Path, capabilities: Option<&str>) -> Child {
    let mut command = Command::new("/usr/bin/python3");
    command.args([
        "-m",
        "dbusmock",
        "--session",
        "-t",
        "notification_daemon",
        "-l",
    ]);
    command.arg(log);
    if let Some(caps) = capabilities {
        command
            .arg("-p")
            .arg(format!("{{\"capabilities\": \"{caps}\"}}"));
    }
    let child = command
        .env("DBUS_SESSION_BUS_ADDRESS", &desktop.bus_address)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3-dbusmock starts");
    wait_for(Duration::from_secs(10), || {
        Command::new("gdbus")
            .args([
                "call",
                "--session",
                "--dest",
                "org.freedesktop.Notifications",
                "--object-path",
                "/org/freedesktop/Notifications",
                "--method",
                "org.freedesktop.Notifications.GetServerInformation",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", &desktop.bus_address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()
            .filter(|s| s.success())
    })
    .expect("the notification daemon is on the bus");
    child
}

/// Makes a script the desktop's web browser (an XDG handler for http and https in the
/// desktop's own data and config directories, as a desktop's settings would) that writes each
/// address it is given to `record`, one per line.
pub fn record_browser(desktop: &Desktop, record: &Path) {
    let apps = desktop.home.join("data").join("applications");
    std::fs::create_dir_all(&apps).expect("applications dir");
    std::fs::create_dir_all(desktop.home.join("config")).expect("config dir");
    let script = desktop.home.join("browser.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$1\" >> '{}'\n", record.display()),
    )
    .expect("browser script");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    std::fs::write(
        apps.join("presently-test-browser.desktop"),
        format!(
            "[Desktop Entry]\nType=Application\nName=Test browser\nExec={} %u\nMimeType=x-scheme-handler/http;x-scheme-handler/https;\n",
            script.display()
        ),
    )
    .expect("desktop entry");
    std::fs::write(
        desktop.home.join("config").join("mimeapps.list"),
        "[Default Applications]\nx-scheme-handler/http=presently-test-browser.desktop\nx-scheme-handler/https=presently-test-browser.desktop\n",
    )
    .expect("mimeapps.list");
}

/// Sends a signal from dbusmock's notification daemon, as a notification server does when a
/// person clicks a button (`ActionInvoked`).
pub fn click_notification(desktop: &Desktop, id: u32, action: &str) {
    let ok = Command::new("gdbus")
        .args([
            "call",
            "--session",
            "--dest",
            "org.freedesktop.Notifications",
            "--object-path",
            "/org/freedesktop/Notifications",
            "--method",
            "org.freedesktop.DBus.Mock.EmitSignal",
            "org.freedesktop.Notifications",
            "ActionInvoked",
            "us",
        ])
        .arg(format!("[<uint32 {id}>, <'{action}'>]"))
        .env("DBUS_SESSION_BUS_ADDRESS", &desktop.bus_address)
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "dbusmock emits ActionInvoked");
}
