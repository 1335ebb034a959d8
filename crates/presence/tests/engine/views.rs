//! What a person sees, what teammates see, and the explanation.

use crate::common::*;
use presence::*;

#[test]
fn invisible_shows_offline_to_others_with_last_seen_frozen() {
    let mut w = World::new();
    w.choose(100, StatusId::INVISIBLE, None);
    for s in (160..=600).step_by(60) {
        w.active(s);
    }
    let me = w.rules.self_view(&w.person, t(600));
    assert_eq!(me.status.status, StatusId::INVISIBLE);
    assert_eq!(me.seen_by_others.status.status, StatusId::OFFLINE);
    assert_eq!(
        me.seen_by_others.last_seen,
        Some(t(100)),
        "frozen when invisible began"
    );
    // Even a call does not reveal the person.
    w.report(700, "desk", DeviceActivity::Active, true);
    assert_eq!(w.shown(700), StatusId::ON_A_CALL);
    assert_eq!(w.seen(700), StatusId::OFFLINE);
    assert_eq!(w.rules.team_view(&w.person, t(700)).last_seen, Some(t(100)));
}

#[test]
fn what_i_see_of_myself_is_what_others_see_otherwise() {
    let mut w = World::new();
    w.choose(10, custom("lunch"), None);
    let me = w.rules.self_view(&w.person, t(20));
    assert_eq!(me.status, me.seen_by_others.status);
    assert_eq!(me.status.label, "Lunch");
    assert_eq!(me.status.emoji.as_ref().map(|e| e.as_str()), Some("🍽️"));
    assert_eq!(me.status.since, t(10));
}

#[test]
fn since_is_when_the_shown_status_began_not_the_last_heartbeat() {
    let mut w = World::new();
    for s in (60..=600).step_by(60) {
        w.active(s);
    }
    assert_eq!(w.rules.team_view(&w.person, t(600)).status.since, t(0));
    w.choose(700, StatusId::BUSY, Some(800));
    assert_eq!(
        w.rules.team_view(&w.person, t(700)).status.until,
        Some(t(800))
    );
    w.active(800);
    assert_eq!(w.rules.team_view(&w.person, t(800)).status.since, t(800));
}

#[test]
fn status_message_clears_after_the_chosen_time() {
    let tz = TimeZone::parse("America/New_York").unwrap();
    // t(0) is Friday 2027-01-15 04:00 in New York.
    let table = [
        (ClearAfter::Never, None),
        (ClearAfter::ThirtyMinutes, Some(t(1800))),
        (ClearAfter::OneHour, Some(t(3600))),
        (ClearAfter::FourHours, Some(t(4 * 3600))),
        (ClearAfter::Today, Some(t(20 * 3600))), // Sat 00:00 NY = 05:00 UTC
        (ClearAfter::ThisWeek, Some(t(3 * 86400 - 4 * 3600))), // Mon 00:00 NY
        (ClearAfter::At(t(99)), Some(t(99))),
    ];
    for (choice, expected) in table {
        assert_eq!(choice.resolve(t(0), &tz).unwrap(), expected, "{choice:?}");
    }
    assert!(ClearAfter::At(t(0)).resolve(t(0), &tz).is_err());

    let mut w = World::new();
    let r = w.rules.clone();
    w.person
        .set_message(
            &r,
            t(0),
            MessageText::parse("On a deadline").unwrap(),
            Some(Emoji::parse("🚀").unwrap()),
            ClearAfter::OneHour,
        )
        .unwrap();
    assert_eq!(
        w.rules
            .team_view(&w.person, t(3599))
            .message
            .unwrap()
            .text
            .as_str(),
        "On a deadline"
    );
    assert!(w.rules.team_view(&w.person, t(3600)).message.is_none());
    w.active(3600);
    assert!(w.person.message(t(3600)).is_none());
}

