//! An organisation's rules, read back in full and in effect at once: auto-away, routing,
//! Forward to phone, built-in statuses offered and routed, default Do not disturb windows,
//! custom statuses listed with the disabled ones and deleted when unused, their emoji glyph.

use crate::support::*;
use presence::{Change, DeviceActivity, Span, StatusId};
use protocol::ClientMessage;
use reqwest::Method;
use serde_json::json;

on_both_databases!(
    the_policy_reads_back_in_full_and_takes_effect_at_once,
    custom_statuses_list_disabled_ones_delete_when_unused_and_keep_their_emoji,
);

async fn the_policy_reads_back_in_full_and_takes_effect_at_once(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    let member = f.token(&f.bea, "desk").await;
    let (status, rules) = f.get("/admin/policy", &admin).await;
    assert_eq!(status, 200, "{rules}");
    assert_eq!(rules["policy"]["auto_away"], true);
    assert_eq!(rules["policy"]["routing"], true);
    assert_eq!(rules["forward_to_phone_enabled"], false);
    assert_eq!(rules["builtin_statuses"].as_array().unwrap().len(), 12);
    assert_eq!(f.get("/admin/policy", &member).await.0, 403);

    // Auto-away off: a person idle past the threshold stays Available.
    let mut bea = f.online(&f.bea, "laptop").await;
    let put = |body| f.call(Method::PUT, "/admin/policy", &admin, Some(body));
    assert_eq!(put(json!({"auto_away": false})).await.0, 200);
    // (Idle for ten minutes by the device's own count: the server's clock stays.)
    bea.report(
        DeviceActivity::Idle {
            idle_for: Span::minutes(10),
        },
        false,
    )
    .await;
    bea.request(|request| ClientMessage::Change {
        request,
        change: Change::ClearMessage,
    })
    .await;
    assert_eq!(f.seen(&f.bea).await, StatusId::AVAILABLE);
    // Turned on again, the same idle device makes her Away at once.
    assert_eq!(put(json!({"auto_away": true})).await.0, 200);
    assert_eq!(f.seen(&f.bea).await, StatusId::AWAY);

    // Routing off: the routing API says so; on again, it answers.
    assert_eq!(put(json!({"routing": false})).await.0, 200);
    let (status, e) = f
        .post("/routing/team-call", &f.key, json!({"team": f.team}))
        .await;
    assert_eq!(status, 409, "{e}");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("routing is turned off"));
    assert_eq!(put(json!({"routing": true})).await.0, 200);
    assert_eq!(
        f.post("/routing/team-call", &f.key, json!({"team": f.team}))
            .await
            .0,
        200
    );

    // Forward to phone offered; Be right back withdrawn; Available and Away ring no team calls.
    let (status, _) = put(json!({
        "forward_to_phone_enabled": true,
        "builtin": [
            {"status": "be_right_back", "enabled": false},
            {"status": "available", "team_calls": false},
            {"status": "away", "team_calls": false}
        ]
    }))
    .await;
    assert_eq!(status, 200);
    let (_, offered) = f.get("/statuses", &member).await;
    let ids: Vec<&str> = offered["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"forward_to_phone"), "{ids:?}");
    assert!(!ids.contains(&"be_right_back"), "{ids:?}");
    let cal = f.online(&f.cal, "desk").await;
    let (_, rung) = f
        .post("/routing/team-call", &f.key, json!({"team": f.team}))
        .await;
    assert_eq!(
        rung["ring"],
        json!([]),
        "nobody Available rings now: {rung}"
    );
    let (_, rules) = f.get("/admin/policy", &admin).await;
    assert_eq!(rules["builtin"].as_array().unwrap().len(), 3, "{rules}");
    let brb = rules["builtin_statuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "be_right_back")
        .unwrap()
        .clone();
    assert_eq!(brb["enabled"], false);
    // What cannot be withdrawn says why, and nothing changes.
    for (body, words) in [
        (
            json!({"builtin": [{"status": "available", "enabled": false}]}),
            "Available cannot be withdrawn",
        ),
        (
            json!({"builtin": [{"status": "on_a_call", "enabled": false}]}),
            "set automatically",
        ),
        (
            json!({"builtin": [{"status": "custom:lunch", "enabled": false}]}),
            "custom status",
        ),
    ] {
        let (status, e) = put(body).await;
        assert_eq!(status, 422, "{e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(words),
            "{e}"
        );
    }
    let (_, again) = f.get("/admin/policy", &admin).await;
    assert_eq!(again["builtin"], rules["builtin"]);

    // Default Do not disturb windows reach the people who kept the defaults.
    let window = json!({"days": [0,1,2,3,4,5,6], "start": 0, "end": 1439});
    let (status, q) = f
        .call(
            Method::PUT,
            "/admin/quiet-hours",
            &admin,
            Some(json!({"quiet_hours": [], "do_not_disturb": [window]})),
        )
        .await;
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["do_not_disturb"].as_array().unwrap().len(), 1);
    let slot = f.app().slot(&f.cal).unwrap();
    let person = f.app().person(&slot).await;
    assert_eq!(person.preferences.schedule.unwrap().do_not_disturb.len(), 1);
    assert_eq!(f.seen(&f.cal).await, StatusId::DND);
    let (_, rules) = f.get("/admin/policy", &admin).await;
    assert_eq!(rules["do_not_disturb"].as_array().unwrap().len(), 1);
    drop(cal);
    f.finish().await;
}

