//! Two server nodes on one database (the step before NATS: their brokers linked in process,
//! every event crossing as JSON). A person's two devices, one on each node, change their
//! presence concurrently hundreds of times — the laptop its status message, the phone the end
//! of a notification pause: every change is stored exactly once (the person's version moves by
//! exactly one per change), neither device's last change is lost to the other's (each node
//! wrote onto what the other stored), both nodes' copies come to the stored state, and a
//! teammate on each node ends on that state's view.

use crate::support::*;
use clock::Clock;
use presence::{Change, ClearAfter, MessageText, TeamView};
use protocol::{ClientMessage, ServerMessage};
use std::sync::Arc;
use std::time::Duration;

on_both_databases!(
    two_nodes_never_lose_or_double_a_change_to_one_person,
    two_devices_may_use_the_same_request_id,
    a_node_takes_another_nodes_store_only_onto_the_version_it_holds,
    after_a_break_a_connection_is_sent_the_notifications_it_missed,
);

/// A notification made on node A while the nodes are cut off from each other never reaches
/// node B's broker; when B is back in touch it catches up, and the person's connection there is
/// sent it, once.
async fn after_a_break_a_connection_is_sent_the_notifications_it_missed(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let (other, node_b) = f.another_node().await;
    let token = f.token(&f.bea, "phone").await;
    let mut phone_on_b = Client::connect(node_b.addr, &token, "phone", None).await;
    let send = |title: &'static str| {
        let (http, url, key) = (f.http.clone(), f.url("/notifications"), f.key.clone());
        async move {
            let r = http
                .post(url)
                .bearer_auth(key)
                .json(&serde_json::json!({"user": "bea@one.test", "title": title}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 201);
        }
    };
    let titled = |t: &'static str| move |m: &ServerMessage| matches!(m, ServerMessage::Notification { notification } if notification.title == t);
    send("before").await;
    phone_on_b
        .until("the first, through B", titled("before"))
        .await;
    f.broker
        .cut
        .store(true, std::sync::atomic::Ordering::SeqCst);
    send("while cut off").await;
    // The broker between the nodes delivers as it publishes: the POST's answer means node B
    // had it by now, or never will.
    phone_on_b
        .none(
            "the one made while cut off, before the break ends",
            titled("while cut off"),
        )
        .await;
    f.broker
        .cut
        .store(false, std::sync::atomic::Ordering::SeqCst);
    other.reconnect();
    phone_on_b
        .until("the one made while cut off", titled("while cut off"))
        .await;
    phone_on_b
        .none_within(
            "it again, or the first again",
            Duration::from_millis(500),
            |m| titled("while cut off")(m) || titled("before")(m),
        )
        .await;
    node_b.stop().await;
    f.finish().await;
}

