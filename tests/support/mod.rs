//! The root package's end-to-end tests: the harness from `crates/test-support`, and a real
//! server in the test process for the app to connect to.

#![allow(dead_code)]

pub use test_support::*;

/// A real server on a fresh SQLite file and a loopback port, with one organisation, one team,
/// and two members, bea and cal (password [`PASSWORD`]).
pub struct TestServer {
    pub running: presently_server::Running,
    pub org: String,
    pub bea: presence::UserId,
    pub cal: presence::UserId,
    /// Serving https / wss as `localhost`.
    pub tls: bool,
    _dir: tempfile::TempDir,
}

pub const PASSWORD: &str = "pass word";

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_at("127.0.0.1:0".parse().unwrap()).await
    }

    /// On a given address (a port chosen before the app is launched).
    pub async fn start_at(addr: std::net::SocketAddr) -> TestServer {
        Self::start_with(addr, None).await
    }

    /// Terminating TLS with a certificate and key (PEM files), on any free port.
    pub async fn start_tls(cert: &std::path::Path, key: &std::path::Path) -> TestServer {
        let config = presently_server::tls::server_config(cert, key).expect("a usable certificate");
        Self::start_with("127.0.0.1:0".parse().unwrap(), Some(config)).await
    }

    async fn start_with(
        addr: std::net::SocketAddr,
        tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("server.db").display());
        let is_tls = tls.is_some();
        let running = presently_server::start(&url, addr, tls)
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
            tls: is_tls,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.running.addr.port())
        } else {
            format!("http://{}", self.running.addr)
        }
    }

    /// What bea's teammates see of her now.
    pub async fn bea_status(&self) -> presence::StatusId {
        self.status_of(&self.bea).await
    }

    /// What `user`'s teammates see of them now (Offline for someone the server does not know).
    pub async fn status_of(&self, user: &presence::UserId) -> presence::StatusId {
        let app = &self.running.app;
        match app.slot(user) {
            Some(slot) => app.self_view(&slot).await.status.status,
            None => presence::StatusId::OFFLINE,
        }
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// tauri-driver (in front of WebKitWebDriver) for the app in `desktop`, with its own store and
/// `env`, on free ports; killed when dropped.
pub struct TauriDriver {
    child: std::process::Child,
    port: u16,
}

impl TauriDriver {
    /// `env` is what the app sees beyond the desktop: nothing here means nothing configured
    /// (the app's own `PRESENTLY_*` from the test's environment are removed).
    pub fn start(desktop: &Desktop, store: &std::path::Path, env: &[(&str, &str)]) -> TauriDriver {
        let (port, native) = (free_port(), free_port());
        let child = std::process::Command::new("tauri-driver")
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env_remove("PRESENTLY_SERVER")
            .env_remove("PRESENTLY_EMAIL")
            .env_remove("PRESENTLY_PASSWORD")
            .envs(env.iter().copied())
            .env("DISPLAY", &desktop.display)
            .env("DBUS_SESSION_BUS_ADDRESS", &desktop.bus_address)
            .env("HOME", &desktop.home)
            .env("GSETTINGS_BACKEND", "memory")
            .env("NO_AT_BRIDGE", "1")
            .env("PRESENTLY_STORE", store)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("tauri-driver starts");
        TauriDriver { child, port }
    }

    /// A WebDriver session on the app binary `app`: it starts the app.
    pub async fn session(&self, app: &str) -> webdriver::Driver {
        webdriver::Driver::start(
            &format!("http://127.0.0.1:{}", self.port),
            serde_json::json!({"tauri:options": {"application": app}}),
        )
        .await
    }
}

impl Drop for TauriDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
