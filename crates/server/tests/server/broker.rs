//! The broker seam: serializable events, one per change and audience; another node's changes.

use crate::support::*;
use clock::Clock;
use presence::{Change, DeviceActivity, Span, StatusId};
use protocol::{ClientMessage, ServerMessage};
use serde_json::json;
use std::time::Duration;

on_both_databases!(
    a_change_is_one_serializable_event_for_its_whole_audience,
    another_nodes_account_change_is_live_here,
);

async fn a_change_is_one_serializable_event_for_its_whole_audience(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut cal = f.online(&f.cal, "desk").await;
    let mut admin = f.online(&f.admin, "desk").await;
    let mut bea = f.online(&f.bea, "desk").await;
    cal.until("bea available", delta_for(&f.bea, StatusId::AVAILABLE))
        .await;
    admin
        .until("bea available", delta_for(&f.bea, StatusId::AVAILABLE))
        .await;
    f.broker.clear();
    bea.request(|request| ClientMessage::Change {
        request,
        change: Change::SetStatus {
            status: StatusId::BUSY,
            until: None,
        },
    })
    .await;
    cal.until("bea busy", delta_for(&f.bea, StatusId::BUSY))
        .await;
    admin
        .until("bea busy", delta_for(&f.bea, StatusId::BUSY))
        .await;
    // Two teammates saw it; one presence event was published for both, and one for bea's own
    // devices. Each went through JSON, as a broker between nodes carries it.
    let events = f.broker.events();
    let presence: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, presently_server::broker::Event::Presence { .. }))
        .collect();
    assert_eq!(presence.len(), 1, "{events:?}");
    match presence[0] {
        presently_server::broker::Event::Presence { user, frame, .. } => {
            assert_eq!(user, &f.bea);
            assert!(matches!(
                protocol::decode_server(frame.as_str()).unwrap(),
                ServerMessage::PresenceDelta { view, .. } if view.status.status == StatusId::BUSY
            ));
        }
        _ => unreachable!(),
    }
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, presently_server::broker::Event::User { user, .. } if *user == f.bea))
            .count(),
        1,
        "{events:?}"
    );
    // An administrator's change to the rules is an organisation-wide event.
    f.broker.clear();
    f.app()
        .update_org(&Actor::system(), "test", String::new(), &f.org, |o| {
            o.policy.idle_after = Span::minutes(7);
            Ok(())
        })
        .await
        .unwrap();
    assert!(f.broker.events().iter().any(
        |e| matches!(e, presently_server::broker::Event::OrgChanged { org } if *org == f.org)
    ));
    f.finish().await;
}

async fn another_nodes_account_change_is_live_here(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    // Another node (or the admin CLI) adds a person to the database and says so on the broker.
    let id = presence::UserId::parse(presently_server::auth::new_id("u")).unwrap();
    let row = presently_server::db::UserRow {
        id: id.as_str().to_string(),
        org_id: f.org.clone(),
        email: "new@one.test".into(),
        name: "New Person".into(),
        password_hash: presently_server::auth::hash_password(PASSWORD).unwrap(),
        role: presently_server::db::Role::Member,
        state: presence::Person::default(),
        applied_requests: vec![],
        notification_seq: 0,
        last_assigned: None,
        active: true,
        password_reset: false,
        version: 0,
        next_deadline: None,
        avatar: None,
    };
    f.app().db.create_user(&row, f.clock.now().0).await.unwrap();
    f.app().db.add_member(&f.team, id.as_str()).await.unwrap();
    assert!(f.app().slot(&id).is_none(), "not known here yet");
    f.broker
        .deliver_from_other_node(presently_server::broker::Event::OrgChanged {
            org: f.org.clone(),
        });
    let mut known = false;
    for _ in 0..500 {
        if f.app().slot(&id).is_some() {
            known = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(known, "this node reloaded the organisation");
    // The new person signs in here and teammates on this node see them.
    let mut cal = f.online(&f.cal, "desk").await;
    let (status, r) = f
        .post(
            "/sessions",
            "",
            json!({"email": "new@one.test", "password": PASSWORD, "device": "desk"}),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    let token = r["token"].as_str().unwrap().to_string();
    let mut new = Client::connect(f.addr(), &token, "desk", None).await;
    new.report(DeviceActivity::Active, false).await;
    cal.until(
        "the new teammate online",
        delta_for(&id, StatusId::AVAILABLE),
    )
    .await;
    f.finish().await;
}
