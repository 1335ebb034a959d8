//! A private desktop for end-to-end tests: Xvfb, a session bus, and the real app in it.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zbus::blocking::Connection;
use zbus::zvariant::{OwnedValue, Value};

/// Whether a test that needs the desktop tools must fail (CI) or may skip (elsewhere).
pub fn require(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        let msg = format!("{tool} is not installed: run scripts/test.sh, which installs the desktop test packages");
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
    }
    found
}

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

        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon starts");
        let mut line = String::new();
        BufReader::new(bus.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("dbus-daemon prints its address");
        let home = std::env::temp_dir().join(format!(
            "presently-e2e-{}-{}",
            std::process::id(),
            &display[1..]
        ));
        std::fs::create_dir_all(&home).expect("temp home");
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

pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The app's tray as a StatusNotifierItem on the bus.
pub struct Tray {
    pub service: String,
    pub item_path: String,
    pub menu_path: String,
}

#[derive(Debug, Clone)]
pub struct MenuEntry {
    pub id: i32,
    pub label: String,
    pub enabled: bool,
    pub toggle_state: Option<i32>,
    pub children: Vec<MenuEntry>,
}

impl MenuEntry {
    /// Every entry, depth first.
    pub fn flatten(&self) -> Vec<&MenuEntry> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.flatten());
        }
        out
    }

    pub fn find(&self, label: &str) -> Option<&MenuEntry> {
        self.flatten().into_iter().find(|e| e.label == label)
    }
}

type Layout = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);

fn parse(layout: Layout) -> MenuEntry {
    let (id, props, children) = layout;
    let string = |k: &str| {
        props
            .get(k)
            .and_then(|v| String::try_from(v.try_clone().ok()?).ok())
    };
    MenuEntry {
        id,
        // GTK mnemonics arrive as underscores.
        label: string("label").unwrap_or_default().replace('_', ""),
        enabled: props
            .get("enabled")
            .and_then(|v| bool::try_from(&**v).ok())
            .unwrap_or(true),
        toggle_state: props
            .get("toggle-state")
            .and_then(|v| i32::try_from(&**v).ok()),
        children: children
            .into_iter()
            .filter_map(|c| Layout::try_from(c).ok())
            .map(parse)
            .collect(),
    }
}

impl Tray {
    /// Finds the app's tray item on the bus (waits up to `timeout` for it to appear).
    pub fn find(bus: &Connection, timeout: Duration) -> Option<Tray> {
        let dbus = zbus::blocking::fdo::DBusProxy::new(bus).ok()?;
        wait_for(timeout, || {
            let names = dbus.list_names().ok()?;
            names
                .into_iter()
                .filter(|n| n.starts_with(':'))
                .find_map(|name| {
                    let reply = bus
                        .call_method(
                            Some(name.as_str()),
                            "/org/ayatana/NotificationItem",
                            Some("org.freedesktop.DBus.Introspectable"),
                            "Introspect",
                            &(),
                        )
                        .ok()?;
                    let xml: String = reply.body().deserialize().ok()?;
                    let node = xml
                        .split("<node name=\"")
                        .nth(1)?
                        .split('"')
                        .next()?
                        .to_owned();
                    let item_path = format!("/org/ayatana/NotificationItem/{node}");
                    Some(Tray {
                        service: name.to_string(),
                        menu_path: format!("{item_path}/Menu"),
                        item_path,
                    })
                })
        })
    }

    /// Calls a `com.canonical.dbusmenu` method on the app's menu.
    fn menu_call<B>(&self, bus: &Connection, method: &str, body: &B) -> zbus::Result<zbus::Message>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        bus.call_method(
            Some(self.service.as_str()),
            self.menu_path.as_str(),
            Some("com.canonical.dbusmenu"),
            method,
            body,
        )
    }

    pub fn layout(&self, bus: &Connection) -> MenuEntry {
        let reply = self
            .menu_call(bus, "GetLayout", &(0i32, -1i32, Vec::<String>::new()))
            .expect("GetLayout answers");
        let (_revision, layout): (u32, Layout) =
            reply.body().deserialize().expect("a dbusmenu layout");
        parse(layout)
    }

    /// Opens a submenu as a tray host does before a person can click inside it.
    pub fn open_submenu(&self, bus: &Connection, id: i32) {
        let _ = self.menu_call(bus, "AboutToShow", &(id,));
        self.event(bus, id, "opened");
    }

    pub fn click(&self, bus: &Connection, id: i32) {
        self.event(bus, id, "clicked");
    }

    fn event(&self, bus: &Connection, id: i32, what: &str) {
        self.menu_call(bus, "Event", &(id, what, Value::from(0i32), 0u32))
            .unwrap_or_else(|e| panic!("Event({what}) on item {id} is accepted: {e}"));
    }

    pub fn property(&self, bus: &Connection, name: &str) -> OwnedValue {
        let reply = bus
            .call_method(
                Some(self.service.as_str()),
                self.item_path.as_str(),
                Some("org.freedesktop.DBus.Properties"),
                "Get",
                &("org.kde.StatusNotifierItem", name),
            )
            .expect("StatusNotifierItem property");
        reply.body().deserialize::<OwnedValue>().expect("a variant")
    }
}

/// python-dbusmock's notification daemon on this desktop's bus, logging every call to `log`.
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

/// A real server on a fresh SQLite file and a loopback port, with one organisation, one team,
/// and two members, bea and cal (password [`PASSWORD`]).
pub struct TestServer {
    pub running: presently_server::Running,
    pub org: String,
    pub bea: presence::UserId,
    pub cal: presence::UserId,
    _dir: tempfile::TempDir,
}

pub const PASSWORD: &str = "pass word";

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_at("127.0.0.1:0".parse().unwrap()).await
    }

    /// On a given address (a port chosen before the app is launched).
    pub async fn start_at(addr: std::net::SocketAddr) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("server.db").display());
        let running = presently_server::start(&url, addr)
            .await
            .expect("the server starts");
        let app = running.app.clone();
        let org = app.create_org("Org").await.unwrap().id;
        let teams = [app.create_team(&org, "Team").await.unwrap()];
        let member = |email: &'static str, name: &'static str| {
            let (app, org, teams) = (app.clone(), org.clone(), teams.clone());
            async move {
                app.create_user(
                    &org,
                    email,
                    name,
                    PASSWORD,
                    presently_server::db::Role::Member,
                    "UTC",
                    &teams,
                )
                .await
                .expect("a user")
            }
        };
        let bea = member("bea@one.test", "Bea").await;
        let cal = member("cal@one.test", "Cal").await;
        TestServer {
            running,
            org,
            bea,
            cal,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.running.addr)
    }

    /// What bea's teammates see of her now.
    pub async fn bea_status(&self) -> presence::StatusId {
        let app = &self.running.app;
        let slot = app.slot(&self.bea).expect("bea");
        app.self_view(&slot).await.status.status
    }
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
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
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
