//! Presence: changes reaching teammates, timers on the manual clock, devices and leases, restarts, preferences.

use crate::support::*;
use clock::Clock;
use presence::{
    Change, ClearAfter, DeviceActivity, DeviceKind, Emoji, MessageText, Span, StatusId,
};
use protocol::{ClientMessage, ErrorKind, ServerMessage};
use serde_json::json;
use std::time::Duration;

on_both_databases!(
    a_changes_own_effects_arrive_before_its_ack,
    a_status_change_reaches_teammates_once_and_no_one_else,
    message_pause_and_clear_are_acknowledged_and_reach_the_other_devices,
    a_replayed_request_applies_once,
    several_devices_merge_and_a_silent_device_is_dropped,
    stale_and_replayed_device_reports_change_nothing,
    a_restart_keeps_statuses_timers_and_unread_notifications,
    people_set_their_own_preferences,
    a_persons_own_statuses_reach_their_devices_and_teammates_see_them,
    out_of_office_reaches_teammates_holds_notifications_and_outlasts_the_devices,
    why_lists_each_of_the_persons_devices,
    devices_keep_their_name_and_platform_and_teammates_see_only_the_kind,
    lease_renewals_are_stored_together_within_a_flush_and_when_the_server_stops,
    several_states_stored_in_one_statement_each_only_onto_its_own_version,
    more_renewals_than_a_batch_are_all_stored_in_one_flush,
);

