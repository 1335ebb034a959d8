//! One WebSocket connection: `hello` first, then requests in, presence and notifications out.
//! This module is the connection (frames in and out, limits, the silence timer); the handshake
//! is [`handshake`]'s, writing and closing [`send`]'s, and what a frame does [`handler`]'s.
//!
//! Every bad frame gets a typed `error`; only a failed sign-in, a protocol mismatch, a silent
//! client or one that keeps flooding is disconnected. Nothing a bad frame carries is stored.

mod handler;
mod handshake;
mod send;

use handshake::{greet, hello, Hello, Refused};
pub use send::violation;
use send::{close, close_for_violation, close_with, error_frame, send_within, KindStr as _};

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
use governor::{Quota, RateLimiter};
use protocol::{
    decode_client, encode, ErrorKind, NotificationSeq, RequestId, ServerMessage, WireError,
};
use std::num::NonZeroU32;
use std::sync::Arc;
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
    rx: &mut crate::hub::Receiver,
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
                    while let Some(out) = (!first).then(|| rx.try_recv()).flatten() {
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
            Some(Outgoing::Close(closing)) => {
                let (f, reason) = *closing;
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
