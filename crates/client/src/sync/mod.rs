//! Sync with the server: connect, sign in, resume from the stored cursor, replay the outbox,
//! keep the local store and the desktop in step, and reconnect with backoff and jitter.
//!
//! Everything a person changes goes into the outbox first (so it survives a crash or a dead
//! server) and leaves it only when the server acknowledges it; the server applies each request
//! id once, so a replay is harmless. Every notification is stored before it is shown.

use crate::notifier::Notifier;
use crate::server::{certificate_problem, Server};
use crate::store::{CenterEntry, Store, StoreError};
use clock::{SharedClock, SystemClock};
use futures_util::{SinkExt, StreamExt};
use presence::{
    Change, DeviceActivity, DeviceId, DeviceReport, Interruptibility, SelfView, TeamView,
    Timestamp, UserId,
};
use protocol::ipc::TeamPanel;
use protocol::{
    decode_server, encode, ClientMessage, ErrorKind, Member, NotificationSeq, RequestId,
    ServerMessage, WireError,
};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

mod apply;
mod worker;

use worker::Worker;

/// Notifications older than this when they arrive (a backlog) go to the center without a
/// desktop notification: a returning laptop should not replay yesterday as banners.
pub const SHOW_IF_NEWER_THAN: Duration = Duration::from_secs(5 * 60);
pub const HEARTBEAT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Options {
    /// The server, with how it is trusted.
    pub server: Server,
    pub token: String,
    pub device: DeviceId,
    pub heartbeat: Duration,
    /// The longest wait between reconnection attempts.
    pub max_backoff: Duration,
    /// Where `now` comes from (when a change was queued, report sequence numbers).
    pub clock: SharedClock,
    /// Where people's photos are kept: a desktop notification from a person shows their face.
    /// None: banners without faces.
    pub faces: Option<crate::faces::Faces>,
}

impl Options {
    pub fn new(server: &Server, token: &str, device: DeviceId) -> Options {
        Options {
            server: server.clone(),
            token: token.to_string(),
            device,
            heartbeat: HEARTBEAT,
            max_backoff: Duration::from_secs(30),
            clock: SystemClock::shared(),
            faces: None,
        }
    }
}

