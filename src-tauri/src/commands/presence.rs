//! The person's own presence: what is shown, why, and the one command that changes it.
//!
//! A change goes one way: the window (or the tray) asks with a [`ChangeRequest`], the app applies
//! it through the client core (or the local engine), and the new state comes back to the window
//! and the tray alike as one `presence-changed` event from the presenter. The command's answer
//! is only whether the change was taken: a refusal comes back as the engine's or the server's
//! words, to be shown where the person made the change.

use crate::state::{AppState, CommandError, Snapshot};
use protocol::ipc::{ChangeRequest, CommandErrorKind};
use tauri::State;

#[tauri::command]
pub fn get_snapshot(state: State<'_, AppState>) -> Snapshot {
    state.snapshot()
}

/// Why the person is shown as they are: asked when the window shows it, not on every change.
#[tauri::command]
pub async fn explain(state: State<'_, AppState>) -> Result<presence::Explanation, CommandError> {
    match state.remote.get() {
        Some(r) => r.api.explain(&r.token).await.map_err(|e| {
            CommandError::new(
                CommandErrorKind::Offline,
                format!("{e}: the explanation needs the server"),
            )
        }),
        None => Ok(state.explain()),
    }
}

/// A status, a message, a pause, the end of a wrap-up: every change the person makes.
#[tauri::command]
pub async fn change(
    state: State<'_, AppState>,
    request: ChangeRequest,
) -> Result<(), CommandError> {
    state.ask(request).await
}