async fn custom_statuses_list_disabled_ones_delete_when_unused_and_keep_their_emoji(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let admin = f.token(&f.admin, "desk").await;
    let member = f.token(&f.bea, "desk").await;
    let focus = json!({"id": "focus", "name": "Focus", "emoji": "🎧", "family": "do_not_disturb"});
    assert_eq!(
        f.post("/admin/statuses", &admin, focus.clone()).await.0,
        201
    );
    // Its emoji is its glyph where people see it.
    let (_, offered) = f.get("/statuses", &member).await;
    let entry = offered["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "custom:focus")
        .unwrap()
        .clone();
    assert_eq!(entry["policy"]["glyph"], "emoji");
    assert_eq!(entry["emoji"], "🎧");
    let mut bea = f.online(&f.bea, "laptop").await;
    bea.request(|request| ClientMessage::Change {
        request,
        change: Change::SetStatus {
            status: "custom:focus".parse().unwrap(),
            until: None,
        },
    })
    .await;
    let slot = f.app().slot(&f.bea).unwrap();
    let view = f.app().self_view(&slot).await;
    assert_eq!(view.status.glyph, presence::Glyph::Emoji);
    // In use: listed as such, and cannot be deleted.
    let (_, list) = f.get("/admin/statuses", &admin).await;
    assert!(
        list["in_use"].as_array().unwrap().contains(&json!("focus")),
        "{list}"
    );
    let (status, e) = f
        .call(Method::DELETE, "/admin/statuses/focus", &admin, None)
        .await;
    assert_eq!(status, 409, "{e}");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("disable it instead"));
    // Disabled, it is still listed for administrators.
    let mut off = focus.clone();
    off["enabled"] = json!(false);
    assert_eq!(
        f.call(Method::PUT, "/admin/statuses/focus", &admin, Some(off))
            .await
            .0,
        200
    );
    let (_, list) = f.get("/admin/statuses", &admin).await;
    let listed = list["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "focus")
        .unwrap()
        .clone();
    assert_eq!(listed["enabled"], false);
    // Unused, it goes.
    bea.request(|request| ClientMessage::Change {
        request,
        change: Change::SetStatus {
            status: StatusId::AVAILABLE,
            until: None,
        },
    })
    .await;
    assert_eq!(
        f.call(Method::DELETE, "/admin/statuses/focus", &admin, None)
            .await
            .0,
        204
    );
    let (_, list) = f.get("/admin/statuses", &admin).await;
    assert!(!list["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == "focus"));
    assert_eq!(
        f.call(Method::DELETE, "/admin/statuses/focus", &admin, None)
            .await
            .0,
        404
    );
    f.finish().await;
}
