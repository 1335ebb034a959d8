//! The IPC commands the window calls. Thin: parse, call the state, emit the change.

use presence::{StatusId, Timestamp};
use tauri::State;

use crate::state::{AppState, CommandError, Snapshot};

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
pub fn set_status(
    state: State<'_, AppState>,
    status: String,
    until: Option<i64>,
) -> Result<Snapshot, CommandError> {
    let status: StatusId = status.parse()?;
    // The timer task, woken by the change, redraws the tray and emits the event.
    state.choose(status, until.map(Timestamp))
}