/// A change a person (or auto-away) makes.
#[derive(Debug, Clone)]
pub enum Command {
    /// A change to the person's own presence (status, message, pause, …).
    Change(Change),
    MarkRead(Vec<NotificationSeq>),
    Dismiss(Vec<NotificationSeq>),
    MarkAllRead,
    /// From auto-away: the device's activity now.
    Activity(DeviceActivity),
    /// From call detection: the application capturing the microphone for a call, or none.
    InCall(Option<String>),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Connection {
    Connecting,
    Online,
    /// Not connected; retrying in `retry_in_ms`.
    Offline {
        reason: String,
        retry_in_ms: u64,
    },
    /// The token was refused (revoked, signed out): sign in again. No retries.
    SignedOut {
        reason: String,
    },
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Connection(Connection),
    SelfView {
        view: SelfView,
    },
    Team {
        members: Vec<Member>,
    },
    /// The statuses the person may choose changed (their own were edited on some device, or
    /// the organisation's catalog changed).
    Statuses {
        statuses: Vec<presence::StatusEntry>,
    },
    Delta {
        user: UserId,
        view: TeamView,
    },
    /// The people on screen beyond the team ([`SyncHandle::watch`]), as the server showed them
    /// now; their changes follow as [`Event::Delta`]s.
    Glances {
        members: Vec<Member>,
    },
    Notification {
        entry: CenterEntry,
    },
    CenterChanged,
    /// Do not disturb or a pause ended with this many held notifications.
    Missed {
        count: u64,
    },
    /// The server applied a change; every view it changed came before this.
    Applied {
        request: RequestId,
    },
    /// The server refused a change (it is dropped from the outbox).
    Refused {
        request: RequestId,
        error: WireError,
    },
    /// Changes waiting for the server.
    Pending {
        count: usize,
    },
    /// Timing of one notification shown on the desktop (for the benchmark): from the frame
    /// read off the socket to the durable store write, and to the `Notify` call returning.
    Shown {
        seq: u64,
        stored_us: u64,
        shown_us: u64,
    },
    /// Auto-away saw the device's activity change.
    Activity {
        activity: DeviceActivity,
    },
    /// Call detection saw an application start or stop using the microphone (none: stopped).
    InCall {
        app: Option<String>,
    },
    /// The local store failed (disk full, …): shown to the person; nothing stored is lost.
    StoreFailed {
        message: String,
    },
}

enum Input {
    Command(Command, Option<oneshot::Sender<RequestId>>),
    /// The people on screen beyond the team: watched live while connected (and again after a
    /// reconnection), not stored.
    Watch(Vec<UserId>),
    Stop,
}

/// What the server last said of this person and their team: the one copy of each on this
/// device, written by the worker before it emits the event that says so, read by the app.
/// Restored from the store when the worker starts, so the app has something to show offline.
#[derive(Debug, Default)]
pub(crate) struct Latest {
    pub(crate) me: Option<SelfView>,
    /// The person as their teammates see them (name, photo), from the last team snapshot.
    pub(crate) myself: Option<Member>,
    pub(crate) members: Vec<Member>,
    /// Whom the person pinned (in `members` too).
    pub(crate) favourites: Vec<UserId>,
    /// The people on screen beyond the team, live (see [`SyncHandle::watch`]).
    pub(crate) glances: Vec<Member>,
    /// Since when the team is not live (the connection is down, or it was restored from the
    /// store); none while it is.
    pub(crate) stale_since: Option<Timestamp>,
}

pub(crate) type Shared = Arc<std::sync::RwLock<Latest>>;

/// The handle the app and the CLI hold.
#[derive(Clone)]
pub struct SyncHandle {
    tx: mpsc::UnboundedSender<Input>,
    events: broadcast::Sender<Event>,
    /// Subscribed when the worker was created: the first `subscribe` gets it, so the first
    /// subscriber sees every event from the very start (a fast connection's first events
    /// cannot slip past it).
    first: Arc<std::sync::Mutex<Option<broadcast::Receiver<Event>>>>,
    latest: Shared,
}

impl SyncHandle {
    /// Queues a change (stored in the outbox first). Returns its request id once stored.
    pub async fn send(&self, command: Command) -> Option<RequestId> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Input::Command(command, Some(tx))).ok()?;
        rx.await.ok()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        let first = self.first.lock().ok().and_then(|mut f| f.take());
        first.unwrap_or_else(|| self.events.subscribe())
    }

    pub fn stop(&self) {
        let _ = self.tx.send(Input::Stop);
    }

    /// Watches these people live beyond the team (the directory's results on screen, at most
    /// [`protocol::MAX_WATCHED`]; the list replaces the last one, an empty one stops): the
    /// server's views come as [`Event::Glances`], their changes as [`Event::Delta`]s, and
    /// [`SyncHandle::team`] carries them. Kept across reconnections; never stored.
    pub fn watch(&self, mut people: Vec<UserId>) {
        people.truncate(protocol::MAX_WATCHED);
        let _ = self.tx.send(Input::Watch(people));
    }

    fn read<T>(&self, f: impl FnOnce(&Latest) -> T) -> T {
        // The state is plain data: a panic elsewhere while writing leaves it usable.
        f(&self.latest.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// How the server last showed this person to themselves. Up to date with every
    /// [`Event::SelfView`] emitted so far, so after [`Event::Applied`] it shows the change.
    pub fn me(&self) -> Option<SelfView> {
        self.read(|l| l.me.clone())
    }

    /// The person as teammates see them (their name and photo's version), once a server of
    /// 0.2 or later has said so.
    pub fn myself(&self) -> Option<Member> {
        self.read(|l| l.myself.clone())
    }

    /// The team as last seen, with since when it is not live.
    pub fn team(&self) -> TeamPanel {
        self.read(|l| TeamPanel {
            members: l.members.clone(),
            favourites: l.favourites.clone(),
            stale_since: l.stale_since,
            glances: l.glances.clone(),
        })
    }
}

pub fn spawn(
    store: Store,
    notifier: Arc<dyn Notifier>,
    options: Options,
) -> (SyncHandle, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (events, first) = broadcast::channel(1024);
    let latest = Shared::default();
    let handle = SyncHandle {
        tx,
        events: events.clone(),
        first: Arc::new(std::sync::Mutex::new(Some(first))),
        latest: latest.clone(),
    };
    let worker = Worker {
        store,
        notifier,
        options,
        events,
        activity: DeviceActivity::Active,
        in_call: false,
        last_seq: 0,
        interruptible: None,
        latest,
        team_dirty: false,
        watching: Vec::new(),
    };
    (handle, tokio::spawn(worker.run(rx)))
}
