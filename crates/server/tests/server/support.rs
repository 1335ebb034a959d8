//! A real server on a loopback port 0, on a fresh SQLite file or a fresh PostgreSQL database,
//! and real WebSocket clients.

use clock::ManualClock;
use futures_util::{SinkExt, StreamExt};
use presence::{DeviceActivity, DeviceId, DeviceReport, StatusId, UserId};
pub use presently_server::app::Actor;
use presently_server::app::App;
use presently_server::broker::{Broker, Event, Origin, Subscriber};
use presently_server::db::Role;
use presently_server::Running;
use protocol::{decode_server, encode, ClientMessage, NotificationSeq, RequestId, ServerMessage};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

mod client;
mod raw;
pub use client::{any_delta, delta_for, Client};
pub use raw::RawWs;

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const PG_ADMIN_URL: &str = "postgres://root@127.0.0.1:5432/test";

/// A database for one test: an SQLite file in a temp dir, or a new PostgreSQL database.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                Some(TestDb {
                    url: format!("sqlite://{}", dir.path().join("server.db").display()),
                    _dir: Some(dir),
                    pg_name: None,
                })
            }
            Backend::Postgres => {
                let admin = std::env::var("PRESENTLY_TEST_POSTGRES")
                    .unwrap_or_else(|_| PG_ADMIN_URL.to_string());
                sqlx::any::install_default_drivers();
                let conn = sqlx::AnyPool::connect(&admin).await;
                let pool = match conn {
                    Ok(p) => p,
                    Err(e) => {
                        if std::env::var("CI").is_ok_and(|v| v == "true") {
                            panic!(
                                "PostgreSQL at {admin} is required in CI and is unreachable: {e}"
                            );
                        }
                        eprintln!("SKIPPED: PostgreSQL at {admin} is unreachable ({e}); set PRESENTLY_TEST_POSTGRES to run this test on PostgreSQL");
                        return None;
                    }
                };
                let name = format!("presently_t_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&pool)
                    .await
                    .expect("create a test database");
                pool.close().await;
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                Some(TestDb {
                    url: format!("{base}/{name}"),
                    _dir: None,
                    pg_name: Some(name),
                })
            }
        }
    }

    /// Drops a PostgreSQL test database (SQLite's temp dir goes by itself).
    pub async fn drop_db(&self) {
        if let Some(name) = &self.pg_name {
            let admin = std::env::var("PRESENTLY_TEST_POSTGRES")
                .unwrap_or_else(|_| PG_ADMIN_URL.to_string());
            if let Ok(pool) = sqlx::AnyPool::connect(&admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&pool)
                    .await;
                pool.close().await;
            }
        }
    }
}

/// A running server with two organisations:
/// - org 1, team "Core" with `admin` (an administrator), `bea` and `cal`; `dan` is in org 1 but
///   in no team with them;
/// - org 2 with `eve` in its own team.
pub struct Fixture {
    pub db: TestDb,
    /// The server's clock: it stands still until a test moves it.
    pub clock: Arc<ManualClock>,
    /// The server's broker: what it published, and a way in for another node's events.
    pub broker: Arc<RecordingBroker>,
    pub server: Option<Running>,
    pub org: String,
    pub team: String,
    pub org2: String,
    pub team2: String,
    pub admin: UserId,
    pub bea: UserId,
    pub cal: UserId,
    pub dan: UserId,
    pub eve: UserId,
    pub key: String,
    pub key2: String,
    pub http: reqwest::Client,
}

pub const PASSWORD: &str = "correct horse";

