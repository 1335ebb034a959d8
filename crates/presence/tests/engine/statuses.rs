//! The catalog: built-ins, custom statuses and their policies.

use crate::common::*;
use presence::*;

#[test]
fn every_builtin_has_the_policy_the_specs_ask_for() {
    use BuiltinStatus::*;
    use Colour::*;
    // (status, colour, selectable, holds notifications, team calls, assignable)
    let table = [
        (Available, Green, true, false, true, true),
        (Busy, Red, true, false, false, false),
        (Away, Amber, true, false, true, false),
        (DoNotDisturb, Red, true, true, false, false),
        (Offline, Gray, false, true, false, false),
        (OnACall, Red, false, false, false, false),
        (InAMeeting, Red, false, false, false, false),
        (AfterCallWork, Red, false, false, false, false),
        (ForwardToPhone, Green, true, false, true, true),
        (BeRightBack, Amber, true, false, true, false),
        (Invisible, Gray, true, false, true, false),
    ];
    for (status, colour, selectable, holds, team, assignable) in table {
        let p = status.policy();
        assert_eq!(p.colour, colour, "{status:?} colour");
        assert_eq!(p.selectable, selectable, "{status:?} selectable");
        assert_eq!(
            p.notifications == NotificationPolicyAlias::Hold,
            holds,
            "{status:?} holds"
        );
        assert_eq!(p.team_calls, team, "{status:?} team calls");
        assert_eq!(p.assignable, assignable, "{status:?} assignable");
    }
    assert_eq!(
        DoNotDisturb.policy().glyph,
        Glyph::Line,
        "DND is red with a line"
    );
    assert_ne!(
        Busy.policy().glyph,
        DoNotDisturb.policy().glyph,
        "Busy and DND differ by glyph, not only colour"
    );
}

use presence::catalog::NotificationPolicy as NotificationPolicyAlias;

#[test]
fn glyphs_tell_every_family_apart_without_colour() {
    let families = [
        BuiltinStatus::Available,
        BuiltinStatus::Busy,
        BuiltinStatus::Away,
        BuiltinStatus::DoNotDisturb,
        BuiltinStatus::Offline,
    ];
    let glyphs: std::collections::HashSet<_> = families.iter().map(|s| s.policy().glyph).collect();
    assert_eq!(glyphs.len(), families.len());
}

#[test]
fn the_menu_lists_only_enabled_selectable_statuses() {
    let mut catalog = Catalog::with_default_custom();
    let ids = |c: &Catalog| {
        c.selectable()
            .into_iter()
            .map(|e| e.id.to_string())
            .collect::<Vec<_>>()
    };
    let listed = ids(&catalog);
    assert_eq!(
        listed,
        [
            "available",
            "busy",
            "away",
            "do_not_disturb",
            "be_right_back",
            "invisible",
            "custom:meeting",
            "custom:break",
            "custom:training",
            "custom:lunch"
        ]
    );
    catalog.forward_to_phone_enabled = true;
    catalog.custom[3].enabled = false;
    let listed = ids(&catalog);
    assert!(listed.contains(&"forward_to_phone".to_string()));
    assert!(!listed.contains(&"custom:lunch".to_string()));
}

#[test]
fn choosing_refuses_automatic_disabled_and_unknown_statuses() {
    let mut w = World::new();
    let r = w.rules.clone();
    let err = w
        .person
        .choose(&r, t(1), StatusId::ON_A_CALL, None)
        .unwrap_err();
    assert!(matches!(err, PresenceError::AutomaticOnly(_)), "{err}");
    let err = w
        .person
        .choose(
            &r,
            t(1),
            StatusId::Builtin(BuiltinStatus::ForwardToPhone),
            None,
        )
        .unwrap_err();
    assert!(matches!(err, PresenceError::StatusDisabled(_)), "{err}");
    assert!(err.to_string().contains("administrator can enable"));
    let err = w.person.choose(&r, t(1), custom("gym"), None).unwrap_err();
    assert!(matches!(err, PresenceError::UnknownStatus(_)));
    let err = w
        .person
        .choose(&r, t(5), StatusId::BUSY, Some(t(5)))
        .unwrap_err();
    assert!(matches!(err, PresenceError::ExpiryNotInFuture { .. }));
    assert_eq!(
        w.shown(6),
        StatusId::AVAILABLE,
        "a refused choice changes nothing"
    );
}

