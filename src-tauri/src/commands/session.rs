//! Signing in to a server from the window (the first-run screen, or Settings), signing out,
//! "use without a server", and what the About view shows.

use super::offline;
use crate::state::{AppState, CommandError};
use presently_client::server::{Server, Trust};
use presently_client::session::{Session, SessionError};
use protocol::ipc::{About, CommandErrorKind};
use protocol::rest;
use std::sync::atomic::Ordering;
use tauri::State;

fn store(state: &AppState) -> Result<&presently_client::store::Store, CommandError> {
    state.store.get().ok_or_else(|| {
        CommandError::new(
            CommandErrorKind::Internal,
            "the local store could not be opened (see the connection line): quit \
                  Presently and start it again",
        )
    })
}

/// A sign-in's failure in words: the server's reason, a certificate or network problem, or a
/// protocol mismatch saying which side to update.
fn refused(e: SessionError) -> CommandError {
    let kind = match &e {
        SessionError::Api(presently_client::api::ApiError::Refused { status: 401, .. }) => {
            CommandErrorKind::Invalid
        }
        SessionError::Sso(_)
        | SessionError::Api(presently_client::api::ApiError::Refused {
            status: 403 | 404, ..
        }) => CommandErrorKind::Invalid,
        _ => CommandErrorKind::Offline,
    };
    CommandError::new(kind, e.to_string())
}

/// The server at `address`, checked before signing in: reachable, trusted, and speaking this
/// app's protocol.
async fn checked(address: &str) -> Result<(Server, Option<rest::ServerVersion>), CommandError> {
    let address = address.trim();
    if address.is_empty() {
        return Err(CommandError::new(
            CommandErrorKind::Invalid,
            "enter your organisation's server address, such as https://presently.example.org",
        ));
    }
    let server = Server::new(address, &Trust::from_env()).map_err(|e| refused(e.into()))?;
    let version = Session::check(&server).await.map_err(refused)?;
    Ok((server, version))
}

/// Signs in to a server with an email and password, remembers it, and connects.
#[tauri::command]
pub async fn sign_in<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    server: String,
    email: String,
    password: String,
    device_name: Option<String>,
) -> Result<(), CommandError> {
    let about = described(device_name)?;
    let (server, version) = checked(&server).await?;
    let session = Session::sign_in(store(&state)?, &server, &email, &password, None, &about)
        .await
        .map_err(refused)?;
    signed_in(&app, &state, session, version).await
}

/// Signs in through the organisation's identity provider (single sign-on): the system
/// browser goes there and comes back to a loopback address of this app's (RFC 8252), which
/// exchanges the one-time code with the PKCE verifier only it holds; then connects.
#[tauri::command]
pub async fn sign_in_sso<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    server: String,
    email: String,
    device_name: Option<String>,
) -> Result<(), CommandError> {
    let about = described(device_name)?;
    let (server, version) = checked(&server).await?;
    let start = presently_client::sso::SsoStart::begin(&server, &email)
        .await
        .map_err(refused)?;
    tauri_plugin_opener::open_url(&start.url, None::<&str>).map_err(|e| {
        CommandError::new(
            CommandErrorKind::OpenFailed,
            format!(
                "could not open the browser to sign in ({e}): set a default web browser for this desktop, or use presently-cli login --sso --no-browser"
            ),
        )
    })?;
    let session = start
        .finish(store(&state)?, &about)
        .await
        .map_err(refused)?;
    signed_in(&app, &state, session, version).await
}

/// Signs in with an invite code (or a password reset code) from an administrator, setting the
/// password, and connects.
#[tauri::command]
pub async fn redeem_code<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    server: String,
    code: String,
    password: String,
    name: Option<String>,
    device_name: Option<String>,
) -> Result<(), CommandError> {
    let about = described(device_name)?;
    let (server, version) = checked(&server).await?;
    let name = name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let session = Session::redeem(
        store(&state)?,
        &server,
        code.trim(),
        &password,
        name,
        &about,
    )
    .await
    .map_err(refused)?;
    signed_in(&app, &state, session, version).await
}

