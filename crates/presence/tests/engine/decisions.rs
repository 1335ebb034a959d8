//! Notifications, direct calls, team calls and contact assignment.

use crate::common::*;
use presence::*;

fn notice(sender: &str, urgent: bool) -> Notice {
    Notice {
        sender: Some(user(sender)),
        urgent,
    }
}

#[test]
fn notification_delivery_table() {
    let boss = "boss";
    let mut prefs = Preferences::default();
    prefs.breakthrough.insert(user(boss));
    type Setup = fn(&mut World);
    let table: [(&str, Setup, Option<&str>); 8] = [
        ("available", |_| {}, None),
        (
            "busy does not mute",
            |w| {
                w.choose(1, StatusId::BUSY, None);
            },
            None,
        ),
        (
            "on a call does not mute",
            |w| {
                w.report(1, "desk", DeviceActivity::Active, true);
            },
            None,
        ),
        (
            "dnd holds",
            |w| {
                w.choose(1, StatusId::DND, None);
            },
            Some("status"),
        ),
        (
            "away still shows",
            |w| {
                w.idle(3900, 3000);
            },
            None,
        ),
        (
            "pause holds",
            |w| {
                let r = w.rules.clone();
                w.person.pause_notifications(&r, t(1), t(7200)).unwrap();
            },
            Some("paused"),
        ),
        (
            "no device holds",
            |w| {
                let r = w.rules.clone();
                w.person.sign_out(&r, t(1), &dev("desk"));
            },
            Some("no_device"),
        ),
        (
            "inactivity offline holds",
            |w| {
                w.idle(4000, 0);
            },
            Some("status"),
        ),
    ];
    for (name, setup, held) in table {
        let mut w = World::new();
        let r = w.rules.clone();
        w.person.set_preferences(&r, t(0), prefs.clone());
        setup(&mut w);
        let now = t(4000);
        let normal = w
            .rules
            .notification(&w.person, now, &notice("someone", false));
        let urgent_allowed = w.rules.notification(&w.person, now, &notice(boss, true));
        let urgent_other = w
            .rules
            .notification(&w.person, now, &notice("someone", true));
        match held {
            None => {
                assert_eq!(normal, Delivery::Show, "{name}");
                assert_eq!(urgent_allowed, Delivery::Show, "{name}");
            }
            Some(reason) => {
                let Delivery::Hold { why } = &normal else {
                    panic!("{name}: {normal:?}")
                };
                let json = serde_json::to_value(why).unwrap();
                assert_eq!(json["reason"], reason, "{name}");
                assert!(
                    matches!(urgent_other, Delivery::Hold { .. }),
                    "{name}: only the allow-list breaks through"
                );
                if reason == "no_device" {
                    assert!(
                        matches!(urgent_allowed, Delivery::Hold { .. }),
                        "nowhere to show it"
                    );
                } else {
                    assert!(
                        matches!(urgent_allowed, Delivery::BreakThrough { .. }),
                        "{name}"
                    );
                }
            }
        }
    }
}

#[test]
fn quiet_hours_hold_notifications_without_changing_the_status() {
    let mut w = World::new();
    let r = w.rules.clone();
    let mut prefs = Preferences::default();
    let mut s = Schedule::new(TimeZone::UTC);
    // 08:30–09:30 UTC every day: t(0) = 09:00 is inside, t(1800) is the end.
    s.quiet_hours = vec![WeeklyWindow::every_day(
        MinuteOfDay::new(8, 30).unwrap(),
        MinuteOfDay::new(9, 30).unwrap(),
    )];
    prefs.schedule = Some(s);
    w.person.set_preferences(&r, t(0), prefs);
    assert_eq!(w.shown(10), StatusId::AVAILABLE);
    assert_eq!(
        w.rules.notification(&w.person, t(10), &notice("x", false)),
        Delivery::Hold {
            why: HoldReason::QuietHours { until: t(1800) }
        }
    );
    assert_eq!(
        w.rules
            .notification(&w.person, t(1800), &notice("x", false)),
        Delivery::Show
    );
}

