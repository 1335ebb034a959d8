//! A real server in the test process, and a private desktop (Xvfb, a session bus, the
//! python-dbusmock notification daemon that logs every call) for the real `presently-cli`.

#![allow(dead_code)]

// Not every test binary that includes this module uses all of them.
#[allow(unused_imports)]
pub use test_support::{notification_daemon, require, wait_until};

use presence::{DeviceId, UserId};
use presently_server::db::Role;
use presently_server::Running;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod relay;

pub const PASSWORD: &str = "correct horse";

/// A server on a fixed loopback port (so it can be stopped and started again at the same
/// address), with one organisation, one team and two people.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub running: Option<Running>,
    pub addr: SocketAddr,
    pub org: String,
    pub key: String,
    pub bea: UserId,
    pub cal: UserId,
    /// Serving https / wss (as `localhost`) rather than plain HTTP.
    pub tls: bool,
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(None).await
    }

    /// A server that terminates TLS with `cert_file` and `key_file` (PEM).
    pub async fn start_tls(cert_file: &Path, key_file: &Path) -> Server {
        let config = presently_server::tls::server_config(cert_file, key_file)
            .expect("the test certificate is usable");
        Server::start_with(Some(config)).await
    }

    async fn start_with(tls: Option<std::sync::Arc<rustls::ServerConfig>>) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("server.db").display());
        let is_tls = tls.is_some();
        let running = presently_server::start(&url, "127.0.0.1:0".parse().unwrap(), tls)
            .await
            .expect("server starts");
        let app = running.app.clone();
        let org = app.create_org("Org").await.unwrap().id;
        let team = app.create_team(&org, "Team").await.unwrap();
        let teams = [team];
        let bea = app
            .create_user(
                &org,
                "bea@one.test",
                "Bea",
                PASSWORD,
                Role::Member,
                "Europe/London",
                &teams,
            )
            .await
            .unwrap();
        let cal = app
            .create_user(
                &org,
                "cal@one.test",
                "Cal",
                PASSWORD,
                Role::Member,
                "Europe/London",
                &teams,
            )
            .await
            .unwrap();
        let key = app.create_key(&org, "tests").await.unwrap().1;
        Server {
            addr: running.addr,
            dir,
            running: Some(running),
            org,
            key,
            bea,
            cal,
            tls: is_tls,
        }
    }

    pub fn url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://{}", self.addr)
        }
    }

    /// The server as the client core addresses it.
    pub fn endpoint(&self) -> presently_client::server::Server {
        endpoint(&self.url())
    }

    pub fn app(&self) -> &std::sync::Arc<presently_server::app::App> {
        &self.running.as_ref().expect("running").app
    }

    pub async fn token(&self, user: &UserId, device: &str) -> String {
        self.app()
            .issue_token(user, &DeviceId::parse(device).unwrap())
            .await
            .unwrap()
    }

    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    /// Starts again on the same address and database.
    pub async fn start_again(&mut self) {
        let url = format!("sqlite://{}", self.dir.path().join("server.db").display());
        let mut tries = 0;
        loop {
            match presently_server::start(&url, self.addr, None).await {
                Ok(r) => {
                    self.running = Some(r);
                    return;
                }
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("the server did not start again: {e}"),
            }
        }
    }

    pub async fn notify(&self, user: &UserId, title: &str) -> u64 {
        self.notify_from(user, title, None).await
    }

    /// A notification for `user` from the person `sender`.
    pub async fn notify_from(&self, user: &UserId, title: &str, sender: Option<&UserId>) -> u64 {
        let (n, _) = self
            .app()
            .notify(
                &self.org,
                protocol::rest::SendNotification {
                    user: user.as_str().into(),
                    title: title.into(),
                    body: format!("body of {title}"),
                    sender: sender.map(|s| s.as_str().to_string()),
                    urgent: false,
                    external_id: None,
                    link: None,
                },
            )
            .await
            .expect("notify");
        n.seq.0
    }

    /// Changes the organisation's timeouts (a short lease, a short idle threshold).
    pub async fn policy(&self, change: impl FnOnce(&mut presence::OrgPolicy)) {
        self.app()
            .update_org(
                &presently_server::app::Actor::system(),
                "test",
                String::new(),
                &self.org,
                |o| {
                    change(&mut o.policy);
                    Ok(())
                },
            )
            .await
            .expect("the policy changes");
    }

    pub async fn seen(&self, user: &UserId) -> presence::SelfView {
        let slot = self.app().slot(user).unwrap();
        self.app().self_view(&slot).await
    }
}

