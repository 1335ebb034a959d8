//! What an attacker, a broken client or a careless integration does, and what the server does
//! about it: one test per fix, so this module grows with every hole closed (issue 11). Every
//! test runs on both databases and the manual clock.

use crate::support::*;
use presence::{Change, ClearAfter, MessageText, Span, StatusId};
use protocol::{ClientMessage, ServerMessage};

on_both_databases!(
    a_nul_or_control_character_in_a_notification_is_refused_on_both_databases,
    concurrent_duplicates_get_one_answer_each_never_a_500,
    the_database_file_is_readable_by_its_owner_only,
    demo_pages_exist_only_on_a_demo_server,
    spoofing_text_links_with_credentials_and_foreign_senders_are_refused,
    a_negative_idle_time_is_refused_and_changes_nothing,
    an_invisible_persons_message_changes_reach_no_teammate,
    every_rest_failure_is_the_error_envelope,
    sign_in_is_limited_per_address_and_per_account_with_retry_after,
);

/// One sign-in attempt from `from` (a loopback address: Linux routes all of 127/8 here);
/// (status, Retry-After, error message).
async fn sign_in_from(
    f: &Fixture,
    from: [u8; 4],
    email: &str,
    password: &str,
) -> (u16, Option<u64>, String) {
    let http = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(from))
        .build()
        .unwrap();
    let r = http
        .post(f.url("/sessions"))
        .json(&serde_json::json!({"email": email, "password": password, "device": "desk"}))
        .send()
        .await
        .expect("the server answers");
    let status = r.status().as_u16();
    let after = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    let message = body["error"]["message"].as_str().unwrap_or("").to_string();
    (status, after, message)
}

async fn sign_in_is_limited_per_address_and_per_account_with_retry_after(b: Backend) {
    use presently_server::app::signin::{PER_ACCOUNT_EVERY, PER_ADDRESS_BURST, PER_ADDRESS_EVERY};
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    // Guessing bea's password from one address: the burst is answered, then 429 with when to
    // try again — also for the right password, which is not even checked.
    for _ in 0..PER_ADDRESS_BURST {
        let (status, _, message) = sign_in_from(&f, [127, 0, 0, 1], "bea@one.test", "guess").await;
        assert_eq!((status, message.as_str()), (401, "wrong email or password"));
    }
    let (status, after, message) = sign_in_from(&f, [127, 0, 0, 1], "bea@one.test", PASSWORD).await;
    assert_eq!(status, 429, "{message}");
    assert_eq!(after, Some(PER_ADDRESS_EVERY.as_secs()));
    assert!(
        message.contains("from your network") && message.contains("try again in 3 s"),
        "{message}"
    );
    // From another address, bea's account has had its burst: 429 for the account.
    let (status, after, message) = sign_in_from(&f, [127, 0, 0, 2], "bea@one.test", PASSWORD).await;
    assert_eq!(status, 429, "{message}");
    assert!(message.contains("for this account"), "{message}");
    assert!(after.is_some_and(|s| s > 0 && s <= PER_ACCOUNT_EVERY.as_secs()));
    // An email with no account is limited the same way, so a 429 says nothing about who has
    // an account.
    for n in 0..PER_ADDRESS_BURST {
        let from = [127, 0, 1, n as u8];
        let (status, _, message) = sign_in_from(&f, from, "nobody@one.test", "guess").await;
        assert_eq!((status, message.as_str()), (401, "wrong email or password"));
    }
    let (status, _, message) = sign_in_from(&f, [127, 0, 2, 1], "nobody@one.test", "guess").await;
    assert_eq!(status, 429, "{message}");
    assert!(message.contains("for this account"), "{message}");
    // Other people are not affected.
    let (status, _, message) = sign_in_from(&f, [127, 0, 0, 3], "cal@one.test", PASSWORD).await;
    assert_eq!(status, 201, "{message}");
    // Once the wait has passed, bea signs in.
    f.clock
        .advance(presence::Span(PER_ACCOUNT_EVERY.as_millis() as i64));
    let (status, _, message) = sign_in_from(&f, [127, 0, 0, 1], "bea@one.test", PASSWORD).await;
    assert_eq!(status, 201, "{message}");
    f.finish().await;
}

