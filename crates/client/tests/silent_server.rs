//! The client core against a real `presently-server` behind a relay that goes silent: a dead
//! path (no reset, no close) is noticed by the client's own heartbeat, not waited on for ever.

mod support;

use presence::DeviceId;
use presently_client::notifier::Recorder;
use presently_client::store::Store;
use presently_client::sync::{self, Connection, Event, Options};
use std::sync::Arc;
use std::time::Duration;
use support::relay::Relay;
use support::*;

fn online(e: &Event) -> bool {
    matches!(e, Event::Connection(Connection::Online))
}

/// A server that goes silent (a dead path: no reset, no close) is left after three heartbeats
/// without a frame, not waited on for ever, and the client is back once the path is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_goes_silent_is_left_and_reconnected() {
    let server = Server::start().await;
    let relay = Relay::start(server.addr).await;
    let dir = tempfile::tempdir().unwrap();
    let token = server.token(&server.bea, "laptop").await;
    let store = Store::open(&store_path(dir.path(), "laptop"))
        .await
        .unwrap();
    let mut options = Options::new(
        &endpoint(&format!("http://{}", relay.addr)),
        &token,
        DeviceId::parse("laptop").unwrap(),
    );
    options.heartbeat = Duration::from_millis(300);
    options.max_backoff = Duration::from_millis(400);
    let (sync, task) = sync::spawn(store.clone(), Arc::new(Recorder::default()), options);
    let mut events = sync.subscribe();
    next_event(&mut events, "online", online).await;
    relay.go_silent(true);
    let Event::Connection(Connection::Offline { reason, .. }) =
        next_event(&mut events, "offline", |e| {
            matches!(e, Event::Connection(Connection::Offline { .. }))
        })
        .await
    else {
        unreachable!()
    };
    assert!(reason.contains("went silent"), "{reason}");
    relay.go_silent(false);
    next_event(&mut events, "online again", online).await;
    sync.stop();
    let _ = task.await;
    store.close().await;
}