/// The harness's private desktop (Xvfb, a session bus) with the notification daemon, which
/// logs every call to `notify.log` in the desktop's home.
pub struct Desktop {
    inner: test_support::Desktop,
    daemon: Child,
}

impl Desktop {
    pub fn start() -> Desktop {
        let inner = test_support::Desktop::start();
        let daemon = notification_daemon(&inner, &inner.home.join("notify.log"), None);
        Desktop { inner, daemon }
    }

    pub fn notify_log(&self) -> String {
        std::fs::read_to_string(self.home.join("notify.log")).unwrap_or_default()
    }

    pub fn notify_lines(&self) -> Vec<String> {
        self.notify_log()
            .lines()
            .filter(|l| l.contains(" Notify "))
            .map(str::to_string)
            .collect()
    }
}

impl std::ops::Deref for Desktop {
    type Target = test_support::Desktop;
    fn deref(&self) -> &test_support::Desktop {
        &self.inner
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// A running `presently-cli run`, its JSON-line events collected.
pub struct CliRun {
    pub child: Child,
    pub out: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

pub fn cli() -> &'static str {
    env!("CARGO_BIN_EXE_presently-cli")
}

/// `presently-cli login` into a store.
pub fn login(store: &Path, server: &str, email: &str, device: &str) {
    let out = Command::new(cli())
        .args(["--store"])
        .arg(store)
        .args([
            "login",
            "--server",
            server,
            "--email",
            email,
            "--password",
            PASSWORD,
            "--device",
            device,
        ])
        .output()
        .expect("presently-cli runs");
    assert!(
        out.status.success(),
        "login failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `presently-cli <args>` (one shot), returning stdout; panics on failure.
pub fn cli_ok(store: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = Command::new(cli())
        .arg("--store")
        .arg(store)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("presently-cli runs");
    assert!(
        out.status.success(),
        "presently-cli {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn run(store: &Path, env: &[(&str, String)], extra: &[&str]) -> CliRun {
    let mut child = Command::new(cli())
        .arg("--store")
        .arg(store)
        .arg("run")
        .args(extra)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("RUST_LOG", "warn")
        // GSettings kept in the process unless a test gives its own: the desktop's Do not
        // disturb is never the real one of whoever runs the tests.
        .env("GSETTINGS_BACKEND", "memory")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("presently-cli run starts");
    let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let stdout = child.stdout.take().unwrap();
    let sink = out.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    CliRun { child, out }
}

impl CliRun {
    pub fn lines(&self) -> Vec<String> {
        self.out.lock().unwrap().clone()
    }

    pub async fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if self.lines().iter().any(|l| pred(l)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("waited 15 s for {what}; got:\n{}", self.lines().join("\n"));
    }

    pub fn kill9(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for CliRun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waited 15 s for {what}");
}

/// A loopback server address, trusted as the client core trusts it by default.
pub fn endpoint(url: &str) -> presently_client::server::Server {
    presently_client::server::Server::new(url, &presently_client::server::Trust::default())
        .expect("a loopback address")
}

pub fn store_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.db"))
}

/// The next event matching `pred`; panics after 20 s.
pub async fn next_event(
    events: &mut tokio::sync::broadcast::Receiver<presently_client::sync::Event>,
    what: &str,
    pred: impl Fn(&presently_client::sync::Event) -> bool,
) -> presently_client::sync::Event {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match events.recv().await {
                Ok(e) if pred(&e) => return e,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("events ended: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("waited 20 s for {what}"))
}
