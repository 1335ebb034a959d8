//! The desktop app: a Tauri shell around the presence engine, with a tray and a window.

mod clock;
pub mod commands;
pub mod state;
pub mod tray;

use std::time::Duration;
use tauri::{Manager, WindowEvent};

use state::AppState;

/// How often this device reports that it is still here (well inside the 90 s lease).
const HEARTBEAT: Duration = Duration::from_secs(30);

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
        .manage(AppState::new(rules))
        .invoke_handler(tauri::generate_handler![
            commands::get_snapshot,
            commands::explain,
            commands::set_status
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
            let snapshot = app.state::<AppState>().snapshot();
            tray::create(&handle, &snapshot)?;
            tracing::info!(status = %snapshot.me.status.status, "tray ready");
            tauri::async_runtime::spawn(timer(handle));
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("Presently could not start: {e}");
        std::process::exit(1);
    }
}

/// Applies what falls due (a timed status ending, a pause running out) at the exact moment, and
/// heartbeats. Sleeps until the next deadline or a change, never polls faster than needed.
async fn timer<R: tauri::Runtime>(app: tauri::AppHandle<R>) {
    let mut last = None;
    loop {
        let state = app.state::<AppState>();
        let next = state.tick();
        let snap = state.snapshot();
        if last.as_ref() != Some(&snap) {
            tray::refresh(&app, &snap);
            last = Some(snap);
        }
        let now = clock::now();
        let wait = next
            .map(|n| Duration::from_millis(n.since(now).millis().max(0) as u64))
            .unwrap_or(HEARTBEAT)
            .min(HEARTBEAT);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.changed.notified() => {}
        }
    }
}