/// What another node stored reaches this node's copy in the event itself, taken only onto the
/// version this node holds: an event that skips a version makes it read the database instead,
/// and an old one changes nothing.
async fn a_node_takes_another_nodes_store_only_onto_the_version_it_holds(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let (other, node_b) = f.another_node().await;
    let text = |app: Arc<presently_server::app::App>, user: presence::UserId| async move {
        let slot = app.slot(&user).unwrap();
        app.self_view(&slot)
            .await
            .message
            .map(|m| m.text.to_string())
    };
    let set = |app: Arc<presently_server::app::App>, user: presence::UserId, t: &'static str| async move {
        app.mutate(&user, None, |p, rules, now| {
            p.apply(
                rules,
                now,
                Change::SetMessage {
                    text: MessageText::parse(t).unwrap(),
                    emoji: None,
                    clear_after: ClearAfter::Never,
                },
            )
            .map_err(Into::into)
        })
        .await
        .unwrap();
    };
    set(f.app().clone(), f.bea.clone(), "stored on A").await;
    let mut seen = None;
    for _ in 0..50 {
        seen = text(node_b.app.clone(), f.bea.clone()).await;
        if seen.as_deref() == Some("stored on A") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen.as_deref(), Some("stored on A"), "B took A's store");
    let stored = f
        .app()
        .db
        .user_state(f.bea.as_str())
        .await
        .unwrap()
        .unwrap();
    let forged = |version: i64, after: i64| {
        let mut person = stored.0.clone();
        let rules = f.app().rules(&f.org).unwrap();
        person
            .apply(
                &rules,
                f.clock.now(),
                Change::SetMessage {
                    text: MessageText::parse("never stored").unwrap(),
                    emoji: None,
                    clear_after: ClearAfter::Never,
                },
            )
            .unwrap();
        presently_server::broker::Event::Stored {
            user: f.bea.clone(),
            version,
            after,
            person: Box::new(person),
            applied: None,
            deadline: None,
        }
    };
    // Skipping a version: B reads the database, which holds A's store.
    other.deliver_from_other_node(forged(stored.2 + 2, stored.2 + 1));
    // Older than what B holds: nothing changes.
    other.deliver_from_other_node(forged(stored.2, stored.2 - 1));
    // B takes other nodes' stores one after another: once a later one (Cal's, from A) is in
    // B's copy, the two above had their turn.
    set(f.app().clone(), f.cal.clone(), "after the forged ones").await;
    for _ in 0..50 {
        if text(node_b.app.clone(), f.cal.clone()).await.as_deref() == Some("after the forged ones")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        text(node_b.app.clone(), f.cal.clone()).await.as_deref(),
        Some("after the forged ones")
    );
    assert_eq!(
        text(node_b.app.clone(), f.bea.clone()).await.as_deref(),
        Some("stored on A")
    );
    // The next store on A, onto the version B holds, is taken.
    set(f.app().clone(), f.bea.clone(), "next on A").await;
    let mut seen = None;
    for _ in 0..50 {
        seen = text(node_b.app.clone(), f.bea.clone()).await;
        if seen.as_deref() == Some("next on A") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen.as_deref(), Some("next on A"));
    node_b.stop().await;
    f.finish().await;
}

/// Request ids are each device's own: the same id from a person's two devices is two changes,
/// and from one device a replay.
async fn two_devices_may_use_the_same_request_id(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let mut laptop = f.online(&f.bea, "laptop").await;
    let mut phone = f.online(&f.bea, "phone").await;
    let same = protocol::RequestId("1".into());
    let set = |text: &str| ClientMessage::Change {
        request: same.clone(),
        change: Change::SetMessage {
            text: MessageText::parse(text).unwrap(),
            emoji: None,
            clear_after: ClearAfter::Never,
        },
    };
    let acked = |m: &ServerMessage| matches!(m, ServerMessage::Ack { .. });
    laptop.send(&set("from the laptop")).await;
    laptop.until("the ack", acked).await;
    phone.send(&set("from the phone")).await;
    phone.until("the ack", acked).await;
    let message = |f: &Fixture| {
        let slot = f.app().slot(&f.bea).unwrap();
        let app = f.app().clone();
        async move {
            app.self_view(&slot)
                .await
                .message
                .map(|m| m.text.to_string())
        }
    };
    assert_eq!(message(&f).await.as_deref(), Some("from the phone"));
    // The laptop sending its "1" again is a replay: acknowledged, nothing changes.
    laptop.send(&set("from the laptop")).await;
    laptop.until("the ack", acked).await;
    assert_eq!(message(&f).await.as_deref(), Some("from the phone"));
    f.finish().await;
}

const EACH: usize = 150;

fn message(text: String) -> impl FnOnce(protocol::RequestId) -> ClientMessage {
    move |request| ClientMessage::Change {
        request,
        change: Change::SetMessage {
            text: MessageText::parse(text).unwrap(),
            emoji: None,
            clear_after: ClearAfter::Never,
        },
    }
}

