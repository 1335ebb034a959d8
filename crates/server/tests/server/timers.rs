//! Timers in a cluster: on PostgreSQL the stored deadlines are the one queue, and a node settles
//! only the people it claims (`FOR UPDATE SKIP LOCKED`). Several nodes on one database and one
//! clock, a node going and another coming before the deadline, a node that claims people and
//! dies: every timer fires exactly once — each person stored once more and their new self view
//! published once, by one node — and the dead node's claims are taken over when they lapse.

use crate::support::*;
use clock::Clock;
use presence::{Change, ClearAfter, MessageText, SelfView, Span, UserId};
use presently_server::app::timers::CLAIM;
use presently_server::broker::Event;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

const PEOPLE: usize = 24;
const CLAIMED_BY_THE_DEAD: i64 = 4;

async fn stored(f: &Fixture, user: &UserId) -> (SelfView, i64) {
    let (person, _, version, _) = f.app().db.user_state(user.as_str()).await.unwrap().unwrap();
    let rules = f.app().rules(&f.org).unwrap();
    (rules.self_view(&person, f.clock.now()), version)
}

/// Waits (in real time, the clock standing still) until `done` holds for every person's
/// stored self view and version.
async fn until_all(
    f: &Fixture,
    what: &str,
    people: &[UserId],
    done: impl Fn(&UserId, &SelfView, i64) -> bool,
) {
    for _ in 0..100 {
        let mut all = true;
        for p in people {
            let (view, version) = stored(f, p).await;
            all &= done(p, &view, version);
        }
        if all {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut left = Vec::new();
    for p in people {
        let (view, version) = stored(f, p).await;
        if !done(p, &view, version) {
            left.push(format!("{} at v{version}: {:?}", p.as_str(), view.message));
        }
    }
    panic!("{what}: not everyone, still {left:?}");
}

/// The self views published for `user` on these brokers, each one a node's publish.
fn self_updates(brokers: &[&Arc<RecordingBroker>], user: &UserId) -> usize {
    brokers
        .iter()
        .flat_map(|b| b.events())
        .filter(|e| matches!(e, Event::User { user: u, version: Some(_), .. } if u == user))
        .count()
}

on_both_databases!(the_deadline_index_is_kept_only_where_nodes_claim_from_it);

/// Nodes on PostgreSQL claim the people who are due through the index of stored deadlines; one
/// node on SQLite keeps its deadlines in memory, and there the index would only make every store
/// of a person slower. It is dropped on SQLite at every start, and a second start still opens.
async fn the_deadline_index_is_kept_only_where_nodes_claim_from_it(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let indexed = || async {
        let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
        let sql = match backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'users_next_deadline'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'users_next_deadline'"
            }
        };
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n == 1
    };
    let want = matches!(backend, Backend::Postgres);
    for start in ["first", "second"] {
        let store = presently_server::db::Db::connect(&db.url)
            .await
            .unwrap_or_else(|e| panic!("the {start} start opens the database: {e}"));
        store.close().await;
        assert_eq!(
            indexed().await,
            want,
            "after the {start} start, {backend:?} keeps the deadline index: {want}"
        );
    }
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_timer_fires_once_in_the_cluster_while_nodes_come_and_go() {
    let Some(f) = Fixture::start(Backend::Postgres).await else {
        return;
    };
    let mut people = Vec::new();
    for i in 0..PEOPLE {
        people.push(f.member(&format!("p{i}@one.test")).await);
    }
    let (_node_b_broker, node_b) = f.another_node().await;

    // Everyone sets a status message that clears in a minute, on both nodes.
    let end = f.clock.now().plus(Span::minutes(1));
    for (i, p) in people.iter().enumerate() {
        let app = if i % 2 == 0 { f.app() } else { &node_b.app };
        app.mutate(p, None, |person, rules, now| {
            person
                .apply(
                    rules,
                    now,
                    Change::SetMessage {
                        text: MessageText::parse("back in a minute").unwrap(),
                        emoji: None,
                        clear_after: ClearAfter::At(end),
                    },
                )
                .map_err(Into::into)
        })
        .await
        .unwrap();
    }
    let has_message = |v: &SelfView| v.message.is_some();
    until_all(&f, "with the message", &people, |_, v, _| has_message(v)).await;
    let mut before = HashMap::new();
    for p in &people {
        before.insert(p.clone(), stored(&f, p).await.1);
    }
    let settled = |p: &UserId, _: &SelfView, version: i64| version > before[p];

    // Node B goes and node C comes before the minute is up.
    node_b.stop().await;
    let (node_c_broker, node_c) = f.another_node().await;
    // A node claims the first few due people and dies before settling them.
    let dead_claims = f
        .app()
        .db
        .claim_due(end.0, end.plus(CLAIM).0, CLAIMED_BY_THE_DEAD)
        .await
        .unwrap();
    assert_eq!(dead_claims.len() as i64, CLAIMED_BY_THE_DEAD);
    let claimed: Vec<UserId> = dead_claims
        .iter()
        .map(|(u, _)| UserId::parse(u.clone()).unwrap())
        .collect();
    let free: Vec<UserId> = people
        .iter()
        .filter(|p| !claimed.contains(p))
        .cloned()
        .collect();
    f.broker.clear();

    // The minute is up: A and C both wake; each person is settled by one of them.
    f.clock.set(end);
    until_all(&f, "the free ones settled", &free, settled).await;
    // A real wait: two nodes' timer passes have no end to observe from outside; a wrong take
    // of a claimed person would come in the same pass as the free ones.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for p in &claimed {
        assert_eq!(
            stored(&f, p).await.1,
            before[p],
            "a person another node holds is left to it until its claim lapses"
        );
    }
    // The dead node's claims lapse, and a live node takes them.
    f.clock.set(end.plus(CLAIM));
    until_all(&f, "the dead node's settled", &claimed, settled).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    for p in &people {
        let (view, version) = stored(&f, p).await;
        assert!(!has_message(&view), "the message cleared");
        assert_eq!(
            version,
            before[p] + 1,
            "{} was stored once when the timer fired",
            p.as_str()
        );
        assert_eq!(
            self_updates(&[&f.broker, &node_c_broker], p),
            1,
            "{}'s new self view was published once, by one node",
            p.as_str()
        );
    }
    // Both live nodes' copies follow.
    for app in [f.app(), &node_c.app] {
        for p in &people {
            let slot = app.slot(p).unwrap();
            let mut seen = app.self_view(&slot).await;
            for _ in 0..50 {
                if !has_message(&seen) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                seen = app.self_view(&slot).await;
            }
            assert!(!has_message(&seen), "the node's copy follows");
        }
    }
    node_c.stop().await;
    f.finish().await;
}