#[test]
fn status_ids_round_trip_through_their_wire_form() {
    for b in BuiltinStatus::ALL {
        let id = StatusId::Builtin(b);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<StatusId>(&json).unwrap(), id);
    }
    assert_eq!("custom:lunch".parse::<StatusId>().unwrap(), custom("lunch"));
    assert!("custom:".parse::<StatusId>().is_err());
    assert!("sleeping".parse::<StatusId>().is_err());
    assert!(serde_json::from_str::<StatusId>("\"custom:a b\"").is_err());
}

#[test]
fn text_limits_are_enforced_at_parse_time() {
    assert!(MessageText::parse("On a deadline").is_ok());
    assert!(MessageText::parse("x".repeat(100)).is_ok());
    let err = MessageText::parse("x".repeat(101)).unwrap_err();
    assert!(err.to_string().contains("at most 100"), "{err}");
    assert!(MessageText::parse("   ").is_err());
    assert!(MessageText::parse("two\nlines").is_err());
    assert_eq!(MessageText::parse("  padded  ").unwrap().as_str(), "padded");
    assert!(StatusName::parse("y".repeat(41)).is_err());
    assert!(serde_json::from_str::<MessageText>(&format!("\"{}\"", "z".repeat(200))).is_err());
    // Characters, not bytes: 100 emoji fit.
    assert!(MessageText::parse("🎉".repeat(100)).is_ok());
}

#[test]
fn a_deleted_custom_status_falls_back_to_a_safe_policy() {
    let catalog = Catalog::default();
    let p = catalog.policy(&custom("lunch"));
    assert!(!p.team_calls && !p.assignable);
}

#[test]
fn an_organisation_changes_built_in_statuses_offered_routed_and_called() {
    let mut catalog = Catalog::with_default_custom();
    catalog.builtin.push(BuiltinOverride {
        status: StatusId::Builtin(BuiltinStatus::BeRightBack),
        enabled: Some(false),
        team_calls: None,
        assignable: None,
        direct_call: None,
    });
    catalog.builtin.push(BuiltinOverride {
        status: StatusId::AWAY,
        enabled: None,
        team_calls: Some(false),
        assignable: None,
        direct_call: Some(DirectCallPolicy::Voicemail),
    });
    let brb = StatusId::Builtin(BuiltinStatus::BeRightBack);
    assert!(!catalog.selectable().iter().any(|e| e.id == brb));
    assert!(matches!(
        catalog.check_selectable(&brb),
        Err(PresenceError::StatusDisabled(_))
    ));
    let away = catalog.policy(&StatusId::AWAY);
    assert!(!away.team_calls);
    assert_eq!(away.direct_call, DirectCallPolicy::Voicemail);
    // What is not overridden stays the built-in's.
    assert_eq!(away.assignable, BuiltinStatus::Away.policy().assignable);
    assert_eq!(
        catalog.policy(&StatusId::BUSY),
        BuiltinStatus::Busy.policy()
    );
}

#[test]
fn a_custom_status_with_an_emoji_has_the_emoji_as_its_glyph() {
    let with = CustomStatus::in_family(
        CustomStatusId::parse("focus").unwrap(),
        StatusName::parse("Focus").unwrap(),
        Some(Emoji::parse("🎧").unwrap()),
        true,
        Family::DoNotDisturb,
        PolicyOverrides::default(),
    )
    .unwrap();
    assert_eq!(with.policy.glyph, Glyph::Emoji);
    let without = CustomStatus::in_family(
        CustomStatusId::parse("quiet").unwrap(),
        StatusName::parse("Quiet").unwrap(),
        None,
        true,
        Family::DoNotDisturb,
        PolicyOverrides::default(),
    )
    .unwrap();
    assert_eq!(
        without.policy.glyph,
        BuiltinStatus::DoNotDisturb.policy().glyph
    );
}