async fn an_invisible_persons_message_changes_reach_no_teammate(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut cal = f.online(&f.cal, "desk").await;
    let mut bea = f.online(&f.bea, "desk").await;
    cal.until("bea available", delta_for(&f.bea, StatusId::AVAILABLE))
        .await;
    bea.request(|request| ClientMessage::Change {
        request,
        change: Change::SetStatus {
            status: StatusId::INVISIBLE,
            until: None,
        },
    })
    .await;
    cal.until("bea offline", delta_for(&f.bea, StatusId::OFFLINE))
        .await;
    bea.request(|request| ClientMessage::Change {
        request,
        change: Change::SetMessage {
            text: MessageText::parse("Interviewing elsewhere").unwrap(),
            emoji: None,
            clear_after: ClearAfter::OneHour,
        },
    })
    .await;
    bea.request(|request| ClientMessage::Change {
        request,
        change: Change::ClearMessage,
    })
    .await;
    cal.none(
        "anything about invisible bea",
        |m| matches!(m, ServerMessage::PresenceDelta { user, .. } if *user == f.bea),
    )
    .await;
    f.finish().await;
}

async fn every_rest_failure_is_the_error_envelope(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let token = f.token(&f.bea, "desk").await;
    let cases: Vec<(reqwest::RequestBuilder, u16, &str, &str)> = vec![
        (
            f.http
                .get(f.url("/notifications?limit=lots"))
                .bearer_auth(&token),
            422,
            "invalid",
            "query string",
        ),
        (
            f.http.patch(f.url("/me")).bearer_auth(&token),
            405,
            "method_not_allowed",
            "PATCH is not allowed",
        ),
        (f.http.get(f.url("/ws")), 400, "malformed", "WebSocket"),
        (
            f.http
                .post(f.url("/sessions"))
                .header("content-type", "text/plain")
                .body("email=bea"),
            400,
            "malformed",
            "not valid",
        ),
        (
            f.http
                .post(f.url("/sessions"))
                .header("content-type", "application/json")
                .body("{"),
            400,
            "malformed",
            "not valid",
        ),
        (
            f.http.get(f.url("/nope")),
            404,
            "not_found",
            "no such endpoint",
        ),
    ];
    for (request, status, kind, says) in cases {
        let r = request.send().await.unwrap();
        let got = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        assert_eq!(
            (got, body["error"]["kind"].as_str()),
            (status, Some(kind)),
            "{body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains(says),
            "{body}"
        );
    }
    f.finish().await;
}

async fn spoofing_text_links_with_credentials_and_foreign_senders_are_refused(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut desk = f.online(&f.bea, "desk").await;
    // A status message that reads backwards from U+202E on: refused where the frame is read.
    desk.send_raw(
        serde_json::json!({
            "type": "change",
            "request": "spoof",
            "change": {
                "kind": "set_message",
                "text": "Out \u{202E}yadot",
                "emoji": null,
                "clear_after": {"kind": "never"}
            }
        })
        .to_string(),
    )
    .await;
    let e = desk
        .until("the refusal", |m| matches!(m, ServerMessage::Error { .. }))
        .await;
    assert!(
        matches!(&e, ServerMessage::Error { error, .. } if error.kind == protocol::ErrorKind::Invalid && error.message.contains("direction override")),
        "{e:?}"
    );
    let admin = f.token(&f.admin, "desk").await;
    let (code, e) = f
        .post(
            "/admin/statuses",
            &admin,
            serde_json::json!({"name": "Lunch\u{2066}", "family": "away"}),
        )
        .await;
    assert_eq!(
        (code, e["error"]["kind"].as_str()),
        (422, Some("invalid")),
        "{e}"
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("direction override"),
        "{e}"
    );
    // A link with credentials in it, and a sender from another organisation.
    let (code, e) = f
        .post(
            "/notifications",
            &f.key,
            serde_json::json!({"user": "bea@one.test", "title": "t", "link": "https://me:secret@example.com/x"}),
        )
        .await;
    assert_eq!(
        (code, e["error"]["kind"].as_str()),
        (422, Some("invalid")),
        "{e}"
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("credentials"),
        "{e}"
    );
    let (code, e) = f
        .post(
            "/notifications",
            &f.key,
            serde_json::json!({"user": "bea@one.test", "title": "t", "sender": f.eve.as_str(), "urgent": true}),
        )
        .await;
    assert_eq!(
        (code, e["error"]["kind"].as_str()),
        (422, Some("invalid")),
        "{e}"
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a person of your organisation"),
        "{e}"
    );
    // Nothing was stored.
    let bea = f.token(&f.bea, "laptop").await;
    let (_, page) = f.get("/notifications", &bea).await;
    assert_eq!(page["notifications"].as_array().unwrap().len(), 0, "{page}");
    f.finish().await;
}

