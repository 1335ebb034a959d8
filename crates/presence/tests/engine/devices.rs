//! Devices: sequence numbers, leases, merging several devices, idle and lock.

use crate::common::*;
use presence::*;

#[test]
fn a_stale_or_replayed_report_changes_nothing() {
    let mut w = World::new();
    w.idle(1000, 0);
    let before = w.person.clone();
    let replay = DeviceReport {
        device: dev("desk"),
        seq: 1,
        activity: DeviceActivity::Active,
        in_call: true,
    };
    let outcome = w.person.report(&w.rules.clone(), t(1001), &replay);
    assert_eq!(outcome, ReportOutcome::Stale { last_seq: 2 });
    assert_eq!(w.person, before, "not even the lease is renewed");
    assert_eq!(w.shown(1001), StatusId::AWAY);
}

#[test]
fn a_device_whose_lease_lapsed_is_gone_and_offline_needs_no_device_left() {
    let mut w = World::with_lease(Span::seconds(90));
    w.report(0, "laptop", DeviceActivity::Active, false);
    // The desk keeps heartbeating; the laptop crashed at t=0.
    for s in (60..=300).step_by(60) {
        w.active(s);
    }
    assert_eq!(
        w.seen(300),
        StatusId::AVAILABLE,
        "one device left is enough"
    );
    assert!(!w.person.devices()[&dev("laptop")].is_live(t(300)));
    // The desk goes silent too (sleep, closed lid, crash): no ghost online.
    assert_eq!(w.seen(389), StatusId::AVAILABLE);
    assert_eq!(
        w.seen(390),
        StatusId::OFFLINE,
        "Offline exactly when the last lease lapses"
    );
    let view = w.rules.team_view(&w.person, t(400));
    assert_eq!(view.last_seen, Some(t(300)));
}

#[test]
fn a_heartbeat_renews_a_live_lease_but_cannot_revive_a_gone_device() {
    let mut w = World::with_lease(Span::seconds(90));
    w.report(0, "desk", DeviceActivity::Active, false);
    let rules = w.rules.clone();
    assert!(w.person.keep_alive(&rules, t(80), &dev("desk")));
    assert_eq!(
        w.seen(169),
        StatusId::AVAILABLE,
        "the lease runs from the heartbeat"
    );
    assert_eq!(w.seen(170), StatusId::OFFLINE);
    assert!(
        !w.person.keep_alive(&rules, t(200), &dev("desk")),
        "a lapsed device must report again"
    );
    assert!(!w.person.keep_alive(&rules, t(200), &dev("never-seen")));
    assert_eq!(w.seen(201), StatusId::OFFLINE);
}

#[test]
fn several_devices_do_not_flap_the_status() {
    let mut w = World::new();
    w.report(0, "laptop", DeviceActivity::Active, false);
    // The laptop sits idle while the person works at the desk.
    for s in (30..=900).step_by(30) {
        w.active(s);
        w.report(
            s,
            "laptop",
            DeviceActivity::Idle {
                idle_for: Span::seconds(s),
            },
            false,
        );
        assert_eq!(w.shown(s), StatusId::AVAILABLE, "at {s}");
    }
}

#[test]
fn away_only_when_every_device_is_idle_since_the_later_threshold() {
    let mut w = World::new();
    w.report(0, "laptop", DeviceActivity::Active, false);
    w.report(
        60,
        "laptop",
        DeviceActivity::Idle {
            idle_for: Span::seconds(60),
        },
        false,
    ); // idle since 0
    w.idle(60, 40); // desk idle since 40
    assert_eq!(w.shown(339), StatusId::AVAILABLE);
    assert_eq!(
        w.shown(340),
        StatusId::AWAY,
        "away at the later device's threshold"
    );
    let ex = w.rules.explain(&w.person, t(341));
    assert_eq!(ex.winner.source, ClaimSource::Idle);
    assert_eq!(ex.winner.since, t(340));
}

#[test]
fn a_locked_screen_is_away_at_once() {
    let mut w = World::new();
    w.report(
        10,
        "desk",
        DeviceActivity::Locked {
            locked_for: Span::ZERO,
        },
        false,
    );
    assert_eq!(w.shown(10), StatusId::AWAY);
    w.active(20);
    assert_eq!(w.shown(20), StatusId::AVAILABLE);
}

#[test]
fn idle_then_activity_restores_exactly_what_was_there() {
    for before in [
        None,
        Some(StatusId::BUSY),
        Some(StatusId::DND),
        Some(custom("training")),
        Some(StatusId::Builtin(BuiltinStatus::BeRightBack)),
    ] {
        let mut w = World::new();
        if let Some(s) = before.clone() {
            w.choose(5, s, None);
        }
        let shown = w.shown(10);
        w.idle(2000, 10);
        w.active(2001);
        assert_eq!(w.shown(2001), shown, "before: {before:?}");
    }
}

