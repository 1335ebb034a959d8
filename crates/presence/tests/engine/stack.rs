//! Claims: priorities, nesting, expiry, and the right earlier status coming back.

use crate::common::*;
use presence::*;

#[test]
fn a_manual_choice_is_protected_from_idle_automation() {
    let mut w = World::new();
    w.choose(10, StatusId::BUSY, None);
    w.idle(1000, 10);
    assert_eq!(
        w.shown(1000),
        StatusId::BUSY,
        "idle must not overwrite a chosen Busy"
    );
    w.active(1001);
    assert_eq!(w.shown(1001), StatusId::BUSY);
}

#[test]
fn choosing_available_hands_control_back_to_automation() {
    let mut w = World::new();
    w.choose(10, StatusId::BUSY, None);
    w.choose(20, StatusId::DND, Some(3600));
    w.choose(30, StatusId::AVAILABLE, None);
    assert!(
        w.person.personal_stack().is_empty(),
        "Available ends every personal claim"
    );
    w.idle(1000, 30);
    assert_eq!(
        w.shown(1000),
        StatusId::AWAY,
        "automation is back in control"
    );
    w.active(1010);
    assert_eq!(w.shown(1010), StatusId::AVAILABLE);
}

#[test]
fn a_call_beats_available_and_away_but_not_a_manual_dnd() {
    // (what the person chose, what shows during a call)
    let table = [
        (None, StatusId::ON_A_CALL),
        (Some(StatusId::AWAY), StatusId::ON_A_CALL),
        (Some(StatusId::BUSY), StatusId::ON_A_CALL),
        (Some(custom("lunch")), StatusId::ON_A_CALL),
        (Some(StatusId::DND), StatusId::DND),
    ];
    for (chosen, during) in table {
        let mut w = World::new();
        if let Some(s) = chosen.clone() {
            w.choose(10, s, None);
        }
        let before = w.shown(15);
        w.report(20, "desk", DeviceActivity::Active, true);
        assert_eq!(w.shown(21), during, "chosen {chosen:?}");
        w.report(60, "desk", DeviceActivity::Active, false);
        // After the call: after-call work (the organisation uses it) above Available/Away/Busy,
        // never above DND.
        let after = w.shown(61);
        if chosen == Some(StatusId::DND) {
            assert_eq!(after, StatusId::DND);
        } else {
            assert_eq!(after, StatusId::AFTER_CALL_WORK, "chosen {chosen:?}");
        }
        w.person.close_wrap_up(&w.rules.clone(), t(70), None);
        assert_eq!(
            w.shown(70),
            before,
            "the earlier status is back after the call, chosen {chosen:?}"
        );
    }
}

#[test]
fn an_idle_person_taking_a_desk_phone_call_shows_on_a_call_and_then_away_again() {
    let mut w = World::new();
    w.idle(1000, 0);
    assert_eq!(w.shown(1000), StatusId::AWAY);
    w.person
        .start_activity(
            &w.rules.clone(),
            t(1100),
            Activity::Call,
            ext("pbx-1"),
            None,
        )
        .unwrap();
    assert_eq!(w.shown(1100), StatusId::ON_A_CALL);
    w.person
        .end_activity(&w.rules.clone(), t(1200), Activity::Call, &ext("pbx-1"));
    assert_eq!(w.shown(1200), StatusId::AFTER_CALL_WORK);
    assert_eq!(w.shown(1200 + 119), StatusId::AFTER_CALL_WORK);
    assert_eq!(
        w.shown(1200 + 120),
        StatusId::AWAY,
        "wrap-up times out exactly at 2 minutes"
    );
}

