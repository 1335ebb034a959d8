//! The server end to end: real sockets on port 0, a real SQLite file and a real PostgreSQL
//! database. Every test runs on both (`sqlite::…` and `postgres::…`).

mod support;

use presence::{
    CallOutcome, ClearAfter, DeviceActivity, Emoji, HoldReason, MessageText, Span, StatusId,
    Timestamp,
};
use protocol::{ClientMessage, ErrorKind, NotificationSeq, ServerMessage};
use serde_json::json;
use std::time::Duration;
use support::*;

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await
                }
            )*
        }
    };
}

on_both_databases!(
    sign_in_gives_a_device_token_and_the_socket_sends_welcome_snapshot_and_self,
    a_status_change_reaches_teammates_once_and_no_one_else,
    message_pause_and_clear_are_acknowledged_and_reach_the_other_devices,
    a_replayed_request_applies_once,
    several_devices_merge_and_a_silent_device_is_dropped,
    stale_and_replayed_device_reports_change_nothing,
    a_restart_keeps_statuses_timers_and_unread_notifications,
    notifications_are_stored_decided_delivered_and_idempotent,
    read_and_dismiss_on_one_device_reach_the_others_and_resume_has_no_gap,
    integrations_set_calls_meetings_and_wrap_up_once,
    routing_rings_the_reachable_and_assigns_fairly,
    administrators_manage_custom_statuses_timeouts_and_quiet_hours,
    bad_frames_get_typed_errors_keep_the_connection_and_change_nothing,
    wrong_and_revoked_tokens_are_refused,
    flooding_is_rate_limited,
    no_request_reaches_another_organisation,
    the_openapi_document_describes_every_route,
    people_set_their_own_preferences,
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

async fn a_status_change_reaches_teammates_once_and_no_one_else(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut bea = f.online(&f.bea, "desk").await;
    let mut cal = f.online(&f.cal, "desk").await;
    let mut dan = f.online(&f.dan, "desk").await;
    let mut eve = f.online(&f.eve, "desk").await;
    let seen = |c: &Client| {
        c.members
            .iter()
            .find(|m| m.user == f.bea)
            .map(|m| m.view.status.status.clone())
    };
    assert_eq!(
        seen(&cal),
        Some(StatusId::AVAILABLE),
        "the snapshot shows bea online"
    );

    bea.request(|request| ClientMessage::SetStatus {
        request,
        status: StatusId::BUSY,
        until: None,
    })
    .await;
    bea.until(
        "own busy",
        |m| matches!(m, ServerMessage::SelfUpdate { view } if view.status.status == StatusId::BUSY),
    )
    .await;
    cal.until("bea busy", delta_for(&f.bea, StatusId::BUSY))
        .await;

    // A heartbeat changes nothing others see: no delta.
    bea.send(&ClientMessage::Heartbeat).await;
    bea.until("heartbeat ack", |m| {
        matches!(m, ServerMessage::HeartbeatAck { .. })
    })
    .await;
    cal.none(
        "delta after a heartbeat",
        Duration::from_millis(500),
        any_delta,
    )
    .await;
    // Not in bea's team, not in her organisation: nothing at all.
    dan.none(
        "delta about bea",
        Duration::from_millis(200),
        |m| matches!(m, ServerMessage::PresenceDelta { user, .. } if *user == f.bea),
    )
    .await;
    eve.none(
        "delta about bea",
        Duration::from_millis(200),
        |m| matches!(m, ServerMessage::PresenceDelta { user, .. } if *user == f.bea),
    )
    .await;

    // A timed status ends on time, and teammates hear of it.
    let until = Timestamp(presently_server::clock::now().0 + 1500);
    bea.request(|request| ClientMessage::SetStatus {
        request,
        status: StatusId::DND,
        until: Some(until),
    })
    .await;
    cal.until("bea dnd", delta_for(&f.bea, StatusId::DND)).await;
    cal.until(
        "bea back to busy after the timer",
        delta_for(&f.bea, StatusId::BUSY),
    )
    .await;
    assert!(presently_server::clock::now().0 >= until.0);

    // An unknown status is refused with the engine's reason.
    let e = bea
        .refused(|request| ClientMessage::SetStatus {
            request,
            status: "custom:nope".parse().unwrap(),
            until: None,
        })
        .await;
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(e.message.contains("unknown status"), "{}", e.message);
    f.finish().await;
}

async fn message_pause_and_clear_are_acknowledged_and_reach_the_other_devices(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut desk = f.online(&f.bea, "desk").await;
    let mut laptop = f.online(&f.bea, "laptop").await;
    let mut cal = f.online(&f.cal, "desk").await;
    desk.request(|request| ClientMessage::SetMessage {
        request,
        text: MessageText::parse("Reviewing designs").unwrap(),
        emoji: Some(Emoji::parse("🎨").unwrap()),
        clear_after: ClearAfter::OneHour,
    })
    .await;
    laptop
        .until("the message on the other device", |m| matches!(m, ServerMessage::SelfUpdate { view } if view.message.as_ref().is_some_and(|msg| msg.text.as_str() == "Reviewing designs")))
        .await;
    cal.until("the message for teammates", |m| matches!(m, ServerMessage::PresenceDelta { user, view } if *user == f.bea && view.message.is_some()))
        .await;

    let until = Timestamp(presently_server::clock::now().0 + 3_600_000);
    desk.request(|request| ClientMessage::PauseNotifications {
        request,
        until: Some(until),
    })
    .await;
    let slot = f.app().slot(&f.bea).unwrap();
    assert_eq!(
        f.app()
            .person(&slot)
            .await
            .paused_until(presently_server::clock::now()),
        Some(until)
    );
    desk.request(|request| ClientMessage::PauseNotifications {
        request,
        until: None,
    })
    .await;
    assert_eq!(
        f.app()
            .person(&slot)
            .await
            .paused_until(presently_server::clock::now()),
        None
    );

    desk.request(|request| ClientMessage::ClearMessage { request })
        .await;
    cal.until("the message cleared", |m| matches!(m, ServerMessage::PresenceDelta { user, view } if *user == f.bea && view.message.is_none()))
        .await;
    f.finish().await;
}

async fn a_replayed_request_applies_once(b: Backend) {
    let Some(mut f) = Fixture::start(b).await else {
        return;
    };
    let mut bea = f.online(&f.bea, "desk").await;
    let first = protocol::RequestId("outbox-1".into());
    let set = |request| ClientMessage::SetStatus {
        request,
        status: StatusId::BUSY,
        until: None,
    };
    bea.send(&set(first.clone())).await;
    bea.until(
        "ack",
        |m| matches!(m, ServerMessage::Ack { request } if *request == first),
    )
    .await;
    let slot = f.app().slot(&f.bea).unwrap();
    let claims = f.app().person(&slot).await.claims().len();
    // The outbox sends it again after a reconnect, and again after a restart.
    bea.send(&set(first.clone())).await;
    bea.until(
        "ack of the replay",
        |m| matches!(m, ServerMessage::Ack { request } if *request == first),
    )
    .await;
    assert_eq!(
        f.app().person(&slot).await.claims().len(),
        claims,
        "the replay added nothing"
    );
    drop(bea);
    f.restart().await;
    let mut bea = f.online(&f.bea, "desk2").await;
    bea.send(&set(first.clone())).await;
    bea.until(
        "ack after restart",
        |m| matches!(m, ServerMessage::Ack { request } if *request == first),
    )
    .await;
    let slot = f.app().slot(&f.bea).unwrap();
    assert_eq!(f.app().person(&slot).await.claims().len(), claims);
    f.finish().await;
}

async fn several_devices_merge_and_a_silent_device_is_dropped(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    f.app()
        .update_org(&f.org, |o| {
            o.policy.device_lease = Span::seconds(2);
            Ok(())
        })
        .await
        .unwrap();
    let mut cal = f.online(&f.cal, "desk").await;
    let mut desk = f.online(&f.bea, "desk").await;
    let mut laptop = f.online(&f.bea, "laptop").await;
    cal.until("bea available", delta_for(&f.bea, StatusId::AVAILABLE))
        .await;
    // The laptop sits idle while the desk is in use: still Available.
    laptop
        .report(
            DeviceActivity::Idle {
                idle_for: Span::minutes(30),
            },
            false,
        )
        .await;
    desk.send(&ClientMessage::Heartbeat).await;
    cal.none(
        "a flap to away",
        Duration::from_millis(700),
        |m| matches!(m, ServerMessage::PresenceDelta { user, .. } if *user == f.bea),
    )
    .await;
    assert_eq!(f.seen(&f.bea).await, StatusId::AVAILABLE);
    // The desk locks: every device is away now.
    desk.report(
        DeviceActivity::Locked {
            locked_for: Span::ZERO,
        },
        false,
    )
    .await;
    cal.until("bea away", delta_for(&f.bea, StatusId::AWAY))
        .await;
    // Both stop sending anything (crash, sleep): Offline within the lease, no ghost online.
    let stopped = std::time::Instant::now();
    std::mem::forget(desk);
    std::mem::forget(laptop);
    // Cal keeps heartbeating (the lease is short for everyone here) while waiting.
    let bea = f.bea.clone();
    let offline = delta_for(&bea, StatusId::OFFLINE);
    let mut seen = false;
    while !seen && stopped.elapsed() < Duration::from_secs(10) {
        cal.send(&ClientMessage::Heartbeat).await;
        let until = std::time::Instant::now() + Duration::from_millis(500);
        while let Some(m) = cal
            .try_next(until.saturating_duration_since(std::time::Instant::now()))
            .await
        {
            if offline(&m) {
                seen = true;
                break;
            }
        }
    }
    assert!(seen, "bea went offline when her devices fell silent");
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "dropped within the lease"
    );
    f.finish().await;
}