#[test]
fn long_inactivity_goes_offline_and_activity_brings_back_the_earlier_status() {
    let mut w = World::new();
    w.choose(0, StatusId::BUSY, None);
    w.idle(3599, 0);
    assert_eq!(w.seen(3599), StatusId::BUSY);
    w.idle(3600, 0);
    assert_eq!(
        w.seen(3600),
        StatusId::OFFLINE,
        "the organisation's inactivity timeout"
    );
    assert_eq!(w.rules.team_view(&w.person, t(3600)).last_seen, Some(t(0)));
    w.active(3700);
    assert_eq!(
        w.seen(3700),
        StatusId::BUSY,
        "the earlier status comes back"
    );
}

#[test]
fn signing_out_removes_the_device_at_once_and_signing_in_restores_the_choice() {
    let mut w = World::new();
    w.choose(0, StatusId::DND, None);
    w.person.sign_out(&w.rules.clone(), t(10), &dev("desk"));
    assert_eq!(w.seen(10), StatusId::OFFLINE);
    let ex = w.rules.explain(&w.person, t(10));
    assert!(ex
        .others
        .iter()
        .any(|l| l.status == StatusId::DND && l.standing == Standing::Suspended));
    w.active(20);
    assert_eq!(w.seen(20), StatusId::DND);
}

#[test]
fn a_call_reported_by_a_device_ends_with_the_device() {
    let mut w = World::with_lease(Span::seconds(90));
    w.report(0, "phone", DeviceActivity::Active, true);
    assert_eq!(w.shown(1), StatusId::ON_A_CALL);
    // The phone dies mid-call; the desk is still there.
    for s in (60..=180).step_by(60) {
        w.active(s);
    }
    assert_eq!(
        w.shown(180),
        StatusId::AVAILABLE,
        "no stuck 'On a call' after a crash"
    );
}

#[test]
fn a_desk_phone_call_shows_even_with_no_app_connected() {
    let mut r = rules();
    r.policy.after_call_work = None;
    let mut p = Person::default();
    p.start_activity(&r, t(0), Activity::Call, ext("pbx-9"), None)
        .unwrap();
    assert_eq!(r.team_view(&p, t(1)).status.status, StatusId::ON_A_CALL);
    p.end_activity(&r, t(60), Activity::Call, &ext("pbx-9"));
    assert_eq!(r.team_view(&p, t(60)).status.status, StatusId::OFFLINE);
}

#[test]
fn with_auto_away_off_idle_and_lock_change_nothing_but_inactivity_still_counts() {
    let mut r = rules();
    r.policy.auto_away = false;
    let mut w = World::with_rules(r);
    w.idle(1000, 0);
    assert_eq!(w.shown(1000), StatusId::AVAILABLE);
    // Nothing to wake up for at the idle threshold...
    let next = w.person.next_deadline(&w.rules, t(1000));
    assert_ne!(next, Some(t(300)));
    // ...but the inactivity timeout (1 h) still makes the person Offline.
    w.idle(3600, 0);
    assert_eq!(w.shown(3600), StatusId::OFFLINE);
    w.active(3601);
    assert_eq!(w.shown(3601), StatusId::AVAILABLE);
}

#[test]
fn a_person_who_turned_auto_away_off_stays_available_when_idle_or_locked() {
    let mut w = World::with_rules(rules());
    let mut prefs = w.person.preferences.clone();
    prefs.auto_away = false;
    w.person.set_preferences(&w.rules, t(0), prefs);
    w.idle(1000, 0);
    assert_eq!(w.shown(1000), StatusId::AVAILABLE);
    assert_ne!(w.person.next_deadline(&w.rules, t(1000)), Some(t(300)));
    // The organisation's inactivity timeout still counts.
    w.idle(3600, 0);
    assert_eq!(w.shown(3600), StatusId::OFFLINE);
    // On again: Away from the idle threshold, as for everyone.
    let mut prefs = w.person.preferences.clone();
    prefs.auto_away = true;
    w.person.set_preferences(&w.rules, t(3601), prefs);
    w.active(3602);
    w.idle(4000, 3602);
    assert_eq!(w.shown(4000), StatusId::AWAY);
}

#[test]
fn why_lists_each_device_as_it_counts_now() {
    let mut w = World::new();
    // desk: active at 0. laptop: idle since 0, reported at 400 (past the 300 s threshold).
    // phone: locked. tablet: signed out.
    w.report(0, "desk", DeviceActivity::Active, true);
    w.report(
        400,
        "laptop",
        DeviceActivity::Idle {
            idle_for: Span::seconds(400),
        },
        false,
    );
    w.report(
        410,
        "phone",
        DeviceActivity::Locked {
            locked_for: Span::seconds(10),
        },
        false,
    );
    w.report(420, "tablet", DeviceActivity::Active, false);
    let r = w.rules.clone();
    w.person.sign_out(&r, t(430), &dev("tablet"));
    let e = r.explain(&w.person, t(440));
    let seen: Vec<(&str, DeviceShown, bool)> = e
        .devices
        .iter()
        .map(|d| (d.device.as_str(), d.state, d.in_call))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("phone", DeviceShown::Locked, false),
            ("laptop", DeviceShown::Away, false),
            ("desk", DeviceShown::Active, true),
            ("tablet", DeviceShown::Gone, false),
        ]
    );
    let laptop = e
        .devices
        .iter()
        .find(|d| d.device.as_str() == "laptop")
        .unwrap();
    assert_eq!(laptop.since, t(300), "away from the threshold");
    assert_eq!(laptop.last_report_at, t(400));
    let phone = e
        .devices
        .iter()
        .find(|d| d.device.as_str() == "phone")
        .unwrap();
    assert_eq!(phone.since, t(400));
}

