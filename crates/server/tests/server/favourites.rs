//! Favourites and "tell me when available", over real HTTP and WebSockets: a pinned person is
//! watched live like a teammate (and only by whoever pinned them), unpinning stops it, and a
//! request to be told is answered once with a notification from that person. The directory's
//! results on screen are watched live too, by that connection only.

use crate::support::*;
use clock::Clock;
use presence::{DeviceActivity, UserId};
use protocol::{ClientMessage, ServerMessage};
use reqwest::Method;
use serde_json::Value;

on_both_databases!(
    a_pinned_person_is_watched_live_by_whoever_pinned_them,
    a_request_to_be_told_is_answered_once_when_they_become_available,
    the_people_on_screen_are_watched_live_by_that_connection_only,
    a_person_pins_at_most_two_hundred,
);

/// Idle past the organisation's threshold by the device's own count: Away.
const IDLE: DeviceActivity = DeviceActivity::Idle {
    idle_for: presence::Span::minutes(30),
};

fn snapshot_with(user: &UserId, pinned: bool) -> impl Fn(&ServerMessage) -> bool + '_ {
    move |m| {
        matches!(m, ServerMessage::TeamSnapshot { members, favourites, .. }
            if members.iter().any(|x| &x.user == user) == pinned && favourites.contains(user) == pinned)
    }
}

