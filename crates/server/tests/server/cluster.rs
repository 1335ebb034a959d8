//! Several nodes for real: servers on one PostgreSQL database with their events crossing a real
//! NATS (127.0.0.1:4222, or `PRESENTLY_TEST_NATS`) — two in this process, and three
//! `presently-server` processes on their own ports. Presence, notifications and account changes
//! made on one node reach people connected to the others; concurrent changes on two nodes agree;
//! a node SIGKILLed, and NATS restarted, while they run. Without PostgreSQL or NATS this fails in
//! CI and is skipped elsewhere, saying why.

use crate::support::*;
use presence::{Change, DeviceActivity, DeviceId, StatusId};
use presently_server::db::Role;
use protocol::{ClientMessage, ServerMessage};
use serde_json::json;

fn nats_url() -> String {
    std::env::var("PRESENTLY_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

async fn nats_reachable() -> bool {
    let url = nats_url();
    let addr = url.trim_start_matches("nats://").to_string();
    match tokio::net::TcpStream::connect(&addr).await {
        Ok(_) => true,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("NATS at {url} is required in CI and is unreachable: {e}");
            }
            eprintln!("SKIPPED: NATS at {url} is unreachable ({e}); set PRESENTLY_TEST_NATS to run the cluster tests");
            false
        }
    }
}

/// The secret the tests' nodes share.
pub const CLUSTER_SECRET: &str = "the test cluster's shared secret";

/// Joining the shared NATS with the tests' secret.
pub fn cluster() -> presently_server::nats::ClusterOptions {
    presently_server::nats::ClusterOptions::new(
        nats_url(),
        presently_server::envelope::ClusterSecret::parse(CLUSTER_SECRET).unwrap(),
    )
}

