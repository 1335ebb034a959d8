//! Scripts and other systems over REST: a person's own token changes their status, message and
//! Do not disturb (the WebSocket's `Change`, once per request id), and an integration's call or
//! meeting ends by itself when its sender goes silent; a bridge reads everyone in Microsoft
//! Graph's, Matrix's and XMPP's words.

use crate::support::*;
use clock::Clock;
use presence::{Activity, StatusId};
use serde_json::json;

on_both_databases!(
    a_persons_token_changes_their_own_presence_once_per_request,
    a_call_or_meeting_ends_at_its_bound_unless_renewed,
);

async fn a_persons_token_changes_their_own_presence_once_per_request(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut cal = f.online(&f.cal, "desk").await;
    let _bea = f.online(&f.bea, "desk").await;
    let script = f.token(&f.bea, "script").await;

    // Busy for an hour, from a script: teammates see it, and the answer is the person's view.
    let until = f.clock.now().plus(presence::Span::hours(1));
    let busy = json!({"request": "busy-1", "change": {"kind": "set_status", "status": "busy", "until": until}});
    let (code, answer) = f.post("/me/changes", &script, busy.clone()).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["request"], "busy-1");
    assert_eq!(answer["view"]["status"]["status"], "busy", "{answer}");
    assert_eq!(answer["view"]["status"]["until"], json!(until.0));
    cal.until("bea busy", delta_for(&f.bea, StatusId::BUSY))
        .await;

    // A message, then Do not disturb: the same changes the app sends.
    let message = json!({"request": "msg-1", "change": {"kind": "set_message", "text": "Deploying", "emoji": "🚀", "clear_after": {"kind": "one_hour"}}});
    let (code, answer) = f.post("/me/changes", &script, message).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["view"]["message"]["text"], "Deploying", "{answer}");
    let dnd = json!({"request": "dnd-1", "change": {"kind": "set_status", "status": "do_not_disturb", "until": null}});
    let (code, answer) = f.post("/me/changes", &script, dnd).await;
    assert_eq!(code, 200, "{answer}");
    cal.until("bea in DND", delta_for(&f.bea, StatusId::DND))
        .await;

    // The first request sent again (a retry): acknowledged, nothing changes back to Busy.
    let (code, answer) = f.post("/me/changes", &script, busy).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(
        answer["view"]["status"]["status"], "do_not_disturb",
        "{answer}"
    );
    cal.none("a change from a retry", delta_for(&f.bea, StatusId::BUSY))
        .await;

    // Refused in words: a status that is not there, a bad request id, a key that is not a
    // person's, unknown fields.
    let (code, answer) = f
        .post("/me/changes", &script, json!({"request": "x-1", "change": {"kind": "set_status", "status": "nonsense", "until": null}}))
        .await;
    assert_eq!(code, 422, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nonsense"),
        "{answer}"
    );
    let (code, answer) = f
        .post(
            "/me/changes",
            &script,
            json!({"request": "", "change": {"kind": "clear_message"}}),
        )
        .await;
    assert_eq!(code, 422, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("request id"),
        "{answer}"
    );
    let (code, _) = f
        .post(
            "/me/changes",
            &f.key,
            json!({"request": "k-1", "change": {"kind": "clear_message"}}),
        )
        .await;
    assert_eq!(code, 401);
    let (code, answer) = f
        .post(
            "/me/changes",
            &script,
            json!({"request": "u-1", "change": {"kind": "clear_message"}, "as": "cal"}),
        )
        .await;
    assert_eq!(code, 422, "{answer}");

    // A bridge reads bea as other systems say it: Do not disturb with her message.
    let (code, answer) = f
        .get("/integrations/presence?user=bea@one.test", &f.key)
        .await;
    assert_eq!(code, 200, "{answer}");
    let bea = &answer["people"][0];
    assert_eq!(bea["email"], "bea@one.test");
    assert_eq!(
        bea["graph"],
        json!({"availability": "DoNotDisturb", "activity": "DoNotDisturb"})
    );
    assert_eq!(bea["matrix"]["presence"], "unavailable");
    assert_eq!(
        bea["xmpp"],
        json!({"available": true, "show": "dnd", "status": "🚀 Deploying"})
    );
    // Everyone in the organisation, and nobody from another.
    let (_, everyone) = f.get("/integrations/presence", &f.key).await;
    let emails: Vec<&str> = everyone["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["email"].as_str().unwrap())
        .collect();
    assert!(
        emails.contains(&"cal@one.test") && !emails.contains(&"eve@two.test"),
        "{emails:?}"
    );
    let (code, _) = f
        .get("/integrations/presence?user=eve@two.test", &f.key)
        .await;
    assert_eq!(code, 404);
    f.finish().await;
}

async fn a_call_or_meeting_ends_at_its_bound_unless_renewed(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    // Devices (and connections) outlive the hours this test skips.
    f.app()
        .update_org(&Actor::system(), "test", String::new(), &f.org, |o| {
            o.policy.device_lease = presence::Span::hours(24);
            Ok(())
        })
        .await
        .unwrap();
    let mut cal = f.online(&f.cal, "desk").await;
    let _bea = f.online(&f.bea, "desk").await;
    let event = |kind: &str, ext: &str, until: Option<presence::Timestamp>| json!({"user": "bea@one.test", "kind": kind, "external_id": ext, "until": until});
    let start = f.clock.now();

    // A meeting started with no end: it ends 4 hours on unless renewed.
    let (code, r) = f
        .post(
            "/integrations/events",
            &f.key,
            event("meeting_started", "m-1", None),
        )
        .await;
    assert_eq!(code, 201, "{r}");
    assert_eq!(r["until"], json!(start.plus(Activity::BOUND).0));
    cal.until("in a meeting", delta_for(&f.bea, StatusId::IN_A_MEETING))
        .await;

    // Renewed an hour later, to end in 2 hours: the later end holds.
    f.clock.advance(presence::Span::hours(1));
    let later = f.clock.now().plus(presence::Span::hours(4));
    let (code, r) = f
        .post(
            "/integrations/events",
            &f.key,
            event("meeting_started", "m-1", Some(later)),
        )
        .await;
    assert_eq!((code, &r["applied"]), (200, &json!(false)), "{r}");
    assert_eq!(r["until"], json!(later.0));

    // The sender goes silent: at the old bound bea is still in the meeting; at the renewed
    // end she is not, with nobody ending it.
    f.clock.advance(presence::Span::hours(3));
    cal.none(
        "the meeting ending at the first bound",
        delta_for(&f.bea, StatusId::AVAILABLE),
    )
    .await;
    f.clock.advance(presence::Span::hours(1));
    cal.until(
        "the meeting over by itself",
        delta_for(&f.bea, StatusId::AVAILABLE),
    )
    .await;

    // The start sent again after it ended (a late retry): it stays over.
    let (code, r) = f
        .post(
            "/integrations/events",
            &f.key,
            event("meeting_started", "m-1", None),
        )
        .await;
    assert_eq!(
        (code, &r["applied"], &r["until"]),
        (200, &json!(false), &json!(null)),
        "{r}"
    );
    assert_eq!(r["view"]["status"]["status"], "available", "{r}");

    // An end further than a day ahead is refused in words.
    let far = f.clock.now().plus(presence::Span::hours(25));
    let (code, r) = f
        .post(
            "/integrations/events",
            &f.key,
            event("call_started", "c-far", Some(far)),
        )
        .await;
    assert_eq!(code, 422, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 24 hours"),
        "{r}"
    );
    f.finish().await;
}
