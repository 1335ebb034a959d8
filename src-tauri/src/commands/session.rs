//! Signing in to a server from the window.

use super::offline;
use crate::state::{AppState, CommandError};
use presently_client::server::{Server, Trust};
use presently_client::session::Session;
use protocol::ipc::CommandErrorKind;
use protocol::rest;
use tauri::State;

/// Signs in to a server, remembers it, and restarts the app connected to it.
#[tauri::command]
pub async fn sign_in<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    server: String,
    email: String,
    password: String,
) -> Result<(), CommandError> {
    let path = std::env::var_os("PRESENTLY_STORE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(presently_client::store::default_path);
    let store = presently_client::store::Store::open(&path)
        .await
        .map_err(offline)?;
    let server = Server::new(&server, &Trust::from_env()).map_err(offline)?;
    let session = Session::sign_in(&store, &server, &email, &password, None)
        .await
        .map_err(offline)?;
    let server = session.server;
    store.close().await;
    tracing::info!(%server, "signed in; restarting to connect");
    app.restart();
}

fn remote(state: &AppState) -> Result<&crate::remote::Remote, CommandError> {
    state.remote.get().ok_or_else(|| CommandError {
        kind: CommandErrorKind::Offline,
        message: "not signed in to a server: sign in under Server and sign-in first".into(),
    })
}

/// The person's signed-in devices (this one marked current).
#[tauri::command]
pub async fn my_devices(state: State<'_, AppState>) -> Result<rest::Devices, CommandError> {
    let r = remote(&state)?;
    r.api.devices(&r.token).await.map_err(offline)
}

/// Signs another of the person's devices out.
#[tauri::command]
pub async fn sign_out_device(
    state: State<'_, AppState>,
    device: String,
) -> Result<(), CommandError> {
    let r = remote(&state)?;
    let device = presence::DeviceId::parse(device)?;
    r.api
        .sign_out_device(&r.token, &device)
        .await
        .map_err(offline)
}

/// Changes the person's password (the current one first), optionally signing out every other
/// device.
#[tauri::command]
pub async fn change_password(
    state: State<'_, AppState>,
    current: String,
    new: String,
    sign_out_others: bool,
) -> Result<(), CommandError> {
    let r = remote(&state)?;
    r.api
        .change_password(
            &r.token,
            &rest::ChangePassword {
                current,
                new,
                sign_out_others,
            },
        )
        .await
        .map_err(offline)
}
