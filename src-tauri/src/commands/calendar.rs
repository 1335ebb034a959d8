//! The person's calendar in Settings: which one the server follows (never its secret address),
//! whether it reads, and following another or none.

use super::{api_error, needs_server};
use crate::state::AppState;
use protocol::ipc::CommandError;
use protocol::rest::{CalendarSource, CalendarState};
use tauri::State;

/// The calendar followed and how reading it goes; none: no calendar (or no server).
#[tauri::command]
pub async fn get_calendar(
    state: State<'_, AppState>,
) -> Result<Option<CalendarState>, CommandError> {
    let Some(r) = state.remote.get() else {
        return Ok(None);
    };
    r.api.calendar(&r.token).await.map_err(api_error)
}

/// Follows a calendar (an ICS address, or a CalDAV account), replacing one there was.
#[tauri::command]
pub async fn set_calendar(
    state: State<'_, AppState>,
    source: CalendarSource,
) -> Result<CalendarState, CommandError> {
    let r = state.remote.get().ok_or_else(needs_server)?;
    r.api
        .set_calendar(&r.token, &source)
        .await
        .map_err(api_error)
}

/// Stops following the calendar: its meetings go at once.
#[tauri::command]
pub async fn remove_calendar(state: State<'_, AppState>) -> Result<(), CommandError> {
    let r = state.remote.get().ok_or_else(needs_server)?;
    r.api.remove_calendar(&r.token).await.map_err(api_error)
}
