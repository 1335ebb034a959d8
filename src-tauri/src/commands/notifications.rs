//! The notification center: list, read, open, dismiss.

use super::{needs_server, offline};
use crate::state::{AppState, CommandError};
use presently_client::sync::Command;
use protocol::ipc::{CenterItem, CommandErrorKind};
use tauri::State;

#[tauri::command]
pub async fn get_center(state: State<'_, AppState>) -> Result<Vec<CenterItem>, CommandError> {
    Ok(match state.remote.get() {
        Some(r) => r.center().await,
        None => vec![],
    })
}

#[tauri::command]
pub fn mark_read(state: State<'_, AppState>, seqs: Vec<u64>) -> Result<(), CommandError> {
    state
        .remote
        .get()
        .ok_or_else(needs_server)?
        .mark(seqs, false);
    Ok(())
}

/// Opens a notification: marks it read everywhere and opens its link in the system's browser.
/// Returns the link (none: the window shows the whole notification instead).
#[tauri::command]
pub async fn open_notification(
    state: State<'_, AppState>,
    seq: u64,
) -> Result<Option<String>, CommandError> {
    let remote = state.remote.get().ok_or_else(needs_server)?;
    let link = remote.open(seq).await.map_err(|e| {
        CommandError::new(
            CommandErrorKind::Store,
            format!("the notification could not be read from this computer's store: {e}"),
        )
    })?;
    if let Some(link) = &link {
        let link = link.clone();
        tauri::async_runtime::spawn_blocking(move || crate::links::open_link(&link))
            .await
            .map_err(|e| offline(format!("opening the link stopped: {e}")))??;
    }
    Ok(link.map(String::from))
}

#[tauri::command]
pub fn dismiss(state: State<'_, AppState>, seqs: Vec<u64>) -> Result<(), CommandError> {
    state
        .remote
        .get()
        .ok_or_else(needs_server)?
        .mark(seqs, true);
    Ok(())
}

#[tauri::command]
pub fn mark_all_read(state: State<'_, AppState>) -> Result<(), CommandError> {
    state
        .remote
        .get()
        .ok_or_else(needs_server)?
        .send(Command::MarkAllRead);
    Ok(())
}
