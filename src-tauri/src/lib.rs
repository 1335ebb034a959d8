//! The desktop app: a Tauri shell around the presence engine, with a tray and a window.

pub mod autostart;
pub mod commands;
pub mod presenter;
pub mod remote;
pub mod state;
pub mod tray;

use protocol::ipc::events;
use std::time::Duration;
use tauri::{Manager, WindowEvent};

use state::AppState;

/// How often the app asks its server for a newer release.
const UPDATE_CHECK: Duration = Duration::from_secs(6 * 3600);

/// The store's key for "use without a server" (chosen on the first-run screen).
pub const LOCAL_ONLY: &str = "local_only";

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "presently=info,presently_app=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    let rules = presence::Rules {
        catalog: presence::Catalog::with_default_custom(),
        ..presence::Rules::default()
    };

    let result = tauri::Builder::default()
        // First, so that a second launch ends before it opens anything of its own.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            tracing::info!("a second launch: showing this one");
            tray::show_window(app);
        }))
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .manage(AppState::new(rules, clock::SystemClock::shared()))
        .invoke_handler(tauri::generate_handler![
            commands::presence::get_snapshot,
            commands::presence::explain,
            commands::presence::change,
            commands::team::get_team,
            commands::team::search_directory,
            commands::notifications::get_center,
            commands::notifications::mark_read,
            commands::notifications::open_notification,
            commands::notifications::dismiss,
            commands::notifications::mark_all_read,
            commands::settings::get_settings,
            commands::settings::save_settings,
            commands::session::sign_in,
            commands::session::redeem_code,
            commands::session::use_without_server,
            commands::session::sign_out,
            commands::session::get_about,
            commands::session::open_update,
            commands::session::my_devices,
            commands::session::sign_out_device,
            commands::session::change_password
        ])
        .on_window_event(|window, event| {
            // Closing the window keeps the app in the tray; Quit is in the tray menu.
            if let WindowEvent::CloseRequested { api, .. } = event {
                let _ = window.hide();
                api.prevent_close();
            }
        })
        .setup(|app| {
            let handle = app.handle().clone();
            if let Some(window) = app.get_webview_window("main") {
                render_on_cpu(&window);
            }
            let state = app.state::<AppState>();
            let store = match tauri::async_runtime::block_on(remote::open_store()) {
                Ok(store) => {
                    let _ = state.store.set(store.clone());
                    Some(store)
                }
                Err(e) => {
                    tracing::error!("the local store could not be opened: {e}");
                    if let Ok(mut slot) = state.startup_error.lock() {
                        *slot = Some(format!("The local store could not be opened: {e}"));
                    }
                    None
                }
            };
            let at_login = autostart::launched_at_login();
            if at_login
                && !tauri::async_runtime::block_on(autostart::enabled(&handle, store.as_ref()))
            {
                tracing::info!("started at login, but start on login is off: quitting");
                handle.exit(0);
                return Ok(());
            }
            let config = store
                .as_ref()
                .and_then(|s| tauri::async_runtime::block_on(remote_config(s)));
            match (config, &store) {
                (Some(config), Some(store)) => {
                    // The first attempt before the tray exists, so that it starts with the
                    // server's view; a server that is not up yet is tried again in the background.
                    let clock = state.clock.clone();
                    let start = remote::Remote::start(config.clone(), clock, store.clone());
                    match tauri::async_runtime::block_on(start) {
                        Ok(r) => connected(&handle, r),
                        Err(e) => {
                            let transient = e.is_transient();
                            not_connected(&handle, &config.server, &e, transient);
                            if transient {
                                tauri::async_runtime::spawn(retry_start(
                                    handle.clone(),
                                    config,
                                    store.clone(),
                                ));
                            }
                        }
                    }
                }
                (None, Some(store)) => {
                    let local = tauri::async_runtime::block_on(store.get(LOCAL_ONLY));
                    let first_run = !matches!(local, Ok(Some(_)));
                    state
                        .first_run
                        .store(first_run, std::sync::atomic::Ordering::SeqCst);
                }
                _ => {}
            }
            // Started at login: in the tray only, unless there is a sign-in to do.
            let first_run = state.first_run.load(std::sync::atomic::Ordering::SeqCst);
            if at_login && !first_run {
                if let Some(w) = app.get_webview_window("main") {
                    let _ = w.hide();
                }
            }
            let snapshot = app.state::<AppState>().snapshot();
            tray::create(&handle, &snapshot)?;
            tracing::info!(status = %snapshot.me.status.status, "tray ready");
            tauri::async_runtime::spawn(presenter::run(handle));
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("Presently could not start: {e}");
        std::process::exit(1);
    }
}

/// Presently's window is text, lists and a few buttons: WebKitGTK draws it on the CPU instead
/// of through OpenGL compositing. Measured under Xvfb (Mesa's software GL), this takes the web
/// process from about 196 to 104 MiB with nothing visibly different; on a GPU the GL path
/// costs driver mappings and buffers too. `PRESENTLY_GPU=1` keeps WebKit's default.
fn render_on_cpu<R: tauri::Runtime>(window: &tauri::WebviewWindow<R>) {
    if std::env::var("PRESENTLY_GPU").is_ok_and(|v| v == "1") {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
        let done = window.with_webview(|webview| {
            if let Some(settings) = WebViewExt::settings(&webview.inner()) {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
        });
        if let Err(e) = done {
            tracing::warn!("could not set the webview to draw on the CPU: {e}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}

/// The server to connect to: `PRESENTLY_SERVER` (with `PRESENTLY_EMAIL` and
/// `PRESENTLY_PASSWORD` for the first sign-in), or the session the store keeps from a sign-in in
/// the window. None: the first-run screen, or the engine alone for this device.
async fn remote_config(store: &presently_client::store::Store) -> Option<remote::Config> {
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

fn not_connected<R: tauri::Runtime>(
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
async fn retry_start<R: tauri::Runtime>(
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
            Ok(Some(link)) => match commands::notifications::open_link(&link) {
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
