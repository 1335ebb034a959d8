//! The presence panel.

use crate::state::AppState;
use protocol::ipc::{CommandError, CommandErrorKind, TeamPanel};
use protocol::rest::Directory;
use tauri::State;

#[tauri::command]
pub fn get_team(state: State<'_, AppState>) -> TeamPanel {
    state.team()
}

/// Everyone in the organisation who matches `query` (and `family`, when given), as teammates
/// see them: the organisation's directory, from the server.
#[tauri::command]
pub async fn search_directory(
    state: State<'_, AppState>,
    query: String,
    family: Option<presence::Family>,
) -> Result<Directory, CommandError> {
    let Some(r) = state.remote.get() else {
        return Err(CommandError::new(
            CommandErrorKind::Offline,
            "the directory is on the server: sign in to a server in Settings to search your organisation",
        ));
    };
    r.api
        .directory(&r.token, &query, family)
        .await
        .map_err(|e| CommandError::new(CommandErrorKind::Offline, e.to_string()))
}
