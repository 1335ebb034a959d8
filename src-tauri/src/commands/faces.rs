//! People's photos for the window: each as a `data:` URL (kept on this computer after the first
//! fetch), and the person's own photo set or removed. A change reaches the window as a new
//! version in the next team snapshot, for the person and their teammates alike.

use super::{api_error, needs_server};
use crate::state::AppState;
use base64::Engine as _;
use protocol::ipc::{CommandError, CommandErrorKind};
use tauri::State;

/// `user`'s photo `version` at `size` pixels (rounded up to a stored size) as a `data:` URL;
/// none when there is no photo (the window shows initials).
#[tauri::command]
pub async fn get_face(
    state: State<'_, AppState>,
    user: String,
    version: String,
    size: u32,
) -> Result<Option<String>, CommandError> {
    let Some(r) = state.remote.get() else {
        return Ok(None);
    };
    let user = presence::UserId::parse(user)
        .map_err(|e| CommandError::new(CommandErrorKind::Invalid, e.to_string()))?;
    let path = r
        .faces
        .get(&r.api, &r.token, &user, &version, size)
        .await
        .map_err(|e| CommandError::new(CommandErrorKind::Offline, e.to_string()))?;
    let Some(path) = path else { return Ok(None) };
    let jpeg = std::fs::read(&path).map_err(|e| {
        CommandError::new(
            CommandErrorKind::Internal,
            format!("a kept photo could not be read ({}): {e}", path.display()),
        )
    })?;
    Ok(Some(format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(jpeg)
    )))
}

/// Sets the person's photo from the image the window sends as the request's body (a PNG,
/// JPEG or WebP file the person chose; the server checks, crops and re-encodes it).
#[tauri::command]
pub async fn set_photo(
    state: State<'_, AppState>,
    request: tauri::ipc::Request<'_>,
) -> Result<(), CommandError> {
    let r = state.remote.get().ok_or_else(needs_server)?;
    let tauri::ipc::InvokeBody::Raw(image) = request.body() else {
        return Err(CommandError::new(
            CommandErrorKind::Invalid,
            "the photo must be sent as the file's bytes",
        ));
    };
    r.api
        .set_avatar(&r.token, image.clone())
        .await
        .map_err(api_error)?;
    Ok(())
}

/// Removes the person's photo: everyone sees their initials.
#[tauri::command]
pub async fn remove_photo(state: State<'_, AppState>) -> Result<(), CommandError> {
    let r = state.remote.get().ok_or_else(needs_server)?;
    r.api.remove_avatar(&r.token).await.map_err(api_error)?;
    Ok(())
}
