//! The mapping to Microsoft Graph, Matrix and XMPP presence, as the table in
//! docs/integrations.md shows it: one row per status teammates can see.

use presence::{
    Colour, Emoji, Family, Glyph, MessageText, MessageView, StatusId, StatusView, TeamView,
    Timestamp,
};
use protocol::bridges::{graph, matrix, xmpp};

fn view(status: StatusId, label: &str, family: Family) -> TeamView {
    TeamView {
        status: StatusView {
            status,
            label: label.into(),
            family,
            colour: Colour::Green,
            glyph: Glyph::Check,
            emoji: None,
            since: Timestamp(0),
            until: None,
        },
        message: None,
        last_seen: None,
        reachable_on: None,
    }
}

#[test]
fn every_status_has_its_words_in_each_system() {
    let lunch = StatusId::Custom(presence::CustomStatusId::parse("lunch").unwrap());
    // status, family, Graph availability/activity, Matrix presence, XMPP show (None: plain
    // available; "-": unavailable presence).
    let table: &[(StatusId, &str, Family, &str, &str, &str, &str)] = &[
        (
            StatusId::AVAILABLE,
            "Available",
            Family::Available,
            "Available",
            "Available",
            "online",
            "",
        ),
        (
            StatusId::BUSY,
            "Busy",
            Family::Busy,
            "Busy",
            "Busy",
            "online",
            "dnd",
        ),
        (
            StatusId::IN_A_MEETING,
            "In a meeting",
            Family::Busy,
            "Busy",
            "InAMeeting",
            "online",
            "dnd",
        ),
        (
            StatusId::ON_A_CALL,
            "On a call",
            Family::Busy,
            "Busy",
            "InACall",
            "online",
            "dnd",
        ),
        (
            StatusId::AFTER_CALL_WORK,
            "After call work",
            Family::Busy,
            "Busy",
            "Busy",
            "online",
            "dnd",
        ),
        (
            StatusId::DND,
            "Do not disturb",
            Family::DoNotDisturb,
            "DoNotDisturb",
            "DoNotDisturb",
            "unavailable",
            "dnd",
        ),
        (
            StatusId::AWAY,
            "Away",
            Family::Away,
            "Away",
            "Away",
            "unavailable",
            "away",
        ),
        (
            lunch,
            "Lunch",
            Family::Away,
            "Away",
            "Away",
            "unavailable",
            "away",
        ),
        (
            StatusId::OUT_OF_OFFICE,
            "Out of office",
            Family::Away,
            "Offline",
            "OutOfOffice",
            "unavailable",
            "xa",
        ),
        (
            StatusId::OFFLINE,
            "Offline",
            Family::Offline,
            "Offline",
            "Offline",
            "offline",
            "-",
        ),
    ];
    for (status, label, family, availability, activity, presence, show) in table {
        let v = view(status.clone(), label, *family);
        let g = graph(&v);
        assert_eq!(
            (g.availability.as_str(), g.activity.as_str()),
            (*availability, *activity),
            "{label}"
        );
        let m = matrix(&v);
        assert_eq!(m.presence, *presence, "{label}");
        assert_eq!(m.currently_active, *presence == "online", "{label}");
        let x = xmpp(&v);
        match *show {
            "-" => assert!(!x.available && x.show.is_none(), "{label}"),
            "" => assert!(x.available && x.show.is_none(), "{label}"),
            s => assert_eq!((x.available, x.show.as_deref()), (true, Some(s)), "{label}"),
        }
        // The status's name says more than the state, except for Available and Offline.
        let said = matches!(family, Family::Available | Family::Offline)
            .then_some(())
            .is_none();
        assert_eq!(m.status_msg.as_deref() == Some(*label), said, "{label}");
        assert_eq!(x.status, m.status_msg, "{label}");
    }
}

#[test]
fn the_persons_message_is_the_text_in_every_system() {
    let mut v = view(StatusId::BUSY, "Busy", Family::Busy);
    v.message = Some(MessageView {
        text: MessageText::parse("Deploying").unwrap(),
        emoji: Some(Emoji::parse("🚀").unwrap()),
        expires: None,
    });
    assert_eq!(matrix(&v).status_msg.as_deref(), Some("🚀 Deploying"));
    assert_eq!(xmpp(&v).status.as_deref(), Some("🚀 Deploying"));
}