/// `PUT /me/preferences`: the status and the answer.
async fn put_preferences(
    f: &Fixture,
    token: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    f.call(
        reqwest::Method::PUT,
        "/me/preferences",
        token,
        Some(body.clone()),
    )
    .await
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

    bea.request(|request| ClientMessage::Change {
        request,
        change: Change::SetStatus {
            status: StatusId::BUSY,
            until: None,
        },
    })
    .await;
    // bea's own self view came before the ack (a_changes_own_effects_arrive_before_its_ack).
    cal.until("bea busy", delta_for(&f.bea, StatusId::BUSY))
        .await;

    // A heartbeat changes nothing others see: no delta.
    bea.heartbeat().await;
    cal.none("delta after a heartbeat", any_delta).await;
    // Not in bea's team, not in her organisation: nothing at all.
    dan.none(
        "delta about bea",
        |m| matches!(m, ServerMessage::PresenceDelta { user, .. } if *user == f.bea),
    )
    .await;
    eve.none(
        "delta about bea",
        |m| matches!(m, ServerMessage::PresenceDelta { user, .. } if *user == f.bea),
    )
    .await;

    // A timed status ends exactly on time, and teammates hear of it.
    // Within the devices' 90 s lease, so that nothing else falls due on the way.
    let until = f.clock.now().plus(Span::seconds(60));
    bea.request(|request| ClientMessage::Change {
        request,
        change: Change::SetStatus {
            status: StatusId::DND,
            until: Some(until),
        },
    })
    .await;
    let dnd = cal.until("bea dnd", delta_for(&f.bea, StatusId::DND)).await;
    assert!(
        matches!(&dnd, ServerMessage::PresenceDelta { view, .. } if view.status.until == Some(until)),
        "teammates see when DND ends: {dnd:?}"
    );
    f.clock.set(until.minus(Span(1)));
    cal.none_within(
        "the end of DND a millisecond early",
        Duration::from_millis(300),
        any_delta,
    )
    .await;
    f.clock.set(until);
    let back = cal
        .until(
            "bea back to busy at the end",
            delta_for(&f.bea, StatusId::BUSY),
        )
        .await;
    assert!(
        matches!(&back, ServerMessage::PresenceDelta { view, .. } if view.status.until.is_none()),
        "Busy, until changed: {back:?}"
    );

    // An unknown status is refused with the engine's reason.
    let e = bea
        .refused(|request| ClientMessage::Change {
            request,
            change: Change::SetStatus {
                status: "custom:nope".parse().unwrap(),
                until: None,
            },
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
    desk.request(|request| ClientMessage::Change {
        request,
        change: Change::SetMessage {
            text: MessageText::parse("Reviewing designs").unwrap(),
            emoji: Some(Emoji::parse("🎨").unwrap()),
            clear_after: ClearAfter::OneHour,
        },
    })
    .await;
    laptop
        .until("the message on the other device", |m| matches!(m, ServerMessage::SelfUpdate { view } if view.message.as_ref().is_some_and(|msg| msg.text.as_str() == "Reviewing designs")))
        .await;
    cal.until("the message for teammates", |m| matches!(m, ServerMessage::PresenceDelta { user, view } if *user == f.bea && view.message.is_some()))
        .await;

    let until = f.clock.now().plus(Span::hours(1));
    desk.request(|request| ClientMessage::Change {
        request,
        change: Change::pause(Some(until)),
    })
    .await;
    let slot = f.app().slot(&f.bea).unwrap();
    assert_eq!(
        f.app().person(&slot).await.paused_until(f.clock.now()),
        Some(until)
    );
    desk.request(|request| ClientMessage::Change {
        request,
        change: Change::pause(None),
    })
    .await;
    assert_eq!(
        f.app().person(&slot).await.paused_until(f.clock.now()),
        None
    );

    desk.request(|request| ClientMessage::Change {
        request,
        change: Change::ClearMessage,
    })
    .await;
    cal.until("the message cleared", |m| matches!(m, ServerMessage::PresenceDelta { user, view } if *user == f.bea && view.message.is_none()))
        .await;

    // "Clear after 1 hour" clears exactly an hour after it was set, on every device and for
    // teammates, with nobody sending anything.
    let set_at = f.clock.now();
    desk.request(|request| ClientMessage::Change {
        request,
        change: Change::SetMessage {
            text: MessageText::parse("Lunch").unwrap(),
            emoji: None,
            clear_after: ClearAfter::OneHour,
        },
    })
    .await;
    cal.until("the message for teammates", |m| matches!(m, ServerMessage::PresenceDelta { user, view } if *user == f.bea && view.message.is_some()))
        .await;
    let clears_at = set_at.plus(Span::hours(1));
    // Every device heartbeats through the hour (every 45 s; the apps send one every 30 s), so
    // nothing but the message changes.
    let mut at = set_at;
    while at.plus(Span::seconds(45)) < clears_at {
        at = at.plus(Span::seconds(45));
        f.clock.set(at);
        for c in [&mut desk, &mut laptop, &mut cal] {
            c.heartbeat().await;
        }
    }
    f.clock.set(clears_at.minus(Span(1)));
    cal.none_within(
        "the message cleared a millisecond early",
        Duration::from_millis(300),
        |m| matches!(m, ServerMessage::PresenceDelta { user, view } if *user == f.bea && view.message.is_none()),
    )
    .await;
    f.clock.set(clears_at);
    cal.until("the message cleared on time", |m| matches!(m, ServerMessage::PresenceDelta { user, view } if *user == f.bea && view.message.is_none()))
        .await;
    laptop
        .until(
            "the message cleared on the other device",
            |m| matches!(m, ServerMessage::SelfUpdate { view } if view.message.is_none()),
        )
        .await;
    f.finish().await;
}

async fn a_replayed_request_applies_once(b: Backend) {
    let Some(mut f) = Fixture::start(b).await else {
        return;
    };
    let mut bea = f.online(&f.bea, "desk").await;
    let first = protocol::RequestId("outbox-1".into());
    let set = |request| ClientMessage::Change {
        request,
        change: Change::SetStatus {
            status: StatusId::BUSY,
            until: None,
        },
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
        .update_org(&Actor::system(), "test", String::new(), &f.org, |o| {
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
    // Both devices' frames answered, so whatever they caused was sent to cal before her own.
    laptop.barrier().await;
    desk.barrier().await;
    cal.none(
        "a flap to away",
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
    // Both stop sending anything (crash, sleep): Offline exactly when the lease lapses, no
    // ghost online. Every device here last reported at `t`; the lease is 2 s.
    let t = f.clock.now();
    std::mem::forget(desk);
    std::mem::forget(laptop);
    // Cal heartbeats (the lease is short for everyone here) and stays.
    f.clock.set(t.plus(Span::seconds(1)));
    cal.heartbeat().await;
    let bea = f.bea.clone();
    let offline = delta_for(&bea, StatusId::OFFLINE);
    f.clock.set(t.plus(Span(1999)));
    cal.none_within(
        "bea offline before her lease lapsed",
        Duration::from_millis(300),
        &offline,
    )
    .await;
    f.clock.set(t.plus(Span::seconds(2)));
    cal.until("bea offline when her devices' lease lapsed", &offline)
        .await;
    assert_eq!(f.seen(&f.bea).await, StatusId::OFFLINE);
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
    bea.heartbeat().await;
    cal.none("a delta from a stale report", any_delta).await;
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
    let soon = f.clock.now().plus(Span::seconds(30));
    let later = f.clock.now().plus(Span::hours(1));
    bea.request(|request| ClientMessage::Change {
        request,
        change: Change::SetStatus {
            status: StatusId::DND,
            until: Some(soon),
        },
    })
    .await;
    cal.request(|request| ClientMessage::Change {
        request,
        change: Change::SetStatus {
            status: StatusId::BUSY,
            until: Some(later),
        },
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
    f.clock.set(soon.plus(Span::seconds(1)));
    f.server = Some(start(&f.db.url, &f.clock, &f.broker).await);
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
    let (status, body) = put_preferences(&f, &token, &prefs).await;
    assert_eq!(status, 200, "{body}");
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
    let (status, body) = put_preferences(&f, &token, &bad).await;
    assert_eq!(status, 422, "{body}");
    let mut bad = prefs.clone();
    bad["time_zone"] = json!("Mars/Olympus");
    let (status, body) = put_preferences(&f, &token, &bad).await;
    assert_eq!(status, 422, "{body}");
    // Another organisation's person on the allow-list or as a redirect, or a team of another
    // organisation: not found, as if they did not exist. A redirect to oneself: refused.
    for (field, value, code) in [
        ("breakthrough", json!([f.eve.as_str()]), 404),
        (
            "call",
            json!({"busy_action": {"action": "redirect_user", "target": f.eve.as_str()}, "out_of_hours": null, "forward_to": null}),
            404,
        ),
        (
            "call",
            json!({"busy_action": {"action": "redirect_team", "target": f.team2}, "out_of_hours": null, "forward_to": null}),
            404,
        ),
        (
            "call",
            json!({"busy_action": {"action": "voicemail"}, "out_of_hours": {"action": "redirect_user", "target": f.bea.as_str()}, "forward_to": null}),
            422,
        ),
    ] {
        let mut bad = prefs.clone();
        bad[field] = value;
        let (status, body) = put_preferences(&f, &token, &bad).await;
        assert_eq!(status, code, "{field}: {body}");
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    let after = f.app().person(&slot).await;
    assert_eq!(after.preferences, person.preferences);

    // A teammate on the allow-list, calls redirected to the team, auto-away off: stored.
    let mut good = prefs.clone();
    good["breakthrough"] = json!([f.cal.as_str()]);
    good["call"] = json!({"busy_action": {"action": "redirect_team", "target": f.team}, "out_of_hours": {"action": "voicemail"}, "forward_to": "+442079460000"});
    good["auto_away"] = json!(false);
    let (status, body) = put_preferences(&f, &token, &good).await;
    assert_eq!(status, 200, "{body}");
    let stored = f.app().person(&slot).await.preferences;
    assert!(stored.breakthrough.contains(&f.cal));
    assert!(!stored.auto_away);

    // What the organisation allows, for the settings the app shows.
    let (status, limits) = f.get("/me/limits", &token).await;
    assert_eq!(status, 200);
    assert_eq!(limits["auto_away"], true);
    assert_eq!(limits["idle_after"], 300_000);
    assert_eq!(limits["idle_after_min"], 60_000);
    assert_eq!(limits["idle_after_max"], 4 * 3_600_000);
    let teams = limits["teams"].as_array().unwrap();
    assert!(teams.iter().any(|t| t["id"] == f.team.as_str()));
    assert!(
        teams.iter().all(|t| t["id"] != f.team2.as_str()),
        "only the organisation's teams"
    );
    f.finish().await;
}

async fn a_persons_own_statuses_reach_their_devices_and_teammates_see_them(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let token = f.token(&f.bea, "desk").await;
    let mut laptop = f.online(&f.bea, "laptop").await;
    let mut cal = f.online(&f.cal, "desk").await;
    let deep: StatusId = "personal:deep-work".parse().unwrap();
    let (_, mut prefs) = f.get("/me/preferences", &token).await;
    prefs["statuses"] = json!([{"id": "deep-work", "name": "Deep work", "emoji": "🎧", "family": "do_not_disturb"}]);
    let (status, body) = put_preferences(&f, &token, &prefs).await;
    assert_eq!(status, 200, "{body}");

    // Every device of the person learns the new list, after the organisation's statuses.
    let frame = laptop
        .until("the person's statuses", |m| {
            matches!(m, ServerMessage::Statuses { .. })
        })
        .await;
    let ServerMessage::Statuses { statuses } = frame else {
        unreachable!()
    };
    assert_eq!(statuses.last().map(|e| &e.id), Some(&deep));
    assert!(statuses.iter().any(|e| e.id == StatusId::AVAILABLE));
    let (_, listed) = f.get("/statuses", &token).await;
    let entry = listed["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "personal:deep-work")
        .cloned()
        .unwrap_or_else(|| panic!("GET /statuses lacks the person's own: {listed}"));
    assert_eq!(entry["label"], "Deep work");
    assert_eq!(entry["emoji"], "🎧");
    assert_eq!(entry["policy"]["glyph"], "emoji");
    // A teammate is not offered it, and cannot choose it.
    let cal_token = f.token(&f.cal, "desk").await;
    let (_, theirs) = f.get("/statuses", &cal_token).await;
    assert!(
        !theirs.to_string().contains("personal:deep-work"),
        "{theirs}"
    );
    let e = cal
        .refused(|request| ClientMessage::Change {
            request,
            change: Change::SetStatus {
                status: deep.clone(),
                until: None,
            },
        })
        .await;
    assert_eq!(e.kind, ErrorKind::Invalid, "{e:?}");
    assert!(e.message.contains("personal:deep-work"), "{e:?}");

    // Chosen, it follows its family's rules and teammates see its own name and emoji.
    laptop
        .request(|request| ClientMessage::Change {
            request,
            change: Change::SetStatus {
                status: deep.clone(),
                until: None,
            },
        })
        .await;
    let seen = cal
        .until("Deep work for teammates", delta_for(&f.bea, deep.clone()))
        .await;
    let ServerMessage::PresenceDelta { view, .. } = seen else {
        unreachable!()
    };
    assert_eq!(view.status.label, "Deep work");
    assert_eq!(view.status.emoji, Some(Emoji::parse("🎧").unwrap()));
    assert_eq!(view.status.family, presence::Family::DoNotDisturb);

    // Refused in words, and nothing changes: a name twice, the offline family.
    for bad_list in [
        json!([{"id": "deep-work", "name": "Deep work", "emoji": null, "family": "busy"}, {"id": "deep", "name": "deep WORK", "emoji": null, "family": "busy"}]),
        json!([{"id": "gone", "name": "Gone", "emoji": null, "family": "offline"}]),
    ] {
        let mut bad = prefs.clone();
        bad["statuses"] = bad_list;
        let (status, body) = put_preferences(&f, &token, &bad).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(f.seen(&f.bea).await, deep);

    // Removed while chosen: the choice ends and teammates see what was under it.
    prefs["statuses"] = json!([]);
    let (status, body) = put_preferences(&f, &token, &prefs).await;
    assert_eq!(status, 200, "{body}");
    cal.until(
        "Available again for teammates",
        delta_for(&f.bea, StatusId::AVAILABLE),
    )
    .await;
    laptop
        .until("the shorter list", |m| {
            matches!(m, ServerMessage::Statuses { statuses } if !statuses.iter().any(|e| e.id == deep))
        })
        .await;
    f.finish().await;
}

async fn a_changes_own_effects_arrive_before_its_ack(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut desk = f.online(&f.bea, "desk").await;
    // Each of several changes in a row: the device that made it has its new self view before
    // the ack, so an app that waits for the ack shows the state after the change.
    for (i, status) in [
        StatusId::BUSY,
        StatusId::DND,
        StatusId::AWAY,
        StatusId::AVAILABLE,
    ]
    .into_iter()
    .enumerate()
    {
        let request = protocol::RequestId(format!("ordered-{i}"));
        desk.send(&ClientMessage::Change {
            request: request.clone(),
            change: Change::SetStatus {
                status: status.clone(),
                until: None,
            },
        })
        .await;
        let mut seen_self = false;
        loop {
            match desk.next().await {
                ServerMessage::SelfUpdate { view } if view.status.status == status => {
                    seen_self = true
                }
                ServerMessage::Ack { request: r } if r == request => break,
                _ => {}
            }
        }
        assert!(
            seen_self,
            "the self view for {status:?} came before its ack"
        );
    }
    f.finish().await;
}

async fn out_of_office_reaches_teammates_holds_notifications_and_outlasts_the_devices(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let token = f.token(&f.bea, "desk").await;
    let mut cal = f.online(&f.cal, "desk").await;
    let now = f.clock.now();
    // The start within a device lease, so that the teammate's connection stays open across
    // the jump of the manual clock.
    let (from, until) = (now.plus(Span::seconds(30)), now.plus(Span::hours(72)));
    let (_, mut prefs) = f.get("/me/preferences", &token).await;

    // Refused: a return before the start, a period longer than a year.
    for (a, b) in [(until, from), (from, from.plus(Span::hours(367 * 24)))] {
        let mut bad = prefs.clone();
        bad["out_of_office"] = json!({"from": a.0, "until": b.0, "message": null});
        let (status, body) = put_preferences(&f, &token, &bad).await;
        assert_eq!(status, 422, "{body}");
    }

    prefs["out_of_office"] = json!({"from": from.0, "until": until.0, "message": "At a conference; the support team has my calls"});
    let (status, body) = put_preferences(&f, &token, &prefs).await;
    assert_eq!(status, 200, "{body}");
    // Bea's laptop is online until she leaves.
    let bea = f.online(&f.bea, "desk").await;
    cal.until("bea available", delta_for(&f.bea, StatusId::AVAILABLE))
        .await;
    drop(bea);

    // The start comes (the server's timer, on its manual clock): teammates see Out of office,
    // until when and the message, though no device of hers is connected.
    f.clock.set(from);
    let m = cal
        .until("out of office", delta_for(&f.bea, StatusId::OUT_OF_OFFICE))
        .await;
    let ServerMessage::PresenceDelta { view, .. } = m else {
        unreachable!()
    };
    assert_eq!(view.status.until, Some(until));
    let message = view.message.expect("the message");
    assert_eq!(
        message.text.as_str(),
        "At a conference; the support team has my calls"
    );
    assert_eq!(message.expires, Some(until));

    // A notification meanwhile is held for the return.
    let body =
        json!({"user": f.bea.as_str(), "title": "Invoice approved", "body": "for the record"});
    let (status, r) = f.post("/notifications", &f.key, body).await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["notification"]["delivery"]["delivery"], "hold", "{r}");

    // The return (days later: the teammate connects again): with no device of hers connected,
    // Offline, and her message gone with the period.
    f.clock.set(until);
    let mut cal = f.online(&f.cal, "phone").await;
    let seen = cal.members.iter().find(|m| m.user == f.bea).expect("bea");
    // The snapshot is the view as last published; on PostgreSQL the timer that ends the
    // period claims its row within a second, and its delta follows.
    let view = if seen.view.status.status == StatusId::OFFLINE {
        seen.view.clone()
    } else {
        match cal
            .until(
                "offline after the return",
                delta_for(&f.bea, StatusId::OFFLINE),
            )
            .await
        {
            ServerMessage::PresenceDelta { view, .. } => view,
            _ => unreachable!(),
        }
    };
    assert_eq!(view.message, None);
    f.finish().await;
}

async fn why_lists_each_of_the_persons_devices(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut desk = f.online(&f.bea, "desk").await;
    let mut laptop = f.online(&f.bea, "laptop").await;
    desk.report(
        DeviceActivity::Locked {
            locked_for: Span::seconds(5),
        },
        false,
    )
    .await;
    laptop.report(DeviceActivity::Active, true).await;
    let token = f.token(&f.bea, "phone").await;
    let mut devices = serde_json::Value::Null;
    for _ in 0..50 {
        let (status, why) = f.get("/me/explain", &token).await;
        assert_eq!(status, 200, "{why}");
        devices = why["devices"].clone();
        let state = |name: &str| {
            devices
                .as_array()
                .and_then(|d| d.iter().find(|x| x["device"] == name))
                .map(|x| (x["state"].clone(), x["in_call"].clone()))
        };
        if state("desk") == Some((json!("locked"), json!(false)))
            && state("laptop") == Some((json!("active"), json!(true)))
        {
            f.finish().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the explanation's devices: {devices}");
}

async fn devices_keep_their_name_and_platform_and_teammates_see_only_the_kind(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let sign_in = |body: serde_json::Value| {
        let request = f.http.post(f.url("/sessions")).json(&body);
        async move {
            let r = request.send().await.expect("request");
            let status = r.status().as_u16();
            (
                status,
                r.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    let with = |device: &str, name: serde_json::Value, platform: serde_json::Value| json!({"email": "bea@one.test", "password": PASSWORD, "device": device, "device_name": name, "platform": platform});
    // Refused in words: a name with a line break, one too long, a platform no one has.
    for (body, words) in [
        (
            with("laptop", json!("Work\nlaptop"), json!("linux")),
            "device name",
        ),
        (
            with("laptop", json!("x".repeat(41)), json!("linux")),
            "device name",
        ),
        (with("laptop", json!("Laptop"), json!("amiga")), "platform"),
    ] {
        let (status, e) = sign_in(body).await;
        assert_eq!(status, 422, "{e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(words)),
            "{e}"
        );
    }
    let (status, laptop) = sign_in(with("laptop", json!("Work laptop"), json!("linux"))).await;
    assert_eq!(status, 201, "{laptop}");
    let (status, phone) = sign_in(with("phone", json!(null), json!("android"))).await;
    assert_eq!(status, 201, "{phone}");
    let laptop_token = laptop["token"].as_str().unwrap().to_owned();
    let phone_token = phone["token"].as_str().unwrap().to_owned();

    let mut cal = f.online(&f.cal, "desk").await;
    let mut on_laptop = Client::connect(f.addr(), &laptop_token, "laptop", None).await;
    on_laptop.report(DeviceActivity::Active, false).await;
    cal.until("bea reachable on a computer", |m| {
        matches!(m, ServerMessage::PresenceDelta { user, view } if *user == f.bea && view.reachable_on == Some(DeviceKind::Desktop))
    })
    .await;
    // The laptop goes idle and the phone is used: teammates' mark follows the phone.
    on_laptop
        .report(
            DeviceActivity::Idle {
                idle_for: Span::seconds(30),
            },
            false,
        )
        .await;
    let mut on_phone = Client::connect(f.addr(), &phone_token, "phone", None).await;
    on_phone.report(DeviceActivity::Active, false).await;
    let seen = cal
        .until("bea reachable on mobile", |m| {
            matches!(m, ServerMessage::PresenceDelta { user, view } if *user == f.bea && view.reachable_on == Some(DeviceKind::Mobile))
        })
        .await;
    assert!(
        !serde_json::to_string(&seen)
            .unwrap()
            .contains("Work laptop"),
        "teammates never see a device's name: {seen:?}"
    );

    // The person sees each by name and platform, in Why and in their device list.
    let (_, why) = f.get("/me/explain", &phone_token).await;
    let line = |device: &str| {
        why["devices"]
            .as_array()
            .and_then(|d| d.iter().find(|x| x["device"] == device))
            .map(|x| (x["name"].clone(), x["platform"].clone(), x["state"].clone()))
    };
    assert_eq!(
        line("laptop"),
        Some((json!("Work laptop"), json!("linux"), json!("idle"))),
        "{why}"
    );
    assert_eq!(
        line("phone"),
        Some((json!(null), json!("android"), json!("active"))),
        "{why}"
    );
    let (_, mine) = f.get("/me/devices", &phone_token).await;
    let listed = mine["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device"] == "laptop")
        .cloned()
        .unwrap_or_else(|| panic!("{mine}"));
    assert_eq!(listed["name"], "Work laptop");
    assert_eq!(listed["platform"], "linux");
    // Kept across a restart of the server (stored with the token and the person).
    drop((on_laptop, on_phone, cal));
    let mut f = f;
    f.restart().await;
    let (_, why) = f.get("/me/explain", &phone_token).await;
    assert!(why.to_string().contains("Work laptop"), "{why}");
    f.finish().await;
}

/// The lease of `device` as stored in the database.
async fn stored_lease(f: &Fixture, user: &presence::UserId, device: &str) -> presence::Timestamp {
    let (person, ..) = f.app().db.user_state(user.as_str()).await.unwrap().unwrap();
    person.devices()[&presence::DeviceId::parse(device).unwrap()].lease_until
}

async fn lease_renewals_are_stored_together_within_a_flush_and_when_the_server_stops(b: Backend) {
    let Some(mut f) = Fixture::start(b).await else {
        return;
    };
    let lease = Span::seconds(90); // the default
    let mut bea = f.online(&f.bea, "desk").await;
    bea.barrier().await;
    let t = f.clock.now();
    assert_eq!(stored_lease(&f, &f.bea, "desk").await, t.plus(lease));
    // The flusher wakes every second of the clock: let it wake just before, so the heartbeat
    // below falls between two of its flushes.
    let settle = |at: presence::Timestamp| {
        f.clock.set(at);
        tokio::time::sleep(Duration::from_millis(300))
    };
    settle(t.plus(Span(49_500))).await;
    // Half a lease on: the renewal is due for storing, and queued.
    f.clock.set(t.plus(Span::seconds(50)));
    bea.heartbeat().await;
    assert_eq!(
        stored_lease(&f, &f.bea, "desk").await,
        t.plus(lease),
        "queued, not stored by the heartbeat itself"
    );
    // The next flush stores it (with every other one queued, in one statement).
    f.clock.set(t.plus(Span::seconds(51)));
    let renewed = t.plus(Span::seconds(50)).plus(lease);
    let mut stored = stored_lease(&f, &f.bea, "desk").await;
    for _ in 0..100 {
        if stored == renewed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        stored = stored_lease(&f, &f.bea, "desk").await;
    }
    assert_eq!(stored, renewed, "stored within a flush");
    // Queued again, and the server stops before the next flush: stopping stores it.
    settle(t.plus(Span(99_500))).await;
    f.clock.set(t.plus(Span::seconds(100)));
    bea.heartbeat().await;
    drop(bea);
    f.restart().await;
    assert_eq!(
        stored_lease(&f, &f.bea, "desk").await,
        t.plus(Span::seconds(100)).plus(lease),
        "stored when the server stopped"
    );
    f.finish().await;
}

/// A flush writes its people in batches of `FLUSH_BATCH`, each holding only its own people's
/// locks: with more queued than a batch, every one is still stored by the one flush.
async fn more_renewals_than_a_batch_are_all_stored_in_one_flush(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let lease = Span::seconds(90);
    let count = 2 * presently_server::app::leases::FLUSH_BATCH + 1;
    let mut people = Vec::with_capacity(count);
    for i in 0..count {
        let user = f.member(&format!("p{i}@one.test")).await;
        let mut c = f.online(&user, "desk").await;
        c.barrier().await;
        people.push((user, c));
    }
    let t = f.clock.now();
    // Every heartbeat at half a lease queues its renewal (none stored by the heartbeat).
    f.clock.set(t.plus(Span::seconds(50)));
    for (_, c) in people.iter_mut() {
        c.heartbeat().await;
    }
    // The flusher woke when the clock moved and may have taken some already; this flush takes
    // the rest, in three batches or fewer.
    f.app().store_leases().await;
    for (user, _) in &people {
        assert_eq!(
            stored_lease(&f, user, "desk").await,
            t.plus(Span::seconds(50)).plus(lease),
            "{user:?}"
        );
    }
    f.finish().await;
}

async fn several_states_stored_in_one_statement_each_only_onto_its_own_version(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let db = &f.app().db;
    let (bea, bea_applied, bea_version, _) = db.user_state(f.bea.as_str()).await.unwrap().unwrap();
    let (cal, cal_applied, cal_version, _) = db.user_state(f.cal.as_str()).await.unwrap().unwrap();
    let mut bea_applied_now = bea_applied.clone();
    bea_applied_now.push("r-1".into());
    let writes = [
        presently_server::db::StateWrite {
            user: f.bea.as_str(),
            state: &bea,
            applied_requests: &bea_applied_now,
            next_deadline: Some(42),
            version: bea_version,
        },
        // Read before another write: left out.
        presently_server::db::StateWrite {
            user: f.cal.as_str(),
            state: &cal,
            applied_requests: &cal_applied,
            next_deadline: None,
            version: cal_version - 1,
        },
    ];
    let stored = db.save_states(&writes).await.unwrap();
    assert_eq!(stored, vec![(f.bea.as_str().to_string(), bea_version + 1)]);
    let (bea_stored, applied, version, deadline) =
        db.user_state(f.bea.as_str()).await.unwrap().unwrap();
    assert_eq!(
        (bea_stored, applied, version, deadline),
        (bea, bea_applied_now, bea_version + 1, Some(42))
    );
    let (.., version, _) = db.user_state(f.cal.as_str()).await.unwrap().unwrap();
    assert_eq!(version, cal_version, "cal untouched");
    f.finish().await;
}