fn delta_of(user: &UserId) -> impl Fn(&ServerMessage) -> bool + '_ {
    move |m| matches!(m, ServerMessage::PresenceDelta { user: u, .. } if u == user)
}

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn a_pinned_person_is_watched_live_by_whoever_pinned_them(backend: Backend) {
    let Some(f) = Fixture::start(backend).await else {
        return;
    };
    let mut bea = f.online(&f.bea, "bea-laptop").await;
    let mut cal = f.online(&f.cal, "cal-laptop").await;
    let bea_token = f.token(&f.bea, "bea-web").await;
    assert!(
        !bea.members.iter().any(|m| m.user == f.dan),
        "dan is in no team with bea"
    );

    // Pinned (by email, as by id): dan joins bea's panel at once, marked as a favourite.
    let (code, answer) = f
        .call(Method::PUT, "/me/favourites/dan@one.test", &bea_token, None)
        .await;
    assert_eq!(code, 204, "{answer}");
    bea.until("dan in bea's panel", snapshot_with(&f.dan, true))
        .await;
    // Pinning again changes nothing.
    let (code, _) = f
        .call(
            Method::PUT,
            &format!("/me/favourites/{}", f.dan.as_str()),
            &bea_token,
            None,
        )
        .await;
    assert_eq!(code, 204);
    let (_, listed) = f.get("/me/favourites", &bea_token).await;
    assert_eq!(listed["people"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["people"][0]["user"], f.dan.as_str());

    // Dan's changes reach bea, who pinned him, and not cal, who did not.
    let mut dan = f.online(&f.dan, "dan-laptop").await;
    bea.until("dan online, live for bea", delta_of(&f.dan))
        .await;
    dan.report(IDLE, false).await;
    bea.until("dan idle, live for bea", delta_of(&f.dan)).await;
    cal.none("dan's changes for cal", delta_of(&f.dan)).await;

    // Another organisation's people are not found; nor can anyone pin themselves.
    let (code, answer) = f
        .call(
            Method::PUT,
            &format!("/me/favourites/{}", f.eve.as_str()),
            &bea_token,
            None,
        )
        .await;
    assert_eq!(code, 404, "{answer}");
    let (code, answer) = f
        .call(Method::PUT, "/me/favourites/bea@one.test", &bea_token, None)
        .await;
    assert_eq!(code, 422, "{answer}");
    assert!(message(&answer).contains("yourself"), "{answer}");

    // Unpinned: gone from the panel, and no longer told.
    let (code, _) = f
        .call(
            Method::DELETE,
            "/me/favourites/dan@one.test",
            &bea_token,
            None,
        )
        .await;
    assert_eq!(code, 204);
    bea.until("dan gone from bea's panel", snapshot_with(&f.dan, false))
        .await;
    dan.report(DeviceActivity::Active, false).await;
    bea.none("dan's changes after unpinning", delta_of(&f.dan))
        .await;

    // A pinned person can still be deleted; the pin goes with them.
    f.call(Method::PUT, "/me/favourites/dan@one.test", &bea_token, None)
        .await;
    let admin = f.token(&f.admin, "console").await;
    let (code, answer) = f
        .call(Method::DELETE, "/admin/users/dan@one.test", &admin, None)
        .await;
    assert_eq!(code, 204, "{answer}");
    let (_, listed) = f.get("/me/favourites", &bea_token).await;
    assert_eq!(listed["people"], serde_json::json!([]));
    f.finish().await;
}

async fn a_request_to_be_told_is_answered_once_when_they_become_available(backend: Backend) {
    let Some(f) = Fixture::start(backend).await else {
        return;
    };
    let mut bea = f.online(&f.bea, "bea-laptop").await;
    let bea_token = f.token(&f.bea, "bea-web").await;
    // Cal is Available: nothing to wait for.
    let _cal = f.online(&f.cal, "cal-laptop").await;
    let (code, answer) = f
        .call(Method::PUT, "/me/alerts/cal@one.test", &bea_token, None)
        .await;
    assert_eq!(code, 409, "{answer}");
    assert!(message(&answer).contains("available now"), "{answer}");

    // Dan is Offline: bea asks to be told.
    let (code, answer) = f
        .call(Method::PUT, "/me/alerts/dan@one.test", &bea_token, None)
        .await;
    assert_eq!(code, 204, "{answer}");
    let (_, listed) = f.get("/me/favourites", &bea_token).await;
    assert_eq!(listed["waiting"], serde_json::json!([f.dan.as_str()]));

    // Dan comes online, Available: bea is told, by a notification from dan.
    let mut dan = f.online(&f.dan, "dan-laptop").await;
    let told = bea
        .until("told that dan is available", |m| {
            matches!(m, ServerMessage::Notification { notification } if notification.title.contains("is available"))
        })
        .await;
    let ServerMessage::Notification { notification } = told else {
        unreachable!()
    };
    assert_eq!(notification.sender.as_ref(), Some(&f.dan));
    assert_eq!(notification.title, "dan@one.test is available");

    // Once: away and back again tells nothing more, and the request is gone.
    dan.report(IDLE, false).await;
    dan.report(DeviceActivity::Active, false).await;
    // (Both applied once dan's connection answers what it sent after them.)
    dan.barrier().await;
    bea.none("a second notice", |m| {
        matches!(m, ServerMessage::Notification { notification } if notification.title.contains("is available"))
    })
    .await;
    let (_, listed) = f.get("/me/favourites", &bea_token).await;
    assert_eq!(listed["waiting"], serde_json::json!([]));

    // A request taken back is never answered.
    dan.report_applied(IDLE, false).await;
    let (code, _) = f
        .call(Method::PUT, "/me/alerts/dan@one.test", &bea_token, None)
        .await;
    assert_eq!(code, 204);
    let (code, _) = f
        .call(Method::DELETE, "/me/alerts/dan@one.test", &bea_token, None)
        .await;
    assert_eq!(code, 204);
    dan.report(DeviceActivity::Active, false).await;
    dan.barrier().await;
    bea.none("a notice after taking it back", |m| {
        matches!(m, ServerMessage::Notification { notification } if notification.title.contains("is available"))
    })
    .await;
    f.finish().await;
}

async fn the_people_on_screen_are_watched_live_by_that_connection_only(backend: Backend) {
    let Some(f) = Fixture::start(backend).await else {
        return;
    };
    let mut bea = f.online(&f.bea, "bea-laptop").await;
    let mut bea_phone = f.online(&f.bea, "bea-phone").await;
    let mut dan = f.online(&f.dan, "dan-laptop").await;
    // Dan's first report is applied (he is Available) before bea asks for his view: the two
    // connections are not ordered with each other.
    dan.barrier().await;

    // Bea's directory shows dan (in no team with her), herself, eve (another organisation),
    // someone who does not exist, and dan again: she gets dan's view now, and nobody else.
    bea.send(&ClientMessage::WatchPeople {
        people: vec![
            f.dan.clone(),
            f.bea.clone(),
            f.eve.clone(),
            UserId::parse("nobody").unwrap(),
            f.dan.clone(),
        ],
    })
    .await;
    let watching = bea
        .until("watching", |m| matches!(m, ServerMessage::Watching { .. }))
        .await;
    let ServerMessage::Watching { members } = watching else {
        unreachable!()
    };
    let ids: Vec<&UserId> = members.iter().map(|m| &m.user).collect();
    assert_eq!(ids, vec![&f.dan], "only dan is watched: {members:?}");
    assert_eq!(members[0].view.status.family, presence::Family::Available);

    // Dan's change reaches that connection, and not bea's other device or cal.
    dan.report(IDLE, false).await;
    bea.until("dan away, live on screen", |m| {
        matches!(m, ServerMessage::PresenceDelta { user, view }
            if *user == f.dan && view.status.family == presence::Family::Away)
    })
    .await;
    bea_phone
        .none("dan's change on a device not showing him", delta_of(&f.dan))
        .await;

    // A new list replaces the old one; an empty list stops.
    bea.send(&ClientMessage::WatchPeople { people: vec![] })
        .await;
    bea.until(
        "watching nobody",
        |m| matches!(m, ServerMessage::Watching { members } if members.is_empty()),
    )
    .await;
    dan.report(DeviceActivity::Active, false).await;
    dan.barrier().await;
    bea.none("dan's change once off screen", delta_of(&f.dan))
        .await;

    // More than a screenful is refused in words, and watches nothing.
    let many: Vec<UserId> = (0..=protocol::MAX_WATCHED)
        .map(|i| UserId::parse(format!("u{i}")).unwrap())
        .collect();
    bea.send(&ClientMessage::WatchPeople { people: many }).await;
    let refused = bea
        .until("too many refused", |m| {
            matches!(m, ServerMessage::Error { .. })
        })
        .await;
    let ServerMessage::Error { error, .. } = refused else {
        unreachable!()
    };
    assert!(error.message.contains("at most 50"), "{}", error.message);

    // Watching dan again, then closing the connection: the watch goes with it.
    bea.send(&ClientMessage::WatchPeople {
        people: vec![f.dan.clone()],
    })
    .await;
    bea.until(
        "watching dan again",
        |m| matches!(m, ServerMessage::Watching { members } if members.len() == 1),
    )
    .await;
    let hub = f.app().hub.clone();
    assert_eq!(hub.glance_count(), 1);
    drop(bea);
    let mut gone = false;
    for _ in 0..250 {
        if hub.glance_count() == 0 {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone, "a closed connection's watches are dropped with it");
    f.finish().await;
}

/// 200 favourites, and not one more until one is unpinned; the refusal says what to do.
async fn a_person_pins_at_most_two_hundred(backend: Backend) {
    let Some(f) = Fixture::start(backend).await else {
        return;
    };
    // 201 more people in bea's organisation, written as another node would (one password hash
    // for all: the bound is about favourites, not sign-in).
    let hash = presently_server::auth::hash_password(PASSWORD).unwrap();
    let mut people = vec![];
    for n in 0..=200 {
        let id = UserId::parse(presently_server::auth::new_id("u")).unwrap();
        let row = presently_server::db::UserRow {
            id: id.as_str().to_string(),
            org_id: f.org.clone(),
            email: format!("p{n}@one.test"),
            name: format!("Person {n}"),
            password_hash: hash.clone(),
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
        people.push(id);
    }
    f.app().reload().await.unwrap();
    let bea = f.token(&f.bea, "bea-web").await;
    let pin = |user: &UserId, method: Method| {
        // One a second after a burst: the clock moves on so the rate limit is not what refuses.
        f.clock.advance(presence::Span::seconds(1));
        let path = format!("/me/favourites/{}", user.as_str());
        let (f, bea) = (&f, &bea);
        async move { f.call(method, &path, bea, None).await }
    };
    for p in &people[..200] {
        let (code, answer) = pin(p, Method::PUT).await;
        assert_eq!(code, 204, "{answer}");
    }
    let (code, answer) = pin(&people[200], Method::PUT).await;
    assert_eq!(code, 409, "the 201st: {answer}");
    assert!(
        message(&answer).contains("200 favourites") && message(&answer).contains("unpin"),
        "{answer}"
    );
    // Pinning one already pinned is still fine; after an unpin, the 201st fits.
    let (code, _) = pin(&people[0], Method::PUT).await;
    assert_eq!(code, 204);
    let (code, _) = pin(&people[0], Method::DELETE).await;
    assert_eq!(code, 204);
    let (code, answer) = pin(&people[200], Method::PUT).await;
    assert_eq!(code, 204, "{answer}");
    let (_, listed) = f.get("/me/favourites", &bea).await;
    let listed = listed["people"].as_array().unwrap();
    assert_eq!(listed.len(), 200);
    assert!(!listed.iter().any(|p| p["user"] == people[0].as_str()));
}
