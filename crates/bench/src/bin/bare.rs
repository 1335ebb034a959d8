//! `presently-bare-server`: the practical limit for Presently's design on this machine, for
//! `presently-bench --targets bare`.
//!
//! The same WebSocket endpoint and frames as `presently-server` (`hello` with a device token →
//! `welcome`; `heartbeat` → `heartbeat_ack`; `change` with a status → `presence_delta` to every
//! teammate and `ack` to the sender), the same durable write per change (one SQLite
//! transaction through the same sqlx driver, one connection, WAL, `synchronous = NORMAL`,
//! awaited before the ack), one serialization per change shared by every teammate's queue, the
//! same bounded queue per connection — and nothing else: no engine, no rules, no views
//! computed, no leases, no notifications, no limits. It reads who is who (tokens, teams) from
//! the database the bench seeded, once at start.
//!
//! Not a server for people: a yardstick.

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use clap::Parser;
use presence::{
    Change, DeviceActivity, DeviceId, DeviceReport, Person, Preferences, Rules, StatusId, TeamView,
    Timestamp, UserId,
};
use protocol::{decode_client, encode, ClientMessage, ServerMessage};
use sqlx::{AnyPool, Executor, Row};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

#[derive(Parser)]
#[command(
    name = "presently-bare-server",
    about = "A bare store-and-broadcast server with Presently's frames: the bench's yardstick"
)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The database presently-bench seeded (sqlite://…)
    #[arg(long)]
    database: String,
}

/// A person: their id, their teammates (indices), and their live connections' queues.
struct Member {
    id: UserId,
    teammates: Vec<usize>,
}

struct Bare {
    db: AnyPool,
    people: Vec<Member>,
    by_token: HashMap<String, usize>,
    /// Per person, the queues of their open connections.
    queues: Vec<Mutex<Vec<mpsc::Sender<Utf8Bytes>>>>,
    /// What teammates see for each status the bench sets, made once with the engine at start
    /// (so the frame is byte for byte what Presently sends), never per change.
    views: HashMap<StatusId, TeamView>,
}

/// The same as presently-server's per-connection queue.
const QUEUE: usize = 4096;

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    sqlx::any::install_default_drivers();
    let db = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .after_connect(|conn, _| {
            Box::pin(async move {
                for pragma in [
                    "PRAGMA journal_mode = WAL",
                    "PRAGMA synchronous = NORMAL",
                    "PRAGMA busy_timeout = 10000",
                ] {
                    conn.execute(pragma).await?;
                }
                Ok(())
            })
        })
        .connect(&args.database)
        .await
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", args.database));
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bare_status (user_id TEXT PRIMARY KEY, status TEXT NOT NULL, at BIGINT NOT NULL)",
    )
    .execute(&db)
    .await
    .expect("bare_status");

    // Who is who, once.
    let users: Vec<String> = sqlx::query("SELECT id FROM users ORDER BY id")
        .fetch_all(&db)
        .await
        .expect("users")
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    let index: HashMap<&str, usize> = users
        .iter()
        .enumerate()
        .map(|(i, u)| (u.as_str(), i))
        .collect();
    let mut teams: HashMap<String, Vec<usize>> = HashMap::new();
    for r in sqlx::query("SELECT team_id, user_id FROM team_members")
        .fetch_all(&db)
        .await
        .expect("team members")
    {
        if let Some(i) = index.get(r.get::<String, _>(1).as_str()) {
            teams.entry(r.get(0)).or_default().push(*i);
        }
    }
    let mut teammates: Vec<Vec<usize>> = vec![Vec::new(); users.len()];
    for members in teams.values() {
        for &m in members {
            teammates[m].extend(members.iter().copied().filter(|o| *o != m));
        }
    }
    let mut by_token = HashMap::new();
    for r in sqlx::query("SELECT token_hash, user_id FROM device_tokens WHERE revoked_at IS NULL")
        .fetch_all(&db)
        .await
        .expect("tokens")
    {
        if let Some(i) = index.get(r.get::<String, _>(1).as_str()) {
            by_token.insert(r.get::<String, _>(0), *i);
        }
    }
    let rules = Rules::default();
    let now = clock::Clock::now(&clock::SystemClock);
    let mut views = HashMap::new();
    for status in [StatusId::AVAILABLE, StatusId::BUSY] {
        let mut p = Person::new(Preferences::default());
        p.report(
            &rules,
            now,
            &DeviceReport {
                device: DeviceId::parse("bench").expect("id"),
                seq: 1,
                activity: DeviceActivity::Active,
                in_call: false,
            },
        );
        let _ = p.apply(
            &rules,
            now,
            Change::SetStatus {
                status: status.clone(),
                until: None,
            },
        );
        views.insert(status, rules.team_view(&p, now));
    }
    let people: Vec<Member> = users
        .iter()
        .zip(teammates)
        .map(|(u, t)| Member {
            id: UserId::parse(u.clone()).expect("a valid id"),
            teammates: t,
        })
        .collect();
    let queues = people.iter().map(|_| Mutex::new(Vec::new())).collect();
    let bare = Arc::new(Bare {
        db,
        people,
        by_token,
        queues,
        views,
    });
    let app = axum::Router::new()
        .route("/api/v1/ws", get(upgrade))
        .with_state(bare);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {}: {e}", args.listen));
    axum::serve(listener, app).await.expect("serve");
}

