//! What a frame does, once its connection has decoded it: a change to the person's presence,
//! a device's report or heartbeat, reading and dismissing notifications, an administrator's
//! board. The answer (an `ack`, an `error`, or nothing) goes back through the connection.

use crate::app::{App, Beat, DeviceAuth};
use crate::error::AppError;
use protocol::{ClientMessage, ErrorKind, RequestId, ServerMessage, WireError};
use std::sync::Arc;

fn check_request(r: &RequestId) -> Result<(), AppError> {
    r.problem().map_or(Ok(()), |p| Err(AppError::invalid(p)))
}

/// The first protocol version told when a device must report again, and when a report applied.
const REPORT_ANSWERS: u16 = 3;

pub(super) async fn handle(
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
        ClientMessage::WatchPeople { people } => {
            return Some(match app.watch_people(auth, conn_id, people).await {
                Ok(members) => ServerMessage::Watching { members },
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
            let r = app.report_device(user, &auth.about, report).await;
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
            // Applied once by the application layer: a replay is acknowledged and changes nothing.
            let r = app.change(user, &auth.device, &request, change).await;
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
