//! Start on login, two ways.
//!
//! Installed from the `.deb` or `.rpm`, an XDG autostart entry in `/etc/xdg/autostart` starts
//! `presently --autostart` at every login, and the person's choice lives in the local store
//! (`start_on_login`, on unless they turned it off): a launch at login with it off ends at once.
//! Nothing is written to the person's home for it, so removing the package leaves no entry
//! pointing at a binary that is gone.
//!
//! Run from a build (no package), or on Windows and macOS, tauri-plugin-autostart writes the
//! person's own entry (`~/.config/autostart`, a login item, the registry).

use presently_client::store::Store;
use tauri_plugin_autostart::ManagerExt;

/// The entry the packages install.
pub const SYSTEM_ENTRY: &str = "/etc/xdg/autostart/presently.desktop";

/// The argument the system entry starts the app with.
pub const ARG: &str = "--autostart";

const KEY: &str = "start_on_login";

/// Whether this installation came with the system autostart entry (a package).
pub fn packaged() -> bool {
    cfg!(target_os = "linux") && std::path::Path::new(SYSTEM_ENTRY).exists()
}

/// Whether this launch is the desktop starting the app at login.
pub fn launched_at_login() -> bool {
    std::env::args().skip(1).any(|a| a == ARG)
}

/// Whether the app starts when the person logs in.
pub async fn enabled<R: tauri::Runtime>(app: &tauri::AppHandle<R>, store: Option<&Store>) -> bool {
    if packaged() {
        return match store {
            Some(s) => s.get(KEY).await.ok().flatten().as_deref() != Some("off"),
            None => true,
        };
    }
    app.autolaunch().is_enabled().unwrap_or(false)
}

/// Turns start on login on or off.
pub async fn set<R: tauri::Runtime>(
    app: &tauri::AppHandle<R>,
    store: Option<&Store>,
    on: bool,
) -> Result<(), String> {
    if packaged() {
        let store = store.ok_or("the local store is not open, so the choice cannot be kept")?;
        return store
            .set(KEY, if on { "on" } else { "off" })
            .await
            .map_err(|e| e.to_string());
    }
    let auto = app.autolaunch();
    let done = if on { auto.enable() } else { auto.disable() };
    done.map_err(|e| e.to_string())
}
