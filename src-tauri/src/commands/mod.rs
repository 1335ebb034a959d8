//! The IPC commands the window calls, one module per capability. Thin: parse, call the state
//! (the client core when connected to a server, else the local engine) and answer; errors are
//! `CommandError {kind, message}` with a typed kind. The timer task redraws and tells the window.

pub mod notifications;
pub mod presence;
pub mod session;
pub mod settings;
pub mod team;

use protocol::ipc::{CommandError, CommandErrorKind};

fn needs_server() -> CommandError {
    CommandError {
        kind: CommandErrorKind::Offline,
        message: "this needs a server: start the app with PRESENTLY_SERVER (scripts/run.sh does)"
            .into(),
    }
}

fn offline(e: impl std::fmt::Display) -> CommandError {
    CommandError {
        kind: CommandErrorKind::Offline,
        message: format!("{e}"),
    }
}
