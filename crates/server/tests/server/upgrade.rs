//! An upgrade from the previous release: a database written by presently-server 0.1.0's own
//! binary (`tests/fixtures/v0.1.0/`, made by its `make.sh`) is opened by today's server. Every
//! migration since applies; the organisation, team, people, passwords, device tokens, the API
//! key, notifications with what was read, and an administrator's status are all there; a client
//! of 0.1.0's protocol (2) is still served, and one older than that is told what to update.

use futures_util::{SinkExt, StreamExt};
use protocol::{ClientMessage, ServerMessage};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v0.1.0");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_the_previous_release_opens_with_nothing_lost() {
    let made: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURE}/made.json")).unwrap())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("server.db");
    std::fs::copy(format!("{FIXTURE}/server.db"), &file).unwrap();
    let url = format!("sqlite://{}", file.display());

    let running = presently_server::start(&url, "127.0.0.1:0".parse().unwrap(), None)
        .await
        .expect("today's server opens 0.1.0's database");
    let base = format!("http://{}/api/v1", running.addr);
    let http = reqwest::Client::new();
    let get = |path: &str, token: &str| {
        let r = http.get(format!("{base}{path}")).bearer_auth(token).send();
        async move {
            let r = r.await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let token = |k: &str| made[k].as_str().unwrap().to_string();

    // Every migration since applied.
    {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&pool)
                .await
                .unwrap();
        pool.close().await;
        let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".sql"))
            })
            .count();
        assert_eq!(applied as usize, files, "every migration is applied");
    }

    // The device tokens 0.1.0 issued, and the people behind them.
    let (code, me) = get("/me", &token("bea_token")).await;
    assert_eq!(code, 200, "{me}");
    assert_eq!(me["email"], "bea@example.org");
    assert_eq!(me["name"], "Bea Example");
    assert_eq!(me["org"]["name"], "Example");
    let (code, people) = get("/admin/users", &token("admin_token")).await;
    assert_eq!(code, 200, "the administrator's token and role: {people}");
    let emails: Vec<&str> = people["users"]
        .as_array()
        .unwrap_or_else(|| panic!("{people}"))
        .iter()
        .filter_map(|p| p["email"].as_str())
        .collect();
    for e in ["admin@example.org", "bea@example.org", "cal@example.org"] {
        assert!(emails.contains(&e), "{e} in {emails:?}");
    }
    // Their team.
    let (code, team) = get("/team", &token("bea_token")).await;
    assert_eq!(code, 200, "{team}");
    let cal = team["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "Cal Example")
        .unwrap_or_else(|| panic!("cal is bea's teammate: {team}"));
    assert_eq!(
        cal["view"]["status"]["status"], "away",
        "the administrator's status on cal: {cal}"
    );

    // Passwords still sign in.
    let r = http
        .post(format!("{base}/sessions"))
        .json(&json!({"email": "bea@example.org", "password": "bea's long password", "device": "bea-phone"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // Notifications, with what was read.
    let (code, page) = get("/notifications", &token("bea_token")).await;
    assert_eq!(code, 200, "{page}");
    let stored: Vec<(u64, bool, String)> = page["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["seq"].as_u64().unwrap(),
                n["read"].as_bool().unwrap(),
                n["title"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let read: Vec<u64> = serde_json::from_value(made["read"].clone()).unwrap();
    for (i, seq) in made["notifications"].as_array().unwrap().iter().enumerate() {
        let seq = seq.as_u64().unwrap();
        let n = stored
            .iter()
            .find(|n| n.0 == seq)
            .unwrap_or_else(|| panic!("notification {seq} is kept: {stored:?}"));
        assert_eq!(n.1, read.contains(&seq), "read as it was: {n:?}");
        assert_eq!(n.2, format!("Ticket #{} assigned", i + 1));
    }
    // The API key still sends, and an external id sent before is still known.
    let r = http
        .post(format!("{base}/notifications"))
        .bearer_auth(token("api_key"))
        .json(&json!({"user": "bea@example.org", "title": "Ticket #2 assigned", "external_id": "helpdesk-2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a duplicate of one sent under 0.1.0");

    // A client of 0.1.0's protocol is served; an older one is told what to update.
    let hello = |protocol: u16| {
        protocol::encode(&ClientMessage::Hello {
            protocol,
            token: token("bea_token"),
            device: presence::DeviceId::parse("bea-laptop").unwrap(),
            resume_after: None,
        })
    };
    let first_answer = |protocol: u16| {
        let addr = running.addr;
        let hello = hello(protocol);
        async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws"))
                .await
                .unwrap();
            ws.send(Message::Text(hello.into())).await.unwrap();
            loop {
                match ws.next().await.expect("an answer").unwrap() {
                    Message::Text(t) => {
                        return serde_json::from_str::<ServerMessage>(t.as_str()).unwrap()
                    }
                    Message::Close(_) => panic!("closed without an answer"),
                    _ => {}
                }
            }
        }
    };
    match first_answer(2).await {
        ServerMessage::Welcome { user, .. } => {
            assert_eq!(user.as_str(), me["user"].as_str().unwrap())
        }
        other => panic!("0.1.0's protocol is served: {other:?}"),
    }
    match first_answer(1).await {
        ServerMessage::Error { error, .. } => {
            assert_eq!(error.kind, protocol::ErrorKind::UnsupportedVersion);
            assert!(error.message.contains("update"), "{}", error.message);
        }
        other => panic!("protocol 1 is refused with words: {other:?}"),
    }
    running.stop().await;
}
