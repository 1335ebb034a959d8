//! The IPC commands the window calls, one module per capability. Thin: parse, call the state
//! (the client core when connected to a server, else the local engine) and answer; errors are
//! `CommandError {kind, message, field}` with a typed kind. What a change does reaches the window
//! from the presenter, not from a command's answer.

pub mod calendar;
pub mod faces;
pub mod notifications;
pub mod panel;
pub mod presence;
pub mod session;
pub mod settings;
pub mod team;

use protocol::ipc::{CommandError, CommandErrorKind};

fn needs_server() -> CommandError {
    CommandError::new(
        CommandErrorKind::Offline,
        "this needs a server: start the app with PRESENTLY_SERVER (scripts/run.sh does)",
    )
}

fn offline(e: impl std::fmt::Display) -> CommandError {
    CommandError::new(CommandErrorKind::Offline, format!("{e}"))
}

/// The server's answer as the window's error: a refusal (the engine's words, through the server)
/// is `invalid`; not reaching it is `offline`.
fn api_error(e: presently_client::api::ApiError) -> CommandError {
    use presently_client::api::ApiError;
    let kind = match &e {
        ApiError::Refused { status, .. } if (400..500).contains(status) && *status != 401 => {
            CommandErrorKind::Invalid
        }
        ApiError::Refused { status: 401, .. } => CommandErrorKind::SignedOut,
        _ => CommandErrorKind::Offline,
    };
    CommandError::new(kind, e.to_string())
}