#[test]
fn out_of_office_shows_with_its_message_holds_notifications_and_needs_no_device() {
    let mut w = World::new();
    let mut prefs = w.person.preferences.clone();
    prefs.out_of_office = Some(OutOfOffice {
        from: t(100),
        until: t(10_000),
        message: Some(MessageText::parse("Back on Monday; ask the support team").unwrap()),
    });
    let r = w.rules.clone();
    w.person.set_preferences(&r, t(0), prefs);
    assert_eq!(w.seen(50), StatusId::AVAILABLE);
    assert_eq!(
        w.person.next_deadline(&r, t(50)),
        Some(t(100)),
        "the start is a deadline"
    );

    // From the start: Out of office for teammates, until the return, with its message.
    let view = r.team_view(&w.person, t(100));
    assert_eq!(view.status.status, StatusId::OUT_OF_OFFICE);
    assert_eq!(view.status.label, "Out of office");
    assert_eq!(view.status.family, Family::Away);
    assert_eq!(view.status.until, Some(t(10_000)));
    let message = view.message.expect("the out-of-office message");
    assert_eq!(
        message.text.as_str(),
        "Back on Monday; ask the support team"
    );
    assert_eq!(message.expires, Some(t(10_000)));
    // Notifications wait; a direct call does what the call settings say; no team call rings.
    assert!(matches!(
        r.interruptibility(&w.person, t(100)),
        Interruptibility::DoNotDisturb { until: Some(u) } if u == t(10_000)
    ));
    assert_eq!(
        r.direct_call(&w.person, t(100)),
        CallOutcome::Busy {
            action: BusyAction::Voicemail
        }
    );
    assert!(!r.rings_for_team_call(&w.person, t(100)));
    // A status chosen by hand does not hide it; a personal Do not disturb does.
    w.choose(200, StatusId::BUSY, None);
    assert_eq!(w.seen(200), StatusId::OUT_OF_OFFICE);
    w.choose(300, StatusId::DND, Some(400));
    assert_eq!(w.seen(300), StatusId::DND);
    assert_eq!(w.seen(400), StatusId::OUT_OF_OFFICE);

    // The laptop is left at home: still Out of office, not Offline.
    let r2 = w.rules.clone();
    w.person.sign_out(&r2, t(500), &dev("desk"));
    assert_eq!(w.seen(500), StatusId::OUT_OF_OFFICE);
    assert_eq!(w.person.next_deadline(&r2, t(500)), Some(t(10_000)));
    // Back: with no device, Offline; the message is the person's own again (none).
    let back = r2.team_view(&w.person, t(10_000));
    assert_eq!(back.status.status, StatusId::OFFLINE);
    assert_eq!(back.message, None);
}

fn personal(id: &str, name: &str, emoji: Option<&str>, family: Family) -> PersonalStatus {
    PersonalStatus {
        id: CustomStatusId::parse(id).unwrap(),
        name: StatusName::parse(name).unwrap(),
        emoji: emoji.map(|e| Emoji::parse(e).unwrap()),
        family,
    }
}

fn mine(id: &str) -> StatusId {
    StatusId::Personal(CustomStatusId::parse(id).unwrap())
}