async fn node(url: &str) -> presently_server::Running {
    presently_server::start_node(url, "127.0.0.1:0".parse().unwrap(), None, Some(&cluster()))
        .await
        .expect("a node starts on PostgreSQL and NATS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_over_nats_share_presence_notifications_and_account_changes() {
    if !nats_reachable().await {
        return;
    }
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let (a, b) = (node(&db.url).await, node(&db.url).await);
    let app = a.app.clone();
    let org = app.create_org("Cluster org").await.unwrap().id;
    let team = app.create_team(&org, "Core").await.unwrap();
    let teams = [team.clone()];
    let user = |email: &'static str, role| {
        let (app, org, teams) = (app.clone(), org.clone(), teams.clone());
        async move {
            app.create_user(&org, email, email, PASSWORD, role, "UTC", &teams)
                .await
                .unwrap()
        }
    };
    let admin = user("admin@c.test", Role::Admin).await;
    let bea = user("bea@c.test", Role::Member).await;
    let cal = user("cal@c.test", Role::Member).await;
    let key = app.create_key(&org, "phone system").await.unwrap().1;
    let token = |user: presence::UserId| {
        let app = app.clone();
        async move {
            app.issue_token(&user, &DeviceId::parse("desk").unwrap())
                .await
                .unwrap()
        }
    };

    // Node B learned of the people made on node A, and serves them.
    let cal_token = token(cal.clone()).await;
    let mut cal_on_b = Client::connect(b.addr, &cal_token, "desk", None).await;
    assert!(cal_on_b.members.iter().any(|m| m.user == bea));
    let mut bea_on_a = Client::connect(a.addr, &token(bea.clone()).await, "desk", None).await;
    bea_on_a.report(DeviceActivity::Active, false).await;
    cal_on_b
        .until(
            "bea available, from node A",
            delta_for(&bea, StatusId::AVAILABLE),
        )
        .await;

    // A change on A reaches a teammate on B.
    bea_on_a
        .request(|request| ClientMessage::Change {
            request,
            change: Change::SetStatus {
                status: StatusId::BUSY,
                until: None,
            },
        })
        .await;
    cal_on_b
        .until("bea busy, from node A", delta_for(&bea, StatusId::BUSY))
        .await;

    // A notification sent to node A reaches the person on node B.
    let http = reqwest::Client::new();
    let r = http
        .post(format!("http://{}/api/v1/notifications", a.addr))
        .bearer_auth(&key)
        .json(&json!({"user": "cal@c.test", "title": "Across nodes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    cal_on_b
        .until("the notification, from node A", |m| {
            matches!(m, ServerMessage::Notification { notification } if notification.title == "Across nodes")
        })
        .await;

    // An administrator's change on B takes effect on A: bea's session there closes and the
    // teammate sees her Offline.
    let admin_token = token(admin).await;
    let r = http
        .patch(format!("http://{}/api/v1/admin/users/bea@c.test", b.addr))
        .bearer_auth(&admin_token)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        bea_on_a.closed().await,
        "node A closed the deactivated person's session"
    );
    cal_on_b
        .until("bea offline", delta_for(&bea, StatusId::OFFLINE))
        .await;

    // Both nodes are healthy, and say so.
    for n in [&a, &b] {
        let r = http
            .get(format!("http://{}/healthz", n.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.text().await.unwrap(), "ok");
    }
    a.stop().await;
    b.stop().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_nodes_need_postgresql_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("one.db").display());
    let e =
        presently_server::start_node(&url, "127.0.0.1:0".parse().unwrap(), None, Some(&cluster()))
            .await
            .err()
            .expect("refused");
    assert!(e.message.contains("need PostgreSQL"), "{e}");
    assert!(e.config);
}

/// A `presently-server` process: one node of the cluster on `url`.
struct Process {
    child: std::process::Child,
    addr: std::net::SocketAddr,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn process(url: &str) -> Process {
    process_on(url, &nats_url()).await
}

/// A node on `nats`.
async fn process_on(url: &str, nats: &str) -> Process {
    server_process(url, Some(nats)).await
}

/// A `presently-server` process on `url`, a node of the cluster on `cluster` when given.
async fn server_process(url: &str, cluster: Option<&str>) -> Process {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_presently-server"));
    command.args(["--database-url", url, "--listen", &addr.to_string()]);
    if let Some(nats) = cluster {
        command
            .args(["--cluster", nats])
            .env("PRESENTLY_CLUSTER_SECRET", CLUSTER_SECRET);
    }
    let child = command
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("presently-server starts");
    // Killed and waited for when dropped, whatever happens next.
    let node = Process { child, addr };
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = http.get(format!("http://{addr}/healthz")).send().await {
            if r.status().is_success() {
                return node;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the node on {addr} never became healthy");
}

/// An organisation made on the database before the nodes start, as the admin CLI would: one
/// team with `emails` in it, and an API key.
struct Org {
    setup: Arc<presently_server::app::App>,
    id: String,
    people: Vec<presence::UserId>,
    key: String,
}

impl Org {
    async fn make(url: &str, name: &str, emails: &[&str]) -> Org {
        let setup = presently_server::app::App::open_for_admin(
            presently_server::db::Db::connect(url).await.unwrap(),
            clock::SystemClock::shared(),
        )
        .await
        .unwrap();
        let id = setup.create_org(name).await.unwrap().id;
        let team = setup.create_team(&id, "Core").await.unwrap();
        let mut people = Vec::new();
        for email in emails {
            people.push(
                setup
                    .create_user(
                        &id,
                        email,
                        email,
                        PASSWORD,
                        Role::Member,
                        "UTC",
                        std::slice::from_ref(&team),
                    )
                    .await
                    .unwrap(),
            );
        }
        let key = setup.create_key(&id, "phone system").await.unwrap().1;
        Org {
            setup,
            id,
            people,
            key,
        }
    }

    /// Like [`Org::make`], with the organisation's device lease set to `lease`.
    async fn with_lease(url: &str, name: &str, emails: &[&str], lease: presence::Span) -> Org {
        let org = Org::make(url, name, emails).await;
        org.setup
            .update_org(&Actor::system(), "test", String::new(), &org.id, |o| {
                o.policy.device_lease = lease;
                Ok(())
            })
            .await
            .unwrap();
        org
    }

    /// A device token for `user` (the future borrows only the organisation).
    fn token(
        &self,
        user: &presence::UserId,
        device: &str,
    ) -> impl std::future::Future<Output = String> + '_ {
        let (user, device) = (user.clone(), DeviceId::parse(device).unwrap());
        async move { self.setup.issue_token(&user, &device).await.unwrap() }
    }

    /// A client of `user`'s `device` connected to `addr`.
    fn connect(
        &self,
        addr: std::net::SocketAddr,
        user: &presence::UserId,
        device: &str,
    ) -> impl std::future::Future<Output = Client> + '_ {
        let token = self.token(user, device);
        let device = device.to_string();
        async move { Client::connect(addr, &token.await, &device, None).await }
    }
}

/// The presence deltas a client was sent: when, whose, which status.
type Seen = Arc<std::sync::Mutex<Vec<(std::time::Instant, presence::UserId, StatusId)>>>;

/// A client that keeps its device alive (a heartbeat a second) and records every presence
/// delta it is sent, with when it came.
fn keep_alive(mut c: Client) -> (Seen, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            c.send(&ClientMessage::Heartbeat).await;
            let until = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
            while let Some(m) = c
                .try_next(until.saturating_duration_since(tokio::time::Instant::now()))
                .await
            {
                if let ServerMessage::PresenceDelta { user, view } = m {
                    record.lock().unwrap().push((
                        std::time::Instant::now(),
                        user,
                        view.status.status,
                    ));
                }
            }
        }
    });
    (seen, task)
}

