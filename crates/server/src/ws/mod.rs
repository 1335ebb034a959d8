//! One WebSocket connection: `hello` first, then requests in, presence and notifications out.
//! This module is the connection (the handshake, frames, limits, close codes); what a frame
//! does is [`handler`]'s.
//!
//! Every bad frame gets a typed `error`; only a failed sign-in, a protocol mismatch, a silent
//! client or one that keeps flooding is disconnected. Nothing a bad frame carries is stored.

mod handler;

use crate::app::{App, DeviceAuth};
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
use clock::Clock;
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
    // Small buffers (they grow when a frame needs it): tens of thousands of mostly idle
    // connections must not each hold 128 KiB. A client's frames are small (a hello is about
    // 300 bytes); the write buffer is given back after a large frame (vendor/README.md).
    ws.read_buffer_size(2 * 1024)
        .write_buffer_size(8 * 1024)
        .max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .on_upgrade(move |socket| async move {
            // Counted against its address for as long as it lives; over the cap, refused.
            let _counted = match app.hub.admit_address(peer.ip()) {
                Ok(slot) => slot,
                Err(OverCap(why)) => {
                    app.metrics
                        .ws_refused
                        .get_or_create(&vec![("kind", "address_cap")])
                        .inc();
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

type FrameLimiter = crate::limits::Single;

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

/// How a connection that did not get past its handshake ends.
enum Refused {
    /// Closed with this code, after an `error` saying why.
    Close(u16, WireError),
    /// A WebSocket protocol violation: closed with the RFC 6455 code it calls for.
    Violation(axum::Error),
    /// The client went away: nothing to send.
    Gone,
}

/// What a good `hello` established.
struct Hello {
    auth: DeviceAuth,
    protocol: u16,
    resume_after: Option<NotificationSeq>,
}

/// The handshake: a `hello` within [`HELLO_TIMEOUT`] (a ping before it is fine: the WebSocket
/// layer answers it), a protocol this server speaks, a valid token for the device it names.
async fn hello(app: &App, socket: &mut WebSocket) -> Result<Hello, Refused> {
    let unauthorized = |m: &str| Refused::Close(1008, WireError::new(ErrorKind::Unauthorized, m));
    let first_frame = async {
        loop {
            match socket.recv().await {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => return other,
            }
        }
    };
    let text = match clock::timeout(&*app.clock, HELLO_TIMEOUT, first_frame).await {
        Err(_) => {
            return Err(unauthorized(
                "no hello within 10 s: the first frame must be a hello with a token",
            ))
        }
        Ok(None) => return Err(Refused::Gone),
        Ok(Some(Err(e))) => return Err(Refused::Violation(e)),
        Ok(Some(Ok(Message::Text(t)))) => t,
        Ok(Some(Ok(_))) => {
            return Err(Refused::Close(
                1003,
                WireError::new(
                    ErrorKind::Malformed,
                    "frames are JSON text: the first must be a hello",
                ),
            ))
        }
    };
    let (protocol, token, device, resume_after) = match decode_client(text.as_str()) {
        Ok(ClientMessage::Hello {
            protocol,
            token,
            device,
            resume_after,
        }) => (protocol, token, device, resume_after),
        Ok(_) => return Err(unauthorized("the first frame must be a hello with a token")),
        Err(e) => return Err(Refused::Close(1008, e)),
    };
    if let Some(message) =
        protocol::protocol_mismatch(protocol, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION)
    {
        return Err(Refused::Close(
            1002,
            WireError::new(ErrorKind::UnsupportedVersion, message),
        ));
    }
    let auth = app
        .authenticate_device(&token)
        .await
        .map_err(|e| Refused::Close(1008, e.wire()))?;
    if auth.device != device {
        return Err(unauthorized(&format!(
            "this token belongs to device \"{}\", not \"{}\": use the token this device signed in with",
            auth.device.as_str(),
            device.as_str()
        )));
    }
    Ok(Hello {
        auth,
        protocol,
        resume_after,
    })
}

async fn connection(app: Arc<App>, mut socket: WebSocket) -> Result<(), axum::Error> {
    // 1. hello, then 2. register before reading the backlog, so nothing falls between the two
    let registered = match Box::pin(hello(&app, &mut socket)).await {
        Ok(h) => app
            .hub
            .register(&h.auth.user.id, &h.auth.device)
            .map(|r| (h, r))
            .map_err(|OverCap(why)| {
                Refused::Close(1008, WireError::new(ErrorKind::RateLimited, why))
            }),
        Err(refused) => Err(refused),
    };
    let (
        Hello {
            auth,
            protocol,
            resume_after,
        },
        (conn_id, mut rx),
    ) = match registered {
        Ok(r) => r,
        Err(Refused::Close(code, error)) => {
            app.metrics
                .ws_refused
                .get_or_create(&vec![("kind", error.kind_str())])
                .inc();
            close(&*app.clock, socket, code, error).await;
            return Ok(());
        }
        Err(Refused::Violation(e)) => {
            close_for_violation(&*app.clock, &mut socket, &e).await;
            return Ok(());
        }
        Err(Refused::Gone) => return Ok(()),
    };
    let user = auth.user.id.clone();
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
            if let Err(e) = Box::pin(app.device_gone(&user, &auth.device)).await {
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
    // Boxed, as every rarely taken await below: what a connection holds while it waits is only
    // what the loop needs, not the largest future any branch ever awaits (kilobytes, for each
    // of tens of thousands of idle connections).
    let (lease, mut sent_upto) = Box::pin(greet(app, auth, socket, resume_after)).await?;
    let limiter: FrameLimiter = RateLimiter::direct_with_clock(
        Quota::per_second(NonZeroU32::new(RATE_PER_SECOND).expect("non-zero"))
            .allow_burst(NonZeroU32::new(RATE_BURST).expect("non-zero")),
        crate::limits::LimiterClock(app.clock.clone()),
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
                    app.metrics
                        .ws_refused
                        .get_or_create(&vec![("kind", "frame_rate")])
                        .inc();
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
                    Ok(m) => Box::pin(handler::handle(app, auth, protocol, conn_id, m)).await,
                };
                if let Some(reply) = reply {
                    // What the request caused for this connection (its own self view) goes out
                    // before the answer, so a client that sees the ack has the new state. Not
                    // before `watching`: the deltas queued since its people were watched may be
                    // newer than the views it carries, so they follow it.
                    let first = matches!(reply, ServerMessage::Watching { .. });
                    while let Some(out) = (!first).then(|| rx.try_recv().ok()).flatten() {
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

/// The welcome, the team snapshot, the self view and the backlog; returns the device lease in
/// ms and the newest notification sent.
async fn greet(
    app: &Arc<App>,
    auth: &DeviceAuth,
    socket: &mut WebSocket,
    resume_after: Option<NotificationSeq>,
) -> Result<(u64, u64), AppError> {
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
    send_within(&*app.clock, socket, send(app.team_snapshot(&user.id).await)).await?;
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
    Ok((lease, sent_upto))
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
                // Rare, and a query: boxed, so the connection does not hold its future's room.
                Box::pin(resync(app, user, socket, sent_upto)).await?;
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

/// Sends everything after what was sent (a fresh start that sent nothing: the unread).
async fn resync(
    app: &App,
    user: &presence::UserId,
    socket: &mut WebSocket,
    sent_upto: &mut u64,
) -> Result<(), AppError> {
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
        send_within(&*app.clock, socket, Message::Text(encode(&m).into())).await?;
    }
    Ok(())
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
