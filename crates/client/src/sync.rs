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
    Change, DeviceActivity, DeviceId, DeviceReport, Interruptibility, SelfView, TeamView, UserId,
};
use protocol::{
    decode_server, encode, ClientMessage, ErrorKind, Member, NotificationSeq, RequestId,
    ServerMessage, WireError,
};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

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
    Stop,
}

/// The handle the app and the CLI hold.
#[derive(Clone)]
pub struct SyncHandle {
    tx: mpsc::UnboundedSender<Input>,
    events: broadcast::Sender<Event>,
    /// Subscribed when the worker was created: the first `subscribe` gets it, so the first
    /// subscriber sees every event from the very start (a fast connection's first events
    /// cannot slip past it).
    first: Arc<std::sync::Mutex<Option<broadcast::Receiver<Event>>>>,
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
}

pub fn spawn(
    store: Store,
    notifier: Arc<dyn Notifier>,
    options: Options,
) -> (SyncHandle, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (events, first) = broadcast::channel(1024);
    let handle = SyncHandle {
        tx,
        events: events.clone(),
        first: Arc::new(std::sync::Mutex::new(Some(first))),
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
        members: Vec::new(),
        team_dirty: false,
    };
    (handle, tokio::spawn(worker.run(rx)))
}

struct Worker {
    store: Store,
    notifier: Arc<dyn Notifier>,
    options: Options,
    events: broadcast::Sender<Event>,
    activity: DeviceActivity,
    /// An application on the person's list is using the microphone.
    in_call: bool,
    last_seq: u64,
    interruptible: Option<bool>,
    members: Vec<Member>,
    /// The members changed since the snapshot was last stored.
    team_dirty: bool,
}