async fn stale_and_replayed_device_reports_change_nothing(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut cal = f.online(&f.cal, "desk").await;
    let mut bea = f.online(&f.bea, "desk").await; // seq 1: active
    cal.until("bea available", delta_for(&f.bea, StatusId::AVAILABLE))
        .await;
    bea.report(
        DeviceActivity::Idle {
            idle_for: Span::minutes(30),
        },
        false,
    )
    .await; // seq 2
    cal.until("bea away", delta_for(&f.bea, StatusId::AWAY))
        .await;
    let slot = f.app().slot(&f.bea).unwrap();
    let before = f.app().person(&slot).await;
    // A replay of seq 1 (active) arrives late.
    let stale = presence::DeviceReport {
        device: presence::DeviceId::parse("desk").unwrap(),
        seq: 1,
        activity: DeviceActivity::Active,
        in_call: true,
    };
    bea.send(&ClientMessage::DeviceReport { report: stale })
        .await;
    bea.send(&ClientMessage::Heartbeat).await;
    bea.until("heartbeat ack", |m| {
        matches!(m, ServerMessage::HeartbeatAck { .. })
    })
    .await;
    cal.none(
        "a delta from a stale report",
        Duration::from_millis(500),
        any_delta,
    )
    .await;
    let after = f.app().person(&slot).await;
    assert_eq!(
        after.devices()[&bea.device].last_seq,
        before.devices()[&bea.device].last_seq
    );
    assert_eq!(f.seen(&f.bea).await, StatusId::AWAY);
    // Reporting for another device on this connection is refused.
    let other = presence::DeviceReport {
        device: presence::DeviceId::parse("phone").unwrap(),
        seq: 99,
        activity: DeviceActivity::Active,
        in_call: false,
    };
    bea.send(&ClientMessage::DeviceReport { report: other })
        .await;
    let e = bea
        .until("an error", |m| matches!(m, ServerMessage::Error { .. }))
        .await;
    assert!(matches!(e, ServerMessage::Error { error, .. } if error.kind == ErrorKind::Forbidden));
    f.finish().await;
}

