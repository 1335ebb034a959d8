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

/// The directory's results on screen (beyond the team and favourites), watched live while they
/// are shown: their views come with the next `team-changed`, in `glances`. An empty list stops.
#[tauri::command]
pub fn watch_people(state: State<'_, AppState>, people: Vec<String>) -> Result<(), CommandError> {
    let people = people
        .into_iter()
        .take(protocol::MAX_WATCHED)
        .map(person)
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(r) = state.remote.get() {
        r.sync.watch(people);
    }
    Ok(())
}

fn remote(state: &AppState) -> Result<&crate::remote::Remote, CommandError> {
    state.remote.get().ok_or_else(|| {
        CommandError::new(
            CommandErrorKind::Offline,
            "favourites are kept on the server: sign in to a server in Settings",
        )
    })
}

fn person(user: String) -> Result<presence::UserId, CommandError> {
    presence::UserId::parse(user)
        .map_err(|e| CommandError::new(CommandErrorKind::Invalid, e.to_string()))
}

/// Whom the person pinned, and whom they wait to be told is Available.
#[tauri::command]
pub async fn get_favourites(
    state: State<'_, AppState>,
) -> Result<protocol::rest::Favourites, CommandError> {
    let r = remote(&state)?;
    r.api.favourites(&r.token).await.map_err(super::api_error)
}

/// Pins (`on`) or unpins someone: the team snapshot that follows shows them first.
#[tauri::command]
pub async fn set_favourite(
    state: State<'_, AppState>,
    user: String,
    on: bool,
) -> Result<(), CommandError> {
    let r = remote(&state)?;
    r.api
        .set_favourite(&r.token, &person(user)?, on)
        .await
        .map_err(super::api_error)
}

/// Asks once to be told (a desktop notification) when someone becomes Available, or stops.
#[tauri::command]
pub async fn set_alert(
    state: State<'_, AppState>,
    user: String,
    on: bool,
) -> Result<(), CommandError> {
    let r = remote(&state)?;
    r.api
        .set_alert(&r.token, &person(user)?, on)
        .await
        .map_err(super::api_error)
}
