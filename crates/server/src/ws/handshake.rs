//! The handshake: a `hello` with a valid token first, then the welcome, the team's snapshot, the
//! person's own view and the notifications they have not seen.

use super::send::send_within;
use super::{BACKLOG, HELLO_TIMEOUT};
use crate::app::{App, DeviceAuth};
use crate::error::AppError;
use axum::extract::ws::{Message, WebSocket};
use protocol::{
    decode_client, encode, ClientMessage, ErrorKind, NotificationSeq, ServerMessage, WireError,
    MIN_PROTOCOL_VERSION, PROTOCOL_VERSION,
};
use std::sync::Arc;

/// How a connection that did not get past its handshake ends.
pub(super) enum Refused {
    /// Closed with this code, after an `error` saying why.
    Close(u16, WireError),
    /// A WebSocket protocol violation: closed with the RFC 6455 code it calls for.
    Violation(axum::Error),
    /// The client went away: nothing to send.
    Gone,
}

/// What a good `hello` established.
pub(super) struct Hello {
    pub auth: DeviceAuth,
    pub protocol: u16,
    pub resume_after: Option<NotificationSeq>,
}

/// The handshake: a `hello` within [`HELLO_TIMEOUT`] (a ping before it is fine: the WebSocket
/// layer answers it), a protocol this server speaks, a valid token for the device it names.
pub(super) async fn hello(app: &App, socket: &mut WebSocket) -> Result<Hello, Refused> {
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

/// The heartbeat a client is asked for: three in every lease, never more often than once a
/// second, never less often than the client's default of 30 s.
fn heartbeat_for(lease_ms: u64) -> u64 {
    (lease_ms / 3).clamp(1000, 30_000)
}

pub(super) async fn greet(
    app: &Arc<App>,
    auth: &DeviceAuth,
    socket: &mut WebSocket,
    resume_after: Option<NotificationSeq>,
) -> Result<(u64, u64), AppError> {
    let user = &auth.user;
    let send = |m: ServerMessage| Message::Text(encode(&m).into());
    // Resuming: everything after the cursor; a fresh start: what is neither read nor dismissed.
    let (cursor, backlog) = app
        .cursor_and_backlog(&user.id, resume_after, BACKLOG, resume_after.is_some())
        .await?;
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
    send_within(&*app.clock, socket, send(app.team_snapshot(&user.id))).await?;
    send_within(
        &*app.clock,
        socket,
        send(ServerMessage::SelfUpdate {
            view: app.self_view(user).await,
        }),
    )
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