async fn a_restart_keeps_statuses_timers_and_unread_notifications(b: Backend) {
    let Some(mut f) = Fixture::start(b).await else {
        return;
    };
    let mut bea = f.online(&f.bea, "desk").await;
    let mut cal = f.online(&f.cal, "desk").await;
    let soon = Timestamp(presently_server::clock::now().0 + 1500);
    let later = Timestamp(presently_server::clock::now().0 + 3_600_000);
    bea.request(|request| ClientMessage::SetStatus {
        request,
        status: StatusId::DND,
        until: Some(soon),
    })
    .await;
    cal.request(|request| ClientMessage::SetStatus {
        request,
        status: StatusId::BUSY,
        until: Some(later),
    })
    .await;
    let (status, _) = f
        .post(
            "/notifications",
            &f.key,
            json!({"user": "bea@one.test", "title": "kept", "external_id": "n-1"}),
        )
        .await;
    assert_eq!(status, 201);
    drop(bea);
    drop(cal);
    f.stop().await;
    // DND ends while the server is down.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    f.server = Some(start(&f.db.url).await);
    let bea_slot = f.app().slot(&f.bea).unwrap();
    let view = f.app().self_view(&bea_slot).await;
    assert_eq!(
        view.status.status,
        StatusId::AVAILABLE,
        "the DND that fell due while down ended at start"
    );
    let cal_slot = f.app().slot(&f.cal).unwrap();
    let view = f.app().self_view(&cal_slot).await;
    assert_eq!(view.status.status, StatusId::BUSY);
    assert_eq!(view.status.until, Some(later), "the timer is intact");
    // The unread notification is there for a device that connects now.
    let token = f.token(&f.bea, "laptop").await;
    let mut laptop = Client::connect(f.addr(), &token, "laptop", None).await;
    let n = laptop
        .until("the stored notification", |m| {
            matches!(m, ServerMessage::Notification { .. })
        })
        .await;
    assert!(
        matches!(n, ServerMessage::Notification { notification } if notification.title == "kept" && !notification.read)
    );
    f.finish().await;
}

