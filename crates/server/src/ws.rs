//! One WebSocket connection: `hello` first, then requests in, presence and notifications out.
//!
//! Every bad frame gets a typed `error`; only a failed sign-in, a protocol mismatch, a silent
//! client or one that keeps flooding is disconnected. Nothing a bad frame carries is stored.

use crate::app::{App, DeviceAuth};
use crate::clock;
use crate::error::AppError;
use crate::hub::{Frame, Outgoing};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use protocol::{
    decode_client, encode, ClientMessage, ErrorKind, NotificationSeq, RequestId, ServerMessage,
    WireError, PROTOCOL_VERSION,
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
/// How many notifications the backlog after a hello carries at most (the rest by REST).
pub const BACKLOG: u32 = 1000;

pub async fn upgrade(State(app): State<Arc<App>>, ws: WebSocketUpgrade) -> Response {
    // Small initial buffers (they grow when a frame needs it): tens of thousands of mostly
    // idle connections must not each hold 128 KiB.
    ws.read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
        .max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .on_upgrade(move |socket| async move {
            if let Err(e) = connection(app, socket).await {
                tracing::debug!(error = %e, "connection ended");
            }
        })
}

fn error_frame(request: Option<RequestId>, error: WireError) -> Message {
    Message::Text(encode(&ServerMessage::Error { request, error }).into())
}

async fn close(mut socket: WebSocket, code: u16, error: WireError) {
    close_with(&mut socket, code, error).await;
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
    // 1. hello
    let first = match tokio::time::timeout(HELLO_TIMEOUT, socket.recv()).await {
        Err(_) => {
            close(
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
        Ok(None) | Ok(Some(Err(_))) => return Ok(()),
        Ok(Some(Ok(m))) => m,
    };
    let text = match first {
        Message::Text(t) => t,
        _ => {
            close(
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
    let (token, device, resume_after) = match decode_client(text.as_str()) {
        Ok(ClientMessage::Hello {
            protocol,
            token,
            device,
            resume_after,
        }) => {
            if protocol != PROTOCOL_VERSION {
                close(
                    socket,
                    1002,
                    WireError::new(
                        ErrorKind::UnsupportedVersion,
                        format!(
                            "this server speaks protocol {PROTOCOL_VERSION}, the client {protocol}: update the app"
                        ),
                    ),
                )
                .await;
                return Ok(());
            }
            (token, device, resume_after)
        }
        Ok(_) => {
            close(
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
            close(socket, 1008, e).await;
            return Ok(());
        }
    };
    let auth = match app.authenticate_device(&token).await {
        Ok(a) => a,
        Err(e) => {
            close(socket, 1008, e.wire()).await;
            return Ok(());
        }
    };
    if auth.device != device {
        close(
            socket,
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
    let (conn_id, mut rx) = app.hub.register(&user, &auth.device);
    let result = serve(&app, &auth, &mut socket, &mut rx, resume_after).await;
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

enum End {
    ClientClosed,
    Dropped,
}

async fn serve(
    app: &Arc<App>,
    auth: &DeviceAuth,
    socket: &mut WebSocket,
    rx: &mut tokio::sync::mpsc::Receiver<Outgoing>,
    resume_after: Option<NotificationSeq>,
) -> Result<End, AppError> {
    let user = &auth.user;
    let send = |m: ServerMessage| Message::Text(encode(&m).into());
    let io = |e: axum::Error| AppError::internal(e.to_string());
    let cursor = app.db.notification_cursor(user.id.as_str()).await?;
    socket
        .send(send(ServerMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            user: user.id.clone(),
            device: auth.device.clone(),
            server_time: clock::now(),
            cursor: NotificationSeq(cursor),
        }))
        .await
        .map_err(io)?;
    socket
        .send(send(ServerMessage::TeamSnapshot {
            members: app.members(&user.id).await,
        }))
        .await
        .map_err(io)?;
    socket
        .send(send(ServerMessage::SelfUpdate {
            view: app.self_view(user).await,
        }))
        .await
        .map_err(io)?;
    let backlog = match resume_after {
        Some(after) => app
            .db
            .notifications(user.id.as_str(), after.0, BACKLOG, true),
        None => app.db.notifications(user.id.as_str(), 0, BACKLOG, false),
    }
    .await?;
    let mut sent_upto = resume_after.map_or(0, |s| s.0);
    for n in backlog {
        sent_upto = sent_upto.max(n.seq.0);
        socket
            .send(send(ServerMessage::Notification { notification: n }))
            .await
            .map_err(io)?;
    }

    let limiter: DefaultDirectRateLimiter = RateLimiter::direct(
        Quota::per_second(NonZeroU32::new(RATE_PER_SECOND).expect("non-zero"))
            .allow_burst(NonZeroU32::new(RATE_BURST).expect("non-zero")),
    );
    let rules = app.rules(&user.org)?;
    // A client that sends nothing (not even a heartbeat) for a lease is gone: no ghost online.
    let silence = Duration::from_millis(rules.policy.device_lease.millis().max(1000) as u64);
    let mut refused_in_a_row = 0u32;
    let mut shutdown = app.shutdown.clone();
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                let _ = socket.send(Message::Close(Some(CloseFrame { code: 1012, reason: "server restarting".into() }))).await;
                return Ok(End::Dropped);
            }
            out = rx.recv() => {
                let frame: Frame = match out {
                    None => {
                        // The hub dropped us: this client fell too far behind.
                        let _ = socket.send(error_frame(None, WireError::new(ErrorKind::RateLimited, "this connection fell too far behind and is closed: reconnect to resume"))).await;
                        return Ok(End::Dropped);
                    }
                    Some(Outgoing::Frame(f)) => f,
                    Some(Outgoing::Notification { seq, frame }) => {
                        if seq <= sent_upto { continue; }
                        sent_upto = seq;
                        frame
                    }
                    Some(Outgoing::Close(f)) => {
                        let _ = socket.send(Message::Text(f)).await;
                        let _ = socket.send(Message::Close(Some(CloseFrame { code: 1008, reason: "signed out".into() }))).await;
                        return Ok(End::Dropped);
                    }
                };
                socket.send(Message::Text(frame)).await.map_err(io)?;
            }
            incoming = tokio::time::timeout(silence, socket.recv()) => {
                let msg = match incoming {
                    Err(_) => {
                        close_with(socket, 1001, WireError::new(ErrorKind::Invalid, "nothing received for a whole device lease: send a heartbeat every 30 s")).await;
                        return Ok(End::Dropped);
                    }
                    Ok(None) => return Ok(End::Dropped),
                    Ok(Some(Err(_))) => return Ok(End::Dropped),
                    Ok(Some(Ok(m))) => m,
                };
                let text = match msg {
                    Message::Text(t) => t,
                    Message::Close(_) => return Ok(End::ClientClosed),
                    Message::Ping(_) | Message::Pong(_) => continue,
                    Message::Binary(_) => {
                        socket.send(error_frame(None, WireError::new(ErrorKind::Malformed, "binary frames are not accepted: send JSON text"))).await.map_err(io)?;
                        continue;
                    }
                };
                if limiter.check().is_err() {
                    refused_in_a_row += 1;
                    if refused_in_a_row >= FLOOD_LIMIT {
                        close_with(socket, 1008, WireError::new(ErrorKind::RateLimited, "too many frames: the connection is closed; reconnect and send at most 20 per second")).await;
                        return Ok(End::Dropped);
                    }
                    let request = request_of(text.as_str());
                    socket.send(error_frame(request, WireError::new(ErrorKind::RateLimited, format!("more than {RATE_PER_SECOND} frames per second: this one was not applied; slow down and send it again")))).await.map_err(io)?;
                    continue;
                }
                refused_in_a_row = 0;
                let reply = match decode_client(text.as_str()) {
                    Err(e) => Some(ServerMessage::Error { request: request_of(text.as_str()), error: e }),
                    Ok(m) => handle(app, auth, m).await,
                };
                if let Some(reply) = reply {
                    socket.send(send(reply)).await.map_err(io)?;
                }
            }
        }
    }
}

async fn close_with(socket: &mut WebSocket, code: u16, error: WireError) {
    let _ = socket.send(error_frame(None, error.clone())).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: error.kind_str().into(),
        })))
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
/// and changes nothing), stored, published.
async fn change(
    app: &Arc<App>,
    user: &presence::UserId,
    request: &RequestId,
    f: impl FnOnce(
        &mut presence::Person,
        &presence::Rules,
        presence::Timestamp,
    ) -> Result<(), presence::PresenceError>,
) -> Result<(), AppError> {
    check_request(request)?;
    app.mutate(user, Some(request), move |p, rules, now| {
        f(p, rules, now).map_err(AppError::from)
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
    Ok(())
}

async fn handle(
    app: &Arc<App>,
    auth: &DeviceAuth,
    message: ClientMessage,
) -> Option<ServerMessage> {
    let user = &auth.user.id;
    let (request, result): (Option<RequestId>, Result<(), AppError>) = match message {
        ClientMessage::Hello { .. } => (
            None,
            Err(AppError::invalid(
                "already signed in on this connection: hello is sent once",
            )),
        ),
        ClientMessage::Heartbeat => {
            return match app.heartbeat(&auth.user, &auth.device).await {
                Ok(_) => Some(ServerMessage::HeartbeatAck {
                    server_time: clock::now(),
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
            // A stale or replayed report is ignored by the engine; there is nothing to answer.
            let r = app
                .mutate(user, None, move |p, rules, now| {
                    p.report(rules, now, &report);
                    Ok(())
                })
                .await;
            return r.err().map(|e| ServerMessage::Error {
                request: None,
                error: e.wire(),
            });
        }
        ClientMessage::SetStatus {
            request,
            status,
            until,
        } => {
            let r = change(app, user, &request, move |p, rules, now| {
                p.choose(rules, now, status, until).map(|_| ())
            })
            .await;
            (Some(request), r)
        }
        ClientMessage::SetMessage {
            request,
            text,
            emoji,
            clear_after,
        } => {
            let r = change(app, user, &request, move |p, rules, now| {
                p.set_message(rules, now, text, emoji, clear_after)
            })
            .await;
            (Some(request), r)
        }
        ClientMessage::ClearMessage { request } => {
            let r = change(app, user, &request, |p, rules, now| {
                p.clear_message(rules, now);
                Ok(())
            })
            .await;
            (Some(request), r)
        }
        ClientMessage::PauseNotifications { request, until } => {
            let r = change(app, user, &request, move |p, rules, now| match until {
                Some(u) => p.pause_notifications(rules, now, u),
                None => {
                    p.resume_notifications(rules, now);
                    Ok(())
                }
            })
            .await;
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
