//! One WebSocket connection: `hello` first, then requests in, presence and notifications out.
//!
//! Every bad frame gets a typed `error`; only a failed sign-in, a protocol mismatch, a silent
//! client or one that keeps flooding is disconnected. Nothing a bad frame carries is stored.

use crate::app::{App, Beat, DeviceAuth};
use crate::broker::Frame;
use crate::error::AppError;
use crate::hub::{Outgoing, OverCap};
use crate::Peer;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::ConnectInfo;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::Response;
use clock::{Clock, SharedClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use protocol::{
    decode_client, encode, ClientMessage, ErrorKind, NotificationSeq, RequestId, ServerMessage,
    WireError, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION,
};
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

/// Frames above this are refused by the WebSocket layer itself (close code 1009); frames
/// between [`MAX_FRAME_BYTES`] and this get a `too_large` error and the connection stays.
pub const HARD_FRAME_LIMIT: usize = 1024 * 1024;
/// A client must say hello within this.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests per second per connection, with a burst allowance.
pub const RATE_PER_SECOND: u32 = 20;
pub const RATE_BURST: u32 = 60;
/// After this many refused frames in a row the connection is closed.
pub const FLOOD_LIMIT: u32 = 200;
/// A client that stops reading is closed when a frame cannot be written within this: its frames
/// are not held for good.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How many notifications the backlog after a hello carries at most (the rest by REST).
pub const BACKLOG: u32 = 1000;

/// The real-time connection (docs/protocol.md): `hello` first, then changes in, presence and
/// notifications out.
#[utoipa::path(get, path = "/ws", tag = "sessions", responses((status = 101, description = "switched to a WebSocket: send a hello with a device token first")))]
pub async fn upgrade(
    State(app): State<Arc<App>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => {
            return AppError::new(
                ErrorKind::Malformed,
                format!(
                    "this is the WebSocket endpoint ({}): connect with a WebSocket client",
                    rejection.body_text()
                ),
            )
            .into_response()
        }
    };
    // Small initial buffers (they grow when a frame needs it): tens of thousands of mostly
    // idle connections must not each hold 128 KiB.
    ws.read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
        .max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .on_upgrade(move |socket| async move {
            // Counted against its address for as long as it lives; over the cap, refused.
            let _counted = match app.hub.admit_address(peer.ip()) {
                Ok(slot) => slot,
                Err(OverCap(why)) => {
                    close(
                        &*app.clock,
                        socket,
                        1008,
                        WireError::new(ErrorKind::RateLimited, why),
                    )
                    .await;
                    return;
                }
            };
            if let Err(e) = connection(app, socket).await {
                tracing::debug!(error = %e, "connection ended");
            }
        })
}

/// The rate limiters (per connection here, per address and account at sign-in) read the
/// server's clock like everything else, so a test that moves the clock by hand moves their
/// windows too.
#[derive(Clone)]
pub(crate) struct LimiterClock(pub(crate) SharedClock);

impl governor::clock::Clock for LimiterClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        Duration::from_millis(self.0.now().0.max(0) as u64)
    }
}

type FrameLimiter = RateLimiter<NotKeyed, InMemoryState, LimiterClock, NoOpMiddleware<Duration>>;

fn error_frame(request: Option<RequestId>, error: WireError) -> Message {
    Message::Text(encode(&ServerMessage::Error { request, error }).into())
}

async fn close(clock: &dyn Clock, mut socket: WebSocket, code: u16, error: WireError) {
    close_with(clock, &mut socket, code, error).await;
}

trait KindStr {
    fn kind_str(&self) -> &'static str;
}

impl KindStr for WireError {
    fn kind_str(&self) -> &'static str {
        match self.kind {
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::UnsupportedVersion => "unsupported_version",
            ErrorKind::RateLimited => "rate_limited",
            _ => "error",
        }
    }
}

