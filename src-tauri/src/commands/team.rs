//! The presence panel.

use crate::state::AppState;
use protocol::ipc::TeamPanel;
use tauri::State;

#[tauri::command]
pub fn get_team(state: State<'_, AppState>) -> TeamPanel {
    state.remote.get().map(|r| r.team()).unwrap_or(TeamPanel {
        members: vec![],
        stale_since: None,
    })
}
