//! What an attacker, a broken client or a careless integration does, and what the server does
//! about it: one test per fix, so this module grows with every hole closed (issue 11). Every
//! test runs on both databases and the manual clock.

use crate::support::*;
use clock::Clock;
use presence::{Change, ClearAfter, MessageText, Span, StatusId};
use protocol::{ClientMessage, ServerMessage};
use std::time::Duration;

on_both_databases!(
    a_nul_or_control_character_in_a_notification_is_refused_on_both_databases,
    concurrent_duplicates_get_one_answer_each_never_a_500,
    the_database_file_is_readable_by_its_owner_only,
    demo_pages_exist_only_on_a_demo_server,
    spoofing_text_links_with_credentials_and_foreign_senders_are_refused,
    a_negative_idle_time_is_refused_and_changes_nothing,
    a_client_that_stops_reading_is_closed_after_the_send_timeout,
    a_flood_of_pings_or_binary_frames_is_closed_like_any_other,
    a_client_that_only_listens_is_closed_a_lease_after_it_was_last_heard,
    an_invisible_persons_message_changes_reach_no_teammate,
    every_rest_failure_is_the_error_envelope,
    sign_in_is_limited_per_address_and_per_account_with_retry_after,
    protocol_violations_close_with_their_rfc_6455_code,
    frames_that_arrive_in_pieces_after_an_idle_while_are_read_whole,
);

