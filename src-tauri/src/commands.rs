//! The IPC commands the window calls. Thin: parse, call the state, emit the change.

use presence::{StatusId, Timestamp};
use tauri::{AppHandle, Runtime, State};

use crate::state::{AppState, CommandError, Snapshot};
use crate::tray;

#[tauri::command]
pub fn get_snapshot(state: State<'_, AppState>) -> Snapshot {
    state.snapshot()
}

#[tauri::command]
pub fn explain(state: State<'_, AppState>) -> presence::Explanation {
    state.explain()
}

/// `until` in milliseconds since the epoch, or none for "until I change it".
#[tauri::command]
pub fn set_status<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    status: String,
    until: Option<i64>,
) -> Result<Snapshot, CommandError> {
    let status: StatusId = status.parse()?;
    let snapshot = state.choose(status, until.map(Timestamp))?;
    tray::refresh(&app, &snapshot);
    Ok(snapshot)
}
