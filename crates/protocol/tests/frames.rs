//! Every message round-trips, and every kind of bad frame gets the right typed error.

use presence::*;
use protocol::*;

fn rid(s: &str) -> RequestId {
    RequestId(s.into())
}

fn all_client_messages() -> Vec<ClientMessage> {
    vec![
        ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            token: "tok".into(),
            device: DeviceId::parse("laptop").unwrap(),
            resume_after: Some(NotificationSeq(41)),
        },
        ClientMessage::Change {
            request: rid("1"),
            change: Change::SetMessage {
                text: MessageText::parse("On a deadline").unwrap(),
                emoji: Some(Emoji::parse("🚀").unwrap()),
                clear_after: ClearAfter::Today,
            },
        },
        ClientMessage::DeviceReport {
            report: DeviceReport {
                device: DeviceId::parse("laptop").unwrap(),
                seq: 7,
                activity: DeviceActivity::Idle {
                    idle_for: Span::seconds(300),
                },
                in_call: false,
            },
        },
        ClientMessage::MarkRead {
            request: rid("5"),
            notifications: vec![NotificationSeq(1), NotificationSeq(2)],
        },
        ClientMessage::Dismiss {
            request: rid("6"),
            notifications: vec![NotificationSeq(3)],
        },
        ClientMessage::MarkAllRead { request: rid("7") },
        ClientMessage::Heartbeat,
        ClientMessage::WatchBoard,
        ClientMessage::WatchPeople {
            people: vec![UserId::parse("u2").unwrap()],
        },
    ]
}

#[test]
fn every_client_message_round_trips_and_is_listed() {
    let messages = all_client_messages();
    assert_eq!(messages.len(), CLIENT_TYPES.len());
    for m in messages {
        let frame = encode(&m);
        let back = decode_client(&frame).unwrap_or_else(|e| panic!("{frame}: {e}"));
        assert_eq!(back, m);
        let ty: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert!(CLIENT_TYPES.contains(&ty["type"].as_str().unwrap()));
    }
}

#[test]
fn server_messages_round_trip() {
    let rules = Rules::default();
    let person = Person::default();
    let now = Timestamp(1_800_000_000_000);
    let messages = vec![
        ServerMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            user: UserId::parse("u1").unwrap(),
            device: DeviceId::parse("d1").unwrap(),
            server_time: now,
            cursor: NotificationSeq(9),
            heartbeat_ms: Some(30_000),
        },
        ServerMessage::TeamSnapshot {
            members: vec![Member {
                user: UserId::parse("u2").unwrap(),
                name: "Teammate".into(),
                time_zone: "Europe/Paris".into(),
                view: rules.team_view(&person, now),
                avatar: Some("0123456789abcdef".into()),
            }],
            me: Some(Member {
                user: UserId::parse("u1").unwrap(),
                name: "Me".into(),
                time_zone: "UTC".into(),
                view: rules.team_view(&person, now),
                avatar: None,
            }),
            favourites: vec![UserId::parse("u2").unwrap()],
        },
        ServerMessage::PresenceDelta {
            user: UserId::parse("u2").unwrap(),
            view: rules.team_view(&person, now),
        },
        ServerMessage::SelfUpdate {
            view: rules.self_view(&person, now),
        },
        ServerMessage::Notification {
            notification: Notification {
                seq: NotificationSeq(10),
                title: "New message".into(),
                body: "Can we talk?".into(),
                sender: Some(UserId::parse("u2").unwrap()),
                urgent: false,
                created_at: now,
                delivery: Delivery::Hold {
                    why: HoldReason::NoDevice,
                },
                read: false,
                dismissed: false,
                link: Some(Link::parse("https://chat.example.com/m/10").unwrap()),
            },
        },
        ServerMessage::NotificationsChanged {
            notifications: vec![NotificationSeq(10)],
            read: true,
            dismissed: false,
        },
        ServerMessage::Ack { request: rid("1") },
        ServerMessage::Error {
            request: Some(rid("2")),
            error: WireError::new(ErrorKind::Invalid, "no"),
        },
        ServerMessage::HeartbeatAck { server_time: now },
        ServerMessage::ReportNeeded {
            last_seq: Some(7),
            reason: "report again".into(),
        },
        ServerMessage::ReportApplied { seq: 8 },
        ServerMessage::BoardSnapshot {
            members: vec![Member {
                user: UserId::parse("u3").unwrap(),
                name: "Someone".into(),
                time_zone: "UTC".into(),
                view: rules.team_view(&person, now),
                avatar: None,
            }],
        },
        ServerMessage::Watching {
            members: vec![Member {
                user: UserId::parse("u4").unwrap(),
                name: "Someone else".into(),
                time_zone: "UTC".into(),
                view: rules.team_view(&person, now),
                avatar: Some("2".into()),
            }],
        },
        ServerMessage::Statuses {
            statuses: rules.catalog.selectable_for(&[PersonalStatus {
                id: CustomStatusId::parse("deep-work").unwrap(),
                name: StatusName::parse("Deep work").unwrap(),
                emoji: Some(Emoji::parse("🎧").unwrap()),
                family: Family::DoNotDisturb,
            }]),
        },
    ];
    assert_eq!(messages.len(), SERVER_TYPES.len());
    for m in messages {
        let frame = encode(&m);
        assert_eq!(
            decode_server(&frame).unwrap_or_else(|e| panic!("{frame}: {e}")),
            m
        );
    }
}

