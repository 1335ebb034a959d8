//! The rules a person's settings follow, whoever saves them: each refusal names the setting it
//! is about, so a form can say it there.

use presence::*;

fn refused_field(p: &Preferences) -> &'static str {
    match p.check() {
        Err(PresenceError::InvalidSetting { field, .. }) => field,
        other => panic!("expected a refused setting, got {other:?}"),
    }
}

fn window(days: Vec<u8>) -> WeeklyWindow {
    WeeklyWindow {
        days,
        start: MinuteOfDay::new(9, 0).unwrap(),
        end: MinuteOfDay::new(17, 0).unwrap(),
    }
}

#[test]
fn settings_within_the_rules_are_taken() {
    let mut p = Preferences::default();
    assert_eq!(p.check(), Ok(()));
    p.idle_after = Some(Span::minutes(10));
    p.out_of_office = Some(OutOfOffice {
        from: Timestamp(1_000),
        until: Timestamp(2_000),
        message: None,
    });
    let mut schedule = Schedule::new(p.time_zone);
    schedule.working_hours = vec![window(vec![0, 1, 2, 3, 4])];
    p.schedule = Some(schedule);
    assert_eq!(p.check(), Ok(()));
}

#[test]
fn each_broken_rule_names_its_setting() {
    let base = Preferences::default();

    let mut p = base.clone();
    p.idle_after = Some(Span::seconds(30));
    assert_eq!(refused_field(&p), "idle_after");
    p.idle_after = Some(Span::hours(5));
    assert_eq!(refused_field(&p), "idle_after");

    let mut p = base.clone();
    p.out_of_office = Some(OutOfOffice {
        from: Timestamp(2_000),
        until: Timestamp(2_000),
        message: None,
    });
    assert_eq!(refused_field(&p), "out_of_office");
    assert!(p
        .check()
        .unwrap_err()
        .to_string()
        .contains("the return must be after the start"));
    p.out_of_office = Some(OutOfOffice {
        from: Timestamp(0),
        until: Timestamp(Span::hours(367 * 24).millis()),
        message: None,
    });
    assert_eq!(refused_field(&p), "out_of_office");

    for (which, field) in [
        (0, "schedule.working_hours"),
        (1, "schedule.quiet_hours"),
        (2, "schedule.do_not_disturb"),
    ] {
        let mut p = base.clone();
        let mut schedule = Schedule::new(p.time_zone);
        let list = match which {
            0 => &mut schedule.working_hours,
            1 => &mut schedule.quiet_hours,
            _ => &mut schedule.do_not_disturb,
        };
        list.push(window(vec![]));
        p.schedule = Some(schedule.clone());
        assert_eq!(refused_field(&p), field);
        assert!(p
            .check()
            .unwrap_err()
            .to_string()
            .contains("at least one day"));
        let list = match which {
            0 => &mut schedule.working_hours,
            1 => &mut schedule.quiet_hours,
            _ => &mut schedule.do_not_disturb,
        };
        list[0] = window(vec![7]);
        p.schedule = Some(schedule);
        assert_eq!(refused_field(&p), field);
    }

    let mut p = base.clone();
    let status = |id: &str, name: &str| PersonalStatus {
        id: CustomStatusId::parse(id).unwrap(),
        name: StatusName::parse(name).unwrap(),
        emoji: None,
        family: Family::Busy,
    };
    p.statuses = vec![status("a", "Writing"), status("b", "WRITING")];
    assert_eq!(refused_field(&p), "statuses");

    let mut p = base;
    p.breakthrough = (0..=Preferences::MAX_BREAKTHROUGH)
        .map(|i| UserId::parse(format!("u{i}")).unwrap())
        .collect();
    assert_eq!(refused_field(&p), "breakthrough");
}
