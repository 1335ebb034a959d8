//! The client core against a real `presently-server` on loopback, with real local SQLite
//! stores: resume, outbox replay, offline changes, read on another device, revoked token, a
//! damaged local database, and people on screen beyond the team kept live across a restart.

mod support;

use presence::{Change, DeviceId, StatusId};
use presently_client::notifier::Recorder;
use presently_client::store::Store;
use presently_client::sync::{self, Command, Connection, Event, Options, SyncHandle};
use protocol::NotificationSeq;
use std::sync::Arc;
use std::time::Duration;
use support::*;

struct Device {
    store: Store,
    sync: SyncHandle,
    task: tokio::task::JoinHandle<()>,
    events: tokio::sync::broadcast::Receiver<Event>,
    notifier: Arc<Recorder>,
}

async fn device(
    server: &Server,
    dir: &std::path::Path,
    user: &presence::UserId,
    name: &str,
) -> Device {
    let token = server.token(user, name).await;
    device_with(server, dir, &token, name).await
}

async fn device_with(server: &Server, dir: &std::path::Path, token: &str, name: &str) -> Device {
    let store = Store::open(&store_path(dir, name))
        .await
        .expect("store opens");
    let notifier = Arc::new(Recorder::default());
    let mut options = Options::new(&server.endpoint(), token, DeviceId::parse(name).unwrap());
    options.max_backoff = Duration::from_millis(400);
    let (sync, task) = sync::spawn(store.clone(), notifier.clone(), options);
    let events = sync.subscribe();
    Device {
        store,
        sync,
        task,
        events,
        notifier,
    }
}

impl Device {
    async fn until(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        next_event(&mut self.events, what, pred).await
    }

    async fn stop(self) {
        self.sync.stop();
        let _ = self.task.await;
        self.store.close().await;
    }
}