async fn connection(app: Arc<App>, mut socket: WebSocket) -> Result<(), axum::Error> {
    // 1. hello (a ping before it is fine: the WebSocket layer answers it)
    let first_frame = async {
        loop {
            match socket.recv().await {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => return other,
            }
        }
    };
    let first = match clock::timeout(&*app.clock, HELLO_TIMEOUT, first_frame).await {
        Err(_) => {
            close(
                &*app.clock,
                socket,
                1008,
                WireError::new(
                    ErrorKind::Unauthorized,
                    "no hello within 10 s: the first frame must be a hello with a token",
                ),
            )
            .await;
            return Ok(());
        }
        Ok(None) => return Ok(()),
        Ok(Some(Err(e))) => {
            close_for_violation(&*app.clock, &mut socket, &e).await;
            return Ok(());
        }
        Ok(Some(Ok(m))) => m,
    };
    let text = match first {
        Message::Text(t) => t,
        _ => {
            close(
                &*app.clock,
                socket,
                1003,
                WireError::new(
                    ErrorKind::Malformed,
                    "frames are JSON text: the first must be a hello",
                ),
            )
            .await;
            return Ok(());
        }
    };
    let (protocol, token, device, resume_after) = match decode_client(text.as_str()) {
        Ok(ClientMessage::Hello {
            protocol,
            token,
            device,
            resume_after,
        }) => {
            let mismatch =
                protocol::protocol_mismatch(protocol, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION);
            if let Some(message) = mismatch {
                close(
                    &*app.clock,
                    socket,
                    1002,
                    WireError::new(ErrorKind::UnsupportedVersion, message),
                )
                .await;
                return Ok(());
            }
            (protocol, token, device, resume_after)
        }
        Ok(_) => {
            close(
                &*app.clock,
                socket,
                1008,
                WireError::new(
                    ErrorKind::Unauthorized,
                    "the first frame must be a hello with a token",
                ),
            )
            .await;
            return Ok(());
        }
        Err(e) => {
            close(&*app.clock, socket, 1008, e).await;
            return Ok(());
        }
    };
    let auth = match app.authenticate_device(&token).await {
        Ok(a) => a,
        Err(e) => {
            close(&*app.clock, socket, 1008, e.wire()).await;
            return Ok(());
        }
    };
    if auth.device != device {
        close(&*app.clock, socket,
            1008,
            WireError::new(
                ErrorKind::Unauthorized,
                format!(
                    "this token belongs to device \"{}\", not \"{}\": use the token this device signed in with",
                    auth.device.as_str(),
                    device.as_str()
                ),
            ),
        )
        .await;
        return Ok(());
    }

    // 2. register before reading the backlog, so nothing falls between the two
    let user = auth.user.id.clone();
    let (conn_id, mut rx) = match app.hub.register(&user, &auth.device) {
        Ok(registered) => registered,
        Err(OverCap(why)) => {
            close(
                &*app.clock,
                socket,
                1008,
                WireError::new(ErrorKind::RateLimited, why),
            )
            .await;
            return Ok(());
        }
    };
    let result = serve(
        &app,
        &auth,
        protocol,
        conn_id,
        &mut socket,
        &mut rx,
        resume_after,
    )
    .await;
    let device_still_connected = app.hub.unregister(&user, conn_id);
    match result {
        Ok(End::ClientClosed) if !device_still_connected => {
            // A clean close is a sign-off: the device is gone now, not when its lease lapses.
            if let Err(e) = app.device_gone(&user, &auth.device).await {
                tracing::warn!(error = %e, "could not record a closed device");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::debug!(error = %e, "connection error"),
    }
    Ok(())
}

/// The heartbeat a client is asked for: three in every lease, never more often than once a
/// second, never less often than the client's default of 30 s.
fn heartbeat_for(lease_ms: u64) -> u64 {
    (lease_ms / 3).clamp(1000, 30_000)
}

enum End {
    ClientClosed,
    Dropped,
}

async fn serve(
    app: &Arc<App>,
    auth: &DeviceAuth,
    protocol: u16,
    conn_id: u64,
    socket: &mut WebSocket,
    rx: &mut tokio::sync::mpsc::Receiver<Outgoing>,
    resume_after: Option<NotificationSeq>,
) -> Result<End, AppError> {
    let user = &auth.user;
    let send = |m: ServerMessage| Message::Text(encode(&m).into());
    let cursor = app.notification_cursor(&user.id).await?;
    let rules = app.rules(&user.org)?;
    let lease = rules.policy.device_lease.millis().max(1000) as u64;
    send_within(
        &*app.clock,
        socket,
        send(ServerMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            user: user.id.clone(),
            device: auth.device.clone(),
            server_time: app.clock.now(),
            cursor,
            heartbeat_ms: Some(heartbeat_for(lease)),
        }),
    )
    .await?;
    send_within(
        &*app.clock,
        socket,
        send(ServerMessage::TeamSnapshot {
            members: app.members(&user.id).await,
        }),
    )
    .await?;
    send_within(
        &*app.clock,
        socket,
        send(ServerMessage::SelfUpdate {
            view: app.self_view(user).await,
        }),
    )
    .await?;
    // Resuming: everything after the cursor; a fresh start: what is neither read nor dismissed.
    let backlog = app
        .notifications(&user.id, resume_after, BACKLOG, resume_after.is_some())
        .await?;
    let mut sent_upto = resume_after.map_or(0, |s| s.0);
    for n in backlog {
        sent_upto = sent_upto.max(n.seq.0);
        send_within(
            &*app.clock,
            socket,
            send(ServerMessage::Notification { notification: n }),
        )
        .await?;
    }

    let limiter: FrameLimiter = RateLimiter::direct_with_clock(
        Quota::per_second(NonZeroU32::new(RATE_PER_SECOND).expect("non-zero"))
            .allow_burst(NonZeroU32::new(RATE_BURST).expect("non-zero")),
        LimiterClock(app.clock.clone()),
    );
    // A client that sends nothing (not even a heartbeat) for a lease is gone: no ghost online.
    let silence = Duration::from_millis(lease);
    let mut refused_in_a_row = 0u32;
    let mut shutdown = app.shutdown.clone();
    // Only what the client sends proves it is there: frames sent to it do not.
    // One timer, reset only when something is received (not for every frame sent).
    let mut silent = app.clock.sleep(silence);
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                let _ = send_within(&*app.clock, socket, Message::Close(Some(CloseFrame { code: 1012, reason: "server restarting".into() }))).await;
                return Ok(End::Dropped);
            }
            out = rx.recv() => {
                if let Some(end) = forward(app, &user.id, socket, out, &mut sent_upto).await? {
                    return Ok(end);
                }
            }
            _ = &mut silent => {
                close_with(&*app.clock, socket, 1001, WireError::new(ErrorKind::Invalid, "nothing received for a whole device lease: send a heartbeat as often as the welcome's heartbeat_ms asks")).await;
                return Ok(End::Dropped);
            }
            incoming = socket.recv() => {
                silent = app.clock.sleep(silence);
                let msg = match incoming {
                    None => return Ok(End::Dropped),
                    Some(Err(e)) => {
                        close_for_violation(&*app.clock, socket, &e).await;
                        return Ok(End::Dropped);
                    }
                    Some(Ok(m)) => m,
                };
                if let Message::Close(_) = msg {
                    return Ok(End::ClientClosed);
                }
                // Every kind of frame counts toward the limit: a flood of pings or binary
                // frames costs as much as one of requests.
                if limiter.check().is_err() {
                    refused_in_a_row += 1;
                    if refused_in_a_row >= FLOOD_LIMIT {
                        close_with(&*app.clock, socket, 1008, WireError::new(ErrorKind::RateLimited, "too many frames: the connection is closed; reconnect and send at most 20 per second")).await;
                        return Ok(End::Dropped);
                    }
                    if let Message::Text(text) = &msg {
                        let request = request_of(text.as_str());
                        send_within(&*app.clock, socket, error_frame(request, WireError::new(ErrorKind::RateLimited, format!("more than {RATE_PER_SECOND} frames per second: this one was not applied; slow down and send it again")))).await?;
                    }
                    continue;
                }
                let text = match msg {
                    Message::Text(t) => t,
                    Message::Close(_) | Message::Ping(_) | Message::Pong(_) => {
                        refused_in_a_row = 0;
                        continue;
                    }
                    Message::Binary(_) => {
                        refused_in_a_row = 0;
                        send_within(&*app.clock, socket, error_frame(None, WireError::new(ErrorKind::Malformed, "binary frames are not accepted: send JSON text"))).await?;
                        continue;
                    }
                };
                refused_in_a_row = 0;
                let reply = match decode_client(text.as_str()) {
                    Err(e) => Some(ServerMessage::Error { request: request_of(text.as_str()), error: e }),
                    Ok(m) => handle(app, auth, protocol, conn_id, m).await,
                };
                if let Some(reply) = reply {
                    // What the request caused for this connection (its own self view) goes out
                    // before the answer, so a client that sees the ack has the new state.
                    while let Ok(out) = rx.try_recv() {
                        if let Some(end) = forward(app, &user.id, socket, Some(out), &mut sent_upto).await? {
                            return Ok(end);
                        }
                    }
                    send_within(&*app.clock, socket, send(reply)).await?;
                }
            }
        }
    }
}