async fn a_negative_idle_time_is_refused_and_changes_nothing(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut desk = f.online(&f.bea, "desk").await;
    desk.heartbeat().await;
    let slot = f.app().slot(&f.bea).unwrap();
    let before = f.app().person(&slot).await;
    desk.send(&ClientMessage::DeviceReport {
        report: presence::DeviceReport {
            device: presence::DeviceId::parse("desk").unwrap(),
            seq: 1_000_000_000_000_000,
            activity: presence::DeviceActivity::Locked {
                locked_for: Span(-3_600_000),
            },
            in_call: false,
        },
    })
    .await;
    let e = desk
        .until("an error", |m| matches!(m, ServerMessage::Error { .. }))
        .await;
    assert!(
        matches!(&e, ServerMessage::Error { error, .. } if error.kind == protocol::ErrorKind::Invalid && error.message.contains("locked_for is negative")),
        "{e:?}"
    );
    assert_eq!(f.app().person(&slot).await, before, "nothing was applied");
    f.finish().await;
}

async fn demo_pages_exist_only_on_a_demo_server(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let page = |f: &Fixture| {
        let url = format!("http://{}/demo/notes/0", f.addr());
        let http = f.http.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        }
    };
    let (status, body) = page(&f).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("no such endpoint"), "{body}");
    presently_server::demo::seed(f.app()).await.unwrap();
    let (status, body) = page(&f).await;
    assert_eq!(status, 200, "{body}");
    f.finish().await;
}

/// Unix permissions; on Windows the file inherits its folder's access list.
async fn the_database_file_is_readable_by_its_owner_only(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    #[cfg(unix)]
    if let Some(path) = f.db.url.strip_prefix("sqlite://") {
        use std::os::unix::fs::PermissionsExt;
        for file in [path.to_string(), format!("{path}-wal")] {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{file} is {mode:o}: others can read it");
        }
    }
    f.finish().await;
}

async fn concurrent_duplicates_get_one_answer_each_never_a_500(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let post = |path: &'static str, body: serde_json::Value| {
        let (http, url, key) = (f.http.clone(), f.url(path), f.key.clone());
        async move {
            let r = http
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (
                status,
                r.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    // Twenty senders of the same notification at once: one stores it, the others are told it is
    // a duplicate.
    let sends = (0..20).map(|_| {
        post(
            "/notifications",
            serde_json::json!({"user": "bea@one.test", "title": "Build failed", "external_id": "ci-812"}),
        )
    });
    let answers = futures_util::future::join_all(sends).await;
    let created: Vec<_> = answers.iter().filter(|(s, _)| *s == 201).collect();
    let duplicates: Vec<_> = answers
        .iter()
        .filter(|(s, b)| *s == 200 && b["duplicate"] == true)
        .collect();
    assert_eq!((created.len(), duplicates.len()), (1, 19), "{answers:?}");
    let bea = f.token(&f.bea, "laptop").await;
    let (_, page) = f.get("/notifications", &bea).await;
    assert_eq!(page["notifications"].as_array().unwrap().len(), 1, "{page}");
    // Twenty identical integration events at once: applied once, and said so once.
    let events = (0..20).map(|_| {
        post(
            "/integrations/events",
            serde_json::json!({"user": "bea@one.test", "kind": "call_started", "external_id": "call-7"}),
        )
    });
    let answers = futures_util::future::join_all(events).await;
    assert!(
        answers.iter().all(|(s, _)| *s == 200 || *s == 201),
        "{answers:?}"
    );
    let applied = answers.iter().filter(|(_, b)| b["applied"] == true).count();
    assert_eq!(applied, 1, "{answers:?}");
    f.finish().await;
}

async fn a_nul_or_control_character_in_a_notification_is_refused_on_both_databases(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    for (title, body) in [
        ("Build\u{0}failed", "main is red"),
        ("Build failed", "main\u{0} is red"),
        ("Build \u{7}failed", ""),
        ("Build failed", "see \u{202E}txt.exe"),
    ] {
        let (code, e) = f
            .post(
                "/notifications",
                &f.key,
                serde_json::json!({"user": "bea@one.test", "title": title, "body": body}),
            )
            .await;
        assert_eq!(
            (code, e["error"]["kind"].as_str()),
            (422, Some("invalid")),
            "{title:?} / {body:?}: {e}"
        );
    }
    // Line breaks and tabs in a body are fine.
    let (code, e) = f
        .post(
            "/notifications",
            &f.key,
            serde_json::json!({"user": "bea@one.test", "title": "Build failed", "body": "main is red\n\tsee the log"}),
        )
        .await;
    assert_eq!(code, 201, "{e}");
    let bea = f.token(&f.bea, "laptop").await;
    let (_, page) = f.get("/notifications", &bea).await;
    assert_eq!(page["notifications"].as_array().unwrap().len(), 1, "{page}");
    f.finish().await;
}
