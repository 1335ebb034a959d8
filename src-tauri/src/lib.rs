//! The desktop app: a Tauri shell around the presence engine, with a tray and a window.

pub mod autostart;
pub mod commands;
pub mod connection;
pub mod links;
pub mod popover;
pub mod presenter;
pub mod remote;
pub mod state;
pub mod tray;

use tauri::{Manager, WindowEvent};

use state::AppState;

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

    #[cfg(windows)]
    if let Err(e) = tauri::webview_version() {
        windows_missing_webview(&e.to_string());
    }

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
        // Started at login with --autostart (as the Linux packages' entry and the Windows
        // installer's Run value do): the window stays in the tray.
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec![autostart::ARG]),
        ))
        .manage(AppState::new(rules, clock::SystemClock::shared()))
        .manage(popover::Opened::default())
        .manage(popover::Theme::default())
        .invoke_handler(tauri::generate_handler![
            commands::presence::get_snapshot,
            commands::presence::explain,
            commands::presence::change,
            commands::team::get_team,
            commands::team::search_directory,
            commands::team::watch_people,
            commands::team::get_favourites,
            commands::team::set_favourite,
            commands::team::set_alert,
            commands::faces::get_face,
            commands::panel::open_popover,
            commands::panel::close_popover,
            commands::panel::show_main,
            commands::panel::set_theme,
            commands::panel::get_theme,
            commands::faces::set_photo,
            commands::calendar::get_calendar,
            commands::calendar::set_calendar,
            commands::calendar::remove_calendar,
            commands::faces::remove_photo,
            commands::notifications::get_center,
            commands::notifications::mark_read,
            commands::notifications::open_notification,
            commands::notifications::dismiss,
            commands::notifications::mark_all_read,
            commands::settings::get_settings,
            commands::settings::save_settings,
            commands::session::sign_in,
            commands::session::redeem_code,
            commands::session::sign_in_sso,
            commands::session::use_without_server,
            commands::session::sign_out,
            commands::session::get_about,
            commands::session::open_update,
            commands::session::my_devices,
            commands::session::sign_out_device,
            commands::session::change_password
        ])
        .on_window_event(|window, event| {
            match event {
                // Closing the window keeps the app in the tray; Quit is in the tray menu.
                WindowEvent::CloseRequested { api, .. } => {
                    let _ = window.hide();
                    api.prevent_close();
                }
                // The tray's panel closes when the person goes elsewhere.
                WindowEvent::Focused(false) if window.label() == popover::LABEL => {
                    popover::blurred(window.app_handle());
                }
                _ => {}
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
                .and_then(|s| tauri::async_runtime::block_on(connection::remote_config(s)));
            match (config, &store) {
                (Some(config), Some(store)) => {
                    // The first attempt before the tray exists, so that it starts with the
                    // server's view; a server that is not up yet is tried again in the background.
                    let clock = state.clock.clone();
                    let start = remote::Remote::start(config.clone(), clock, store.clone());
                    match tauri::async_runtime::block_on(start) {
                        Ok(r) => connection::connected(&handle, r),
                        Err(e) => {
                            let transient = e.is_transient();
                            connection::not_connected(&handle, &config.server, &e, transient);
                            if transient {
                                tauri::async_runtime::spawn(connection::retry_start(
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

/// Without Microsoft Edge WebView2 the window cannot open: say so, and where to get it, in a
/// dialog (a release build has no console) and on stderr, then end.
#[cfg(windows)]
fn windows_missing_webview(error: &str) -> ! {
    use windows_sys::Win32::UI::WindowsAndMessaging::{MessageBoxW, MB_ICONERROR, MB_OK};
    let text = format!(
        "Presently needs the Microsoft Edge WebView2 Runtime to show its window, and it is not installed on this computer ({error}).\n\nGet the Evergreen Runtime from https://developer.microsoft.com/microsoft-edge/webview2/ and start Presently again."
    );
    eprintln!("{text}");
    let wide = |s: &str| s.encode_utf16().chain([0]).collect::<Vec<u16>>();
    let (text, title) = (wide(&text), wide("Presently"));
    // SAFETY: both strings are NUL-terminated UTF-16 that outlive the call; no owner window.
    unsafe {
        MessageBoxW(
            std::ptr::null_mut(),
            text.as_ptr(),
            title.as_ptr(),
            MB_OK | MB_ICONERROR,
        )
    };
    std::process::exit(1);
}

/// Presently's window is text, lists and a few buttons: WebKitGTK draws it on the CPU instead
/// of through OpenGL compositing. Measured under Xvfb (Mesa's software GL), this takes the web
/// process from about 196 to 104 MiB with nothing visibly different; on a GPU the GL path
/// costs driver mappings and buffers too. `PRESENTLY_GPU=1` keeps WebKit's default.
pub(crate) fn render_on_cpu<R: tauri::Runtime>(window: &tauri::WebviewWindow<R>) {
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