use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_leaves_its_people_offline_within_the_lease_and_no_one_else_flaps() {
    if !nats_reachable().await {
        return;
    }
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    // The organisation, made on the database before the nodes start, with a short lease.
    let lease = presence::Span::seconds(4);
    let org = Org::with_lease(
        &db.url,
        "Three nodes",
        &["bea@k.test", "cal@k.test", "dan@k.test"],
        lease,
    )
    .await;
    let (bea, cal, dan) = (
        org.people[0].clone(),
        org.people[1].clone(),
        org.people[2].clone(),
    );
    let token = |user: &presence::UserId, device: &str| org.token(user, device);
    let mut nodes = vec![
        process(&db.url).await,
        process(&db.url).await,
        process(&db.url).await,
    ];

    // Dan only on node 0; bea's laptop on node 0 and her phone on node 2; cal watches on node 1.
    let online = |addr, user: presence::UserId, device: &'static str| {
        let token = token(&user, device);
        async move {
            let mut c = Client::connect(addr, &token.await, device, None).await;
            c.report(DeviceActivity::Active, false).await;
            keep_alive(c)
        }
    };
    let (watched, _cal_task) = online(nodes[1].addr, cal.clone(), "desk").await;
    let (_, dan_task) = online(nodes[0].addr, dan.clone(), "desk").await;
    let (_, laptop_task) = online(nodes[0].addr, bea.clone(), "laptop").await;
    let (_, _phone_task) = online(nodes[2].addr, bea.clone(), "phone").await;
    let saw = |user: &presence::UserId, status: StatusId| {
        watched
            .lock()
            .unwrap()
            .iter()
            .any(|(_, u, s)| u == user && *s == status)
    };
    for _ in 0..100 {
        if saw(&dan, StatusId::AVAILABLE) && saw(&bea, StatusId::AVAILABLE) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(saw(&dan, StatusId::AVAILABLE) && saw(&bea, StatusId::AVAILABLE));

    // Node 0 dies mid-traffic, without a word.
    let killed = std::time::Instant::now();
    let mut dead = nodes.remove(0);
    dead.child.kill().expect("SIGKILL");
    dead.child.wait().unwrap();
    dan_task.abort();
    laptop_task.abort();

    // Dan (whose only device was there) is Offline for cal within the lease bound: a lease, the
    // half lease a renewal may be stored late, and a heartbeat's second.
    let bound = std::time::Duration::from_millis((lease.millis() * 3 / 2) as u64 + 1000);
    let mut offline_at = None;
    while killed.elapsed() < bound * 3 {
        offline_at = watched
            .lock()
            .unwrap()
            .iter()
            .find(|(at, u, s)| *at > killed && u == &dan && *s == StatusId::OFFLINE)
            .map(|(at, _, _)| *at);
        if offline_at.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let offline_at = offline_at.expect("cal sees dan Offline after his node died");
    assert!(
        offline_at.duration_since(killed) <= bound,
        "dan went Offline {:?} after the kill; the lease bound is {bound:?}",
        offline_at.duration_since(killed)
    );
    // Bea's phone on a live node kept her online the whole time: no flapping.
    tokio::time::sleep(
        lease
            .millis()
            .try_into()
            .map(std::time::Duration::from_millis)
            .unwrap(),
    )
    .await;
    assert!(
        !watched
            .lock()
            .unwrap()
            .iter()
            .any(|(at, u, s)| *at > killed && u == &bea && *s == StatusId::OFFLINE),
        "bea, still on node 2, was never shown Offline"
    );
    drop(nodes);
    db.drop_db().await;
}

/// A NATS server of the test's own, on its own port, that the test can stop and start again.
struct PrivateNats {
    child: Option<std::process::Child>,
}

impl PrivateNats {
    fn start(port: u16) -> PrivateNats {
        let child = std::process::Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nats-server starts");
        PrivateNats { child: Some(child) }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn health(addr: std::net::SocketAddr) -> (u16, String) {
    match reqwest::get(format!("http://{addr}/healthz")).await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

async fn until_health(addr: std::net::SocketAddr, want: u16) -> String {
    let mut last = String::new();
    for _ in 0..150 {
        let (status, text) = health(addr).await;
        if status == want {
            return text;
        }
        last = format!("{status} {text}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{addr} never answered {want} on /healthz: {last}");
}

/// Three `presently-server` processes on a NATS of the test's own, which stops while they run
/// and starts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_node_processes_say_when_nats_is_gone_and_converge_when_it_is_back() {
    if !require_tool("nats-server") || !nats_reachable().await {
        return;
    }
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut nats = PrivateNats::start(port);
    let nats_url = format!("nats://127.0.0.1:{port}");
    until_listening(port).await;
    let org = Org::make(
        &db.url,
        "Flaky network",
        &["bea@f.test", "cal@f.test", "dan@f.test"],
    )
    .await;
    let (bea, cal, dan) = (
        org.people[0].clone(),
        org.people[1].clone(),
        org.people[2].clone(),
    );
    let key = org.key.clone();
    let nodes = [
        process_on(&db.url, &nats_url).await,
        process_on(&db.url, &nats_url).await,
        process_on(&db.url, &nats_url).await,
    ];
    let connect = |node: usize, user: &presence::UserId, device: &'static str| {
        org.connect(nodes[node].addr, user, device)
    };
    let mut bea_on_0 = connect(0, &bea, "desk").await;
    let mut cal_on_1 = connect(1, &cal, "desk").await;
    let mut dan_on_2 = connect(2, &dan, "desk").await;
    bea_on_0.report(DeviceActivity::Active, false).await;
    for c in [&mut cal_on_1, &mut dan_on_2] {
        c.until("bea available", delta_for(&bea, StatusId::AVAILABLE))
            .await;
    }

    // NATS goes away: every node says so, and keeps serving its own connections.
    nats.stop();
    for n in &nodes {
        let why = until_health(n.addr, 503).await;
        assert!(why.contains("NATS"), "{why}");
    }
    bea_on_0
        .request(|request| ClientMessage::Change {
            request,
            change: Change::SetStatus {
                status: StatusId::BUSY,
                until: None,
            },
        })
        .await;
    // A notification for cal (connected to node 1) is sent through node 2 meanwhile.
    let r = reqwest::Client::new()
        .post(format!("http://{}/api/v1/notifications", nodes[2].addr))
        .bearer_auth(&key)
        .json(&json!({"user": "cal@f.test", "title": "While apart"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    // Apart for a minute, as a real outage would be: bea keeps changing her mind on node 0 (the
    // last change, Busy, is the one to end on), and every node keeps serving.
    let apart_since = std::time::Instant::now();
    let mut flips = 0;
    while apart_since.elapsed() < std::time::Duration::from_secs(60) {
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        flips += 1;
        let status = if flips % 2 == 1 {
            StatusId::DND
        } else {
            StatusId::BUSY
        };
        bea_on_0
            .request(|request| ClientMessage::Change {
                request,
                change: Change::SetStatus {
                    status,
                    until: None,
                },
            })
            .await;
        // Every device reports now and then, renewing its lease on its own node.
        for c in [&mut bea_on_0, &mut cal_on_1, &mut dan_on_2] {
            c.report(DeviceActivity::Active, false).await;
        }
    }
    if flips % 2 == 1 {
        bea_on_0
            .request(|request| ClientMessage::Change {
                request,
                change: Change::SetStatus {
                    status: StatusId::BUSY,
                    until: None,
                },
            })
            .await;
    }
    for n in &nodes {
        assert_eq!(health(n.addr).await.0, 503, "still apart after a minute");
    }

    // Back: the nodes reconnect by themselves, are healthy again, and teammates on the other
    // nodes end on what was stored on node 0 while they were apart; cal's device on node 1 is
    // sent the notification made on node 2, once.
    let _nats = PrivateNats::start(port);
    for n in &nodes {
        until_health(n.addr, 200).await;
    }
    let caught_up = |m: &ServerMessage| match m {
        ServerMessage::TeamSnapshot { members, .. } => members
            .iter()
            .any(|x| x.user == bea && x.view.status.status == StatusId::BUSY),
        ServerMessage::PresenceDelta { user, view } => {
            user == &bea && view.status.status == StatusId::BUSY
        }
        _ => false,
    };
    let apart = |m: &ServerMessage| matches!(m, ServerMessage::Notification { notification } if notification.title == "While apart");
    let (mut saw_busy, mut saw_note) = (false, 0);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while !(saw_busy && saw_note > 0) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let m = cal_on_1.try_next(left).await.expect(
            "bea busy and the notification made on node 2, on node 1, after NATS came back",
        );
        saw_busy |= caught_up(&m);
        saw_note += apart(&m) as u32;
    }
    dan_on_2
        .until("bea busy on node 2, after NATS came back", caught_up)
        .await;
    assert_eq!(saw_note, 1);
    cal_on_1
        .none_within(
            "the same notification again",
            std::time::Duration::from_secs(2),
            apart,
        )
        .await;
    // A new connection to node 2 is told what node 2 now holds.
    let fresh = connect(2, &cal, "phone").await;
    let seen = fresh.members.iter().find(|m| m.user == bea).unwrap();
    assert_eq!(
        seen.view.status.status,
        StatusId::BUSY,
        "node 2's copy caught up"
    );
    drop(nodes);
    db.drop_db().await;
}

/// Waits until something listens on the port.
async fn until_listening(port: u16) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("nothing listens on {port}");
}

fn require_tool(tool: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{tool} is required in CI (Debian's nats-server package)");
        }
        eprintln!("SKIPPED: {tool} is not installed (Debian's nats-server package)");
    }
    found
}

/// The last message of `kind` a client was sent, reading until nothing comes for a while.
async fn last_of<T>(c: &mut Client, mut pick: impl FnMut(ServerMessage) -> Option<T>) -> Option<T> {
    let mut last = None;
    while let Some(m) = c.try_next(std::time::Duration::from_millis(700)).await {
        if let Some(t) = pick(m) {
            last = Some(t);
        }
    }
    last
}

/// Three `presently-server` processes on one PostgreSQL and the machine's NATS. A person's
/// laptop on node 0 and phone on node 1, teammates on nodes 1 and 2: presence made on one node
/// is seen on the others; a notification sent through node 2 reaches both devices, and reading
/// it on the phone clears it on the laptop; then the two devices change the person's presence
/// concurrently, a hundred times each: every change is stored once, neither device's last
/// change is lost, and every teammate and both devices end on the stored state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_node_processes_share_presence_notifications_and_concurrent_changes() {
    const EACH: usize = 100;
    if !nats_reachable().await {
        return;
    }
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let org = Org::make(
        &db.url,
        "Three processes",
        &["bea@p.test", "cal@p.test", "dan@p.test"],
    )
    .await;
    let (bea, cal, dan) = (
        org.people[0].clone(),
        org.people[1].clone(),
        org.people[2].clone(),
    );
    let (key, setup) = (org.key.clone(), org.setup.clone());
    let nodes = [
        process(&db.url).await,
        process(&db.url).await,
        process(&db.url).await,
    ];
    let connect = |node: usize, user: &presence::UserId, device: &'static str| {
        org.connect(nodes[node].addr, user, device)
    };
    let mut laptop = connect(0, &bea, "laptop").await;
    let mut phone = connect(1, &bea, "phone").await;
    let mut cal_on_2 = connect(2, &cal, "desk").await;
    let mut dan_on_1 = connect(1, &dan, "desk").await;

    // Presence across nodes: bea's laptop on node 0 is seen on nodes 1 and 2.
    laptop.report(DeviceActivity::Active, false).await;
    phone.report(DeviceActivity::Active, false).await;
    for (who, c) in [
        ("cal on node 2", &mut cal_on_2),
        ("dan on node 1", &mut dan_on_1),
    ] {
        c.until(who, delta_for(&bea, StatusId::AVAILABLE)).await;
    }
    cal_on_2.report(DeviceActivity::Active, false).await;
    laptop
        .until("cal, from node 2", delta_for(&cal, StatusId::AVAILABLE))
        .await;

    // A notification through node 2 reaches both of bea's devices; read on the phone, it is
    // read on the laptop.
    let r = reqwest::Client::new()
        .post(format!("http://{}/api/v1/notifications", nodes[2].addr))
        .bearer_auth(&key)
        .json(&json!({"user": "bea@p.test", "title": "Three nodes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let arrived = |m: &ServerMessage| matches!(m, ServerMessage::Notification { notification } if notification.title == "Three nodes");
    let seq = match laptop.until("the notification on node 0", arrived).await {
        ServerMessage::Notification { notification } => notification.seq,
        _ => unreachable!(),
    };
    phone.until("the notification on node 1", arrived).await;
    phone
        .request(|request| ClientMessage::MarkRead {
            request,
            notifications: vec![seq],
        })
        .await;
    laptop
        .until("read on the phone, on node 0", |m| {
            matches!(m, ServerMessage::NotificationsChanged { notifications, read: true, .. } if notifications.contains(&seq))
        })
        .await;

    // The two devices change bea's presence at once, each waiting for its own acks (and
    // keeping under the per-connection rate limit).
    let version = |setup: Arc<presently_server::app::App>, bea: presence::UserId| async move {
        setup.db.user_state(bea.as_str()).await.unwrap().unwrap()
    };
    let start = version(setup.clone(), bea.clone()).await.2;
    let pause_base = presence::Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    )
    .plus(presence::Span::hours(1));
    let on_laptop = tokio::spawn(async move {
        for i in 0..EACH {
            laptop
                .request(|request| ClientMessage::Change {
                    request,
                    change: Change::SetMessage {
                        text: presence::MessageText::parse(format!("laptop {i}")).unwrap(),
                        emoji: None,
                        clear_after: presence::ClearAfter::Never,
                    },
                })
                .await;
            tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        }
        laptop
    });
    let on_phone = tokio::spawn(async move {
        for i in 0..EACH {
            let until = pause_base.plus(presence::Span::minutes(i as i64));
            phone
                .request(|request| ClientMessage::Change {
                    request,
                    change: Change::PauseNotifications { until },
                })
                .await;
            tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        }
        phone
    });
    let (mut laptop, mut phone) = (on_laptop.await.unwrap(), on_phone.await.unwrap());
    let (person, _, end, _) = version(setup.clone(), bea.clone()).await;
    assert_eq!(
        end - start,
        2 * EACH as i64,
        "every acknowledged change stored exactly once"
    );
    let rules = setup.rules(&org.id).unwrap();
    let now = presence::Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    let team_view = rules.team_view(&person, now);
    let self_view = rules.self_view(&person, now);
    assert_eq!(
        team_view.message.as_ref().map(|m| m.text.to_string()),
        Some(format!("laptop {}", EACH - 1)),
        "the laptop's last change survived the phone's"
    );
    assert_eq!(
        self_view.interruptibility,
        presence::Interruptibility::Paused {
            until: pause_base.plus(presence::Span::minutes(EACH as i64 - 1))
        },
        "the phone's last change survived the laptop's"
    );
    // Every teammate, on either node, and both devices end on the stored state.
    let delta = |m: ServerMessage| match m {
        ServerMessage::PresenceDelta { user, view } if user == bea => Some(view),
        _ => None,
    };
    assert_eq!(
        last_of(&mut cal_on_2, delta).await.as_ref(),
        Some(&team_view)
    );
    assert_eq!(
        last_of(&mut dan_on_1, delta).await.as_ref(),
        Some(&team_view)
    );
    for (name, device) in [("laptop", &mut laptop), ("phone", &mut phone)] {
        last_of(device, |_| Some(())).await;
        assert_eq!(device.last_self.as_ref(), Some(&self_view), "bea's {name}");
    }
    drop(nodes);
    db.drop_db().await;
}

/// A `presently-server` process on its own (no cluster) on `url`.
async fn single_process(url: &str) -> Process {
    server_process(url, None).await
}

/// kill -9 while people only heartbeat, longer than a lease after they reported: what keeps
/// them online in the database is the renewals stored together in the background. The server
/// started again on the same database shows them online to the first teammate who connects,
/// before they are back themselves: no one who was connected flaps Offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_while_people_only_heartbeat_shows_none_of_them_offline_after() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(db) = TestDb::new(backend).await else {
            continue;
        };
        // Long enough that renewals are queued and stored together (more than two flushes
        // left when they fall due), short enough for a test.
        let lease = presence::Span::seconds(12);
        let org = Org::with_lease(
            &db.url,
            "Crash",
            &["bea@c.test", "cal@c.test", "dan@c.test"],
            lease,
        )
        .await;
        let (bea, cal, dan) = (
            org.people[0].clone(),
            org.people[1].clone(),
            org.people[2].clone(),
        );
        let node = single_process(&db.url).await;
        let mut tasks = Vec::new();
        for user in [&bea, &cal] {
            let mut c = org.connect(node.addr, user, "desk").await;
            c.report(DeviceActivity::Active, false).await;
            tasks.push(keep_alive(c).1);
        }
        // A lease and a quarter: the leases their reports stored have lapsed by now.
        tokio::time::sleep(std::time::Duration::from_millis(
            lease.millis() as u64 * 5 / 4,
        ))
        .await;
        for t in &tasks {
            t.abort();
        }
        let mut node = node;
        node.child.kill().expect("SIGKILL");
        node.child.wait().unwrap();
        let node = single_process(&db.url).await;
        // The snapshot a client is sent first (Client::connect reads it).
        let members = org.connect(node.addr, &dan, "desk").await.members;
        for user in [&bea, &cal] {
            let m = members
                .iter()
                .find(|m| &m.user == user)
                .expect("a teammate");
            assert_eq!(
                m.view.status.status,
                StatusId::AVAILABLE,
                "{backend:?}: {} was connected when the server was killed and is shown {:?}",
                user.as_str(),
                m.view.status.status
            );
        }
        drop(node);
        db.drop_db().await;
    }
}