/// This computer as it signs in: the name the person gave it, or its host name.
fn described(device_name: Option<String>) -> Result<presence::DeviceAbout, CommandError> {
    let mut about = presently_client::session::this_computer();
    if let Some(name) = device_name.filter(|n| !n.trim().is_empty()) {
        about.name = Some(presence::DeviceName::parse(name)?);
    }
    Ok(about)
}

/// Connects to the server just signed in to: at once when the app runs on its own, by
/// restarting when it was connected to another server.
async fn signed_in<R: tauri::Runtime>(
    app: &tauri::AppHandle<R>,
    state: &AppState,
    session: Session,
    version: Option<rest::ServerVersion>,
) -> Result<(), CommandError> {
    let store = store(state)?;
    let _ = store.remove(crate::LOCAL_ONLY).await;
    let address = session.server.address();
    if state.remote.get().is_some() {
        tracing::info!(server = %address, "signed in to another server; restarting to connect");
        store.close().await;
        app.restart();
    }
    if let Ok(mut v) = state.server_version.lock() {
        *v = version;
    }
    let config = crate::remote::Config {
        server: address,
        email: None,
        password: None,
    };
    let remote = crate::remote::Remote::start(config, state.clock.clone(), store.clone())
        .await
        .map_err(|e| offline(format!("signed in, but could not start: {e}")))?;
    state.first_run.store(false, Ordering::SeqCst);
    crate::connection::connected(app, remote);
    Ok(())
}

/// "Use without a server": the app keeps this device's status on its own, and the sign-in
/// screen does not come back at the next start (Settings still offers to sign in).
#[tauri::command]
pub async fn use_without_server(state: State<'_, AppState>) -> Result<(), CommandError> {
    store(&state)?
        .set(crate::LOCAL_ONLY, "yes")
        .await
        .map_err(offline)?;
    state.first_run.store(false, Ordering::SeqCst);
    Ok(())
}

/// Signs this device out: the server revokes its token (when it can be reached; the token is
/// forgotten here either way), and the app starts again at the sign-in screen. The center and
/// the device id stay.
#[tauri::command]
pub async fn sign_out<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<(), CommandError> {
    let store = store(&state)?;
    if let Some(r) = state.remote.get() {
        if let Err(e) = r.api.sign_out(&r.token).await {
            tracing::warn!(
                "the server could not be told of the sign-out ({e}); forgetting the token here"
            );
        }
    }
    store.remove("token").await.map_err(offline)?;
    store.remove("server").await.map_err(offline)?;
    tracing::info!("signed out; restarting at the sign-in screen");
    store.close().await;
    app.restart();
}

/// This app's version and protocol, the server's, and whether the sign-in screen shows.
#[tauri::command]
pub async fn get_about(state: State<'_, AppState>) -> Result<About, CommandError> {
    let (server, account) = match state.remote.get() {
        Some(r) => (
            Some(r.server.clone()),
            r.api.me(&r.token).await.ok().map(|m| m.email),
        ),
        None => (None, None),
    };
    let server_version = state
        .server_version
        .lock()
        .ok()
        .and_then(|v| v.as_ref().map(|v| v.server.clone()));
    Ok(About {
        version: env!("CARGO_PKG_VERSION").to_string(),
        protocol: protocol::PROTOCOL_VERSION,
        server,
        server_version,
        account,
        first_run: state.first_run.load(Ordering::SeqCst),
        update: state.update(),
    })
}

fn remote(state: &AppState) -> Result<&crate::remote::Remote, CommandError> {
    state.remote.get().ok_or_else(|| {
        CommandError::new(
            CommandErrorKind::Offline,
            "not signed in to a server: sign in under Server and sign-in first",
        )
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

/// Opens where the server's administrator says to get the newer app, in the browser.
#[tauri::command]
pub fn open_update(state: State<'_, AppState>) -> Result<(), CommandError> {
    state.open_update()
}