async fn upgrade(State(bare): State<Arc<Bare>>, ws: WebSocketUpgrade) -> Response {
    ws.read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
        .max_message_size(presently_server::ws::HARD_FRAME_LIMIT)
        .on_upgrade(move |socket| connection(bare, socket))
}

fn text(m: &ServerMessage) -> Message {
    Message::Text(encode(m).into())
}

async fn connection(bare: Arc<Bare>, mut socket: WebSocket) {
    let Some(Ok(Message::Text(first))) = socket.recv().await else {
        return;
    };
    let Ok(ClientMessage::Hello { token, device, .. }) = decode_client(first.as_str()) else {
        return;
    };
    let Some(&me) = bare
        .by_token
        .get(&presently_server::auth::hash_secret(&token))
    else {
        return;
    };
    let now = clock::Clock::now(&clock::SystemClock);
    let welcome = ServerMessage::Welcome {
        protocol: protocol::PROTOCOL_VERSION,
        user: bare.people[me].id.clone(),
        device,
        server_time: now,
        cursor: protocol::NotificationSeq(0),
        heartbeat_ms: Some(30_000),
    };
    if socket.send(text(&welcome)).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::channel::<Utf8Bytes>(QUEUE);
    bare.queues[me].lock().expect("queues").push(tx.clone());
    loop {
        tokio::select! {
            out = rx.recv() => {
                let Some(frame) = out else { break };
                if socket.send(Message::Text(frame)).await.is_err() { break; }
            }
            incoming = socket.recv() => {
                let Some(Ok(Message::Text(t))) = incoming else {
                    match incoming {
                        Some(Ok(_)) => continue,
                        _ => break,
                    }
                };
                let reply = match decode_client(t.as_str()) {
                    Ok(ClientMessage::Heartbeat) => Some(ServerMessage::HeartbeatAck {
                        server_time: clock::Clock::now(&clock::SystemClock),
                    }),
                    Ok(ClientMessage::Change { request, change: Change::SetStatus { status, .. } }) => {
                        change(&bare, me, status).await;
                        Some(ServerMessage::Ack { request })
                    }
                    _ => None,
                };
                if let Some(reply) = reply {
                    if socket.send(text(&reply)).await.is_err() { break; }
                }
            }
        }
    }
    bare.queues[me]
        .lock()
        .expect("queues")
        .retain(|q| !q.same_channel(&tx));
}

/// Stores the change, then sends one serialization of it to every teammate's connections.
async fn change(bare: &Bare, me: usize, status: StatusId) {
    let now: Timestamp = clock::Clock::now(&clock::SystemClock);
    let stored = sqlx::query(
        "INSERT INTO bare_status (user_id, status, at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, at = excluded.at",
    )
    .bind(bare.people[me].id.as_str())
    .bind(status.to_string())
    .bind(now.0)
    .execute(&bare.db)
    .await;
    if stored.is_err() {
        return;
    }
    let Some(view) = bare.views.get(&status) else {
        return;
    };
    let frame: Utf8Bytes = encode(&ServerMessage::PresenceDelta {
        user: bare.people[me].id.clone(),
        view: view.clone(),
    })
    .into();
    for &mate in &bare.people[me].teammates {
        for q in bare.queues[mate].lock().expect("queues").iter() {
            let _ = q.try_send(frame.clone());
        }
    }
}
