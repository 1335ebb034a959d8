//! Writing to a connection: a frame within [`SEND_TIMEOUT`], an `error`, and the close frames
//! with the code each ending calls for.

use super::{HARD_FRAME_LIMIT, SEND_TIMEOUT};
use crate::error::AppError;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use clock::Clock;
use protocol::{encode, ErrorKind, RequestId, ServerMessage, WireError};
use std::future::Future;
use std::task::Poll;

pub(super) fn error_frame(request: Option<RequestId>, error: WireError) -> Message {
    Message::Text(encode(&ServerMessage::Error { request, error }).into())
}

pub(super) async fn close(clock: &dyn Clock, mut socket: WebSocket, code: u16, error: WireError) {
    close_with(clock, &mut socket, code, error).await;
}

pub(super) trait KindStr {
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

/// Writes a frame, or gives up after [`SEND_TIMEOUT`]: the connection then ends and its memory
/// is released.
pub(super) async fn send_within(
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

pub(super) async fn close_with(
    clock: &dyn Clock,
    socket: &mut WebSocket,
    code: u16,
    error: WireError,
) {
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
pub(super) async fn close_for_violation(
    clock: &dyn Clock,
    socket: &mut WebSocket,
    error: &axum::Error,
) {
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
