//! Outgoing webhooks against a real HTTPS receiver started by the test (TLS with a CA made in
//! the test, which the server is told to trust): what teammates see, notifications and account
//! changes arrive signed; Invisible arrives as Offline; a failing endpoint is retried with
//! back-off on the manual clock, turned off after a day with its administrators told, and
//! turned on again; another organisation cannot see it.

use crate::https::{Https, Received};
use crate::support::*;
use presence::{Change, Span, StatusId};
use presently_server::app::webhooks::{WebhookOptions, FIRST_RETRY_MS};
use protocol::ClientMessage;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

on_both_databases!(events_arrive_signed_and_a_failing_endpoint_is_retried_then_turned_off,);

/// The test's HTTPS endpoint: every request kept, answered with `status`.
struct Receiver {
    url: String,
    server: Https,
    status: Arc<AtomicU16>,
}

impl Receiver {
    async fn start(dir: &std::path::Path) -> (Receiver, std::path::PathBuf) {
        let status = Arc::new(AtomicU16::new(200));
        let answer = status.clone();
        let server = Https::start(dir, move |_| {
            (answer.load(Ordering::SeqCst), vec![], String::new())
        })
        .await;
        let ca = server.ca_file.clone();
        (
            Receiver {
                url: format!("{}/hook", server.base),
                server,
                status,
            },
            ca,
        )
    }

    async fn next(&mut self, what: &str) -> Received {
        tokio::time::timeout(Duration::from_secs(15), self.server.requests.recv())
            .await
            .unwrap_or_else(|_| panic!("waited 15 s for {what}"))
            .expect("the receiver runs")
    }

    /// The next request whose body's `type` is `kind` and whose data matches `pred`.
    async fn until(&mut self, what: &str, kind: &str, pred: impl Fn(&Value) -> bool) -> Received {
        loop {
            let r = self.next(what).await;
            let v = json_of(&r);
            if v["type"] == kind && pred(&v["data"]) {
                return r;
            }
        }
    }

    /// Nothing arrives within a short real wait (the manual clock stands still meanwhile).
    async fn none(&mut self, what: &str) {
        if let Ok(Some(r)) =
            tokio::time::timeout(Duration::from_millis(600), self.server.requests.recv()).await
        {
            panic!("expected no {what}, got {r:?}");
        }
    }
}

fn json_of(r: &Received) -> Value {
    serde_json::from_str(&r.body).expect("a JSON body")
}

/// What a receiver checks, in the few lines docs/integrations.md shows.
fn signed_by(r: &Received, secret: &str) -> bool {
    let timestamp = &r.headers["presently-timestamp"];
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let expected =
        hex::encode(ring::hmac::sign(&key, format!("{timestamp}.{}", r.body).as_bytes()).as_ref());
    r.headers["presently-signature"] == format!("v1={expected}")
}