#[test]
fn a_call_or_meeting_whose_sender_went_silent_ends_by_itself() {
    let mut w = World::new();
    let r = w.rules.clone();
    w.active(0);
    let bound = Activity::BOUND.0 / 1000;
    // No end given: the bound from its start.
    w.person
        .start_activity(&r, t(10), Activity::Meeting, ext("m-1"), None)
        .unwrap();
    assert_eq!(
        w.person.activity_end(Activity::Meeting, &ext("m-1")),
        Some(t(10 + bound))
    );
    assert_eq!(w.shown(10 + bound - 1), StatusId::IN_A_MEETING);
    assert_eq!(
        w.shown(10 + bound),
        StatusId::AVAILABLE,
        "ended at the bound"
    );
    // A renewal after it ended does not bring it back (started twice, ended once).
    let renewed = w
        .person
        .renew_activity(&r, t(20 + bound), Activity::Meeting, &ext("m-1"), None)
        .unwrap();
    assert_eq!(renewed, None);
    assert_eq!(w.shown(21 + bound), StatusId::AVAILABLE);

    // A call planned to end at 600 s, renewed to 900 s: on a call until then; a late retry of
    // the first start does not shorten it.
    let start = 30 + bound;
    w.person
        .start_activity(
            &r,
            t(start),
            Activity::Call,
            ext("c-1"),
            Some(t(start + 600)),
        )
        .unwrap();
    let end = w
        .person
        .renew_activity(
            &r,
            t(start + 500),
            Activity::Call,
            &ext("c-1"),
            Some(t(start + 900)),
        )
        .unwrap();
    assert_eq!(end, Some(t(start + 900)));
    w.person
        .start_activity(
            &r,
            t(start + 510),
            Activity::Call,
            ext("c-1"),
            Some(t(start + 600)),
        )
        .unwrap();
    assert_eq!(w.shown(start + 899), StatusId::ON_A_CALL);
    assert_eq!(w.shown(start + 900), StatusId::AVAILABLE);

    // Further ahead than a day: refused in words, nothing started.
    let far = w
        .person
        .start_activity(
            &r,
            t(start + 1000),
            Activity::Meeting,
            ext("m-2"),
            Some(
                t(start + 1000)
                    .plus(Activity::LONGEST)
                    .plus(presence::Span(1000)),
            ),
        )
        .unwrap_err();
    assert!(far.to_string().contains("at most 24 hours"), "{far}");
    assert_eq!(w.person.activity_end(Activity::Meeting, &ext("m-2")), None);
}

#[test]
fn integration_reports_are_idempotent() {
    let mut w = World::new();
    let r = w.rules.clone();
    let a = w
        .person
        .start_activity(&r, t(10), Activity::Meeting, ext("m-1"), None)
        .unwrap();
    let b = w
        .person
        .start_activity(&r, t(11), Activity::Meeting, ext("m-1"), None)
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(w.person.claims().len(), 1);
    w.person
        .end_activity(&r, t(20), Activity::Meeting, &ext("m-1"));
    w.person
        .end_activity(&r, t(21), Activity::Meeting, &ext("m-1"));
    assert_eq!(w.shown(22), StatusId::AVAILABLE);
    // Ending a call twice starts after-call work once.
    w.person
        .start_activity(&r, t(30), Activity::Call, ext("c-1"), None)
        .unwrap();
    w.person
        .end_activity(&r, t(40), Activity::Call, &ext("c-1"));
    w.person
        .end_activity(&r, t(41), Activity::Call, &ext("c-1"));
    assert_eq!(w.person.claims().len(), 1);
}

#[test]
fn a_timed_status_ends_exactly_on_the_second_and_the_earlier_one_returns() {
    let mut w = World::new();
    w.choose(0, StatusId::BUSY, None);
    w.choose(100, StatusId::DND, Some(100 + 3600));
    assert_eq!(w.shown(3699), StatusId::DND);
    assert_eq!(
        w.rules
            .self_view(&w.person, Timestamp(t(3700).millis() - 1))
            .status
            .status,
        StatusId::DND,
        "still DND one millisecond before the end"
    );
    assert_eq!(
        w.shown(3700),
        StatusId::BUSY,
        "Busy is back at the exact second"
    );
    assert_eq!(w.person.next_deadline(&w.rules, t(200)), Some(t(3700)));
}

