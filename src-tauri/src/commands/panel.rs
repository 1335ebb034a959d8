//! The tray's compact panel (see [`crate::popover`]): opened from the window (and the tests),
//! closed on Escape, and its way to the main window.

use crate::popover;
use protocol::ipc::{events, CommandError, CommandErrorKind};
use tauri::{AppHandle, Emitter, Manager, Runtime};

/// Opens the panel as the tray's menu entry does (beside the pointer, else in the panel's
/// corner), or closes it when it is open.
#[tauri::command]
pub async fn open_popover<R: Runtime>(app: AppHandle<R>) {
    popover::toggle(&app, popover::Anchor::Unknown);
}

/// Escape in the panel.
#[tauri::command]
pub fn close_popover<R: Runtime>(app: AppHandle<R>) {
    popover::close(&app);
}

/// "Open Presently", "Settings" or a notification in the panel: the panel closes and the main
/// window shows, at the center (and that notification) or at the settings when asked.
#[tauri::command]
pub fn show_main<R: Runtime>(
    app: AppHandle<R>,
    center: Option<bool>,
    seq: Option<u64>,
    settings: Option<bool>,
) {
    popover::close(&app);
    crate::tray::show_window(&app);
    if center == Some(true) || seq.is_some() {
        let _ = app.emit(events::SHOW_CENTER, seq);
    }
    if settings == Some(true) {
        let _ = app.emit(events::SHOW_SETTINGS, ());
    }
}

/// The window's theme, kept here for the quick panel (a webview of its own).
#[tauri::command]
pub fn set_theme<R: Runtime>(app: AppHandle<R>, theme: String) -> Result<(), CommandError> {
    if !matches!(theme.as_str(), "system" | "light" | "dark") {
        return Err(CommandError::new(
            CommandErrorKind::Invalid,
            "the theme is system, light or dark",
        ));
    }
    if let Ok(mut t) = app.state::<popover::Theme>().0.lock() {
        t.clone_from(&theme);
    }
    let _ = app.emit(events::THEME_CHANGED, theme);
    Ok(())
}

#[tauri::command]
pub fn get_theme<R: Runtime>(app: AppHandle<R>) -> String {
    app.state::<popover::Theme>()
        .0
        .lock()
        .map(|t| t.clone())
        .unwrap_or_else(|_| "system".into())
}