async fn events_arrive_signed_and_a_failing_endpoint_is_retried_then_turned_off(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut hook, ca) = Receiver::start(dir.path()).await;
    let admin = f.token(&f.admin, "console").await;

    // Before the server trusts private networks: the receiver, on loopback, is refused in words.
    let body = json!({"url": hook.url, "events": ["status.changed"]});
    let (code, answer) = f
        .call(Method::POST, "/admin/webhooks", &admin, Some(body.clone()))
        .await;
    assert_eq!(code, 422, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("private network"),
        "{answer}"
    );
    f.app()
        .webhooks
        .configure(&WebhookOptions {
            ca_file: Some(ca),
            allow_private_networks: true,
        })
        .unwrap();
    // Plain http, and no events, are refused too.
    let (code, _) = f
        .call(
            Method::POST,
            "/admin/webhooks",
            &admin,
            Some(json!({"url": "http://127.0.0.1:9/x", "events": ["status.changed"]})),
        )
        .await;
    assert_eq!(code, 422);
    let (code, _) = f
        .call(
            Method::POST,
            "/admin/webhooks",
            &admin,
            Some(json!({"url": hook.url, "events": []})),
        )
        .await;
    assert_eq!(code, 422);

    let (code, made) = f
        .call(
            Method::POST,
            "/admin/webhooks",
            &admin,
            Some(json!({"url": hook.url, "events": ["status.changed", "notification.created", "account.changed"], "description": "the test's receiver"})),
        )
        .await;
    assert_eq!(code, 201, "{made}");
    let id = made["webhook"]["id"].as_str().unwrap().to_string();
    let secret = made["secret"].as_str().unwrap().to_string();
    let (_, listed) = f.get("/admin/webhooks", &admin).await;
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(
        listed[0].get("secret").is_none(),
        "the secret is shown once: {listed}"
    );

    // Bea comes online: what her teammates now see arrives, signed.
    let mut bea = f.online(&f.bea, "desk").await;
    let r = hook
        .until("bea available", "status.changed", |d| {
            d["user"] == f.bea.as_str() && d["view"]["status"]["status"] == "available"
        })
        .await;
    assert!(signed_by(&r, &secret), "the signature checks: {r:?}");
    assert!(!signed_by(&r, "whsec_wrong"));
    assert_eq!(r.headers["presently-event"], "status.changed");
    let v = json_of(&r);
    assert_eq!(v["org"], f.org.as_str());
    assert_eq!(r.headers["presently-delivery"], v["id"].as_str().unwrap());

    // Invisible: the endpoint is told Offline, as teammates are, never Invisible.
    bea.send(&ClientMessage::Change {
        request: protocol::RequestId("inv-1".into()),
        change: Change::SetStatus {
            status: StatusId::INVISIBLE,
            until: None,
        },
    })
    .await;
    let r = hook
        .until("bea shown offline", "status.changed", |d| {
            d["user"] == f.bea.as_str()
        })
        .await;
    assert_eq!(json_of(&r)["data"]["view"]["status"]["status"], "offline");
    assert!(!r.body.contains("invisible"), "{}", r.body);

    // A notification for bea, and a person added: both arrive.
    let (code, _) = f
        .post(
            "/notifications",
            &f.key,
            json!({"user": "bea@one.test", "title": "Build failed"}),
        )
        .await;
    assert_eq!(code, 201);
    hook.until("the notification", "notification.created", |d| {
        d["notification"]["title"] == "Build failed" && d["email"] == "bea@one.test"
    })
    .await;
    let (code, answer) = f
        .call(
            Method::POST,
            "/admin/users",
            &admin,
            Some(json!({"email": "finn@one.test", "name": "Finn", "password": PASSWORD, "role": "member", "time_zone": "UTC", "teams": []})),
        )
        .await;
    assert_eq!(code, 201, "{answer}");
    hook.until("the new account", "account.changed", |d| {
        d["change"] == "created" && d["email"] == "finn@one.test"
    })
    .await;

    // The endpoint fails: the delivery is kept and tried again 30 s later, not before.
    hook.status.store(503, Ordering::SeqCst);
    // (Bea is Invisible: her idle changes nothing teammates see. Cal comes online.)
    let _cal = f.online(&f.cal, "desk").await;
    let first = hook.next("the first attempt").await;
    let delivery = first.headers["presently-delivery"].clone();
    let mut entry = Value::Null;
    for _ in 0..100 {
        let l = log(&f, &admin, &id).await;
        entry = l["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == delivery.as_str())
            .cloned()
            .unwrap_or(Value::Null);
        if entry["attempts"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(entry["state"], "pending", "{entry}");
    assert_eq!(entry["last_status"], 503, "{entry}");
    f.clock.advance(Span(FIRST_RETRY_MS - 1000));
    hook.none("a retry before its time").await;
    f.clock.advance(Span(1000));
    let second = hook.next("the second attempt").await;
    assert_eq!(
        second.headers["presently-delivery"], delivery,
        "the same delivery, again"
    );
    assert_eq!(second.body, first.body);

    // A day of failures: the endpoint is turned off and the administrators are told.
    f.clock.advance(Span::hours(25));
    let mut turned_off = Value::Null;
    for _ in 0..200 {
        let (_, listed) = f.get("/admin/webhooks", &admin).await;
        if listed[0]["enabled"] == false {
            turned_off = listed[0].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        turned_off["enabled"], false,
        "turned off after a day: {turned_off}"
    );
    assert!(
        turned_off["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("for a day"),
        "{turned_off}"
    );
    assert!(turned_off["failing_since"].is_number(), "{turned_off}");
    let (_, told) = f.get("/notifications", &admin).await;
    assert!(
        told.to_string().contains("A webhook was turned off"),
        "the administrator is told: {told}"
    );
    let entry = log(&f, &admin, &id).await["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == delivery.as_str())
        .cloned()
        .unwrap();
    assert_eq!(entry["state"], "failed", "{entry}");

    // Turned on again once it answers: its failures are cleared; a test ping arrives.
    hook.status.store(200, Ordering::SeqCst);
    let (code, on) = f
        .call(
            Method::PATCH,
            &format!("/admin/webhooks/{id}"),
            &admin,
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(code, 200, "{on}");
    assert_eq!(
        (&on["enabled"], &on["failing_since"]),
        (&json!(true), &Value::Null)
    );
    let (code, _) = f
        .call(
            Method::POST,
            &format!("/admin/webhooks/{id}/test"),
            &admin,
            None,
        )
        .await;
    assert_eq!(code, 202);
    hook.until("the ping", "ping", |d| d["webhook"] == id.as_str())
        .await;

    // Another organisation's administrator does not find it.
    let ola = f
        .app()
        .create_user(
            &f.org2,
            "ola@two.test",
            "Ola",
            PASSWORD,
            presently_server::db::Role::Admin,
            "UTC",
            &[],
        )
        .await
        .unwrap();
    let other = f.token(&ola, "console").await;
    let (code, _) = f
        .get(&format!("/admin/webhooks/{id}/deliveries"), &other)
        .await;
    assert_eq!(code, 404);
    let (code, _) = f
        .call(
            Method::DELETE,
            &format!("/admin/webhooks/{id}"),
            &other,
            None,
        )
        .await;
    assert_eq!(code, 404);
    let (_, theirs) = f.get("/admin/webhooks", &other).await;
    assert_eq!(theirs, json!([]));
    let (code, _) = f
        .call(
            Method::DELETE,
            &format!("/admin/webhooks/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(code, 204);
    drop(bea);
    f.finish().await;
}

/// An endpoint's delivery log, as the console reads it.
async fn log(f: &Fixture, admin: &str, id: &str) -> Value {
    f.get(&format!("/admin/webhooks/{id}/deliveries"), admin)
        .await
        .1
}
