//! Administration over REST, and the OpenAPI document.

use crate::support::*;
use presence::{Change, Span, StatusId};
use protocol::ClientMessage;
use serde_json::json;

on_both_databases!(
    administrators_manage_custom_statuses_timeouts_and_quiet_hours,
    the_openapi_document_describes_every_route,
);

async fn administrators_manage_custom_statuses_timeouts_and_quiet_hours(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    let member = f.token(&f.bea, "desk").await;
    let status =
        json!({"id": "focus", "name": "Focus time", "emoji": "🎧", "family": "do_not_disturb"});
    let (code, e) = f.post("/admin/statuses", &member, status.clone()).await;
    assert_eq!(
        (code, e["error"]["kind"].as_str()),
        (403, Some("forbidden"))
    );
    let (code, r) = f.post("/admin/statuses", &admin, status.clone()).await;
    assert_eq!(code, 201, "{r}");
    // The same id again is a conflict (409) that says what to do.
    let (code, e) = f.post("/admin/statuses", &admin, status.clone()).await;
    assert_eq!((code, e["error"]["kind"].as_str()), (409, Some("conflict")));
    assert!(
        e["error"]["message"].as_str().unwrap().contains("PUT"),
        "{e}"
    );
    let (_, list) = f.get("/statuses", &member).await;
    assert!(list["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == "custom:focus"));
    let mut bea = f.online(&f.bea, "laptop").await;
    bea.request(|request| ClientMessage::Change {
        request,
        change: Change::SetStatus {
            status: "custom:focus".parse().unwrap(),
            until: None,
        },
    })
    .await;
    // Disabled: no longer offered, and no longer chosen.
    let mut off = status.clone();
    off["enabled"] = json!(false);
    let r = f
        .http
        .put(f.url("/admin/statuses/focus"))
        .bearer_auth(&admin)
        .json(&off)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (_, list) = f.get("/statuses", &member).await;
    assert!(!list["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == "custom:focus"));
    let e = bea
        .refused(|request| ClientMessage::Change {
            request,
            change: Change::SetStatus {
                status: "custom:focus".parse().unwrap(),
                until: None,
            },
        })
        .await;
    assert!(e.message.contains("turned off"), "{}", e.message);

    let r = f
        .http
        .put(f.url("/admin/policy"))
        .bearer_auth(&admin)
        .json(&json!({"idle_after_secs": 120, "offline_after_secs": 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        f.app().rules(&f.org).unwrap().policy.idle_after,
        Span::seconds(120)
    );
    let r = f
        .http
        .put(f.url("/admin/policy"))
        .bearer_auth(&admin)
        .json(&json!({"idle_after_secs": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert_eq!(
        f.app().rules(&f.org).unwrap().policy.idle_after,
        Span::seconds(120),
        "a refused change changes nothing"
    );

    let quiet = json!({"quiet_hours": [{"days": [0,1,2,3,4,5,6], "start": 1320, "end": 420}]});
    let r = f
        .http
        .put(f.url("/admin/quiet-hours"))
        .bearer_auth(&admin)
        .json(&quiet)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let slot = f.app().slot(&f.cal).unwrap();
    let person = f.app().person(&slot).await;
    assert_eq!(
        person
            .preferences
            .schedule
            .as_ref()
            .unwrap()
            .quiet_hours
            .len(),
        1
    );
    // An override from an administrator, above everything.
    let r = f
        .http
        .put(f.url(&format!("/admin/users/{}/status", f.cal.as_str())))
        .bearer_auth(&admin)
        .json(&json!({"status": "away"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(f.seen(&f.cal).await, StatusId::AWAY);
    f.finish().await;
}

async fn the_openapi_document_describes_every_route(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let r = f.http.get(f.url("/openapi.json")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let doc: serde_json::Value = r.json().await.unwrap();
    // A standard validator accepts it.
    validate_openapi(&doc);
    let mut described = vec![];
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            described.push((method.clone(), path.clone()));
        }
    }
    described.sort();
    // Every operation a client or integration relies on is there (the document is generated from
    // the routes, so nothing else can be).
    let mut expected: Vec<(String, String)> = OPERATIONS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    expected.sort();
    assert_eq!(described, expected);
    // Bodies are described by their types, not as bare objects.
    assert_eq!(
        doc["paths"]["/sessions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/SignIn"
    );
    assert!(doc["components"]["schemas"]["SelfView"].is_object());
    // Each described route exists on the server (an unknown path is a 404 "no such endpoint").
    for (method, path) in expected {
        let path = path.replace("{id}", "x").replace("{user}", "x");
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = f.http.request(m, f.url(&path)).send().await.unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        assert!(
            !body.contains("no such endpoint"),
            "{method} {path}: {status} {body}"
        );
    }
    let (status, e) = f.get("/nope", "").await;
    assert_eq!(
        (status, e["error"]["kind"].as_str()),
        (404, Some("not_found"))
    );
    f.finish().await;
}

const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/openapi.json"),
    ("get", "/version"),
    ("get", "/ws"),
    ("post", "/sessions"),
    ("post", "/sessions/code"),
    ("delete", "/sessions/current"),
    ("put", "/me/password"),
    ("get", "/me/devices"),
    ("delete", "/me/devices/{device}"),
    ("put", "/me/avatar"),
    ("delete", "/me/avatar"),
    ("get", "/people/{user}/avatar"),
    ("put", "/admin/users/{user}/avatar"),
    ("delete", "/admin/users/{user}/avatar"),
    ("get", "/me/favourites"),
    ("put", "/me/favourites/{user}"),
    ("delete", "/me/favourites/{user}"),
    ("put", "/me/alerts/{user}"),
    ("delete", "/me/alerts/{user}"),
    ("get", "/me"),
    ("post", "/me/changes"),
    ("get", "/me/calendar"),
    ("put", "/me/calendar"),
    ("delete", "/me/calendar"),
    ("get", "/me/explain"),
    ("get", "/me/preferences"),
    ("put", "/me/preferences"),
    ("get", "/me/limits"),
    ("get", "/team"),
    ("get", "/directory"),
    ("get", "/statuses"),
    ("get", "/notifications"),
    ("post", "/notifications"),
    ("post", "/notifications/read"),
    ("post", "/notifications/dismiss"),
    ("post", "/notifications/read-all"),
    ("post", "/integrations/events"),
    ("get", "/integrations/presence"),
    ("post", "/routing/team-call"),
    ("post", "/routing/direct-call"),
    ("post", "/routing/assign"),
    ("get", "/admin/webhooks"),
    ("post", "/admin/webhooks"),
    ("patch", "/admin/webhooks/{id}"),
    ("delete", "/admin/webhooks/{id}"),
    ("get", "/admin/webhooks/{id}/deliveries"),
    ("post", "/admin/webhooks/{id}/test"),
    ("get", "/admin/statuses"),
    ("post", "/admin/statuses"),
    ("put", "/admin/statuses/{id}"),
    ("delete", "/admin/statuses/{id}"),
    ("get", "/admin/policy"),
    ("put", "/admin/policy"),
    ("get", "/admin/users"),
    ("post", "/admin/users"),
    ("get", "/admin/users/{user}"),
    ("patch", "/admin/users/{user}"),
    ("delete", "/admin/users/{user}"),
    ("post", "/admin/users/{user}/password-reset"),
    ("get", "/admin/users/{user}/devices"),
    ("delete", "/admin/users/{user}/devices/{device}"),
    ("get", "/admin/devices"),
    ("get", "/admin/invites"),
    ("post", "/admin/invites"),
    ("delete", "/admin/invites/{id}"),
    ("post", "/admin/invites/{id}/send"),
    ("get", "/admin/sso"),
    ("put", "/admin/sso"),
    ("delete", "/admin/sso"),
    ("get", "/sso/discover"),
    ("get", "/sso/start"),
    ("get", "/sso/callback"),
    ("post", "/sessions/sso"),
    ("get", "/admin/teams"),
    ("post", "/admin/teams"),
    ("patch", "/admin/teams/{team}"),
    ("delete", "/admin/teams/{team}"),
    ("put", "/admin/teams/{team}/members/{user}"),
    ("delete", "/admin/teams/{team}/members/{user}"),
    ("get", "/admin/keys"),
    ("post", "/admin/keys"),
    ("delete", "/admin/keys/{id}"),
    ("get", "/admin/audit"),
    ("put", "/admin/quiet-hours"),
    ("put", "/admin/users/{user}/status"),
    ("delete", "/admin/users/{user}/status"),
];

/// Runs PyPI's openapi-spec-validator (installed by `scripts/setup.sh --test`) on the document.
/// Missing: a failure in CI, SKIPPED with the reason elsewhere.
fn validate_openapi(doc: &serde_json::Value) {
    let validator = std::env::var("PRESENTLY_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/presently-venv")
        })
        .join("bin/openapi-spec-validator");
    if !validator.exists() {
        let msg = format!(
            "{} is not installed: run scripts/setup.sh --test (scripts/test.sh does)",
            validator.display()
        );
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: the OpenAPI validation: {msg}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    let out = std::process::Command::new(&validator)
        .arg(&file)
        .output()
        .expect("the validator runs");
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