#[test]
fn nested_claims_end_in_any_order_and_the_right_one_shows() {
    let mut w = World::new();
    let r = w.rules.clone();
    w.choose(0, StatusId::BUSY, None);
    let brb = w.choose(
        10,
        StatusId::Builtin(BuiltinStatus::BeRightBack),
        Some(5000),
    );
    let lunch = w.choose(20, custom("lunch"), Some(6000));
    let dnd = w.choose(30, StatusId::DND, Some(7000));
    let meeting = w
        .person
        .start_activity(&r, t(40), Activity::Meeting, ext("m"), None)
        .unwrap();
    assert_eq!(w.shown(41), StatusId::DND, "manual DND beats a meeting");
    w.person.end_claim(&r, t(50), dnd).unwrap();
    assert_eq!(w.shown(50), StatusId::IN_A_MEETING);
    w.person.end_claim(&r, t(60), brb).unwrap();
    assert_eq!(w.shown(60), StatusId::IN_A_MEETING);
    w.person.end_claim(&r, t(70), meeting).unwrap();
    assert_eq!(w.shown(70), custom("lunch"));
    w.person.end_claim(&r, t(80), lunch).unwrap();
    assert_eq!(
        w.shown(80),
        StatusId::BUSY,
        "never a default Available: the first choice is back"
    );
    assert!(matches!(
        w.person.end_claim(&r, t(81), lunch),
        Err(PresenceError::UnknownClaim(_))
    ));
}

#[test]
fn a_newer_choice_without_an_end_replaces_the_personal_stack() {
    let mut w = World::new();
    w.choose(0, StatusId::BUSY, None);
    w.choose(10, StatusId::DND, Some(3600));
    w.choose(20, StatusId::AWAY, None);
    assert_eq!(w.person.personal_stack().len(), 1);
    assert_eq!(w.shown(4000), StatusId::AWAY);
}

#[test]
fn a_timed_choice_nests_over_a_manual_dnd_by_recency() {
    let mut w = World::new();
    w.choose(0, StatusId::DND, None);
    w.choose(10, StatusId::BUSY, Some(70));
    assert_eq!(
        w.shown(20),
        StatusId::BUSY,
        "the latest personal choice shows"
    );
    assert_eq!(w.shown(70), StatusId::DND);
}

#[test]
fn an_overdue_expiry_applies_after_a_restart() {
    let mut w = World::with_lease(Span::seconds(90));
    w.choose(0, StatusId::BUSY, None);
    w.choose(10, StatusId::DND, Some(600));
    let stored = serde_json::to_string(&w.person).unwrap();
    // The process is down from t=20 to t=5000; the device kept reporting elsewhere.
    let mut loaded: Person = serde_json::from_str(&stored).unwrap();
    let settled = loaded.settle(&w.rules, t(5000));
    assert_eq!(
        settled.expired.len(),
        1,
        "the DND timer that fell due is applied"
    );
    assert_eq!(settled.expired[0].status, StatusId::DND);
    assert_eq!(
        settled.lapsed,
        vec![dev("desk")],
        "the lease lapsed while down"
    );
    let mut again = World {
        rules: w.rules.clone(),
        person: loaded,
        seq: w.seq,
    };
    again.active(5001);
    assert_eq!(again.shown(5001), StatusId::BUSY);
}

#[test]
fn an_administrator_status_beats_everything_and_its_end_restores_the_rest() {
    let mut w = World::new();
    let r = w.rules.clone();
    w.choose(0, StatusId::DND, None);
    w.person
        .admin_set(&r, t(10), StatusId::OFFLINE, Some(t(100)))
        .unwrap();
    assert_eq!(w.shown(50), StatusId::OFFLINE);
    assert_eq!(w.shown(100), StatusId::DND);
    w.person
        .admin_set(&r, t(200), StatusId::AVAILABLE, None)
        .unwrap();
    assert_eq!(w.shown(201), StatusId::AVAILABLE);
    w.person.admin_clear(&r, t(300));
    assert_eq!(w.shown(300), StatusId::DND);
}

#[test]
fn the_dnd_schedule_sits_below_a_manual_choice_and_available_skips_it() {
    let mut w = World::new();
    let r = w.rules.clone();
    let mut prefs = Preferences::default();
    let mut schedule = Schedule::new(TimeZone::parse("Europe/Paris").unwrap());
    // Friday 10:00–11:00 Paris = 09:00–10:00 UTC = t(0)..t(3600).
    schedule.do_not_disturb = vec![WeeklyWindow::new(
        &[chrono::Weekday::Fri],
        MinuteOfDay::new(10, 0).unwrap(),
        MinuteOfDay::new(11, 0).unwrap(),
    )];
    prefs.schedule = Some(schedule);
    w.person.set_preferences(&r, t(1), prefs);
    assert_eq!(w.shown(1), StatusId::DND);
    assert_eq!(
        w.rules.explain(&w.person, t(1)).winner.source,
        ClaimSource::Schedule
    );
    w.choose(10, StatusId::BUSY, None);
    assert_eq!(
        w.shown(11),
        StatusId::BUSY,
        "a manual choice beats the schedule"
    );
    w.choose(20, StatusId::AVAILABLE, None);
    assert_eq!(
        w.shown(21),
        StatusId::AVAILABLE,
        "Available skips the rest of this window"
    );
    w.active(3700);
    assert_eq!(w.shown(3700), StatusId::AVAILABLE);
    // Next Friday it applies again.
    w.active(7 * 86400);
    assert_eq!(w.shown(7 * 86400 + 1), StatusId::DND);
}