impl Fixture {
    pub async fn start(backend: Backend) -> Option<Fixture> {
        let db = TestDb::new(backend).await?;
        let clock = ManualClock::starting_now();
        let broker = Arc::new(RecordingBroker::default());
        let server = start(&db.url, &clock, &broker).await;
        let app = server.app.clone();
        let org = app.create_org("Org one").await.expect("org").id;
        let team = app.create_team(&org, "Core").await.expect("team");
        let org2 = app.create_org("Org two").await.expect("org").id;
        let team2 = app.create_team(&org2, "Other").await.expect("team");
        let teams = [team.clone()];
        let user = |email: &'static str, role, teams: Vec<String>, org: String| {
            let app = app.clone();
            async move {
                app.create_user(&org, email, email, PASSWORD, role, "Europe/London", &teams)
                    .await
                    .expect("user")
            }
        };
        let admin = user("admin@one.test", Role::Admin, teams.to_vec(), org.clone()).await;
        let bea = user("bea@one.test", Role::Member, teams.to_vec(), org.clone()).await;
        let cal = user("cal@one.test", Role::Member, teams.to_vec(), org.clone()).await;
        let dan = user("dan@one.test", Role::Member, vec![], org.clone()).await;
        let eve = user(
            "eve@two.test",
            Role::Member,
            vec![team2.clone()],
            org2.clone(),
        )
        .await;
        let key = app.create_key(&org, "phone system").await.expect("key").1;
        let key2 = app.create_key(&org2, "other").await.expect("key").1;
        Some(Fixture {
            db,
            clock,
            broker,
            server: Some(server),
            org,
            team,
            org2,
            team2,
            admin,
            bea,
            cal,
            dan,
            eve,
            key,
            key2,
            http: reqwest::Client::new(),
        })
    }

    /// Another node on this fixture's database and clock, its broker linked to this one's.
    pub async fn another_node(&self) -> (Arc<RecordingBroker>, Running) {
        let broker = Arc::new(RecordingBroker::default());
        RecordingBroker::link(&self.broker, &broker);
        let node = start(&self.db.url, &self.clock, &broker).await;
        (broker, node)
    }

    pub fn app(&self) -> &Arc<App> {
        &self.server.as_ref().expect("server running").app
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.as_ref().expect("server running").addr
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/api/v1{path}", self.addr())
    }

    pub async fn token(&self, user: &UserId, device: &str) -> String {
        self.app()
            .issue_token(user, &DeviceId::parse(device).unwrap())
            .await
            .expect("token")
    }

    /// Another member of org one's Core team.
    pub async fn member(&self, email: &str) -> UserId {
        self.app()
            .create_user(
                &self.org,
                email,
                email,
                PASSWORD,
                Role::Member,
                "UTC",
                std::slice::from_ref(&self.team),
            )
            .await
            .expect("user")
    }

    /// Connects a device (hello, welcome, snapshot, self view) and reports it active; returns once
    /// the server has applied the report, so what others read of the person already counts it.
    pub async fn online(&self, user: &UserId, device: &str) -> Client {
        let token = self.token(user, device).await;
        let mut c = Client::connect(self.addr(), &token, device, None).await;
        c.report_applied(DeviceActivity::Active, false).await;
        c
    }

    pub async fn restart(&mut self) {
        self.server.take().expect("server running").stop().await;
        self.server = Some(start(&self.db.url, &self.clock, &self.broker).await);
    }

    pub async fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
    }

    pub async fn finish(mut self) {
        self.stop().await;
        self.db.drop_db().await;
    }

    pub async fn seen(&self, user: &UserId) -> StatusId {
        let slot = self.app().slot(user).expect("user");
        self.app()
            .self_view(&slot)
            .await
            .seen_by_others
            .status
            .status
    }

    pub async fn post(&self, path: &str, bearer: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(bearer)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Any method, an optional JSON body: the status and the JSON answer (null when none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self
            .http
            .request(method, self.url(path))
            .bearer_auth(bearer);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Signs in over REST: the status and the answer.
    pub async fn sign_in(&self, email: &str, password: &str, device: &str) -> (u16, Value) {
        let r = self
            .http
            .post(self.url("/sessions"))
            .json(&serde_json::json!({"email": email, "password": password, "device": device}))
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, bearer: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(bearer)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// The in-process broker, recording every event as the JSON a broker between nodes would carry,
/// and able to deliver an event as if another node had published it.
#[derive(Default)]
pub struct RecordingBroker {
    subscribers: std::sync::Mutex<Vec<Subscriber>>,
    pub sent: std::sync::Mutex<Vec<String>>,
    /// Other nodes' brokers: what is published here reaches them too, as JSON crosses the wire.
    peers: std::sync::Mutex<Vec<std::sync::Weak<RecordingBroker>>>,
    /// Cut off from the other nodes: what is published here is lost to them.
    pub cut: std::sync::atomic::AtomicBool,
    reconnected: std::sync::Mutex<Vec<Arc<dyn Fn() + Send + Sync>>>,
}

impl RecordingBroker {
    /// What was published so far, decoded back from its JSON.
    pub fn events(&self) -> Vec<Event> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .map(|j| serde_json::from_str(j).expect("an event decodes from its JSON"))
            .collect()
    }

    pub fn clear(&self) {
        self.sent.lock().unwrap().clear();
    }

    /// Links two nodes' brokers both ways, as a broker between nodes would.
    pub fn link(a: &Arc<RecordingBroker>, b: &Arc<RecordingBroker>) {
        a.peers.lock().unwrap().push(Arc::downgrade(b));
        b.peers.lock().unwrap().push(Arc::downgrade(a));
    }

    /// Back in touch with the other nodes: calls what the node asked to be called then.
    pub fn reconnect(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
        let callbacks = self.reconnected.lock().unwrap().clone();
        for f in callbacks {
            f();
        }
    }

    pub fn deliver_from_other_node(&self, event: Event) {
        let subscribers = self.subscribers.lock().unwrap().clone();
        for s in subscribers.iter() {
            s(&event, Origin::OtherNode);
        }
    }
}

impl Broker for RecordingBroker {
    fn publish(&self, event: Event) {
        let json = serde_json::to_string(&event).expect("an event serializes");
        self.sent.lock().unwrap().push(json.clone());
        let subscribers = self.subscribers.lock().unwrap().clone();
        for s in subscribers.iter() {
            s(&event, Origin::ThisNode);
        }
        let peers: Vec<_> = if self.cut.load(std::sync::atomic::Ordering::SeqCst) {
            Vec::new()
        } else {
            self.peers.lock().unwrap().clone()
        };
        for peer in peers.iter().filter_map(|p| p.upgrade()) {
            peer.deliver_from_other_node(serde_json::from_str(&json).expect("an event decodes"));
        }
    }

    fn subscribe(&self, subscriber: Subscriber) {
        self.subscribers.lock().unwrap().push(subscriber);
    }

    fn between_nodes(&self) -> bool {
        !self.peers.lock().unwrap().is_empty()
    }

    fn on_reconnect(&self, f: Arc<dyn Fn() + Send + Sync>) {
        self.reconnected.lock().unwrap().push(f);
    }
}

/// A server on `url`'s database and a port-0 listener, on the test's clock and broker.
pub async fn start(url: &str, clock: &Arc<ManualClock>, broker: &Arc<RecordingBroker>) -> Running {
    let db = presently_server::db::Db::connect(url)
        .await
        .expect("the database opens");
    let listener = presently_server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .expect("a free port");
    presently_server::serve(
        db,
        broker.clone(),
        clock.clone(),
        listener,
        std::future::pending(),
    )
    .await
    .expect("the server starts")
}