/// Sends one frame the hub queued for this connection. `Some(end)` when the connection must
/// end: the hub dropped it (too far behind), or the device was signed out.
async fn forward(
    app: &App,
    user: &presence::UserId,
    socket: &mut WebSocket,
    out: Option<Outgoing>,
    sent_upto: &mut u64,
) -> Result<Option<End>, AppError> {
    let clock = &*app.clock;
    let frame: Frame =
        match out {
            None => {
                let _ = send_within(clock, socket, error_frame(
                    None,
                    WireError::new(
                        ErrorKind::RateLimited,
                        "this connection fell too far behind and is closed: reconnect to resume",
                    ),
                )).await;
                return Ok(Some(End::Dropped));
            }
            Some(Outgoing::Frame(f)) => f,
            Some(Outgoing::Notification { seq, frame }) => {
                // Already sent with the backlog.
                if seq <= *sent_upto {
                    return Ok(None);
                }
                *sent_upto = seq;
                frame
            }
            Some(Outgoing::Resync) => {
                // Everything after what was sent (a fresh start that sent nothing: the unread).
                let missed = app
                    .notifications(
                        user,
                        Some(NotificationSeq(*sent_upto)),
                        BACKLOG,
                        *sent_upto > 0,
                    )
                    .await?;
                for n in missed {
                    *sent_upto = (*sent_upto).max(n.seq.0);
                    let m = ServerMessage::Notification { notification: n };
                    send_within(clock, socket, Message::Text(encode(&m).into())).await?;
                }
                return Ok(None);
            }
            Some(Outgoing::Close(f, reason)) => {
                let _ = send_within(clock, socket, Message::Text(f.text())).await;
                let _ = send_within(
                    clock,
                    socket,
                    Message::Close(Some(CloseFrame {
                        code: 1008,
                        reason: reason.into(),
                    })),
                )
                .await;
                return Ok(Some(End::Dropped));
            }
        };
    send_within(clock, socket, Message::Text(frame.text())).await?;
    Ok(None)
}

