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
