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

    /// Connects a device (hello, welcome, snapshot, self view) and reports it active.
    pub async fn online(&self, user: &UserId, device: &str) -> Client {
        let token = self.token(user, device).await;
        let mut c = Client::connect(self.addr(), &token, device, None).await;
        c.report(DeviceActivity::Active, false).await;
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

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub device: DeviceId,
    pub user: UserId,
    pub cursor: NotificationSeq,
    pub members: Vec<protocol::Member>,
    /// The last self view this connection was sent, whoever read it.
    pub last_self: Option<presence::SelfView>,
    seq: u64,
    request: u64,
}

const WAIT: Duration = Duration::from_secs(10);

impl Client {
    /// Opens a connection without saying hello.
    pub async fn raw(addr: SocketAddr) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws"))
            .await
            .expect("websocket connects")
            .0
    }

    pub async fn connect(
        addr: SocketAddr,
        token: &str,
        device: &str,
        resume_after: Option<NotificationSeq>,
    ) -> Client {
        let mut ws = Client::raw(addr).await;
        let hello = ClientMessage::Hello {
            protocol: protocol::PROTOCOL_VERSION,
            token: token.into(),
            device: DeviceId::parse(device).unwrap(),
            resume_after,
        };
        ws.send(Message::Text(encode(&hello).into())).await.unwrap();
        let mut c = Client {
            ws,
            device: DeviceId::parse(device).unwrap(),
            user: UserId::parse("pending").unwrap(),
            cursor: NotificationSeq(0),
            members: vec![],
            last_self: None,
            seq: 0,
            request: 0,
        };
        match c.next().await {
            ServerMessage::Welcome { user, cursor, .. } => {
                c.user = user;
                c.cursor = cursor;
            }
            other => panic!("expected welcome, got {other:?}"),
        }
        match c.next().await {
            ServerMessage::TeamSnapshot { members, .. } => c.members = members,
            other => panic!("expected team snapshot, got {other:?}"),
        }
        match c.next().await {
            ServerMessage::SelfUpdate { .. } => {}
            other => panic!("expected self update, got {other:?}"),
        }
        c
    }

    pub async fn send(&mut self, m: &ClientMessage) {
        self.send_raw(encode(m)).await;
    }

    pub async fn send_raw(&mut self, text: String) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    /// Sends any WebSocket frame (a ping, a binary frame); the error if the write failed.
    pub async fn send_frame(
        &mut self,
        frame: Message,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.ws.send(frame).await
    }

    /// Sends a frame the server may refuse by ending the connection while it is still being
    /// written: the error, if the write itself failed.
    pub async fn try_send_raw(
        &mut self,
        text: String,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.ws.send(Message::Text(text.into())).await
    }

    /// A request id unique to this device, as the client core makes them (a person's devices
    /// share one list of applied requests).
    pub fn next_request(&mut self) -> RequestId {
        self.request += 1;
        RequestId(format!("{}-r{}", self.device.as_str(), self.request))
    }

    /// The next server frame (text), decoded; panics after 10 s.
    pub async fn next(&mut self) -> ServerMessage {
        self.try_next(WAIT)
            .await
            .unwrap_or_else(|| panic!("no frame within {WAIT:?}"))
    }

    /// The next frame within `wait`, or none (connection closed or nothing came).
    pub async fn try_next(&mut self, wait: Duration) -> Option<ServerMessage> {
        loop {
            let m = tokio::time::timeout(wait, self.ws.next()).await.ok()??;
            match m {
                Ok(Message::Text(t)) => {
                    let m = decode_server(t.as_str()).expect("the server sends valid frames");
                    if let ServerMessage::SelfUpdate { view } = &m {
                        self.last_self = Some(view.clone());
                    }
                    return Some(m);
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Skips frames until one matches; panics after 10 s.
    pub async fn until(
        &mut self,
        what: &str,
        pred: impl Fn(&ServerMessage) -> bool,
    ) -> ServerMessage {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.try_next(left).await {
                Some(m) if pred(&m) => return m,
                Some(_) => continue,
                None => panic!("waited 10 s for {what}: it never came"),
            }
        }
    }

    /// Sends a heartbeat and waits for its ack, skipping what comes before it.
    pub async fn heartbeat(&mut self) {
        self.send(&ClientMessage::Heartbeat).await;
        self.until("heartbeat ack", |m| {
            matches!(m, ServerMessage::HeartbeatAck { .. })
        })
        .await;
    }

    /// Sends a heartbeat and reads up to its answer, returning what came before it. A connection
    /// writes everything queued for it before it answers a frame, so whatever the server had
    /// sent this connection by the time it read the heartbeat is in the list: the end of a wait
    /// that proves, not a duration that hopes.
    pub async fn barrier(&mut self) -> Vec<ServerMessage> {
        self.send(&ClientMessage::Heartbeat).await;
        let mut before = Vec::new();
        loop {
            match self.try_next(WAIT).await {
                // The answer: an ack, or (a device whose lease lapsed) "report again".
                Some(ServerMessage::HeartbeatAck { .. } | ServerMessage::ReportNeeded { .. }) => {
                    return before
                }
                Some(m) => before.push(m),
                None => panic!("no answer to a heartbeat within {WAIT:?}"),
            }
        }
    }

    /// Nothing matching `pred` was sent to this connection by now (ended on [`Client::barrier`]):
    /// for what this node delivers, once what would cause it has been answered.
    pub async fn none(&mut self, what: &str, pred: impl Fn(&ServerMessage) -> bool) {
        for m in self.barrier().await {
            assert!(!pred(&m), "expected no {what}, got {m:?}");
        }
    }

    /// Nothing matching `pred` within `wait` of real time. Only where nothing observable ends the
    /// wait: the timer task's answer to the manual clock's move a millisecond before a deadline,
    /// and a catch-up a node runs by itself after its bus comes back.
    pub async fn none_within(
        &mut self,
        what: &str,
        wait: Duration,
        pred: impl Fn(&ServerMessage) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match self.try_next(left).await {
                Some(m) => assert!(!pred(&m), "expected no {what}, got {m:?}"),
                None => return,
            }
        }
    }

    /// Reads until a frame matching `later` (returned), asserting that nothing matching `pred`
    /// came before it: for what travels another way (another node, the bus), a later frame on
    /// the same path proves that an earlier one would have arrived.
    pub async fn none_before(
        &mut self,
        what: &str,
        pred: impl Fn(&ServerMessage) -> bool,
        later_what: &str,
        later: impl Fn(&ServerMessage) -> bool,
    ) -> ServerMessage {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(m) = self.try_next(left).await else {
                panic!("waited {WAIT:?} for {later_what}");
            };
            if later(&m) {
                return m;
            }
            assert!(
                !pred(&m),
                "expected no {what} before {later_what}, got {m:?}"
            );
        }
    }

    /// Whether the server closed the connection (within 10 s), skipping other frames.
    pub async fn closed(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            match tokio::time::timeout(left, self.ws.next()).await {
                Err(_) => return false,
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    pub async fn report(&mut self, activity: DeviceActivity, in_call: bool) {
        self.seq += 1;
        let report = DeviceReport {
            device: self.device.clone(),
            seq: self.seq,
            activity,
            in_call,
        };
        self.send(&ClientMessage::DeviceReport { report }).await;
    }

    /// Sends a request and waits for its ack; panics on an error.
    pub async fn request(&mut self, make: impl FnOnce(RequestId) -> ClientMessage) {
        let id = self.next_request();
        self.send(&make(id.clone())).await;
        match self
            .until("the answer", |m| match m {
                ServerMessage::Ack { request } => *request == id,
                ServerMessage::Error { request, .. } => request.as_ref() == Some(&id),
                _ => false,
            })
            .await
        {
            ServerMessage::Ack { .. } => {}
            other => panic!("request {id:?} failed: {other:?}"),
        }
    }

    /// Sends a request and returns the error it got.
    pub async fn refused(
        &mut self,
        make: impl FnOnce(RequestId) -> ClientMessage,
    ) -> protocol::WireError {
        let id = self.next_request();
        self.send(&make(id.clone())).await;
        match self
            .until("the answer", |m| match m {
                ServerMessage::Ack { request } => *request == id,
                ServerMessage::Error { request, .. } => request.as_ref() == Some(&id),
                _ => false,
            })
            .await
        {
            ServerMessage::Error { error, .. } => error,
            other => panic!("request {id:?} was accepted: {other:?}"),
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        // Let the server see the close.
        while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, self.ws.next()).await {}
    }
}

pub fn delta_for(user: &UserId, status: StatusId) -> impl Fn(&ServerMessage) -> bool + '_ {
    move |m| matches!(m, ServerMessage::PresenceDelta { user: u, view } if u == user && view.status.status == status)
}

pub fn any_delta(m: &ServerMessage) -> bool {
    matches!(m, ServerMessage::PresenceDelta { .. })
}

/// A WebSocket opened by hand on a TCP socket, to send frames no WebSocket library would.
pub struct RawWs(tokio::net::TcpStream);

impl RawWs {
    pub async fn open(addr: SocketAddr) -> RawWs {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.write_all(
            format!(
                "GET /api/v1/ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .expect("the upgrade request is sent");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            tcp.read_exact(&mut byte).await.expect("the upgrade answer");
            head.push(byte[0]);
        }
        assert!(
            head.starts_with(b"HTTP/1.1 101"),
            "upgraded: {}",
            String::from_utf8_lossy(&head)
        );
        RawWs(tcp)
    }

    /// Sends one masked frame: `first` is the FIN / RSV / opcode byte; the length is announced as
    /// `announced` (the payload's own length when `None`).
    pub async fn send(&mut self, first: u8, payload: &[u8], announced: Option<u64>) {
        self.send_in_pieces(first, payload, announced, &[]).await;
    }

    /// The same, written in pieces cut at `cuts` (offsets into the whole frame, header
    /// included), each written and flushed on its own after a pause, so the server reads them
    /// apart (and finds nothing more to read between them).
    pub async fn send_in_pieces(
        &mut self,
        first: u8,
        payload: &[u8],
        announced: Option<u64>,
        cuts: &[usize],
    ) {
        use tokio::io::AsyncWriteExt;
        let len = announced.unwrap_or(payload.len() as u64);
        let mut frame = vec![first];
        match len {
            0..=125 => frame.push(0x80 | len as u8),
            126..=0xffff => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&len.to_be_bytes());
            }
        }
        let mask = [0x12, 0x34, 0x56, 0x78];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        let mut from = 0;
        for &cut in cuts.iter().chain(std::iter::once(&frame.len())) {
            let cut = cut.clamp(from, frame.len());
            // The peer may close before all of it is written: that is what some tests expect.
            if self.0.write_all(&frame[from..cut]).await.is_err() {
                return;
            }
            let _ = self.0.flush().await;
            from = cut;
            if from < frame.len() {
                // Not a timing assertion: only so the pieces reach the server apart.
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        }
    }

    /// The next frame's opcode and payload; `None` if the connection ends first.
    async fn frame(&mut self) -> Option<(u8, Vec<u8>)> {
        use tokio::io::AsyncReadExt;
        let mut head = [0u8; 2];
        self.0.read_exact(&mut head).await.ok()?;
        let mut len = u64::from(head[1] & 0x7f);
        if len == 126 {
            let mut ext = [0u8; 2];
            self.0.read_exact(&mut ext).await.ok()?;
            len = u64::from(u16::from_be_bytes(ext));
        } else if len == 127 {
            let mut ext = [0u8; 8];
            self.0.read_exact(&mut ext).await.ok()?;
            len = u64::from_be_bytes(ext);
        }
        let mut payload = vec![0u8; len as usize];
        self.0.read_exact(&mut payload).await.ok()?;
        Some((head[0] & 0x0f, payload))
    }

    /// The next text frame's text (other frames skipped); `None` if the connection ends or
    /// closes first.
    pub async fn text(&mut self) -> Option<String> {
        let read = async {
            loop {
                match self.frame().await? {
                    (0x1, payload) => return String::from_utf8(payload).ok(),
                    (0x8, _) => return None,
                    _ => {}
                }
            }
        };
        tokio::time::timeout(WAIT, read).await.ok().flatten()
    }

    /// The close frame's code and reason (frames before it are skipped); `None` if the
    /// connection ended without one.
    pub async fn close_code(&mut self) -> Option<(u16, String)> {
        let read = async {
            loop {
                let (opcode, payload) = self.frame().await?;
                if opcode == 0x8 {
                    let code = u16::from_be_bytes([*payload.first()?, *payload.get(1)?]);
                    return Some((code, String::from_utf8_lossy(&payload[2..]).into_owned()));
                }
            }
        };
        tokio::time::timeout(WAIT, read).await.ok().flatten()
    }
}