enum End {
    Stop,
    Lost(String),
    SignedOut(String),
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl Worker {
    fn emit(&self, e: Event) {
        let _ = self.events.send(e);
    }

    fn store_failed(&self, e: StoreError) {
        tracing::error!(error = %e, "local store");
        self.emit(Event::StoreFailed {
            message: e.to_string(),
        });
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Input>) {
        let mut attempt: u32 = 0;
        // Addresses of a cluster that could not be reached in a row: each is tried at once
        // before backing off.
        let mut unreachable = 0;
        loop {
            self.emit(Event::Connection(Connection::Connecting));
            let end = match self.connect().await {
                Ok(ws) => {
                    attempt = 0;
                    unreachable = 0;
                    let end = self.serve(ws, &mut rx).await;
                    self.flush_team().await;
                    end
                }
                Err(end) => {
                    let server = &self.options.server;
                    let failed = server.url().to_string();
                    unreachable += 1;
                    if server.fail_over(&failed) {
                        tracing::info!(server = %failed, next = %server.url(), "a node cannot be reached: trying the next");
                        if unreachable < server.addresses().len() {
                            continue;
                        }
                    }
                    unreachable = 0;
                    end
                }
            };
            let reason = match end {
                End::Stop => return,
                End::SignedOut(reason) => {
                    self.emit(Event::Connection(Connection::SignedOut { reason }));
                    // Keep taking changes into the outbox until told to stop.
                    while let Some(input) = rx.recv().await {
                        match input {
                            Input::Stop => return,
                            Input::Command(c, reply) => {
                                self.queue(c, reply).await;
                            }
                        }
                    }
                    return;
                }
                End::Lost(reason) => reason,
            };
            // Exponential backoff with full jitter: 0.5 s, 1 s, 2 s … up to the maximum.
            let cap = self.options.max_backoff.min(Duration::from_millis(
                500u64.saturating_mul(1 << attempt.min(16)),
            ));
            let wait = Duration::from_millis(
                rand::thread_rng().gen_range(cap.as_millis() as u64 / 2..=cap.as_millis() as u64),
            );
            attempt += 1;
            tracing::info!(%reason, retry_in_ms = wait.as_millis() as u64, "offline");
            self.emit(Event::Connection(Connection::Offline {
                reason,
                retry_in_ms: wait.as_millis() as u64,
            }));
            let sleep = tokio::time::sleep(wait);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    _ = &mut sleep => break,
                    input = rx.recv() => match input {
                        None | Some(Input::Stop) => return,
                        Some(Input::Command(c, reply)) => { self.queue(c, reply).await; }
                    }
                }
            }
        }
    }

    /// Stores a change in the outbox (or, for auto-away, remembers the activity). Returns the
    /// message to send now when connected.
    async fn queue(
        &mut self,
        command: Command,
        reply: Option<oneshot::Sender<RequestId>>,
    ) -> Option<ClientMessage> {
        let request = RequestId(format!(
            "{}-{}",
            self.options.device.as_str(),
            uuid::Uuid::new_v4().simple()
        ));
        let message = match command {
            Command::Activity(a) => {
                self.activity = a;
                self.emit(Event::Activity { activity: a });
                return Some(self.report());
            }
            Command::InCall(app) => {
                self.in_call = app.is_some();
                self.emit(Event::InCall { app });
                return Some(self.report());
            }
            Command::Change(change) => ClientMessage::Change {
                request: request.clone(),
                change,
            },
            Command::MarkRead(seqs) => {
                self.local_change(&seqs, true, false).await;
                ClientMessage::MarkRead {
                    request: request.clone(),
                    notifications: seqs,
                }
            }
            Command::Dismiss(seqs) => {
                self.local_change(&seqs, true, true).await;
                ClientMessage::Dismiss {
                    request: request.clone(),
                    notifications: seqs,
                }
            }
            Command::MarkAllRead => {
                let unread: Vec<NotificationSeq> = self
                    .store
                    .center(false, 10_000)
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|e| !e.notification.read)
                    .map(|e| e.notification.seq)
                    .collect();
                self.local_change(&unread, true, false).await;
                ClientMessage::MarkAllRead {
                    request: request.clone(),
                }
            }
        };
        if let Err(e) = self
            .store
            .enqueue(&request, &message, self.options.clock.now())
            .await
        {
            self.store_failed(e);
            return None;
        }
        self.emit_pending().await;
        if let Some(reply) = reply {
            let _ = reply.send(request);
        }
        Some(message)
    }

    /// Stores the team as last seen, if it changed: what the panel shows, marked stale, offline.
    async fn flush_team(&mut self) {
        if !self.team_dirty {
            return;
        }
        match self
            .store
            .save_team(&self.members, self.options.clock.now())
            .await
        {
            Ok(()) => self.team_dirty = false,
            Err(e) => self.store_failed(e),
        }
    }

    async fn local_change(&self, seqs: &[NotificationSeq], read: bool, dismissed: bool) {
        if let Err(e) = self.store.apply_change(seqs, read, dismissed).await {
            self.store_failed(e);
        }
        for s in seqs {
            self.notifier.close(s.0);
        }
        self.emit(Event::CenterChanged);
    }

    async fn emit_pending(&self) {
        let count = self.store.pending().await.map(|p| p.len()).unwrap_or(0);
        self.emit(Event::Pending { count });
    }

    fn report(&mut self) -> ClientMessage {
        // Sequence numbers only grow, across restarts too: the clock, or one more.
        self.last_seq = (self.options.clock.now().0 as u64).max(self.last_seq + 1);
        ClientMessage::DeviceReport {
            report: DeviceReport {
                device: self.options.device.clone(),
                seq: self.last_seq,
                activity: self.activity,
                in_call: self.in_call,
            },
        }
    }

    async fn connect(&mut self) -> Result<Ws, End> {
        let server = &self.options.server;
        let (mut ws, _) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async_tls_with_config(
                server.ws_url(),
                None,
                false,
                Some(server.connector()),
            ),
        )
        .await
        .map_err(|_| {
            End::Lost(format!(
                "the server at {} did not answer within 10 s",
                self.options.server
            ))
        })?
        .map_err(|e| match certificate_problem(&e) {
            Some(problem) => End::Lost(format!(
                "cannot connect securely to {}: {problem}",
                self.options.server
            )),
            None => End::Lost(format!(
                "cannot reach the server at {}: {e}",
                self.options.server
            )),
        })?;
        let resume_after = match self.store.cursor().await {
            Ok(c) => c,
            Err(e) => {
                self.store_failed(e);
                None
            }
        };
        let hello = ClientMessage::Hello {
            protocol: protocol::PROTOCOL_VERSION,
            token: self.options.token.clone(),
            device: self.options.device.clone(),
            resume_after,
        };
        ws.send(Message::Text(encode(&hello).into()))
            .await
            .map_err(|e| End::Lost(e.to_string()))?;
        Ok(ws)
    }

    async fn serve(&mut self, mut ws: Ws, rx: &mut mpsc::UnboundedReceiver<Input>) -> End {
        let mut welcomed = false;
        // The server may ask for a shorter heartbeat (a third of its device lease).
        let mut beat = self.options.heartbeat;
        let mut heartbeat = tokio::time::interval(beat);
        // After a sleep (or a stopped process), one heartbeat, not one per missed beat.
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        heartbeat.tick().await;
        loop {
            tokio::select! {
                input = rx.recv() => match input {
                    None | Some(Input::Stop) => {
                        let _ = ws.close(None).await;
                        return End::Stop;
                    }
                    Some(Input::Command(c, reply)) => {
                        if let Some(m) = self.queue(c, reply).await {
                            if welcomed {
                                if let Err(e) = ws.send(Message::Text(encode(&m).into())).await {
                                    return End::Lost(e.to_string());
                                }
                            }
                        }
                    }
                },
                _ = heartbeat.tick() => {
                    self.flush_team().await;
                    if welcomed {
                        if let Err(e) = ws.send(Message::Text(encode(&ClientMessage::Heartbeat).into())).await {
                            return End::Lost(e.to_string());
                        }
                    }
                }
                frame = tokio::time::timeout(beat * 3, ws.next()) => {
                    let text = match frame {
                        Err(_) => return End::Lost("the server went silent".into()),
                        Ok(None) => return End::Lost("the server closed the connection".into()),
                        Ok(Some(Err(e))) => return End::Lost(format!("the connection failed: {e}")),
                        Ok(Some(Ok(Message::Text(t)))) => (t, std::time::Instant::now()),
                        Ok(Some(Ok(Message::Close(f)))) => {
                            return End::Lost(f.map(|f| f.reason.to_string()).unwrap_or_else(|| "the server closed the connection".into()))
                        }
                        Ok(Some(Ok(_))) => continue,
                    };
                    let (text, read_at) = text;
                    let message = match decode_server(text.as_str()) {
                        Ok(m) => m,
                        Err(e) => {
                            tracing::warn!(error = %e, "a frame from the server could not be read; skipped");
                            continue;
                        }
                    };
                    if let ServerMessage::Welcome { heartbeat_ms, .. } = &message {
                        welcomed = true;
                        if let Some(asked) = heartbeat_ms.map(Duration::from_millis) {
                            if asked < beat && !asked.is_zero() {
                                beat = asked;
                                heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + beat, beat);
                                heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                            }
                        }
                        self.emit(Event::Connection(Connection::Online));
                        // Replay what the server has not acknowledged, then say where we are.
                        let pending = self.store.pending().await.unwrap_or_default();
                        let report = self.report();
                        for m in pending.into_iter().map(|(_, m)| m).chain(std::iter::once(report)) {
                            if let Err(e) = ws.send(Message::Text(encode(&m).into())).await {
                                return End::Lost(e.to_string());
                            }
                        }
                        continue;
                    }
                    // The server has no live report from this device (it slept past its lease,
                    // or its clock went back): report again, above what the server applied.
                    if let ServerMessage::ReportNeeded { last_seq, reason } = &message {
                        tracing::info!(%reason, "the server asks for this device's report again");
                        self.last_seq = self.last_seq.max(last_seq.unwrap_or(0));
                        let report = self.report();
                        if let Err(e) = ws.send(Message::Text(encode(&report).into())).await {
                            return End::Lost(e.to_string());
                        }
                        continue;
                    }
                    if let Some(end) = self.apply(message, read_at).await {
                        let _ = ws.close(None).await;
                        return end;
                    }
                }
            }
        }
    }

    async fn apply(&mut self, message: ServerMessage, read_at: std::time::Instant) -> Option<End> {
        match message {
            // A board is an administrator's console's, never this client's.
            ServerMessage::Welcome { .. }
            | ServerMessage::HeartbeatAck { .. }
            | ServerMessage::ReportApplied { .. }
            | ServerMessage::ReportNeeded { .. }
            | ServerMessage::BoardSnapshot { .. } => {}
            ServerMessage::TeamSnapshot { members } => {
                self.members = members.clone();
                if let Err(e) = self
                    .store
                    .save_team(&members, self.options.clock.now())
                    .await
                {
                    self.store_failed(e);
                }
                self.emit(Event::Team { members });
            }
            ServerMessage::PresenceDelta { user, view } => {
                if let Some(m) = self.members.iter_mut().find(|m| m.user == user) {
                    m.view = view.clone();
                }
                // Written at the next heartbeat or when the connection ends, not once per delta:
                // deltas are frequent and every store write is a durable one.
                self.team_dirty = true;
                self.emit(Event::Delta { user, view });
            }
            ServerMessage::Statuses { statuses } => self.emit(Event::Statuses { statuses }),
            ServerMessage::SelfUpdate { view } => {
                let interruptible = view.interruptibility == Interruptibility::Normal;
                if self.interruptible == Some(false) && interruptible {
                    self.summarise().await;
                }
                self.interruptible = Some(interruptible);
                if let Err(e) = self.store.save_self(&view).await {
                    self.store_failed(e);
                }
                self.emit(Event::SelfView { view });
            }
            ServerMessage::Notification { notification } => {
                let frame_at = read_at;
                let received = self.options.clock.now();
                // Durable first: if the store refuses (disk full), it is still shown, and the
                // server keeps it for the next resume.
                let new = match self.store.insert(&notification, received).await {
                    Ok(new) => new,
                    Err(e) => {
                        self.store_failed(e);
                        true
                    }
                };
                let stored_us = frame_at.elapsed().as_micros() as u64;
                if !new {
                    return None;
                }
                let fresh =
                    received.0 - notification.created_at.0 < SHOW_IF_NEWER_THAN.as_millis() as i64;
                let mut shown = false;
                if notification.delivery.interrupts()
                    && fresh
                    && !notification.read
                    && !notification.dismissed
                {
                    let notifier = self.notifier.clone();
                    let n = notification.clone();
                    match tokio::task::spawn_blocking(move || notifier.show(&n)).await {
                        Ok(Ok(_)) => {
                            shown = true;
                            self.emit(Event::Shown {
                                seq: notification.seq.0,
                                stored_us,
                                shown_us: frame_at.elapsed().as_micros() as u64,
                            });
                            let _ = self.store.mark_shown(notification.seq).await;
                        }
                        Ok(Err(e)) => tracing::warn!(error = %e, "not shown on the desktop"),
                        Err(e) => tracing::warn!(error = %e, "the notifier failed"),
                    }
                }
                let missed = matches!(notification.delivery, presence::Delivery::Hold { .. })
                    && !notification.read
                    && !notification.dismissed;
                self.emit(Event::Notification {
                    entry: CenterEntry {
                        notification,
                        received_at: received,
                        shown,
                        missed,
                    },
                });
            }
            ServerMessage::NotificationsChanged {
                notifications,
                read,
                dismissed,
            } => {
                if let Err(e) = self
                    .store
                    .apply_change(&notifications, read, dismissed)
                    .await
                {
                    self.store_failed(e);
                }
                for s in &notifications {
                    self.notifier.close(s.0);
                }
                self.emit(Event::CenterChanged);
            }
            ServerMessage::Ack { request } => {
                if let Err(e) = self.store.acknowledge(&request).await {
                    self.store_failed(e);
                }
                self.emit_pending().await;
                // The server sends a change's own effects (the self view) before its ack.
                self.emit(Event::Applied { request });
            }
            ServerMessage::Error { request, error } => {
                if error.kind.is_fatal() {
                    return Some(End::SignedOut(error.message));
                }
                match request {
                    // Rate limited or a server fault: it stays in the outbox for the next try.
                    Some(_)
                        if matches!(error.kind, ErrorKind::RateLimited | ErrorKind::Internal) => {}
                    Some(request) => {
                        let _ = self.store.acknowledge(&request).await;
                        self.emit_pending().await;
                        self.emit(Event::Refused { request, error });
                    }
                    None => tracing::warn!(error = %error.message, "the server reported an error"),
                }
            }
        }
        None
    }

    /// After Do not disturb or a pause: one summary for what was held since the last one.
    async fn summarise(&self) {
        let done: u64 = self
            .store
            .get("summarised_upto")
            .await
            .ok()
            .flatten()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let held: Vec<u64> = self
            .store
            .center(false, 10_000)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.missed && e.notification.seq.0 > done)
            .map(|e| e.notification.seq.0)
            .collect();
        if held.is_empty() {
            return;
        }
        let count = held.len() as u64;
        let notifier = self.notifier.clone();
        let _ = tokio::task::spawn_blocking(move || notifier.summary(count)).await;
        if let Some(max) = held.iter().max() {
            let _ = self.store.set("summarised_upto", &max.to_string()).await;
        }
        self.emit(Event::Missed { count });
    }
}