#[test]
fn each_device_keeps_its_name_and_teammates_see_the_kind_that_makes_them_reachable() {
    let mut w = World::new();
    let about = |name: &str, platform| DeviceAbout {
        name: Some(DeviceName::parse(name).unwrap()),
        platform,
    };
    // Described before it ever reported: nothing is recorded for a device not yet there.
    assert!(!w
        .person
        .describe_device(&dev("phone"), &about("Phone", Platform::Android)));
    assert!(w
        .person
        .describe_device(&dev("desk"), &about("Work laptop", Platform::Linux)));
    assert!(
        !w.person
            .describe_device(&dev("desk"), &about("Work laptop", Platform::Linux)),
        "the same again changes nothing"
    );
    w.report(10, "phone", DeviceActivity::Active, false);
    w.person
        .describe_device(&dev("phone"), &about("Phone", Platform::Android));

    // Both active: the one heard from last.
    let lines = w.rules.explain(&w.person, t(10)).devices;
    let named: Vec<_> = lines
        .iter()
        .map(|l| (l.name.as_ref().map(|n| n.as_str()), l.platform))
        .collect();
    assert_eq!(
        named,
        [
            (Some("Phone"), Platform::Android),
            (Some("Work laptop"), Platform::Linux)
        ]
    );
    let reach = |w: &World, at| w.rules.team_view(&w.person, t(at)).reachable_on;
    assert_eq!(reach(&w, 10), Some(DeviceKind::Mobile));
    // The phone goes idle and the desk is used: the desk makes them reachable.
    w.report(
        20,
        "phone",
        DeviceActivity::Idle {
            idle_for: Span::seconds(10),
        },
        false,
    );
    w.active(21);
    assert_eq!(reach(&w, 21), Some(DeviceKind::Desktop));
    // The desk is locked: an idle phone comes before a locked desk.
    w.report(
        30,
        "desk",
        DeviceActivity::Locked {
            locked_for: Span::seconds(0),
        },
        false,
    );
    assert_eq!(reach(&w, 30), Some(DeviceKind::Mobile));
    // Invisible: no mark at all, nothing teammates could read presence from.
    w.choose(40, StatusId::INVISIBLE, None);
    assert_eq!(reach(&w, 40), None);
    // A device that never said what it is gives no mark, and one that is gone gives none.
    let mut bare = World::new();
    assert_eq!(bare.rules.team_view(&bare.person, t(0)).reachable_on, None);
    bare.person
        .describe_device(&dev("desk"), &about("Desk", Platform::Web));
    assert_eq!(
        bare.rules.team_view(&bare.person, t(0)).reachable_on,
        Some(DeviceKind::Web)
    );
    let lease = bare.rules.policy.device_lease;
    let later = t(0).plus(lease).plus(Span::seconds(1));
    assert_eq!(bare.rules.team_view(&bare.person, later).reachable_on, None);
    assert_eq!(
        bare.rules.explain(&bare.person, later).devices[0].name,
        Some(DeviceName::parse("Desk").unwrap()),
        "a gone device keeps its name in Why"
    );
    // Stored and read back, as the server keeps a person.
    let json = serde_json::to_string(&w.person).unwrap();
    let back: Person = serde_json::from_str(&json).unwrap();
    assert_eq!(back, w.person);
}

#[test]
fn devices_are_stored_as_an_object_keyed_by_device_even_when_there_are_none() {
    let devices = |p: &Person| serde_json::to_value(p).unwrap()["devices"].clone();
    // No device yet: an object, as the releases before read it (a list would not be).
    let fresh = Person::new(Preferences::default());
    assert_eq!(devices(&fresh), serde_json::json!({}));
    let mut w = World::new();
    w.report(1, "laptop", DeviceActivity::Active, false);
    let stored = devices(&w.person);
    let keys: Vec<&String> = stored.as_object().expect("an object").keys().collect();
    assert_eq!(keys, ["desk", "laptop"]);
    // Read back the same, and a person stored with `[]` for no devices is read too.
    let json = serde_json::to_string(&w.person).unwrap();
    assert_eq!(serde_json::from_str::<Person>(&json).unwrap(), w.person);
    let mut none = serde_json::to_value(&fresh).unwrap();
    none["devices"] = serde_json::json!([]);
    let read: Person = serde_json::from_value(none).expect("an empty list reads as no devices");
    assert_eq!(read, fresh);
}
