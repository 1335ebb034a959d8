//! The change vocabulary: every `Change` does through `apply` exactly what its operation does,
//! refuses what the operation refuses, and leaves the state untouched when it refuses.

use crate::common::*;
use presence::*;

fn message(text: &str) -> Change {
    Change::SetMessage {
        text: MessageText::parse(text).unwrap(),
        emoji: None,
        clear_after: ClearAfter::OneHour,
    }
}

#[test]
fn each_change_does_what_its_operation_does() {
    // (change applied at t(10), what the person shows at t(20), message at t(20), paused at t(20))
    let table: Vec<(Change, StatusId, Option<&str>, Option<Timestamp>)> = vec![
        (
            Change::SetStatus {
                status: StatusId::BUSY,
                until: None,
            },
            StatusId::BUSY,
            None,
            None,
        ),
        (
            Change::do_not_disturb(Some(t(600))),
            StatusId::DND,
            None,
            None,
        ),
        (
            message("On a deadline"),
            StatusId::AVAILABLE,
            Some("On a deadline"),
            None,
        ),
        (
            Change::PauseNotifications { until: t(900) },
            StatusId::AVAILABLE,
            None,
            Some(t(900)),
        ),
        (Change::ResumeNotifications, StatusId::AVAILABLE, None, None),
        (Change::ClearMessage, StatusId::AVAILABLE, None, None),
        (Change::CloseWrapUp, StatusId::AVAILABLE, None, None),
    ];
    for (change, status, text, paused) in table {
        let mut w = World::new();
        w.person
            .apply(&w.rules, t(10), change.clone())
            .unwrap_or_else(|e| panic!("{change:?}: {e}"));
        assert_eq!(w.shown(20), status, "{change:?}");
        assert_eq!(
            w.person.message(t(20)).map(|m| m.text.as_str().to_string()),
            text.map(str::to_string),
            "{change:?}"
        );
        assert_eq!(w.person.paused_until(t(20)), paused, "{change:?}");
    }
}

#[test]
fn apply_equals_the_operation_it_names() {
    let mut by_apply = World::new();
    let mut by_call = World::new();
    by_apply
        .person
        .apply(
            &by_apply.rules,
            t(5),
            Change::SetStatus {
                status: StatusId::AWAY,
                until: Some(t(300)),
            },
        )
        .unwrap();
    by_call
        .person
        .choose(&by_call.rules, t(5), StatusId::AWAY, Some(t(300)))
        .unwrap();
    assert_eq!(by_apply.person, by_call.person);
}

#[test]
fn resume_and_close_undo_pause_and_wrap_up() {
    let mut w = World::new();
    w.person
        .apply(&w.rules, t(1), Change::pause(Some(t(3600))))
        .unwrap();
    assert_eq!(w.person.paused_until(t(2)), Some(t(3600)));
    w.person.apply(&w.rules, t(3), Change::pause(None)).unwrap();
    assert_eq!(w.person.paused_until(t(4)), None);

    // A call ends: after-call work (2 min in these rules) until the person closes it.
    w.report(10, "desk", DeviceActivity::Active, true);
    w.report(20, "desk", DeviceActivity::Active, false);
    assert_eq!(w.shown(21), StatusId::AFTER_CALL_WORK);
    w.person
        .apply(&w.rules, t(30), Change::CloseWrapUp)
        .unwrap();
    assert_eq!(w.shown(31), StatusId::AVAILABLE);
}

#[test]
fn a_refused_change_leaves_the_person_as_it_was() {
    let refused = [
        (
            Change::SetStatus {
                status: StatusId::ON_A_CALL,
                until: None,
            },
            "automatically",
        ),
        (
            Change::SetStatus {
                status: StatusId::BUSY,
                until: Some(t(5)),
            },
            "future",
        ),
        (Change::PauseNotifications { until: t(10) }, "future"),
    ];
    for (change, says) in refused {
        let mut w = World::new();
        w.choose(1, StatusId::BUSY, None);
        let before = w.person.clone();
        let err = w
            .person
            .apply(&w.rules, t(10), change.clone())
            .expect_err("refused");
        assert!(err.to_string().contains(says), "{change:?}: {err}");
        assert_eq!(w.person, before, "{change:?} changed the state");
    }
}

#[test]
fn changes_round_trip_as_tagged_json() {
    let c = Change::do_not_disturb(Some(Timestamp(1_800_000_000_000)));
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(
        json,
        r#"{"kind":"set_status","status":"do_not_disturb","until":1800000000000}"#
    );
    assert_eq!(serde_json::from_str::<Change>(&json).unwrap(), c);
    // Unknown fields are ignored, as in every frame, so a newer client stays compatible.
    let newer = r#"{"kind":"set_status","status":"busy","until":null,"x":1}"#;
    assert_eq!(
        serde_json::from_str::<Change>(newer).unwrap(),
        Change::SetStatus {
            status: StatusId::BUSY,
            until: None
        }
    );
    let unknown = serde_json::from_str::<Change>(r#"{"kind":"sleep"}"#);
    assert!(unknown.is_err(), "an unknown kind of change is refused");
}