fn online(e: &Event) -> bool {
    matches!(e, Event::Connection(Connection::Online))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_a_restart_of_the_client_has_no_gap_and_no_duplicate() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut d = device(&server, dir.path(), &server.bea, "laptop").await;
    d.until("online", online).await;
    eventually("bea available", || async {
        server.seen(&server.bea).await.status.status == StatusId::AVAILABLE
    })
    .await;
    for i in 1..=3 {
        server.notify(&server.bea, &format!("n{i}")).await;
    }
    eventually("three stored", || async {
        d.store.seqs().await.unwrap().len() == 3
    })
    .await;
    d.stop().await;
    // The server records the clean close as the device signing off; wait for it, or the next
    // two could still be decided against the device that just closed.
    eventually("bea offline", || async {
        server.seen(&server.bea).await.status.status == StatusId::OFFLINE
    })
    .await;
    // Two arrive while the client is closed.
    for i in 4..=5 {
        server.notify(&server.bea, &format!("n{i}")).await;
    }
    let mut d = device(&server, dir.path(), &server.bea, "laptop").await;
    d.until("online", online).await;
    eventually("five stored", || async {
        d.store.seqs().await.unwrap().len() == 5
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(d.store.seqs().await.unwrap(), vec![1, 2, 3, 4, 5]);
    assert_eq!(d.store.cursor().await.unwrap(), Some(NotificationSeq(5)));
    // 4 and 5 arrived while no device was connected: held (no device), so not shown as
    // banners now, and waiting in the center as missed.
    assert!(d.notifier.shown.lock().unwrap().is_empty());
    let center = d.store.center(false, 10).await.unwrap();
    let missed: Vec<u64> = center
        .iter()
        .filter(|e| e.missed)
        .map(|e| e.notification.seq.0)
        .collect();
    assert_eq!(missed, vec![5, 4], "held ones first in the center");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_offline_is_pending_then_applied_exactly_once() {
    let mut server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut d = device(&server, dir.path(), &server.bea, "laptop").await;
    d.until("online", online).await;
    server.stop().await;
    d.until("offline", |e| {
        matches!(e, Event::Connection(Connection::Offline { .. }))
    })
    .await;
    d.sync
        .send(Command::Change(Change::SetStatus {
            status: StatusId::BUSY,
            until: None,
        }))
        .await
        .expect("queued");
    assert_eq!(
        d.store.pending().await.unwrap().len(),
        1,
        "pending while offline"
    );
    server.start_again().await;
    d.until("sent once back", |e| {
        matches!(e, Event::Pending { count: 0 })
    })
    .await;
    assert_eq!(server.seen(&server.bea).await.status.status, StatusId::BUSY);
    let slot = server.app().slot(&server.bea).unwrap();
    let person = server.app().person(&slot).await;
    assert_eq!(
        person
            .claims()
            .iter()
            .filter(|c| c.status == StatusId::BUSY)
            .count(),
        1,
        "applied exactly once"
    );
    // The same outbox entry replayed (as after a crash before the ack) changes nothing.
    d.stop().await;
    let store = Store::open(&store_path(dir.path(), "laptop"))
        .await
        .unwrap();
    assert!(store.pending().await.unwrap().is_empty());
    store.close().await;
}

/// The client core keeps the one copy of the self view and the team the app shows: written
/// before the event that says so, marked not live while the server is away, and restored from
/// the store by a client started with no server to reach.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_self_view_and_the_team_are_kept_once_in_the_client_core() {
    let mut server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut d = device(&server, dir.path(), &server.bea, "laptop").await;
    d.until("online", online).await;
    d.until("the team", |e| matches!(e, Event::Team { .. }))
        .await;
    let team = d.sync.team();
    assert!(team.stale_since.is_none(), "live while connected");
    assert!(
        team.members.iter().any(|m| m.user == server.cal),
        "the teammate is in the team: {:?}",
        team.members
    );
    let request = d
        .sync
        .send(Command::Change(Change::SetStatus {
            status: StatusId::BUSY,
            until: None,
        }))
        .await
        .expect("queued");
    d.until(
        "applied",
        |e| matches!(e, Event::Applied { request: r } if *r == request),
    )
    .await;
    // At the ack, the copy already shows the change: the app reads it without an event of its own.
    assert_eq!(d.sync.me().map(|m| m.status.status), Some(StatusId::BUSY));

    server.stop().await;
    d.until("offline", |e| {
        matches!(e, Event::Connection(Connection::Offline { .. }))
    })
    .await;
    assert!(
        d.sync.team().stale_since.is_some(),
        "marked not live as soon as the server is gone"
    );
    d.stop().await;

    // Started again with the server still away: what was last known, marked not live.
    let d = device_with(&server, dir.path(), "unused-token", "laptop").await;
    eventually("restored from the store", || async {
        d.sync.me().is_some()
    })
    .await;
    assert_eq!(d.sync.me().map(|m| m.status.status), Some(StatusId::BUSY));
    let team = d.sync.team();
    assert!(team.stale_since.is_some(), "{team:?}");
    assert!(team.members.iter().any(|m| m.user == server.cal));
    d.stop().await;
    server.start_again().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_on_screen_beyond_the_team_stay_live_across_a_reconnection() {
    let mut server = Server::start().await;
    // Dan is in the organisation but in no team with bea.
    let dan = server
        .app()
        .create_user(
            &server.org,
            "dan@one.test",
            "Dan",
            PASSWORD,
            presently_server::db::Role::Member,
            "UTC",
            &[],
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut d = device(&server, dir.path(), &server.bea, "laptop").await;
    d.until("online", online).await;
    d.until("the team", |e| matches!(e, Event::Team { .. }))
        .await;
    assert!(!d.sync.team().members.iter().any(|m| m.user == dan));

    // The directory shows dan: his view arrives, Offline.
    d.sync.watch(vec![dan.clone()]);
    d.until(
        "dan's view",
        |e| matches!(e, Event::Glances { members } if members.len() == 1),
    )
    .await;
    let glances = d.sync.team().glances;
    assert_eq!(glances[0].user, dan);
    assert_eq!(glances[0].view.status.family, presence::Family::Offline);

    // Dan comes online: the row follows, without a new search.
    let mut dan_desk = device(&server, dir.path(), &dan, "dan-desk").await;
    dan_desk.until("dan online", online).await;
    d.until(
        "dan's change",
        |e| matches!(e, Event::Delta { user, .. } if *user == dan),
    )
    .await;
    eventually("dan available in the glances", || async {
        d.sync.team().glances.first().map(|m| m.view.status.family)
            == Some(presence::Family::Available)
    })
    .await;

    // The server restarts: the client watches dan again by itself.
    server.stop().await;
    d.until("offline", |e| {
        matches!(e, Event::Connection(Connection::Offline { .. }))
    })
    .await;
    server.start_again().await;
    d.until(
        "dan's view again",
        |e| matches!(e, Event::Glances { members } if members.len() == 1),
    )
    .await;

    // Off screen: forgotten at once, and no longer live.
    d.sync.watch(vec![]);
    eventually("nobody on screen", || async {
        d.sync.team().glances.is_empty()
    })
    .await;
    dan_desk.stop().await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_and_dismiss_on_one_device_apply_on_the_other() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut desk = device(&server, dir.path(), &server.bea, "desk").await;
    let mut laptop = device(&server, dir.path(), &server.bea, "laptop").await;
    desk.until("online", online).await;
    laptop.until("online", online).await;
    let a = server.notify(&server.bea, "a").await;
    let b = server.notify(&server.bea, "b").await;
    eventually("both on the laptop", || async {
        laptop.store.seqs().await.unwrap().len() == 2
    })
    .await;
    eventually("both on the desk", || async {
        desk.store.seqs().await.unwrap().len() == 2
    })
    .await;
    desk.sync
        .send(Command::MarkRead(vec![NotificationSeq(a)]))
        .await;
    desk.sync
        .send(Command::Dismiss(vec![NotificationSeq(b)]))
        .await;
    laptop
        .until("changed elsewhere", |e| matches!(e, Event::CenterChanged))
        .await;
    eventually("applied on the laptop", || async {
        let c = laptop.store.center(true, 10).await.unwrap();
        c.iter()
            .any(|e| e.notification.seq.0 == a && e.notification.read)
            && c.iter()
                .any(|e| e.notification.seq.0 == b && e.notification.dismissed)
    })
    .await;
    // The desktop notification shown for b on the laptop is closed.
    eventually("closed on the laptop", || async {
        laptop.notifier.closed.lock().unwrap().contains(&b)
    })
    .await;
    assert_eq!(laptop.store.unread_count().await.unwrap(), 0);
    desk.stop().await;
    laptop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_signs_the_client_out_without_retrying() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token = server.token(&server.bea, "laptop").await;
    let mut d = device_with(&server, dir.path(), &token, "laptop").await;
    d.until("online", online).await;
    // Signed out elsewhere (the token is revoked while connected).
    let auth = server.app().authenticate_device(&token).await.unwrap();
    server.app().sign_out(&auth).await.unwrap();
    let e = d
        .until("signed out", |e| {
            matches!(e, Event::Connection(Connection::SignedOut { .. }))
        })
        .await;
    let Event::Connection(Connection::SignedOut { reason }) = e else {
        unreachable!()
    };
    assert!(reason.contains("signed out"), "{reason}");
    // No retry loop: no further connection attempts.
    let mut events = d.sync.subscribe();
    assert!(tokio::time::timeout(Duration::from_millis(1500), async {
        loop {
            if let Ok(Event::Connection(Connection::Connecting)) = events.recv().await {
                return;
            }
        }
    })
    .await
    .is_err());
    // A change made now is kept for after signing in again, not lost.
    d.sync
        .send(Command::Change(Change::SetStatus {
            status: StatusId::BUSY,
            until: None,
        }))
        .await;
    assert_eq!(d.store.pending().await.unwrap().len(), 1);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_local_database_is_moved_aside_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(dir.path(), "client");
    std::fs::write(
        &path,
        b"this is not an SQLite database, it is a damaged file...........",
    )
    .unwrap();
    let store = Store::open(&path).await.expect("a fresh store opens");
    let moved = store
        .get("recovered_from")
        .await
        .unwrap()
        .expect("recorded");
    assert!(
        std::path::Path::new(&moved).exists(),
        "the damaged file is kept at {moved}"
    );
    assert!(std::fs::read(&moved).unwrap().starts_with(b"this is not"));
    assert!(store.seqs().await.unwrap().is_empty());
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_state_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&store_path(dir.path(), "c")).await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = Options::new(
        &endpoint(&format!("http://127.0.0.1:{port}")),
        "pd_x",
        DeviceId::parse("c").unwrap(),
    );
    let (sync, task) = sync::spawn(store.clone(), Arc::new(Recorder::default()), options);
    let mut events = sync.subscribe();
    let reason = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            if let Ok(Event::Connection(Connection::Offline { reason, .. })) = events.recv().await {
                return reason;
            }
        }
    })
    .await
    .expect("offline");
    assert!(reason.contains("cannot reach the server"), "{reason}");
    sync.stop();
    let _ = task.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_signs_in_resumes_and_recovers_from_a_revoked_token() {
    use presently_client::server::Trust;
    use presently_client::session::{Session, SessionError};
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&store_path(dir.path(), "session"))
        .await
        .unwrap();
    // Nothing stored and no credentials: it says what to do.
    let none = Session::resume(&store, &server.endpoint(), None).await;
    assert!(
        matches!(none, Err(SessionError::NotSignedIn { .. })),
        "{none:?}"
    );
    // Credentials sign in and the session is kept (a trailing slash is the same server).
    let first = Session::resume(
        &store,
        &endpoint(&format!("{}/", server.url())),
        Some(("bea@one.test", PASSWORD)),
    )
    .await
    .unwrap();
    assert_eq!(first.server.url(), server.url());
    assert_eq!(
        Session::stored(&store, &Trust::default()).await.unwrap(),
        Some(first.clone())
    );
    // Resuming without credentials uses it as it is; with them, a token the server still
    // accepts is kept.
    assert_eq!(
        Session::resume(&store, &server.endpoint(), None)
            .await
            .unwrap(),
        first
    );
    let again = Session::resume(&store, &server.endpoint(), Some(("bea@one.test", PASSWORD)))
        .await
        .unwrap();
    assert_eq!(again.token, first.token);
    // Signed out (elsewhere, or the server's database was reset): the token is refused, so a
    // resume with credentials signs in afresh instead of failing.
    first.api().sign_out(&first.token).await.unwrap();
    let fresh = Session::resume(&store, &server.endpoint(), Some(("bea@one.test", PASSWORD)))
        .await
        .unwrap();
    assert_ne!(fresh.token, first.token);
    assert!(fresh.api().me(&fresh.token).await.is_ok());
    // Signing out forgets the token and keeps the device id.
    fresh.clone().sign_out(&store).await.unwrap();
    assert_eq!(
        Session::stored(&store, &Trust::default()).await.unwrap(),
        None
    );
    assert_eq!(
        store.get("device").await.unwrap().as_deref(),
        Some(fresh.device.as_str())
    );
    // That id is this installation's own: `desktop-` and 8 hex digits, and another
    // installation (another store) gets another.
    let id = fresh.device.as_str();
    assert!(
        id.starts_with("desktop-")
            && id.len() == 16
            && id[8..].chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    let other = Store::open(&store_path(dir.path(), "other")).await.unwrap();
    let elsewhere = Session::sign_in(
        &other,
        &server.endpoint(),
        "bea@one.test",
        PASSWORD,
        None,
        &presence::DeviceAbout::default(),
    )
    .await
    .unwrap();
    assert_ne!(elsewhere.device, fresh.device);
}

/// The server stops counting a connected device (its lease lapsed while it slept, or another
/// node's timer lapsed it): the device's next heartbeat is answered with "report again", the
/// client core reports by itself, and the person is back without a reconnect or a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_the_server_stopped_counting_reports_again_by_itself() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token = server.token(&server.bea, "laptop").await;
    let store = Store::open(&store_path(dir.path(), "laptop"))
        .await
        .unwrap();
    let laptop = DeviceId::parse("laptop").unwrap();
    let mut options = Options::new(&server.endpoint(), &token, laptop.clone());
    options.heartbeat = Duration::from_millis(300);
    let (sync, task) = sync::spawn(store.clone(), Arc::new(Recorder::default()), options);
    let mut events = sync.subscribe();
    let app = server.running.as_ref().unwrap().app.clone();
    let status = || {
        let app = app.clone();
        let bea = server.bea.clone();
        async move {
            let slot = app.slot(&bea).expect("bea");
            app.self_view(&slot).await.status.status
        }
    };
    let until = |want: StatusId, what: &'static str| async move {
        for _ in 0..150 {
            if status().await == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("waited 15 s for {what}");
    };
    tokio::time::timeout(Duration::from_secs(15), async {
        while !matches!(
            events.recv().await,
            Ok(Event::Connection(Connection::Online))
        ) {}
    })
    .await
    .expect("online");
    until(StatusId::AVAILABLE, "bea available").await;
    // The server no longer counts the laptop (Offline for teammates); the connection stays
    // open. (Not asserted here: the laptop's next heartbeat may already have brought it back.)
    app.device_gone(&server.bea, &laptop).await.unwrap();
    until(
        StatusId::AVAILABLE,
        "bea available again, by the laptop's own report",
    )
    .await;
    sync.stop();
    let _ = task.await;
    store.close().await;
}