/// Writes a frame, or gives up after [`SEND_TIMEOUT`]: the connection then ends and its memory
/// is released.
async fn send_within(
    clock: &dyn Clock,
    socket: &mut WebSocket,
    m: Message,
) -> Result<(), AppError> {
    let send = socket.send(m);
    tokio::pin!(send);
    // Most writes finish at once: only one that has to wait gets a timer.
    let first = std::future::poll_fn(|cx| Poll::Ready(send.as_mut().poll(cx))).await;
    let sent = match first {
        Poll::Ready(sent) => Ok(sent),
        Poll::Pending => clock::timeout(clock, SEND_TIMEOUT, send).await,
    };
    match sent {
        Ok(sent) => sent.map_err(|e| AppError::internal(e.to_string())),
        Err(_) => Err(AppError::new(
            ErrorKind::RateLimited,
            "the client stopped reading: its connection is closed",
        )),
    }
}

async fn close_with(clock: &dyn Clock, socket: &mut WebSocket, code: u16, error: WireError) {
    let _ = send_within(clock, socket, error_frame(None, error.clone())).await;
    let _ = send_within(
        clock,
        socket,
        Message::Close(Some(CloseFrame {
            code,
            reason: error.kind_str().into(),
        })),
    )
    .await;
}

/// The RFC 6455 close code and reason for a frame the WebSocket layer refused: 1009 for a frame
/// or message over the hard limit (as soon as its header announces it), 1007 for a text frame
/// that is not UTF-8, 1002 for any other protocol violation (a reserved opcode or bit, an
/// unmasked frame, an oversized or fragmented control frame, a stray continuation frame).
/// `None` for errors that are not the client's (the connection is simply gone).
pub fn violation(error: &axum::Error) -> Option<(u16, String)> {
    use tungstenite::Error;
    let inner = std::error::Error::source(error)?.downcast_ref::<Error>()?;
    match inner {
        Error::Capacity(_) => Some((
            1009,
            format!("frame too large: at most {HARD_FRAME_LIMIT} bytes"),
        )),
        Error::Utf8(_) => Some((1007, "a text frame is not valid UTF-8".into())),
        Error::Protocol(p) => Some((1002, format!("protocol error: {p}"))),
        _ => None,
    }
}

