//! Notifications: stored, decided, delivered once; read and dismissed on every device.

use crate::support::*;
use presence::{Change, HoldReason, StatusId};
use protocol::{ClientMessage, NotificationSeq, ServerMessage};
use serde_json::json;

on_both_databases!(
    notifications_are_stored_decided_delivered_and_idempotent,
    read_and_dismiss_on_one_device_reach_the_others_and_resume_has_no_gap,
);

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
    desk.none("a second delivery", |m| {
        matches!(m, ServerMessage::Notification { .. })
    })
    .await;

    // In Do not disturb: stored and delivered, marked held with the reason.
    desk.request(|request| ClientMessage::Change {
        request,
        change: Change::SetStatus {
            status: StatusId::DND,
            until: None,
        },
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
        .none("a duplicate", |m| {
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
