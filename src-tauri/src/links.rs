//! Links opened in the desktop's browser: a notification's, and where an update is published.

use protocol::ipc::{CommandError, CommandErrorKind};

/// Hands a notification's link (always http or https: the protocol refuses anything else) to
/// the desktop's browser.
pub fn open_link(link: &protocol::Link) -> Result<(), CommandError> {
    tauri_plugin_opener::open_url(link.as_str(), None::<&str>).map_err(|e| CommandError::new(CommandErrorKind::OpenFailed, format!(
            "could not open {link} ({e}): set a default web browser for this desktop; the notification stays in the center"
        )))
}