/// Closes with the code a protocol violation calls for (see [`violation`]).
async fn close_for_violation(clock: &dyn Clock, socket: &mut WebSocket, error: &axum::Error) {
    let Some((code, reason)) = violation(error) else {
        return;
    };
    tracing::debug!(code, %reason, "closing for a protocol violation");
    // A close reason has at most 123 bytes.
    let mut reason = reason;
    while reason.len() > 123 {
        reason.pop();
    }
    let _ = send_within(
        clock,
        socket,
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })),
    )
    .await;
}

/// The request id of a frame that could not be decoded, when it has one, so the client can
/// tell which request failed.
fn request_of(frame: &str) -> Option<RequestId> {
    if frame.len() > protocol::MAX_FRAME_BYTES {
        return None;
    }
    serde_json::from_str::<serde_json::Value>(frame)
        .ok()?
        .get("request")?
        .as_str()
        .filter(|s| s.len() <= 100)
        .map(|s| RequestId(s.to_string()))
}

/// A person's change carrying a request id: checked, applied once (a replay is acknowledged
/// and changes nothing), stored, published. Request ids are the device's own: a person's
/// devices share one list of applied requests, so the id is kept with the device's.
async fn apply_change(
    app: &Arc<App>,
    user: &presence::UserId,
    device: &presence::DeviceId,
    request: &RequestId,
    change: presence::Change,
) -> Result<(), AppError> {
    check_request(request)?;
    let scoped = RequestId(format!("{}/{}", device.as_str(), request.0));
    app.mutate(user, Some(&scoped), move |p, rules, now| {
        p.apply(rules, now, change.clone()).map_err(AppError::from)
    })
    .await
    .map(|_| ())
}

fn check_request(r: &RequestId) -> Result<(), AppError> {
    if r.0.is_empty() || r.0.len() > 100 {
        return Err(AppError::invalid(
            "the request id must have 1 to 100 characters",
        ));
    }
    if r.0.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "the request id must not contain control characters",
        ));
    }
    Ok(())
}

/// The first protocol version told when a device must report again, and when a report applied.
const REPORT_ANSWERS: u16 = 3;