#[test]
fn a_departed_person_is_offline_with_nothing_left_to_come_back() {
    let mut w = World::new();
    let r = w.rules.clone();
    w.active(0);
    w.choose(1, StatusId::DND, None);
    w.person
        .start_activity(&r, t(2), Activity::Meeting, ext("m-1"), None)
        .unwrap();
    w.person
        .admin_set(&r, t(3), StatusId::AVAILABLE, None)
        .unwrap();
    assert_eq!(w.seen(4), StatusId::AVAILABLE);
    w.person.depart(&r, t(10));
    assert_eq!(w.seen(10), StatusId::OFFLINE);
    assert_eq!(w.shown(10), StatusId::OFFLINE);
    assert!(w.person.claims().is_empty());
    assert!(!w.person.has_live_device(t(10)));
    // Again: nothing changes.
    let before = w.person.clone();
    w.person.depart(&r, t(20));
    assert_eq!(w.person, before);
    // Back (reactivated, signed in again): what they had does not come back.
    w.active(30);
    assert_eq!(w.seen(30), StatusId::AVAILABLE);
}

#[test]
fn the_calendar_shows_its_meetings_below_what_the_person_chose() {
    let mut w = World::new();
    let r = w.rules.clone();
    w.active(0);
    let span = |start: i64, end: i64, out_of_office: bool| CalendarSpan {
        start: t(start),
        end: t(end),
        out_of_office,
    };
    // A meeting from 100 to 800, and out of office from 1000 to 2000.
    w.person.set_calendar(
        &r,
        t(10),
        vec![
            span(100, 800, false),
            span(1000, 2000, true),
            span(5, 8, false),
        ],
    );
    assert_eq!(w.person.calendar().len(), 2, "an ended span is dropped");
    assert_eq!(w.shown(99), StatusId::AVAILABLE);
    assert_eq!(w.person.next_change(&r, t(10)), Some(t(100)));
    assert_eq!(w.shown(100), StatusId::IN_A_MEETING);
    assert_eq!(w.seen(150), StatusId::IN_A_MEETING);
    assert_eq!(w.person.next_change(&r, t(150)), Some(t(800)));

    // Idle (past the 5 minutes) during the meeting: the meeting shows, not Away.
    w.idle(500, 0);
    assert_eq!(w.shown(501), StatusId::IN_A_MEETING);
    w.active(510);

    // A status the person chose beats the calendar; Available hands back to it.
    w.choose(600, StatusId::BUSY, None);
    assert_eq!(w.shown(601), StatusId::BUSY);
    w.choose(650, StatusId::AVAILABLE, None);
    assert_eq!(w.shown(651), StatusId::IN_A_MEETING);
    assert_eq!(w.shown(800), StatusId::AVAILABLE);

    // Out of office from the calendar needs no device.
    w.person.depart(&r, t(900));
    w.person
        .set_calendar(&r, t(950), vec![span(1000, 2000, true)]);
    assert_eq!(w.seen(999), StatusId::OFFLINE);
    assert_eq!(w.seen(1000), StatusId::OUT_OF_OFFICE);
    assert_eq!(w.seen(2000), StatusId::OFFLINE);

    // A calendar that says nothing any more leaves no meeting behind.
    w.active(3000);
    w.person
        .set_calendar(&r, t(3000), vec![span(3000, 4000, false)]);
    assert_eq!(w.shown(3001), StatusId::IN_A_MEETING);
    w.person.set_calendar(&r, t(3002), vec![]);
    assert_eq!(w.shown(3003), StatusId::AVAILABLE);
}
