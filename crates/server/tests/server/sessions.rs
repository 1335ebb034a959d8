//! Signing in, tokens, and what a connection refuses: wrong tokens, no hello, bad frames, floods, another organisation's ids.

use crate::support::*;
use clock::Clock;
use presence::{Change, DeviceActivity, DeviceId, DeviceReport, Span, StatusId};
use presently_server::app::Actor;
use protocol::{ClientMessage, ErrorKind, ServerMessage};
use serde_json::json;
use std::time::Duration;

on_both_databases!(
    sign_in_gives_a_device_token_and_the_socket_sends_welcome_snapshot_and_self,
    wrong_and_revoked_tokens_are_refused,
    a_connection_without_a_hello_is_closed_after_exactly_ten_seconds,
    bad_frames_get_typed_errors_keep_the_connection_and_change_nothing,
    flooding_is_rate_limited,
    no_request_reaches_another_organisation,
    a_device_that_slept_past_its_lease_is_asked_to_report_again,
);

async fn sign_in_gives_a_device_token_and_the_socket_sends_welcome_snapshot_and_self(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let body = json!({"email": "bea@one.test", "password": PASSWORD, "device": "laptop"});
    let r = f
        .http
        .post(f.url("/sessions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let signed: serde_json::Value = r.json().await.unwrap();
    let token = signed["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("pd_"));

    let wrong = json!({"email": "bea@one.test", "password": "nope", "device": "laptop"});
    let r = f
        .http
        .post(f.url("/sessions"))
        .json(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["kind"], "unauthorized");

    let c = Client::connect(f.addr(), &token, "laptop", None).await;
    assert_eq!(c.user, f.bea);
    let mut names: Vec<_> = c.members.iter().map(|m| m.user.clone()).collect();
    names.sort();
    let mut expected = vec![f.admin.clone(), f.cal.clone()];
    expected.sort();
    assert_eq!(
        names, expected,
        "the snapshot holds the teammates, not dan or eve"
    );
    assert!(c
        .members
        .iter()
        .all(|m| m.view.status.status == StatusId::OFFLINE));
    assert_eq!(c.members[0].time_zone, "Europe/London");

    let (status, me) = f.get("/me", &token).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], "bea@one.test");
    c.close().await;
    f.finish().await;
}

async fn wrong_and_revoked_tokens_are_refused(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    // A wrong token: an error saying so, then the connection closes.
    let mut ws = Client::raw(f.addr()).await;
    use futures_util::{SinkExt, StreamExt};
    let hello = json!({"type": "hello", "protocol": protocol::PROTOCOL_VERSION, "token": "pd_wrong", "device": "desk", "resume_after": null});
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        hello.to_string().into(),
    ))
    .await
    .unwrap();
    let m = ws.next().await.unwrap().unwrap();
    let e = protocol::decode_server(m.to_text().unwrap()).unwrap();
    assert!(
        matches!(e, ServerMessage::Error { error, .. } if error.kind == ErrorKind::Unauthorized)
    );
    // Another protocol version: newer than the server's, or older than it still speaks. Each
    // says which side to update.
    let token = f.token(&f.bea, "desk").await;
    for (version, says) in [
        (99, "ask your administrator to update the server"),
        (protocol::MIN_PROTOCOL_VERSION - 1, "update Presently"),
    ] {
        let mut ws = Client::raw(f.addr()).await;
        let hello = json!({"type": "hello", "protocol": version, "token": token, "device": "desk", "resume_after": null});
        ws.send(tokio_tungstenite::tungstenite::Message::Text(
            hello.to_string().into(),
        ))
        .await
        .unwrap();
        let m = ws.next().await.unwrap().unwrap();
        let e = protocol::decode_server(m.to_text().unwrap()).unwrap();
        match e {
            ServerMessage::Error { error, .. } => {
                assert_eq!(error.kind, ErrorKind::UnsupportedVersion);
                assert!(error.message.contains(says), "{}", error.message);
            }
            other => panic!("protocol {version} was answered with {other:?}"),
        }
    }
    // A token used by another device id.
    let mut ws = Client::raw(f.addr()).await;
    let hello = json!({"type": "hello", "protocol": protocol::PROTOCOL_VERSION, "token": token, "device": "phone", "resume_after": null});
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        hello.to_string().into(),
    ))
    .await
    .unwrap();
    let m = ws.next().await.unwrap().unwrap();
    assert!(m.to_text().unwrap().contains("unauthorized"));

    // Signing out revokes the token: the open connection is told and closed, and the token
    // no longer works anywhere.
    let mut cal = f.online(&f.cal, "desk").await;
    let mut desk = Client::connect(f.addr(), &token, "desk", None).await;
    desk.report(DeviceActivity::Active, false).await;
    cal.until("bea available", delta_for(&f.bea, StatusId::AVAILABLE))
        .await;
    let r = f
        .http
        .delete(f.url("/sessions/current"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let m = desk
        .until("the sign-out error", |m| {
            matches!(m, ServerMessage::Error { .. })
        })
        .await;
    assert!(
        matches!(m, ServerMessage::Error { error, .. } if error.kind == ErrorKind::Unauthorized)
    );
    assert!(desk.closed().await);
    cal.until("bea offline at once", delta_for(&f.bea, StatusId::OFFLINE))
        .await;
    let (status, e) = f.get("/me", &token).await;
    assert_eq!(status, 401);
    assert!(e["error"]["message"].as_str().unwrap().contains("revoked"));
    // An API key is not a device token, and the other way round.
    let (status, e) = f.get("/me", &f.key).await;
    assert_eq!(status, 401);
    assert!(e["error"]["message"].as_str().unwrap().contains("API key"));
    let cal_token = f.token(&f.cal, "x").await;
    let (status, _) = f
        .post(
            "/notifications",
            &cal_token,
            json!({"user": "bea@one.test", "title": "t"}),
        )
        .await;
    assert_eq!(status, 401);
    let r = f.http.get(f.url("/me")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    f.finish().await;
}

async fn a_connection_without_a_hello_is_closed_after_exactly_ten_seconds(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let mut ws = Client::raw(f.addr()).await;
    // A pong proves the server is reading this connection, so its hello timer has started.
    ws.send(Message::Ping(vec![1].into())).await.unwrap();
    match ws.next().await {
        Some(Ok(Message::Pong(_))) => {}
        other => panic!("a pong, not {other:?}"),
    }
    let opened = f.clock.now();
    f.clock.set(opened.plus(Span(9_999)));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), ws.next())
            .await
            .is_err(),
        "still open a millisecond before the hello timeout"
    );
    f.clock.set(opened.plus(Span::seconds(10)));
    let m = ws.next().await.expect("a frame").expect("a frame");
    let e = protocol::decode_server(m.to_text().unwrap()).unwrap();
    assert!(
        matches!(&e, ServerMessage::Error { error, .. } if error.kind == ErrorKind::Unauthorized && error.message.contains("no hello within 10 s")),
        "{e:?}"
    );
    match ws.next().await {
        Some(Ok(Message::Close(Some(close)))) => assert_eq!(u16::from(close.code), 1008),
        other => panic!("a close frame, not {other:?}"),
    }
    f.finish().await;
}