#[test]
fn a_personal_status_follows_its_family_and_shows_its_own_name_and_emoji() {
    let mut w = World::new();
    let r = w.rules.clone();
    // Not anyone's until they make it.
    assert_eq!(
        w.person.choose(&r, t(0), mine("site"), None),
        Err(PresenceError::UnknownStatus("personal:site".into()))
    );
    let mut prefs = w.person.preferences.clone();
    prefs.statuses = vec![
        personal("site", "At a client site", Some("🏗️"), Family::Busy),
        personal("focus", "Deep work", None, Family::DoNotDisturb),
    ];
    PersonalStatus::check_all(&prefs.statuses).unwrap();
    w.person.set_preferences(&r, t(0), prefs);

    // Listed after the organisation's, in the person's order, and only for them.
    let list = r.selectable(&w.person);
    let ids: Vec<_> = list.iter().map(|e| e.id.to_string()).collect();
    assert_eq!(
        &ids[ids.len() - 2..],
        ["personal:site", "personal:focus"],
        "{ids:?}"
    );
    assert_eq!(r.selectable(&Person::default()), r.catalog.selectable());

    // Busy's rules, its own name and emoji for teammates.
    w.choose(10, mine("site"), None);
    let seen = r.team_view(&w.person, t(10)).status;
    assert_eq!(seen.status, mine("site"));
    assert_eq!(seen.label, "At a client site");
    assert_eq!(seen.emoji.as_ref().map(|e| e.as_str()), Some("🏗️"));
    assert_eq!(seen.family, Family::Busy);
    assert_eq!(seen.colour, Colour::Red);
    assert_eq!(seen.glyph, Glyph::Emoji);
    assert_eq!(
        r.interruptibility(&w.person, t(10)),
        Interruptibility::Normal
    );
    assert_eq!(
        r.direct_call(&w.person, t(10)),
        r.direct_call(
            &{
                let mut p = w.person.clone();
                p.choose(&r, t(10), StatusId::BUSY, None).unwrap();
                p
            },
            t(10)
        ),
        "a direct call does what it does in Busy"
    );
    assert_eq!(r.explain(&w.person, t(10)).winner.label, "At a client site");

    // A Do not disturb one holds notifications, and draws the family's shape without an emoji.
    w.choose(20, mine("focus"), Some(100));
    let me = r.self_view(&w.person, t(20));
    assert_eq!(me.status.label, "Deep work");
    assert_eq!(me.status.glyph, Glyph::Line);
    assert!(matches!(
        me.interruptibility,
        Interruptibility::DoNotDisturb { until: Some(u) } if u == t(100)
    ));
    assert!(!r.rings_for_team_call(&w.person, t(20)));

    // Renamed: every view says the new name at once.
    let mut prefs = w.person.preferences.clone();
    prefs.statuses[1].name = StatusName::parse("Writing").unwrap();
    w.person.set_preferences(&r, t(30), prefs);
    assert_eq!(r.self_view(&w.person, t(30)).status.label, "Writing");

    // Removed while chosen: it ends, and what was under it shows again.
    let mut prefs = w.person.preferences.clone();
    prefs.statuses.remove(1);
    w.person.set_preferences(&r, t(40), prefs);
    assert_eq!(w.shown(40), mine("site"));
    let mut prefs = w.person.preferences.clone();
    prefs.statuses.clear();
    w.person.set_preferences(&r, t(50), prefs);
    assert_eq!(w.shown(50), StatusId::AVAILABLE);
}

#[test]
fn a_persons_own_statuses_are_checked_as_a_list() {
    let ok = personal("site", "At a client site", None, Family::Busy);
    let check =
        |list: Vec<PersonalStatus>| PersonalStatus::check_all(&list).map_err(|e| e.to_string());
    assert_eq!(check(vec![ok.clone()]), Ok(()));
    let offline = personal("gone", "Gone fishing", None, Family::Offline);
    assert!(check(vec![offline]).unwrap_err().contains("offline family"));
    let twice = personal("site", "Elsewhere", None, Family::Away);
    assert!(check(vec![ok.clone(), twice])
        .unwrap_err()
        .contains("id \"site\" is used twice"));
    let same_name = personal("other", "AT A CLIENT SITE", None, Family::Away);
    assert!(check(vec![ok.clone(), same_name])
        .unwrap_err()
        .contains("used twice"));
    let many = (0..=MAX_PERSONAL_STATUSES)
        .map(|i| personal(&format!("s{i}"), &format!("Status {i}"), None, Family::Away))
        .collect();
    assert!(check(many).unwrap_err().contains("at most 20"));
    // On the wire, the person's own are personal:<id>, apart from the organisation's custom:<id>.
    assert_eq!("personal:site".parse::<StatusId>(), Ok(mine("site")));
    assert_ne!(mine("lunch"), custom("lunch"));
}
