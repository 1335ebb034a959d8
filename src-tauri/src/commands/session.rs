//! Signing in to a server from the window.

use super::offline;
use crate::state::CommandError;
use presently_client::server::{Server, Trust};
use presently_client::session::Session;

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