async fn bad_frames_get_typed_errors_keep_the_connection_and_change_nothing(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut bea = f.online(&f.bea, "desk").await;
    bea.request(|request| ClientMessage::Change {
        request,
        change: Change::SetStatus {
            status: StatusId::BUSY,
            until: None,
        },
    })
    .await;
    let slot = f.app().slot(&f.bea).unwrap();
    let before = f.app().person(&slot).await;
    let cases: Vec<(String, ErrorKind)> = vec![
        ("x".repeat(70 * 1024), ErrorKind::TooLarge),
        ("{not json".into(), ErrorKind::Malformed),
        ("[1,2]".into(), ErrorKind::Malformed),
        (r#"{"type":"launch_rockets"}"#.into(), ErrorKind::UnknownType),
        (r#"{"type":"change","request":"r","change":{"kind":"set_status","status":"nope"}}"#.into(), ErrorKind::Invalid),
        (r#"{"type":"change","request":"r","change":{"kind":"set_message","text":"ok","clear_after":{"kind":"never"},"emoji":"this is not one emoji at all, it is far too long"}}"#.into(), ErrorKind::Invalid),
        (format!(r#"{{"type":"change","request":"r","change":{{"kind":"set_message","text":"{}","clear_after":{{"kind":"never"}}}}}}"#, "y".repeat(500)), ErrorKind::Invalid),
        (r#"{"type":"hello","protocol":1,"token":"x","device":"d","resume_after":null}"#.into(), ErrorKind::Invalid),
    ];
    for (frame, kind) in cases {
        bea.send_raw(frame.clone()).await;
        let m = bea
            .until("an error", |m| matches!(m, ServerMessage::Error { .. }))
            .await;
        let ServerMessage::Error { error, .. } = m else {
            unreachable!()
        };
        assert_eq!(
            error.kind,
            kind,
            "for {}: {}",
            &frame[..frame.len().min(60)],
            error.message
        );
        assert!(!error.message.is_empty());
    }
    // Still connected and still served.
    bea.heartbeat().await;
    let after = f.app().person(&slot).await;
    assert_eq!(after.claims(), before.claims(), "nothing stored changed");
    // A frame beyond the WebSocket layer's limit ends the connection, not the server. The server
    // may reset the connection while the frame is still being written (seen on PostgreSQL runs),
    // so a failed write counts as the connection ending too.
    let cut = bea.try_send_raw("z".repeat(2 * 1024 * 1024)).await.is_err();
    assert!(cut || bea.closed().await);
    let mut again = f.online(&f.bea, "desk").await;
    again.heartbeat().await;
    f.finish().await;
}

async fn flooding_is_rate_limited(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut bea = f.online(&f.bea, "desk").await;
    for _ in 0..150 {
        bea.send(&ClientMessage::Heartbeat).await;
    }
    let (mut acks, mut limited) = (0, 0);
    while let Some(m) = bea.try_next(Duration::from_millis(500)).await {
        match m {
            ServerMessage::HeartbeatAck { .. } => acks += 1,
            ServerMessage::Error { error, .. } if error.kind == ErrorKind::RateLimited => {
                limited += 1
            }
            ServerMessage::SelfUpdate { .. } | ServerMessage::ReportApplied { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(acks + limited, 150, "every frame is answered");
    // The clock stands still: exactly the burst is served (less the device report sent on
    // connecting), the rest refused.
    let burst = presently_server::ws::RATE_BURST as usize - 1;
    assert_eq!(
        (acks, limited),
        (burst, 150 - burst),
        "the burst is served, the rest refused"
    );
    // A short burst keeps the connection: a second later, a second's worth is served again.
    f.clock.advance(Span::seconds(1));
    for _ in 0..30 {
        bea.send(&ClientMessage::Heartbeat).await;
    }
    let (mut acks, mut limited) = (0, 0);
    while let Some(m) = bea.try_next(Duration::from_millis(500)).await {
        match m {
            ServerMessage::HeartbeatAck { .. } => acks += 1,
            ServerMessage::Error { error, .. } if error.kind == ErrorKind::RateLimited => {
                limited += 1
            }
            _ => {}
        }
    }
    let per_second = presently_server::ws::RATE_PER_SECOND as usize;
    assert_eq!((acks, limited), (per_second, 30 - per_second));
    // Keeping it up ends the connection (the writes fail once the server has closed it).
    for _ in 0..400 {
        if bea
            .try_send_raw(protocol::encode(&ClientMessage::Heartbeat))
            .await
            .is_err()
        {
            break;
        }
    }
    assert!(
        bea.closed().await,
        "a client that keeps flooding is disconnected"
    );
    f.finish().await;
}

async fn no_request_reaches_another_organisation(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    // Org two's key cannot notify, route or set events for org one's people or teams.
    let (status, e) = f
        .post(
            "/notifications",
            &f.key2,
            json!({"user": f.bea.as_str(), "title": "hi"}),
        )
        .await;
    assert_eq!(
        (status, e["error"]["kind"].as_str()),
        (404, Some("not_found"))
    );
    let (status, _) = f
        .post(
            "/notifications",
            &f.key2,
            json!({"user": "bea@one.test", "title": "hi"}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = f
        .post("/routing/team-call", &f.key2, json!({"team": f.team}))
        .await;
    assert_eq!(status, 404);
    let (status, _) = f
        .post("/routing/assign", &f.key2, json!({"team": f.team}))
        .await;
    assert_eq!(status, 404);
    let (status, _) = f
        .post(
            "/routing/direct-call",
            &f.key2,
            json!({"user": f.bea.as_str()}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = f
        .post(
            "/integrations/events",
            &f.key2,
            json!({"user": f.bea.as_str(), "kind": "call_started", "external_id": "c"}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(f.seen(&f.bea).await, StatusId::OFFLINE);
    // An admin of org one cannot override org two's member.
    let admin = f.token(&f.admin, "desk").await;
    let r = f
        .http
        .put(f.url(&format!("/admin/users/{}/status", f.eve.as_str())))
        .bearer_auth(&admin)
        .json(&json!({"status": "away"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    // Org one's key works for org one, and bea's list holds nothing from elsewhere.
    let (status, _) = f
        .post(
            "/notifications",
            &f.key,
            json!({"user": f.bea.as_str(), "title": "hi"}),
        )
        .await;
    assert_eq!(status, 201);
    let eve = f.token(&f.eve, "desk").await;
    let (_, list) = f.get("/notifications", &eve).await;
    assert_eq!(list["notifications"].as_array().unwrap().len(), 0);
    let (_, team) = f.get("/team", &eve).await;
    assert_eq!(
        team["members"].as_array().unwrap().len(),
        0,
        "eve's team has only her"
    );
    // Marking someone else's notification numbers touches only one's own.
    let (_, r) = f
        .post("/notifications/read", &eve, json!({"notifications": [1]}))
        .await;
    assert_eq!(r["changed"], json!([]));
    let bea = f.token(&f.bea, "desk").await;
    let (_, list) = f.get("/notifications", &bea).await;
    assert_eq!(list["notifications"][0]["read"], false);
    let _ = (&f.org2, &f.team2, &f.dan);
    f.finish().await;
}

/// A laptop that slept past its lease with its connection still open (it had sent something
/// else since its last heartbeat, so the connection outlives the lease) is Offline; on waking its
/// heartbeat is answered with "report again", and its report brings the person back. A report
/// whose sequence number went backwards (a clock set back) is answered with the number to
/// report above, and one above it is applied.
async fn a_device_that_slept_past_its_lease_is_asked_to_report_again(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let lease = Span::seconds(20);
    f.app()
        .update_org(&Actor::system(), "test", String::new(), &f.org, |o| {
            o.policy.device_lease = lease;
            Ok(())
        })
        .await
        .unwrap();
    let mut cal = f.online(&f.cal, "desk").await;
    // Its report applied (online waits for that).
    let mut bea = f.online(&f.bea, "laptop").await;
    cal.until("bea available", delta_for(&f.bea, StatusId::AVAILABLE))
        .await;
    // Something that is not a heartbeat, half a lease later: the connection's silence starts
    // again, the device's lease does not.
    let t = f.clock.now();
    f.clock.set(t.plus(Span::seconds(10)));
    cal.send(&ClientMessage::Heartbeat).await;
    bea.send_raw("{\"type\": \"nonsense\"}".into()).await;
    bea.until("the error", |m| matches!(m, ServerMessage::Error { .. }))
        .await;
    // Asleep past the lease: Offline for teammates.
    f.clock.set(t.plus(lease).plus(Span::seconds(1)));
    cal.until("bea offline", delta_for(&f.bea, StatusId::OFFLINE))
        .await;
    // Awake: the heartbeat is answered with "report again", not an ack.
    bea.send(&ClientMessage::Heartbeat).await;
    let asked = bea
        .until("report needed", |m| {
            matches!(m, ServerMessage::ReportNeeded { .. })
        })
        .await;
    match asked {
        ServerMessage::ReportNeeded { last_seq, reason } => {
            assert_eq!(last_seq, None);
            assert!(reason.contains("lease lapsed"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    bea.report(DeviceActivity::Active, false).await;
    bea.until("the report applied", |m| {
        matches!(m, ServerMessage::ReportApplied { seq: 2 })
    })
    .await;
    cal.until(
        "bea available again",
        delta_for(&f.bea, StatusId::AVAILABLE),
    )
    .await;
    assert_eq!(f.seen(&f.bea).await, StatusId::AVAILABLE);

    // A report from a clock set back: told what to report above; above it, applied.
    let back = DeviceReport {
        device: DeviceId::parse("laptop").unwrap(),
        seq: 1,
        activity: DeviceActivity::Idle {
            idle_for: Span::minutes(10),
        },
        in_call: false,
    };
    bea.send(&ClientMessage::DeviceReport {
        report: back.clone(),
    })
    .await;
    match bea
        .until("report needed", |m| {
            matches!(m, ServerMessage::ReportNeeded { .. })
        })
        .await
    {
        ServerMessage::ReportNeeded { last_seq, reason } => {
            assert_eq!(last_seq, Some(2));
            assert!(reason.contains("not newer"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let above = DeviceReport { seq: 3, ..back };
    bea.send(&ClientMessage::DeviceReport { report: above })
        .await;
    bea.until("the report applied", |m| {
        matches!(m, ServerMessage::ReportApplied { seq: 3 })
    })
    .await;
    f.finish().await;
}