#[test]
fn explain_names_the_winner_its_device_its_end_and_what_comes_next() {
    let mut w = World::with_lease(Span::seconds(90));
    w.choose(0, StatusId::BUSY, None);
    w.choose(10, StatusId::DND, Some(1800));
    w.report(20, "desk", DeviceActivity::Active, true);
    let ex = w.rules.explain(&w.person, t(30));
    assert_eq!(ex.winner.status, StatusId::DND);
    assert_eq!(ex.winner.source, ClaimSource::Timed);
    assert_eq!(ex.winner.until, Some(t(1800)));
    assert_eq!(
        ex.when_this_ends,
        StatusId::ON_A_CALL,
        "the call would show if DND ended now"
    );
    let call = ex
        .others
        .iter()
        .find(|l| l.source == ClaimSource::Call)
        .unwrap();
    assert_eq!(call.device, Some(dev("desk")));
    let busy = ex
        .others
        .iter()
        .find(|l| l.status == StatusId::BUSY)
        .unwrap();
    assert_eq!(busy.standing, Standing::Nested);
    let next = ex.next.unwrap();
    assert_eq!(
        next.at,
        t(1800),
        "the DND timer is the next change, not a lease renewal"
    );
    assert_eq!(next.status, StatusId::ON_A_CALL);
    assert_eq!(
        w.person.next_deadline(&w.rules, t(30)),
        Some(t(20 + 90)),
        "the timer still wakes for the lease"
    );
}

#[test]
fn interruptibility_is_kept_apart_from_availability() {
    let mut w = World::new();
    let r = w.rules.clone();
    w.choose(0, StatusId::BUSY, None);
    assert_eq!(
        w.rules.interruptibility(&w.person, t(1)),
        Interruptibility::Normal,
        "Busy does not mute"
    );
    w.person.pause_notifications(&r, t(2), t(1800)).unwrap();
    assert_eq!(
        w.shown(3),
        StatusId::BUSY,
        "a pause leaves the status alone"
    );
    assert_eq!(
        w.rules.interruptibility(&w.person, t(3)),
        Interruptibility::Paused { until: t(1800) }
    );
    w.choose(4, StatusId::DND, None);
    assert_eq!(
        w.rules.interruptibility(&w.person, t(5)),
        Interruptibility::DoNotDisturb { until: None }
    );
}

#[test]
fn while_invisible_nothing_a_person_changes_reaches_teammates() {
    let mut w = World::new();
    let text = |s: &str| MessageText::parse(s).unwrap();
    w.person
        .set_message(&w.rules, t(10), text("At lunch"), None, ClearAfter::OneHour)
        .unwrap();
    w.choose(100, StatusId::INVISIBLE, None);
    let seen_message = |w: &World, at: i64| {
        w.rules
            .team_view(&w.person, t(at))
            .message
            .map(|m| m.text.as_str().to_string())
    };
    assert_eq!(seen_message(&w, 200), Some("At lunch".into()));
    let before = w.rules.team_view(&w.person, t(200));
    // A new message, an emoji, a different clear-after, then clearing it: teammates see none of
    // it (each table row changes something the person sees themselves).
    let changes: Vec<(i64, Change)> = vec![
        (
            300,
            Change::SetMessage {
                text: text("Interviewing"),
                emoji: Some(Emoji::parse("🤫").unwrap()),
                clear_after: ClearAfter::ThisWeek,
            },
        ),
        (400, Change::ClearMessage),
        (
            500,
            Change::SetMessage {
                text: text("Back soon"),
                emoji: None,
                clear_after: ClearAfter::Never,
            },
        ),
    ];
    for (at, change) in changes {
        w.person.apply(&w.rules, t(at), change.clone()).unwrap();
        assert_eq!(
            w.rules.team_view(&w.person, t(at)),
            before,
            "{change:?} reached teammates"
        );
    }
    assert_eq!(
        w.rules
            .self_view(&w.person, t(600))
            .message
            .unwrap()
            .text
            .as_str(),
        "Back soon",
        "the person sees their own message"
    );
    // The message teammates saw still clears at its own time, as an offline person's would,
    // and that time is a deadline the server wakes for.
    assert!(w
        .person
        .next_deadline(&w.rules, t(3_000))
        .is_some_and(|d| d <= t(3_610)));
    w.active(3_609);
    assert_eq!(seen_message(&w, 3_609), Some("At lunch".into()));
    w.active(3_610);
    assert_eq!(seen_message(&w, 3_610), None);
    // Visible again: teammates see what is true now.
    w.choose(4_000, StatusId::AVAILABLE, None);
    assert_eq!(seen_message(&w, 4_000), Some("Back soon".into()));
    assert_eq!(w.seen(4_000), StatusId::AVAILABLE);
}
