//! Several nodes for real: two servers on one PostgreSQL database with their events crossing a
//! real NATS (127.0.0.1:4222, or `PRESENTLY_TEST_NATS`). Presence, notifications and account
//! changes made on one node reach people connected to the other. Without NATS this fails in CI
//! and is skipped elsewhere, saying why.

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

async fn node(url: &str) -> presently_server::Running {
    presently_server::start_node(url, "127.0.0.1:0".parse().unwrap(), None, Some(&nats_url()))
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
    let e = presently_server::start_node(
        &url,
        "127.0.0.1:0".parse().unwrap(),
        None,
        Some("nats://127.0.0.1:4222"),
    )
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_presently-server"))
        .args(["--database-url", url, "--listen", &addr.to_string()])
        .args(["--cluster", &nats_url()])
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
    let setup = presently_server::app::App::open_for_admin(
        presently_server::db::Db::connect(&db.url).await.unwrap(),
        clock::SystemClock::shared(),
    )
    .await
    .unwrap();
    let org = setup.create_org("Three nodes").await.unwrap().id;
    let team = setup.create_team(&org, "Core").await.unwrap();
    setup
        .update_org(&Actor::system(), "test", String::new(), &org, |o| {
            o.policy.device_lease = lease;
            Ok(())
        })
        .await
        .unwrap();
    let mut people = Vec::new();
    for email in ["bea@k.test", "cal@k.test", "dan@k.test"] {
        people.push(
            setup
                .create_user(
                    &org,
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
    let (bea, cal, dan) = (people[0].clone(), people[1].clone(), people[2].clone());
    let token = |user: &presence::UserId, device: &str| {
        let (setup, user, device) = (setup.clone(), user.clone(), device.to_string());
        async move {
            setup
                .issue_token(&user, &DeviceId::parse(device).unwrap())
                .await
                .unwrap()
        }
    };
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_say_when_nats_is_gone_and_converge_when_it_is_back() {
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
    let start = |url: String| async move {
        for _ in 0..50 {
            if let Ok(n) = presently_server::start_node(
                &url,
                "127.0.0.1:0".parse().unwrap(),
                None,
                Some(&format!("nats://127.0.0.1:{port}")),
            )
            .await
            {
                return n;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("a node starts with the private NATS");
    };
    let (a, b) = (start(db.url.clone()).await, start(db.url.clone()).await);
    let app = a.app.clone();
    let org = app.create_org("Flaky network").await.unwrap().id;
    let team = app.create_team(&org, "Core").await.unwrap();
    let teams = [team];
    let bea = app
        .create_user(
            &org,
            "bea@f.test",
            "Bea",
            PASSWORD,
            Role::Member,
            "UTC",
            &teams,
        )
        .await
        .unwrap();
    let cal = app
        .create_user(
            &org,
            "cal@f.test",
            "Cal",
            PASSWORD,
            Role::Member,
            "UTC",
            &teams,
        )
        .await
        .unwrap();
    let desk = DeviceId::parse("desk").unwrap();
    let mut cal_on_b = Client::connect(
        b.addr,
        &app.issue_token(&cal, &desk).await.unwrap(),
        "desk",
        None,
    )
    .await;
    let mut bea_on_a = Client::connect(
        a.addr,
        &app.issue_token(&bea, &desk).await.unwrap(),
        "desk",
        None,
    )
    .await;
    bea_on_a.report(DeviceActivity::Active, false).await;
    cal_on_b
        .until("bea available", delta_for(&bea, StatusId::AVAILABLE))
        .await;

    // NATS goes away: both nodes say so, and keep serving their own connections.
    nats.stop();
    let why = until_health(a.addr, 503).await;
    assert!(why.contains("NATS"), "{why}");
    until_health(b.addr, 503).await;
    bea_on_a
        .request(|request| ClientMessage::Change {
            request,
            change: Change::SetStatus {
                status: StatusId::BUSY,
                until: None,
            },
        })
        .await;

    // Back: the nodes reconnect by themselves, are healthy again, and the teammate on B ends
    // on what was stored on A while they were apart.
    let _nats = PrivateNats::start(port);
    until_health(a.addr, 200).await;
    until_health(b.addr, 200).await;
    let caught_up = |m: &ServerMessage| match m {
        ServerMessage::TeamSnapshot { members } => members
            .iter()
            .any(|x| x.user == bea && x.view.status.status == StatusId::BUSY),
        ServerMessage::PresenceDelta { user, view } => {
            user == &bea && view.status.status == StatusId::BUSY
        }
        _ => false,
    };
    cal_on_b
        .until("bea busy, after NATS came back", caught_up)
        .await;
    let slot = b.app.slot(&bea).unwrap();
    assert_eq!(
        b.app.self_view(&slot).await.seen_by_others.status.status,
        StatusId::BUSY,
        "node B's copy caught up"
    );
    a.stop().await;
    b.stop().await;
    db.drop_db().await;
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
