//! Integrations (calls, meetings, wrap-up) and routing (team calls, direct calls, assignment).

use crate::support::*;
use presence::{CallOutcome, Change, Span, StatusId};
use protocol::ClientMessage;
use serde_json::json;

on_both_databases!(
    integrations_set_calls_meetings_and_wrap_up_once,
    routing_rings_the_reachable_and_assigns_fairly,
);

async fn integrations_set_calls_meetings_and_wrap_up_once(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    f.app()
        .update_org(&Actor::system(), "test", String::new(), &f.org, |o| {
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
    bea.request(|request| ClientMessage::Change {
        request,
        change: Change::SetStatus {
            status: StatusId::DND,
            until: None,
        },
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
        // A contact a second.
        f.clock.advance(Span::seconds(1));
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