#[test]
fn direct_call_table() {
    let colleague = user("reception");
    let prefs = Preferences {
        call: CallSettings {
            busy_action: BusyAction::RedirectUser(colleague.clone()),
            out_of_hours: Some(BusyAction::Message),
            forward_to: Some(PhoneNumber::parse("+44 1234 567890").unwrap()),
        },
        ..Preferences::default()
    };
    let busy = CallOutcome::Busy {
        action: BusyAction::RedirectUser(colleague),
    };
    let table = [
        (StatusId::AVAILABLE, CallOutcome::Ring),
        (StatusId::AWAY, CallOutcome::Ring),
        (StatusId::BUSY, busy.clone()),
        (StatusId::DND, busy.clone()),
        (custom("lunch"), busy.clone()),
        (
            StatusId::Builtin(BuiltinStatus::ForwardToPhone),
            CallOutcome::Forward {
                to: PhoneNumber::parse("+441234567890").unwrap(),
            },
        ),
    ];
    for (status, outcome) in table {
        let mut w = World::new();
        w.rules.catalog.forward_to_phone_enabled = true;
        let r = w.rules.clone();
        w.person.set_preferences(&r, t(0), prefs.clone());
        w.choose(1, status.clone(), None);
        assert_eq!(w.rules.direct_call(&w.person, t(2)), outcome, "{status}");
    }
    // No device: voicemail.
    let mut w = World::new();
    w.person.sign_out(&w.rules.clone(), t(1), &dev("desk"));
    assert_eq!(w.rules.direct_call(&w.person, t(2)), CallOutcome::Voicemail);
    // Out of hours: the out-of-hours rule.
    let mut w = World::new();
    let r = w.rules.clone();
    let mut p = prefs.clone();
    let mut s = Schedule::new(TimeZone::UTC);
    s.working_hours = vec![WeeklyWindow::every_day(
        MinuteOfDay::new(10, 0).unwrap(),
        MinuteOfDay::new(18, 0).unwrap(),
    )];
    p.schedule = Some(s);
    w.person.set_preferences(&r, t(0), p);
    assert_eq!(
        w.rules.direct_call(&w.person, t(1)),
        CallOutcome::OutOfHours {
            action: BusyAction::Message
        }
    );
    w.active(3600);
    assert_eq!(
        w.rules.direct_call(&w.person, t(3600)),
        CallOutcome::Ring,
        "10:00 is working hours"
    );
}

#[test]
fn a_team_call_rings_routable_members_never_busy_or_dnd() {
    let table = [
        ("free", Some(StatusId::AVAILABLE), true),
        ("away", Some(StatusId::AWAY), true),
        ("busy", Some(StatusId::BUSY), false),
        ("dnd", Some(StatusId::DND), false),
        ("lunch", Some(custom("lunch")), false),
        ("gone", None, false),
    ];
    let r = rules();
    let people: Vec<(UserId, Person)> = table
        .iter()
        .map(|(name, status, _)| {
            let mut w = World::new();
            match status {
                Some(s) => {
                    w.choose(1, s.clone(), None);
                }
                None => w.person.sign_out(&r, t(1), &dev("desk")),
            }
            (user(name), w.person)
        })
        .collect();
    let rung = r.team_call(people.iter().map(|(u, p)| (u, p)), t(2));
    let expected: Vec<UserId> = table.iter().filter(|x| x.2).map(|x| user(x.0)).collect();
    assert_eq!(rung, expected);
}

#[test]
fn contacts_go_to_online_routable_people_in_fair_order() {
    let r = rules();
    let make = |status: Option<StatusId>| {
        let mut w = World::new();
        if let Some(s) = status {
            w.choose(1, s, None);
        }
        w.person
    };
    let (a, b, c, d) = (user("a"), user("b"), user("c"), user("d"));
    let pa = make(None);
    let pb = make(None);
    let pc = make(Some(StatusId::BUSY));
    let pd = make(Some(StatusId::AWAY));
    let mut last: std::collections::HashMap<UserId, Timestamp> = Default::default();
    let mut order = Vec::new();
    for i in 0..4 {
        let cands =
            [(&a, &pa), (&b, &pb), (&c, &pc), (&d, &pd)].map(|(u, p)| AssignmentCandidate {
                user: u,
                person: p,
                last_assigned: last.get(u).copied(),
            });
        let next = r.next_assignee(&cands, t(10 + i)).unwrap();
        last.insert(next.clone(), t(10 + i));
        order.push(next.to_string());
    }
    assert_eq!(
        order,
        ["a", "b", "a", "b"],
        "round robin among the online, assignable ones"
    );
    let none = r.next_assignee(
        &[AssignmentCandidate {
            user: &c,
            person: &pc,
            last_assigned: None,
        }],
        t(20),
    );
    assert_eq!(
        none, None,
        "nobody assignable: the contact waits in the queue"
    );
}

#[test]
fn schedules_follow_the_time_zone_across_a_dst_change() {
    let london = TimeZone::parse("Europe/London").unwrap();
    let mut s = Schedule::new(london);
    // 01:30–03:00 local on Sunday 2027-03-28, the night clocks go from 01:00 GMT to 02:00 BST:
    // 01:30 does not exist, so the window opens at the first instant after the gap.
    s.quiet_hours = vec![WeeklyWindow::new(
        &[chrono::Weekday::Sun],
        MinuteOfDay::new(1, 30).unwrap(),
        MinuteOfDay::new(3, 0).unwrap(),
    )];
    let utc = |h: i64, m: i64| Timestamp::from_secs(1_806_192_000 + h * 3600 + m * 60); // 2027-03-28 00:00 UTC
    assert_eq!(s.quiet(utc(0, 59)), None);
    assert_eq!(
        s.quiet(utc(1, 0)),
        Some((utc(1, 0), utc(2, 0))),
        "02:00 BST to 03:00 BST"
    );
    assert_eq!(s.quiet(utc(2, 0)), None);
    // A week later, a normal night: 01:30–03:00 BST = 00:30–02:00 UTC.
    let week = 7 * 24;
    assert_eq!(
        s.quiet(utc(week, 45)),
        Some((utc(week, 30), utc(week + 2, 0)))
    );
    assert_eq!(
        TimeZone::parse("Mars/Olympus").unwrap_err().to_string(),
        "unknown time zone \"Mars/Olympus\": use an IANA name such as Europe/London"
    );
}