async fn handle(
    app: &Arc<App>,
    auth: &DeviceAuth,
    protocol: u16,
    conn_id: u64,
    message: ClientMessage,
) -> Option<ServerMessage> {
    let user = &auth.user.id;
    // Every frame's request id is bounded, whatever the frame does with it.
    if let Some(r) = message.request() {
        if let Err(e) = check_request(r) {
            return Some(ServerMessage::Error {
                request: None,
                error: e.wire(),
            });
        }
    }
    let (request, result): (Option<RequestId>, Result<(), AppError>) = match message {
        ClientMessage::WatchBoard => {
            return Some(match app.watch_board(auth, conn_id).await {
                Ok(members) => ServerMessage::BoardSnapshot { members },
                Err(e) => ServerMessage::Error {
                    request: None,
                    error: e.wire(),
                },
            });
        }
        ClientMessage::Hello { .. } => (
            None,
            Err(AppError::invalid(
                "already signed in on this connection: hello is sent once",
            )),
        ),
        ClientMessage::Heartbeat => {
            return match app.heartbeat(&auth.user, &auth.device).await {
                // A laptop that slept past its lease comes back with its connection open: it
                // is told to report again, so its person is not left Offline.
                Ok(Beat::Lapsed) if protocol >= REPORT_ANSWERS => Some(ServerMessage::ReportNeeded {
                    last_seq: None,
                    reason: "this device's lease lapsed (nothing was heard from it for a whole lease): report it again".into(),
                }),
                Ok(_) => Some(ServerMessage::HeartbeatAck {
                    server_time: app.clock.now(),
                }),
                Err(e) => Some(ServerMessage::Error {
                    request: None,
                    error: e.wire(),
                }),
            };
        }
        ClientMessage::DeviceReport { report } => {
            if report.device != auth.device {
                return Some(ServerMessage::Error {
                    request: None,
                    error: WireError::new(
                        ErrorKind::Forbidden,
                        format!(
                            "this connection is device \"{}\": it cannot report for \"{}\"",
                            auth.device.as_str(),
                            report.device.as_str()
                        ),
                    ),
                });
            }
            if let Err(e) = report.check() {
                return Some(ServerMessage::Error {
                    request: None,
                    error: e.into(),
                });
            }
            // A stale or replayed report is ignored by the engine; from protocol 3 the device
            // is told, with the sequence number to report above (a clock set back).
            let seq = report.seq;
            let about = auth.about.clone();
            let r = app
                .mutate(user, None, move |p, rules, now| {
                    let outcome = p.report(rules, now, &report);
                    // Its name and platform from its sign-in, once it is there to carry them.
                    p.describe_device(&report.device, &about);
                    Ok(outcome)
                })
                .await;
            return match r {
                Err(e) => Some(ServerMessage::Error {
                    request: None,
                    error: e.wire(),
                }),
                Ok(_) if protocol < REPORT_ANSWERS => None,
                Ok(Some(presence::ReportOutcome::Stale { last_seq })) => {
                    Some(ServerMessage::ReportNeeded {
                        last_seq: Some(last_seq),
                        reason: format!(
                            "this report (sequence {seq}) is not newer than the last one applied \
                             ({last_seq}): report again above it"
                        ),
                    })
                }
                Ok(_) => Some(ServerMessage::ReportApplied { seq }),
            };
        }
        ClientMessage::Change { request, change } => {
            let r = apply_change(app, user, &auth.device, &request, change).await;
            (Some(request), r)
        }
        ClientMessage::MarkRead {
            request,
            notifications,
        } => {
            let r = app
                .mark(user, Some(&notifications), false)
                .await
                .map(|_| ());
            (Some(request), r)
        }
        ClientMessage::Dismiss {
            request,
            notifications,
        } => {
            let r = app.mark(user, Some(&notifications), true).await.map(|_| ());
            (Some(request), r)
        }
        ClientMessage::MarkAllRead { request } => {
            let r = app.mark(user, None, false).await.map(|_| ());
            (Some(request), r)
        }
    };
    Some(match result {
        Ok(()) => ServerMessage::Ack {
            request: request.expect("every request-carrying message sets it"),
        },
        Err(e) => ServerMessage::Error {
            request,
            error: e.wire(),
        },
    })
}