/// An idle connection holds no read buffer (vendor/README.md): a frame that then arrives in
/// pieces (its header cut in two, its payload in several), or one larger than the read buffer,
/// is still read whole and answered.
async fn frames_that_arrive_in_pieces_after_an_idle_while_are_read_whole(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut ws = RawWs::open(f.addr()).await;
    let token = f.token(&f.bea, "desk").await;
    let hello = serde_json::json!({"type": "hello", "protocol": protocol::PROTOCOL_VERSION, "token": token, "device": "desk"}).to_string();
    // The first byte alone, then the length, the mask, and the payload in three.
    ws.send_in_pieces(0x81, hello.as_bytes(), None, &[1, 4, 6, 20, 100])
        .await;
    let welcome = ws.text().await.expect("a welcome");
    assert!(welcome.contains("\"type\":\"welcome\""), "{welcome}");
    // Past the snapshot and self view, the connection idles; then a heartbeat of 5,000 bytes
    // (over the 2 KiB read buffer), its 2-byte length cut off from its first byte.
    let padded = serde_json::json!({"type": "heartbeat", "padding": "x".repeat(5000)}).to_string();
    ws.send_in_pieces(0x81, padded.as_bytes(), None, &[1, 3, 8, 3000])
        .await;
    loop {
        let text = ws.text().await.expect("the heartbeat is answered");
        if text.contains("\"type\":\"heartbeat_ack\"") {
            break;
        }
        assert!(!text.contains("\"type\":\"error\""), "{text}");
    }
    // And again after another idle while, a small one in pieces.
    ws.send_in_pieces(0x81, br#"{"type":"heartbeat"}"#, None, &[1, 2, 9])
        .await;
    loop {
        let text = ws.text().await.expect("the second heartbeat is answered");
        if text.contains("\"type\":\"heartbeat_ack\"") {
            break;
        }
    }
    f.finish().await;
}

async fn protocol_violations_close_with_their_rfc_6455_code(b: Backend) {
    use presently_server::ws::HARD_FRAME_LIMIT;
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let big = HARD_FRAME_LIMIT as u64 + 1;
    /// What is sent, the first byte (FIN + opcode), the payload, the length announced (the
    /// payload's when `None`), and the close code expected.
    type Case = (&'static str, u8, Vec<u8>, Option<u64>, u16);
    let cases: Vec<Case> = vec![
        // Only the header announcing 1 MiB + 1 arrives: closed at once, nothing more is read.
        ("an oversized frame's header", 0x81, vec![], Some(big), 1009),
        (
            "an oversized binary frame's header",
            0x82,
            vec![],
            Some(16 << 20),
            1009,
        ),
        (
            "text that is not UTF-8",
            0x81,
            vec![0xff, 0xfe, 0x80],
            None,
            1007,
        ),
        ("a reserved opcode", 0x83, b"x".to_vec(), None, 1002),
        ("a reserved control opcode", 0x8b, vec![], None, 1002),
        ("a ping over 125 bytes", 0x89, vec![0; 126], None, 1002),
        ("a fragmented ping", 0x09, b"x".to_vec(), None, 1002),
        (
            "a stray continuation frame",
            0x80,
            b"x".to_vec(),
            None,
            1002,
        ),
        ("a reserved bit set", 0xc1, b"{}".to_vec(), None, 1002),
    ];
    for (what, first, payload, announced, code) in cases {
        // Before the hello, and after it: the same answer.
        for hello in [false, true] {
            let mut ws = RawWs::open(f.addr()).await;
            if hello {
                let token = f.token(&f.bea, "desk").await;
                let frame = serde_json::json!({"type": "hello", "protocol": protocol::PROTOCOL_VERSION, "token": token, "device": "desk"}).to_string();
                ws.send(0x81, frame.as_bytes(), None).await;
            }
            ws.send(first, &payload, announced).await;
            let got = ws.close_code().await;
            assert_eq!(
                got.as_ref().map(|(c, _)| *c),
                Some(code),
                "{what} (after hello: {hello}): {got:?}"
            );
        }
    }
    // The server is unharmed: a well-behaved client still connects.
    let _ok = f.online(&f.bea, "desk").await;
    f.finish().await;
}

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

async fn a_client_that_stops_reading_is_closed_after_the_send_timeout(b: Backend) {
    use presently_server::broker::{Broker, Event, Frame};
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let app = f.app().clone();
    // bea's desk connects and then reads nothing more.
    let _stalled = f.online(&f.bea, "desk").await;
    assert_eq!(app.hub.connection_count(), 1);
    // About 18 MB of frames for her: far more than the sockets' buffers hold, so the server's
    // write blocks.
    let big = format!(
        r#"{{"type":"heartbeat_ack","server_time":0,"pad":"{}"}}"#,
        "x".repeat(60_000)
    );
    for _ in 0..300 {
        f.broker.publish(Event::User {
            user: f.bea.clone(),
            frame: Frame::from(big.clone()),
            notification: None,
            version: None,
        });
    }
    f.broker.clear();
    // A real wait, not a proof: a stalled write has no event of its own to end on. The clock
    // stands still, so the send timeout cannot be what closes it here.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        app.hub.connection_count(),
        1,
        "still connected while the write waits"
    );
    // The write cannot finish within the send timeout: the connection ends and is released.
    f.clock.advance(presence::Span(
        presently_server::ws::SEND_TIMEOUT.as_millis() as i64,
    ));
    let mut closed = false;
    for _ in 0..250 {
        if app.hub.connection_count() == 0 {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        closed,
        "the stalled connection was closed after the send timeout"
    );
    f.finish().await;
}

async fn a_flood_of_pings_or_binary_frames_is_closed_like_any_other(b: Backend) {
    use tokio_tungstenite::tungstenite::Message;
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    for frame in [
        Message::Ping(vec![0].into()),
        Message::Binary(vec![0].into()),
    ] {
        let mut desk = f.online(&f.bea, "desk").await;
        for _ in 0..400 {
            if desk.send_frame(frame.clone()).await.is_err() {
                break;
            }
        }
        assert!(
            desk.closed().await,
            "a client that keeps sending {frame:?} frames is disconnected"
        );
    }
    f.finish().await;
}

async fn a_client_that_only_listens_is_closed_a_lease_after_it_was_last_heard(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let app = f.app().clone();
    let t = f.clock.now();
    // bea's desk reports once at t, then only receives; cal keeps changing status (deltas sent
    // to bea) and heartbeating.
    let _bea = f.online(&f.bea, "desk").await;
    let mut cal = f.online(&f.cal, "desk").await;
    assert_eq!(app.hub.connection_count(), 2);
    for (secs, status) in [
        (30, StatusId::BUSY),
        (60, StatusId::AVAILABLE),
        (85, StatusId::AWAY),
    ] {
        f.clock.set(t.plus(Span::seconds(secs)));
        cal.request(|request| ClientMessage::Change {
            request,
            change: Change::SetStatus {
                status: status.clone(),
                until: None,
            },
        })
        .await;
    }
    // A lease (90 s) after bea was last heard, not after the last frame sent to her.
    f.clock.set(t.plus(Span(89_999)));
    // A real wait: a connection's answer to the clock's move has nothing observable to end on
    // (a heartbeat from bea would restart her lease).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        app.hub.connection_count(),
        2,
        "bea is still connected just before"
    );
    f.clock.set(t.plus(Span::seconds(90)));
    let mut closed = false;
    for _ in 0..100 {
        if app.hub.connection_count() == 1 {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(closed, "bea's silent connection was closed at the lease");
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
