//! The app connecting to its server: which server, signing in again with backoff while it is
//! down, the update check, and what a desktop notification's buttons do once connected.

use crate::state::AppState;
use crate::{remote, tray};
use protocol::ipc::events;
use std::time::Duration;
use tauri::Manager;

/// How often the app asks its server for a newer release.
const UPDATE_CHECK: Duration = Duration::from_secs(6 * 3600);

/// The server to connect to: `PRESENTLY_SERVER` (with `PRESENTLY_EMAIL` and
/// `PRESENTLY_PASSWORD` for the first sign-in), or the session the store keeps from a sign-in in
/// the window. None: the first-run screen, or the engine alone for this device.
pub(crate) async fn remote_config(
    store: &presently_client::store::Store,
) -> Option<remote::Config> {
    if let Some(server) = std::env::var("PRESENTLY_SERVER")
        .ok()
        .filter(|s| !s.is_empty())
    {
        return Some(remote::Config {
            server,
            email: std::env::var("PRESENTLY_EMAIL").ok(),
            password: std::env::var("PRESENTLY_PASSWORD").ok(),
        });
    }
    let server = store.get("server").await.ok().flatten()?;
    store.get("token").await.ok().flatten()?;
    Some(remote::Config {
        server,
        email: None,
        password: None,
    })
}

/// The app runs on the client core from now on: the presenter takes its events, and desktop
/// notification buttons act.
pub(crate) fn connected<R: tauri::Runtime>(app: &tauri::AppHandle<R>, r: remote::Remote) {
    let state = app.state::<AppState>();
    let notifier = r.notifier.clone();
    let server = r.server.clone();
    if state.remote.set(r).is_err() {
        return;
    }
    if let Ok(mut e) = state.startup_error.lock() {
        *e = None;
    }
    let on_click = app.clone();
    notifier.listen_for_actions(move |a| on_notification_action(&on_click, a));
    tauri::async_runtime::spawn(check_for_updates(app.clone()));
    tracing::info!(%server, "connecting to the server");
    // The presenter takes the client core's events from here, and redraws everything.
    state.changed.notify_one();
}

pub(crate) fn not_connected<R: tauri::Runtime>(
    app: &tauri::AppHandle<R>,
    server: &str,
    e: &remote::StartError,
    retrying: bool,
) {
    tracing::error!("not connected to {server}: {e}");
    let text = if retrying {
        format!("Not connected to {server}: {e}. Trying again…")
    } else {
        format!("Not connected to {server}: {e}")
    };
    let state = app.state::<AppState>();
    if let Ok(mut slot) = state.startup_error.lock() {
        *slot = Some(text);
    }
    state.changed.notify_one();
}

/// Asks the server what it is now and then (its version, and a newer app its administrator
/// publishes); the tray and the window show an update when there is one.
async fn check_for_updates<R: tauri::Runtime>(app: tauri::AppHandle<R>) {
    loop {
        let state = app.state::<AppState>();
        let Some(r) = state.remote.get() else { return };
        match r.api.version().await {
            Ok(v) => {
                if let Ok(mut known) = state.server_version.lock() {
                    *known = Some(v);
                }
                if let Some(release) = state.update() {
                    tracing::info!(latest = %release.version, url = %release.url, "an update is available");
                }
                state.changed.notify_one();
                tokio::time::sleep(UPDATE_CHECK).await;
            }
            Err(e) => {
                tracing::debug!("the server's version could not be read: {e}");
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
        }
    }
}

/// Tries to sign in and start again, with backoff (2 s doubling to 60 s), until the server
/// answers or says no.
pub(crate) async fn retry_start<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    config: remote::Config,
    store: presently_client::store::Store,
) {
    let mut wait = Duration::from_secs(2);
    loop {
        tokio::time::sleep(wait).await;
        let clock = app.state::<AppState>().clock.clone();
        match remote::Remote::start(config.clone(), clock, store.clone()).await {
            Ok(r) => return connected(&app, r),
            Err(e) => {
                let transient = e.is_transient();
                not_connected(&app, &config.server, &e, transient);
                if !transient {
                    return;
                }
            }
        }
        wait = (wait * 2).min(Duration::from_secs(60));
    }
}

/// A click on a desktop notification: Mark read marks it read everywhere; Open (or the
/// notification itself) opens its link, or shows it in the window's center when it has none; the
/// missed summary shows the center.
fn on_notification_action<R: tauri::Runtime>(
    app: &tauri::AppHandle<R>,
    action: presently_client::notifier::Action,
) {
    use presently_client::notifier::Action;
    use tauri::Emitter;
    let state = app.state::<AppState>();
    let Some(r) = state.remote.get() else { return };
    tracing::info!(?action, "desktop notification clicked");
    let show: Option<u64> = match action {
        Action::MarkRead(seq) => {
            r.mark(vec![seq], false);
            return;
        }
        Action::Open(seq) => match tauri::async_runtime::block_on(r.open(seq)) {
            Ok(Some(link)) => match crate::links::open_link(&link) {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!("{e}");
                    Some(seq)
                }
            },
            _ => Some(seq),
        },
        Action::OpenCenter => None,
    };
    tray::show_window(app);
    let _ = app.emit(events::SHOW_CENTER, show);
}