/// The last view of `user` a client was sent, reading until nothing comes for a while.
async fn last_view(c: &mut Client, user: &presence::UserId) -> Option<TeamView> {
    let mut last = None;
    while let Some(m) = c.try_next(Duration::from_millis(500)).await {
        if let ServerMessage::PresenceDelta { user: u, view } = m {
            if &u == user {
                last = Some(view);
            }
        }
    }
    last
}

async fn two_nodes_never_lose_or_double_a_change_to_one_person(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    let (_other, node_b) = f.another_node().await;

    let laptop_token = f.token(&f.bea, "laptop").await;
    let phone_token = f.token(&f.bea, "phone").await;
    let mut laptop = Client::connect(f.addr(), &laptop_token, "laptop", None).await;
    let mut phone = Client::connect(node_b.addr, &phone_token, "phone", None).await;
    laptop.report(presence::DeviceActivity::Active, false).await;
    phone.report(presence::DeviceActivity::Active, false).await;
    let mut cal_on_a = f.online(&f.cal, "desk").await;
    let cal_b_token = f.token(&f.admin, "desk").await;
    let mut admin_on_b = Client::connect(node_b.addr, &cal_b_token, "desk", None).await;
    laptop.request(message("start".into())).await;
    // Both reports applied (each answered a frame sent after it): nothing else moves the
    // version before the race.
    phone.barrier().await;
    laptop.barrier().await;
    let start_version = f
        .app()
        .db
        .user_state(f.bea.as_str())
        .await
        .unwrap()
        .unwrap()
        .2;

    // Both devices at once, each waiting for its own acks (the server's clock moves on a
    // little each time, so neither hits the per-connection rate limit).
    let (clock_a, clock_b) = (f.clock.clone(), f.clock.clone());
    let a = tokio::spawn(async move {
        for i in 0..EACH {
            clock_a.advance(presence::Span(60));
            laptop.request(message(format!("laptop {i}"))).await;
        }
        laptop
    });
    let pause_base = f.clock.now().plus(presence::Span::hours(1));
    let b2 = tokio::spawn(async move {
        for i in 0..EACH {
            clock_b.advance(presence::Span(60));
            let until = pause_base.plus(presence::Span::minutes(i as i64));
            phone
                .request(move |request| ClientMessage::Change {
                    request,
                    change: Change::PauseNotifications { until },
                })
                .await;
        }
        phone
    });
    let (_laptop, _phone) = (a.await.unwrap(), b2.await.unwrap());

    let (person, _, version, _) = f
        .app()
        .db
        .user_state(f.bea.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        version - start_version,
        2 * EACH as i64,
        "every acknowledged change stored exactly once"
    );
    let rules = f.app().rules(&f.org).unwrap();
    let now = f.clock.now();
    let stored_view = rules.team_view(&person, now);
    assert_eq!(
        stored_view.message.as_ref().unwrap().text.as_str(),
        format!("laptop {}", EACH - 1),
        "the laptop's last change survived the phone's"
    );
    assert_eq!(
        rules.self_view(&person, now).interruptibility,
        presence::Interruptibility::Paused {
            until: pause_base.plus(presence::Span::minutes(EACH as i64 - 1))
        },
        "the phone's last change survived the laptop's"
    );
    // Both nodes' copies come to the stored state.
    for (name, app) in [("A", f.app().clone()), ("B", node_b.app.clone())] {
        let slot = app.slot(&f.bea).unwrap();
        let mut seen = None;
        for _ in 0..50 {
            seen = Some(app.self_view(&slot).await.seen_by_others);
            if seen.as_ref() == Some(&stored_view) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(seen.as_ref(), Some(&stored_view), "node {name}'s copy");
    }
    // A teammate on each node ends on the stored state's view.
    assert_eq!(
        last_view(&mut cal_on_a, &f.bea).await,
        Some(stored_view.clone())
    );
    assert_eq!(last_view(&mut admin_on_b, &f.bea).await, Some(stored_view));
    node_b.stop().await;
    f.finish().await;
}
