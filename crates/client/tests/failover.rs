//! A node goes away: the client core reconnects to another node and resumes from its cursor,
//! with no notification lost or repeated — behind a load balancer (a small TCP one that sends
//! each new connection to the first node that accepts it), and given the nodes' addresses
//! itself. Two real nodes on PostgreSQL with a real NATS between them (127.0.0.1:5432 and
//! :4222: required in CI, skipped with the reason elsewhere).

mod support;

use presence::DeviceId;
use presently_client::notifier::Recorder;
use presently_client::store::Store;
use presently_client::sync::{self, Connection, Event, Options};
use presently_server::db::Role;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use support::{endpoint, PASSWORD};

fn required(what: &str, e: impl std::fmt::Display) -> bool {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} is required in CI and is unreachable: {e}");
    }
    eprintln!("SKIPPED: {what} is unreachable ({e})");
    false
}

/// A database of the test's own on the machine's PostgreSQL.
async fn database() -> Option<String> {
    let admin = std::env::var("PRESENTLY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into());
    sqlx::any::install_default_drivers();
    let pool = match sqlx::AnyPool::connect(&admin).await {
        Ok(p) => p,
        Err(e) => {
            required("PostgreSQL", e);
            return None;
        }
    };
    let name = format!("presently_f_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .expect("a test database");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Some(format!("{base}/{name}"))
}

/// Sends each connection to the first of `backends` that accepts it.
async fn load_balancer(backends: Vec<SocketAddr>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let backends = backends.clone();
            tokio::spawn(async move {
                for b in backends {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(b).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// How the client reaches the nodes.
#[derive(Clone, Copy)]
enum Route {
    LoadBalancer,
    /// Both nodes' addresses, separated by a comma, in the client's settings.
    Addresses,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_load_balancer_a_client_resumes_on_another_node_with_nothing_lost_or_repeated() {
    resumes_on_another_node(Route::LoadBalancer).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_the_nodes_addresses_a_client_resumes_on_another_node_with_nothing_lost_or_repeated()
{
    resumes_on_another_node(Route::Addresses).await
}

async fn resumes_on_another_node(route: Route) {
    let nats =
        std::env::var("PRESENTLY_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    if let Err(e) = tokio::net::TcpStream::connect(nats.trim_start_matches("nats://")).await {
        required("NATS", e);
        return;
    }
    let Some(url) = database().await else { return };
    let cluster = presently_server::nats::ClusterOptions::new(
        nats.clone(),
        presently_server::envelope::ClusterSecret::parse("the failover test's cluster secret")
            .unwrap(),
    );
    let node = || async {
        presently_server::start_node(&url, "127.0.0.1:0".parse().unwrap(), None, Some(&cluster))
            .await
            .expect("a node starts")
    };
    let (a, b) = (node().await, node().await);
    let app = b.app.clone();
    let org = app.create_org("Failover").await.unwrap().id;
    let team = app.create_team(&org, "Core").await.unwrap();
    let bea = app
        .create_user(
            &org,
            "bea@f.test",
            "Bea",
            PASSWORD,
            Role::Member,
            "UTC",
            &[team],
        )
        .await
        .unwrap();
    let key = app.create_key(&org, "tests").await.unwrap().1;
    let device = DeviceId::parse("laptop").unwrap();
    let token = app.issue_token(&bea, &device).await.unwrap();
    // Node A learns of the organisation made through node B (over NATS, or its periodic reload)
    // before the client connects to it: else its first hello may be refused as unknown.
    for _ in 0..100 {
        if a.app.slot(&bea).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(a.app.slot(&bea).is_some(), "node A knows bea");

    let address = match route {
        Route::LoadBalancer => format!("http://{}", load_balancer(vec![a.addr, b.addr]).await),
        Route::Addresses => format!("http://{}, http://{}", a.addr, b.addr),
    };
    let server = endpoint(&address);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bea.db")).await.unwrap();
    let mut options = Options::new(&server, &token, device);
    options.max_backoff = Duration::from_millis(500);
    let (sync, _task) = sync::spawn(store.clone(), Arc::new(Recorder::default()), options);
    // Subscribed at once: the client may be online before the first wait below begins.
    let from_start = sync.subscribe();
    let events = sync.subscribe();
    let http = reqwest::Client::new();
    let send = |to: SocketAddr, title: &'static str| {
        let (http, key) = (http.clone(), key.clone());
        async move {
            let r = http
                .post(format!("http://{to}/api/v1/notifications"))
                .bearer_auth(&key)
                .json(&json!({"user": "bea@f.test", "title": title, "external_id": title.replace(" ", "-")}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 201, "{title}");
        }
    };
    // Waits on a receiver taken before the action whose event it waits for.
    let wait_for = |mut events: tokio::sync::broadcast::Receiver<Event>,
                    what: &'static str,
                    f: fn(&Event) -> bool| {
        async move {
            support::next_event(&mut events, what, f).await;
        }
    };

    // Connected to node A (the first), a notification arrives.
    let online = wait_for(from_start, "online", |e| {
        matches!(e, Event::Connection(Connection::Online))
    });
    online.await;
    let first = wait_for(events.resubscribe(), "the first notification", |e| {
        matches!(e, Event::Notification { .. })
    });
    send(a.addr, "before").await;
    first.await;

    // Node A goes away. While the client is cut off, a notification is sent through node B.
    // (Listening for "online again" first: given both addresses, the client may be back on
    // node B before the notification is sent.)
    let back = wait_for(events.resubscribe(), "online again", |e| {
        matches!(e, Event::Connection(Connection::Online))
    });
    a.stop().await;
    send(b.addr, "while away").await;
    // The client comes back, now to node B, and resumes.
    back.await;
    let after = wait_for(
        events.resubscribe(),
        "a notification after",
        |e| matches!(e, Event::Notification { entry } if entry.notification.title == "after"),
    );
    send(b.addr, "after").await;
    after.await;

    // Every notification exactly once, in order.
    let mut titles = Vec::new();
    for seq in store.seqs().await.unwrap() {
        let entry = store
            .entry(protocol::NotificationSeq(seq))
            .await
            .unwrap()
            .unwrap();
        titles.push(entry.notification.title);
    }
    assert_eq!(titles, ["before", "while away", "after"]);
    if let Route::Addresses = route {
        assert_eq!(server.url(), format!("http://{}", b.addr), "now on node B");
        // REST calls follow to node B, which has the same state.
        let me = presently_client::api::Api::new(&server)
            .me(&token)
            .await
            .expect("node B answers");
        assert_eq!(me.email, "bea@f.test");
        // A fresh start tries node A first, cannot connect, and asks node B instead.
        let fresh = endpoint(&address);
        let me = presently_client::api::Api::new(&fresh)
            .me(&token)
            .await
            .expect("moved on to node B");
        assert_eq!(me.email, "bea@f.test");
        assert_eq!(fresh.url(), format!("http://{}", b.addr));
    }
    b.stop().await;
    drop_database(&url).await;
}

async fn drop_database(url: &str) {
    let (base, name) = url.rsplit_once('/').expect("a database URL");
    if let Ok(pool) = sqlx::AnyPool::connect(&format!("{base}/test")).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&pool)
            .await;
        pool.close().await;
    }
}