async fn notifications_are_stored_decided_delivered_and_idempotent(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut desk = f.online(&f.bea, "desk").await;
    let mut laptop = f.online(&f.bea, "laptop").await;
    let body = json!({"user": f.bea.as_str(), "title": "Build failed", "body": "main is red", "external_id": "ci-41", "link": "https://ci.example.com/main/41"});
    let (status, r) = f.post("/notifications", &f.key, body.clone()).await;
    assert_eq!(status, 201, "{r}");
    let seq = r["notification"]["seq"].as_u64().unwrap();
    for c in [&mut desk, &mut laptop] {
        let n = c
            .until("the notification", |m| {
                matches!(m, ServerMessage::Notification { .. })
            })
            .await;
        let ServerMessage::Notification { notification } = n else {
            unreachable!()
        };
        assert_eq!(notification.seq, NotificationSeq(seq));
        assert_eq!(notification.delivery, presence::Delivery::Show);
        assert_eq!(
            notification.link.as_ref().map(|l| l.as_str()),
            Some("https://ci.example.com/main/41")
        );
    }
    // The same external id again: the stored one, no second delivery.
    let (status, r) = f.post("/notifications", &f.key, body).await;
    assert_eq!(status, 200);
    assert_eq!(r["duplicate"], true);
    assert_eq!(r["notification"]["seq"].as_u64(), Some(seq));
    desk.none("a second delivery", Duration::from_millis(400), |m| {
        matches!(m, ServerMessage::Notification { .. })
    })
    .await;

    // In Do not disturb: stored and delivered, marked held with the reason.
    desk.request(|request| ClientMessage::SetStatus {
        request,
        status: StatusId::DND,
        until: None,
    })
    .await;
    let (_, r) = f
        .post(
            "/notifications",
            &f.key,
            json!({"user": "bea@one.test", "title": "While DND"}),
        )
        .await;
    assert_eq!(r["notification"]["delivery"]["delivery"], "hold", "{r}");
    let n = laptop.until("the held notification", |m| matches!(m, ServerMessage::Notification { notification } if notification.title == "While DND")).await;
    let ServerMessage::Notification { notification } = n else {
        unreachable!()
    };
    assert!(matches!(
        notification.delivery,
        presence::Delivery::Hold {
            why: HoldReason::Status { .. }
        }
    ));

    // Listing by cursor.
    let token = f.token(&f.bea, "cli").await;
    let (_, page) = f.get("/notifications?after=0&limit=1", &token).await;
    assert_eq!(page["notifications"].as_array().unwrap().len(), 1);
    let next = page["next_after"].as_u64().unwrap();
    let (_, page) = f.get(&format!("/notifications?after={next}"), &token).await;
    assert_eq!(page["notifications"][0]["title"], "While DND");
    assert_eq!(page["notifications"][0]["link"], serde_json::Value::Null);
    assert_eq!(page["unread"], 2);
    let (_, page) = f.get("/notifications?after=0&limit=1", &token).await;
    assert_eq!(
        page["notifications"][0]["link"], "https://ci.example.com/main/41",
        "the link is stored"
    );

    // Bad notifications: refused, nothing stored.
    let (status, e) = f
        .post(
            "/notifications",
            &f.key,
            json!({"user": "bea@one.test", "title": ""}),
        )
        .await;
    assert_eq!(
        (status, e["error"]["kind"].as_str()),
        (422, Some("invalid"))
    );
    let long = "x".repeat(5000);
    let (status, _) = f
        .post(
            "/notifications",
            &f.key,
            json!({"user": "bea@one.test", "title": "t", "body": long}),
        )
        .await;
    assert_eq!(status, 422);
    let (status, e) = f
        .post(
            "/notifications",
            &f.key,
            json!({"user": "bea@one.test", "title": "t", "colour": "red"}),
        )
        .await;
    assert_eq!(status, 422, "{e}");
    for link in ["file:///etc/passwd", "javascript:alert(1)", "/relative"] {
        let (status, e) = f
            .post(
                "/notifications",
                &f.key,
                json!({"user": "bea@one.test", "title": "t", "link": link}),
            )
            .await;
        assert_eq!(status, 422, "{link}: {e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(message.contains("http or https"), "{link}: {message}");
    }
    let (_, page) = f.get("/notifications", &token).await;
    assert_eq!(page["notifications"].as_array().unwrap().len(), 2);
    f.finish().await;
}

async fn read_and_dismiss_on_one_device_reach_the_others_and_resume_has_no_gap(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut desk = f.online(&f.bea, "desk").await;
    let mut laptop = f.online(&f.bea, "laptop").await;
    for i in 1..=3 {
        f.post(
            "/notifications",
            &f.key,
            json!({"user": "bea@one.test", "title": format!("n{i}")}),
        )
        .await;
    }
    for _ in 0..3 {
        laptop
            .until("a notification", |m| {
                matches!(m, ServerMessage::Notification { .. })
            })
            .await;
    }
    desk.request(|request| ClientMessage::MarkRead {
        request,
        notifications: vec![NotificationSeq(1)],
    })
    .await;
    let m = laptop
        .until("read elsewhere", |m| {
            matches!(m, ServerMessage::NotificationsChanged { .. })
        })
        .await;
    assert!(
        matches!(m, ServerMessage::NotificationsChanged { notifications, read: true, dismissed: false } if notifications == vec![NotificationSeq(1)])
    );
    desk.request(|request| ClientMessage::Dismiss {
        request,
        notifications: vec![NotificationSeq(2)],
    })
    .await;
    let m = laptop
        .until("dismissed elsewhere", |m| {
            matches!(m, ServerMessage::NotificationsChanged { .. })
        })
        .await;
    assert!(
        matches!(m, ServerMessage::NotificationsChanged { notifications, dismissed: true, .. } if notifications == vec![NotificationSeq(2)])
    );
    desk.request(|request| ClientMessage::MarkAllRead { request })
        .await;
    let m = laptop
        .until("all read", |m| {
            matches!(m, ServerMessage::NotificationsChanged { .. })
        })
        .await;
    assert!(
        matches!(m, ServerMessage::NotificationsChanged { notifications, .. } if notifications == vec![NotificationSeq(3)])
    );

    // The laptop goes away at cursor 3; two more arrive; it resumes from 3.
    laptop.close().await;
    for i in 4..=5 {
        f.post(
            "/notifications",
            &f.key,
            json!({"user": "bea@one.test", "title": format!("n{i}")}),
        )
        .await;
    }
    let token = f.token(&f.bea, "laptop").await;
    let mut laptop = Client::connect(f.addr(), &token, "laptop", Some(NotificationSeq(3))).await;
    assert_eq!(laptop.cursor, NotificationSeq(5));
    let mut got = vec![];
    for _ in 0..2 {
        if let ServerMessage::Notification { notification } = laptop
            .until("backlog", |m| {
                matches!(m, ServerMessage::Notification { .. })
            })
            .await
        {
            got.push(notification.seq.0);
        }
    }
    assert_eq!(got, vec![4, 5], "exactly what came after the cursor");
    laptop
        .none("a duplicate", Duration::from_millis(400), |m| {
            matches!(m, ServerMessage::Notification { .. })
        })
        .await;
    // A fresh device without a cursor gets what is not dismissed: 1, 3, 4, 5.
    let token = f.token(&f.bea, "phone").await;
    let mut phone = Client::connect(f.addr(), &token, "phone", None).await;
    let mut seqs = vec![];
    for _ in 0..4 {
        if let ServerMessage::Notification { notification } = phone
            .until("backlog", |m| {
                matches!(m, ServerMessage::Notification { .. })
            })
            .await
        {
            seqs.push(notification.seq.0);
        }
    }
    assert_eq!(seqs, vec![1, 3, 4, 5]);
    f.finish().await;
}

async fn integrations_set_calls_meetings_and_wrap_up_once(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    f.app()
        .update_org(&f.org, |o| {
            o.policy.after_call_work = Some(Span::minutes(2));
            Ok(())
        })
        .await
        .unwrap();
    let mut cal = f.online(&f.cal, "desk").await;
    let _bea = f.online(&f.bea, "desk").await;
    let event =
        |kind: &str, ext: &str| json!({"user": "bea@one.test", "kind": kind, "external_id": ext});
    let (status, r) = f
        .post(
            "/integrations/events",
            &f.key,
            event("call_started", "call-7"),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    cal.until("on a call", delta_for(&f.bea, StatusId::ON_A_CALL))
        .await;
    let (status, r) = f
        .post(
            "/integrations/events",
            &f.key,
            event("call_started", "call-7"),
        )
        .await;
    assert_eq!((status, &r["applied"]), (200, &json!(false)));
    f.post(
        "/integrations/events",
        &f.key,
        event("call_ended", "call-7"),
    )
    .await;
    cal.until(
        "after call work",
        delta_for(&f.bea, StatusId::AFTER_CALL_WORK),
    )
    .await;
    // The phone system replays "call started" after the end: nothing changes.
    let (_, r) = f
        .post(
            "/integrations/events",
            &f.key,
            event("call_started", "call-7"),
        )
        .await;
    assert_eq!(r["applied"], false);
    assert_eq!(f.seen(&f.bea).await, StatusId::AFTER_CALL_WORK);
    f.post(
        "/integrations/events",
        &f.key,
        event("wrap_up_closed", "call-7"),
    )
    .await;
    cal.until("available again", delta_for(&f.bea, StatusId::AVAILABLE))
        .await;
    f.post(
        "/integrations/events",
        &f.key,
        event("meeting_started", "mtg-1"),
    )
    .await;
    cal.until("in a meeting", delta_for(&f.bea, StatusId::IN_A_MEETING))
        .await;
    f.post(
        "/integrations/events",
        &f.key,
        event("meeting_ended", "mtg-1"),
    )
    .await;
    cal.until(
        "available after the meeting",
        delta_for(&f.bea, StatusId::AVAILABLE),
    )
    .await;
    let (status, e) = f
        .post(
            "/integrations/events",
            &f.key,
            json!({"user": "bea@one.test", "kind": "lunch", "external_id": "x"}),
        )
        .await;
    assert_eq!(
        (status, e["error"]["kind"].as_str()),
        (422, Some("invalid"))
    );
    f.finish().await;
}

async fn routing_rings_the_reachable_and_assigns_fairly(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let _admin = f.online(&f.admin, "desk").await;
    let mut bea = f.online(&f.bea, "desk").await;
    let _cal = f.online(&f.cal, "desk").await;
    bea.request(|request| ClientMessage::SetStatus {
        request,
        status: StatusId::DND,
        until: None,
    })
    .await;
    let (status, r) = f
        .post("/routing/team-call", &f.key, json!({"team": f.team}))
        .await;
    assert_eq!(status, 200, "{r}");
    let mut ring: Vec<String> = serde_json::from_value(r["ring"].clone()).unwrap();
    ring.sort();
    let mut expected = vec![f.admin.as_str().to_string(), f.cal.as_str().to_string()];
    expected.sort();
    assert_eq!(ring, expected, "bea in DND is not rung");
    let (_, r) = f
        .post(
            "/routing/direct-call",
            &f.key,
            json!({"user": "bea@one.test"}),
        )
        .await;
    let outcome: CallOutcome = serde_json::from_value(r).unwrap();
    assert!(matches!(outcome, CallOutcome::Busy { .. }), "{outcome:?}");
    let (_, r) = f
        .post(
            "/routing/direct-call",
            &f.key,
            json!({"user": "cal@one.test"}),
        )
        .await;
    assert_eq!(r["outcome"], "ring");
    // Fair order: admin and cal alternate; bea (DND) and dan (no team) never.
    let mut picks = vec![];
    for _ in 0..4 {
        let (_, r) = f
            .post("/routing/assign", &f.key, json!({"team": f.team}))
            .await;
        picks.push(r["assignee"].as_str().unwrap().to_string());
    }
    assert_ne!(picks[0], picks[1]);
    assert_eq!(picks[0], picks[2]);
    assert_eq!(picks[1], picks[3]);
    assert!(!picks.contains(&f.bea.as_str().to_string()));
    f.finish().await;
}

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
    let (_, list) = f.get("/statuses", &member).await;
    assert!(list["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == "custom:focus"));
    let mut bea = f.online(&f.bea, "laptop").await;
    bea.request(|request| ClientMessage::SetStatus {
        request,
        status: "custom:focus".parse().unwrap(),
        until: None,
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
        .refused(|request| ClientMessage::SetStatus {
            request,
            status: "custom:focus".parse().unwrap(),
            until: None,
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

async fn bad_frames_get_typed_errors_keep_the_connection_and_change_nothing(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut bea = f.online(&f.bea, "desk").await;
    bea.request(|request| ClientMessage::SetStatus {
        request,
        status: StatusId::BUSY,
        until: None,
    })
    .await;
    let slot = f.app().slot(&f.bea).unwrap();
    let before = f.app().person(&slot).await;
    let cases: Vec<(String, ErrorKind)> = vec![
        ("x".repeat(70 * 1024), ErrorKind::TooLarge),
        ("{not json".into(), ErrorKind::Malformed),
        ("[1,2]".into(), ErrorKind::Malformed),
        (r#"{"type":"launch_rockets"}"#.into(), ErrorKind::UnknownType),
        (r#"{"type":"set_status","request":"r","status":"nope"}"#.into(), ErrorKind::Invalid),
        (r#"{"type":"set_message","request":"r","text":"ok","clear_after":"never","emoji":"this is not one emoji at all, it is far too long"}"#.into(), ErrorKind::Invalid),
        (format!(r#"{{"type":"set_message","request":"r","text":"{}","clear_after":"never"}}"#, "y".repeat(500)), ErrorKind::Invalid),
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
    bea.send(&ClientMessage::Heartbeat).await;
    bea.until("heartbeat ack", |m| {
        matches!(m, ServerMessage::HeartbeatAck { .. })
    })
    .await;
    let after = f.app().person(&slot).await;
    assert_eq!(after.claims(), before.claims(), "nothing stored changed");
    // A frame beyond the WebSocket layer's limit ends the connection, not the server. The server
    // may reset the connection while the frame is still being written (seen on PostgreSQL runs),
    // so a failed write counts as the connection ending too.
    let cut = bea.try_send_raw("z".repeat(2 * 1024 * 1024)).await.is_err();
    assert!(cut || bea.closed().await);
    let mut again = f.online(&f.bea, "desk").await;
    again.send(&ClientMessage::Heartbeat).await;
    again
        .until("heartbeat ack", |m| {
            matches!(m, ServerMessage::HeartbeatAck { .. })
        })
        .await;
    f.finish().await;
}

async fn wrong_and_revoked_tokens_are_refused(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    // A wrong token: an error saying so, then the connection closes.
    let mut ws = Client::raw(f.addr()).await;
    use futures_util::{SinkExt, StreamExt};
    let hello = json!({"type": "hello", "protocol": 1, "token": "pd_wrong", "device": "desk", "resume_after": null});
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
    // Another protocol version.
    let mut ws = Client::raw(f.addr()).await;
    let token = f.token(&f.bea, "desk").await;
    let hello = json!({"type": "hello", "protocol": 99, "token": token, "device": "desk", "resume_after": null});
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        hello.to_string().into(),
    ))
    .await
    .unwrap();
    let m = ws.next().await.unwrap().unwrap();
    let e = protocol::decode_server(m.to_text().unwrap()).unwrap();
    assert!(
        matches!(e, ServerMessage::Error { error, .. } if error.kind == ErrorKind::UnsupportedVersion)
    );
    // A token used by another device id.
    let mut ws = Client::raw(f.addr()).await;
    let hello = json!({"type": "hello", "protocol": 1, "token": token, "device": "phone", "resume_after": null});
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
            ServerMessage::SelfUpdate { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(acks + limited, 150, "every frame is answered");
    assert!(
        acks >= 20 && limited >= 20,
        "the burst is served, the rest refused: {acks} / {limited}"
    );
    // A short burst keeps the connection: after a pause it is served again.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    bea.send(&ClientMessage::Heartbeat).await;
    bea.until("a heartbeat ack after the flood", |m| {
        matches!(m, ServerMessage::HeartbeatAck { .. })
    })
    .await;
    // Keeping it up ends the connection.
    for _ in 0..400 {
        bea.send(&ClientMessage::Heartbeat).await;
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

async fn the_openapi_document_describes_every_route(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let r = f.http.get(f.url("/openapi.json")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let doc: serde_json::Value = r.json().await.unwrap();
    let mut described = vec![];
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            described.push((method.clone(), path.clone()));
        }
    }
    described.sort();
    let mut routes: Vec<(String, String)> = presently_server::openapi::OPERATIONS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    routes.sort();
    assert_eq!(described, routes);
    // Each described route exists on the server (an unknown path is a 404 "no such endpoint").
    for (method, path) in routes {
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

async fn people_set_their_own_preferences(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let token = f.token(&f.bea, "desk").await;
    let (status, mut prefs) = f.get("/me/preferences", &token).await;
    assert_eq!(status, 200);
    assert_eq!(prefs["time_zone"], "Europe/London");
    prefs["idle_after"] = json!(600_000);
    prefs["schedule"] = json!({"time_zone": "Europe/London", "quiet_hours": [{"days": [0, 1, 2, 3, 4, 5, 6], "start": 1320, "end": 420}]});
    let r = f
        .http
        .put(f.url("/me/preferences"))
        .bearer_auth(&token)
        .json(&prefs)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let slot = f.app().slot(&f.bea).unwrap();
    let person = f.app().person(&slot).await;
    assert_eq!(person.preferences.idle_after, Some(Span::minutes(10)));
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
    // Refused, and nothing changes: a threshold out of range, an unknown time zone.
    let mut bad = prefs.clone();
    bad["idle_after"] = json!(1000);
    let r = f
        .http
        .put(f.url("/me/preferences"))
        .bearer_auth(&token)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let mut bad = prefs.clone();
    bad["time_zone"] = json!("Mars/Olympus");
    let r = f
        .http
        .put(f.url("/me/preferences"))
        .bearer_auth(&token)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let after = f.app().person(&slot).await;
    assert_eq!(after.preferences, person.preferences);
    f.finish().await;
}