#[test]
fn bad_frames_get_typed_errors() {
    let table: [(String, ErrorKind); 7] = [
        ("x".repeat(MAX_FRAME_BYTES + 1), ErrorKind::TooLarge),
        ("{not json".into(), ErrorKind::Malformed),
        ("[1,2]".into(), ErrorKind::Malformed),
        (r#"{"status":"busy"}"#.into(), ErrorKind::Malformed),
        (
            r#"{"type":"launch_rockets"}"#.into(),
            ErrorKind::UnknownType,
        ),
        (
            r#"{"type":"change","request":"1","change":{"kind":"set_status","status":"sleeping","until":null}}"#.into(),
            ErrorKind::Invalid,
        ),
        (
            format!(
                r#"{{"type":"change","request":"1","change":{{"kind":"set_message","text":"{}","emoji":null,"clear_after":{{"kind":"never"}}}}}}"#,
                "a".repeat(101)
            ),
            ErrorKind::Invalid,
        ),
    ];
    for (frame, kind) in table {
        let err = decode_client(&frame).unwrap_err();
        assert_eq!(err.kind, kind, "{}: {err}", &frame[..frame.len().min(60)]);
        assert!(!err.kind.is_fatal(), "a bad frame keeps the connection");
        assert!(!err.message.is_empty());
    }
    let err = decode_client(
        r#"{"type":"change","request":"1","change":{"kind":"clear_message","extra":1},"extra":1}"#,
    );
    assert!(
        err.is_ok(),
        "unknown fields are ignored, so newer clients stay compatible"
    );
    assert!(ErrorKind::Unauthorized.is_fatal());
}

#[test]
fn the_wire_form_is_stable() {
    let frame = encode(&ClientMessage::Change {
        request: rid("r1"),
        change: Change::do_not_disturb(None),
    });
    assert_eq!(
        frame,
        r#"{"type":"change","request":"r1","change":{"kind":"set_status","status":"do_not_disturb","until":null}}"#
    );
    // A kind of change this side does not know is refused as invalid, not as malformed.
    let err = decode_client(r#"{"type":"change","request":"r2","change":{"kind":"teleport"}}"#)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
}

#[test]
fn only_web_links_are_accepted() {
    for ok in [
        "https://chat.example.com/m/10",
        "http://helpdesk.local:8080/ticket?id=4",
    ] {
        assert_eq!(Link::parse(ok).unwrap().as_str(), ok);
    }
    let long = format!("https://example.com/{}", "a".repeat(Link::MAX_BYTES));
    for (bad, says) in [
        ("file:///etc/passwd", "not an http or https"),
        ("javascript:alert(1)", "not an http or https"),
        ("/relative/path", "not an absolute address"),
        ("https://", "not an absolute address"),
        ("https://me:secret@example.com/x", "credentials"),
        ("https://me@example.com/x", "credentials"),
        (long.as_str(), "longer than 2048 bytes"),
    ] {
        let err = Link::parse(bad).unwrap_err().to_string();
        assert!(err.contains(says), "{bad}: {err}");
    }
    // A notification without the field (an older server) decodes with no link.
    let old = r#"{"type":"notification","notification":{"seq":1,"title":"t","body":"","sender":null,"urgent":false,"created_at":0,"delivery":{"delivery":"show"},"read":false,"dismissed":false}}"#;
    match decode_server(old).unwrap() {
        ServerMessage::Notification { notification } => assert_eq!(notification.link, None),
        other => panic!("{other:?}"),
    }
    let bad = old.replace(
        r#""dismissed":false"#,
        r#""dismissed":false,"link":"file:///etc/passwd""#,
    );
    assert_eq!(decode_server(&bad).unwrap_err().kind, ErrorKind::Invalid);
}

#[test]
fn an_outbox_kept_from_version_1_is_read_as_changes() {
    let table = [
        (
            r#"{"type":"set_status","request":"r1","status":"busy","until":null}"#,
            Change::SetStatus {
                status: StatusId::BUSY,
                until: None,
            },
        ),
        (
            r#"{"type":"set_message","request":"r1","text":"Out","emoji":null,"clear_after":{"kind":"today"}}"#,
            Change::SetMessage {
                text: MessageText::parse("Out").unwrap(),
                emoji: None,
                clear_after: ClearAfter::Today,
            },
        ),
        (
            r#"{"type":"clear_message","request":"r1"}"#,
            Change::ClearMessage,
        ),
        (
            r#"{"type":"pause_notifications","request":"r1","until":1800000000000}"#,
            Change::PauseNotifications {
                until: Timestamp(1_800_000_000_000),
            },
        ),
        (
            r#"{"type":"pause_notifications","request":"r1","until":null}"#,
            Change::ResumeNotifications,
        ),
    ];
    for (old, change) in table {
        assert_eq!(
            decode_stored_client(old).unwrap(),
            ClientMessage::Change {
                request: rid("r1"),
                change
            },
            "{old}"
        );
        assert_eq!(
            decode_client(old).unwrap_err().kind,
            ErrorKind::UnknownType,
            "version 1 frames are not accepted on the wire"
        );
    }
    assert_eq!(
        decode_stored_client(r#"{"type":"launch_rockets"}"#)
            .unwrap_err()
            .kind,
        ErrorKind::UnknownType
    );
}
