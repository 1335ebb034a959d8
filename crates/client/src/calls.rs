//! On a call, automatically: while an application on the person's list captures a microphone,
//! the device reports itself in a call (the server shows On a call, and back when it stops).
//!
//! Read from the sound server with `pactl -f json list source-outputs` (PulseAudio, and
//! PipeWire through pipewire-pulse, which most desktops run): each capture stream names its
//! application. Captures of a monitor source (desktop audio, a screen recorder) are not calls.
//! Without `pactl` or a sound server, detection is unavailable and says so; nothing else changes.
//!
//! On Windows, from the microphone's consent store in the registry, where Windows records each
//! application's last start and stop of the microphone ([`crate::windows`]): an application
//! started and not stopped is recording now.

use crate::sync::{Command, SyncHandle};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The applications that make a call, shared with the settings that change them; empty: call
/// detection is off.
pub type CallApps = Arc<RwLock<Vec<String>>>;

/// The list kept in a store value ("zoom, teams"); none: the defaults; "off": detection off.
pub fn from_setting(value: Option<&str>) -> Vec<String> {
    match value {
        None => DEFAULT_APPS.iter().map(|s| s.to_string()).collect(),
        Some("off") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect(),
    }
}

/// Applications that mostly capture the microphone for a call. Matched case-insensitively
/// against the stream's application name and binary; a browser counts (Meet, Teams on the web).
pub const DEFAULT_APPS: &[&str] = &[
    "zoom", "teams", "slack", "skype", "webex", "discord", "jitsi", "signal", "chromium", "chrome",
    "firefox",
];

/// Whether a name the system gives an application holds one on `apps`, in any case.
fn listed(name: &str, apps: &[String]) -> bool {
    let name = name.to_lowercase();
    apps.iter().any(|a| {
        let a = a.trim().to_lowercase();
        !a.is_empty() && name.contains(&a)
    })
}

/// The first application on `apps` capturing a microphone, from `pactl -f json list
/// source-outputs` and `… list sources`. Streams that are corked (paused) do not count.
pub fn capturing(outputs: &str, sources: &str, apps: &[String]) -> Result<Option<String>, String> {
    let outputs: Vec<serde_json::Value> = serde_json::from_str(outputs).map_err(|e| {
        format!("the sound server's list of capture streams could not be read: {e}")
    })?;
    let sources: Vec<serde_json::Value> = serde_json::from_str(sources)
        .map_err(|e| format!("the sound server's list of sources could not be read: {e}"))?;
    let monitor = |index: u64| {
        sources.iter().any(|s| {
            s["index"].as_u64() == Some(index)
                && (s["name"].as_str().is_some_and(|n| n.ends_with(".monitor"))
                    || ["monitor_of_sink", "monitor_source"]
                        .iter()
                        .any(|k| s[*k].as_str().is_some_and(|v| !v.is_empty() && v != "n/a")))
        })
    };
    for o in &outputs {
        if o["corked"].as_bool() == Some(true) || o["source"].as_u64().is_some_and(monitor) {
            continue;
        }
        let props = &o["properties"];
        let names = ["application.name", "application.process.binary"]
            .map(|k| props[k].as_str().unwrap_or(""));
        let shown = props["application.name"]
            .as_str()
            .unwrap_or("an application");
        if names.iter().any(|n| listed(n, apps)) {
            return Ok(Some(shown.to_string()));
        }
    }
    Ok(None)
}

/// An application in Windows' microphone consent store: its key (a package name, or a program's
/// path with `#` for `\`) and its last start and stop (FILETIME; a stop of 0 after a start:
/// recording now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEntry {
    pub key: String,
    pub started: u64,
    pub stopped: u64,
}

impl ConsentEntry {
    /// The name people know: a program's file name without `.exe`, a package's name without its
    /// publisher id (`MSTeams_8wekyb3d8bbwe` → `MSTeams`).
    pub fn name(&self) -> &str {
        let file = self.key.rsplit(['#', '\\']).next().unwrap_or(&self.key);
        if file.len() > 4 && file[file.len() - 4..].eq_ignore_ascii_case(".exe") {
            &file[..file.len() - 4]
        } else {
            file.split('_').next().unwrap_or(file)
        }
    }
}

/// The first application on `apps` recording from the microphone now, by Windows' consent store.
pub fn capturing_consent(entries: &[ConsentEntry], apps: &[String]) -> Option<String> {
    entries
        .iter()
        .filter(|e| e.started != 0 && e.stopped == 0)
        .find(|e| listed(e.name(), apps))
        .map(|e| e.name().to_string())
}

#[cfg(not(any(windows, target_os = "macos")))]
fn pactl(args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new("pactl")
        .args(["-f", "json"])
        .args(args)
        .output()
        .map_err(|e| format!("pactl could not run ({e}): install pulseaudio-utils"))?;
    if !out.status.success() {
        return Err(format!(
            "no sound server answered: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether a sound server is listening for this session (`PULSE_SERVER`, or the socket in
/// `XDG_RUNTIME_DIR` that PulseAudio and pipewire-pulse make). Asked first, so `pactl` never
/// starts a sound server of its own (PulseAudio's autospawn).
#[cfg(not(any(windows, target_os = "macos")))]
fn sound_server() -> bool {
    std::env::var_os("PULSE_SERVER").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR")
            .is_some_and(|d| std::path::Path::new(&d).join("pulse/native").exists())
}

/// The first application on `apps` among macOS's applications recording now, by bundle id
/// (`us.zoom.xos`, `com.microsoft.teams2`, `com.google.Chrome`).
pub fn capturing_bundle(bundles: &[String], apps: &[String]) -> Option<String> {
    bundles.iter().find(|b| listed(b, apps)).cloned()
}

/// Asks the platform now: the consent store on Windows, CoreAudio on macOS, the sound server
/// elsewhere.
pub fn sample(apps: &[String]) -> Result<Option<String>, String> {
    #[cfg(windows)]
    {
        let entries = crate::windows::consent_entries(crate::windows::MICROPHONE_CONSENT)?;
        Ok(capturing_consent(&entries, apps))
    }
    #[cfg(target_os = "macos")]
    {
        Ok(capturing_bundle(&crate::macos::recording_bundles()?, apps))
    }
    #[cfg(not(any(windows, target_os = "macos")))]
    sample_sound_server(apps)
}

#[cfg(not(any(windows, target_os = "macos")))]
fn sample_sound_server(apps: &[String]) -> Result<Option<String>, String> {
    if !sound_server() {
        return Err("no sound server (PulseAudio or PipeWire) is running for this session".into());
    }
    let outputs = pactl(&["list", "source-outputs"])?;
    let sources = pactl(&["list", "sources"])?;
    capturing(&outputs, &sources, apps)
}

/// Looks every `every` and reports a change (the application that started or stopped) to the
/// server. A sound server that goes away counts as no call, and is looked for again. The list
/// is read at every look, so a change in the settings applies at once.
pub async fn run(sync: SyncHandle, apps: CallApps, every: Duration) {
    let mut last: Option<String> = None;
    let mut warned = false;
    loop {
        let list = apps.read().map(|a| a.clone()).unwrap_or_default();
        let now = match tokio::task::spawn_blocking(move || {
            if list.is_empty() {
                Ok(None)
            } else {
                sample(&list)
            }
        })
        .await
        {
            Ok(Ok(app)) => {
                warned = false;
                app
            }
            Ok(Err(e)) => {
                if !warned {
                    tracing::info!(error = %e, "on-a-call detection is unavailable for now");
                    warned = true;
                }
                None
            }
            Err(_) => None,
        };
        if now != last {
            tracing::info!(app = ?now, "the microphone in use changed");
            sync.send(Command::InCall(now.clone())).await;
            last = now;
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apps() -> Vec<String> {
        DEFAULT_APPS.iter().map(|s| s.to_string()).collect()
    }

    const SOURCES: &str = r#"[{"index":0,"name":"null.monitor","monitor_source":"null"},
        {"index":1,"name":"alsa_input.usb-mic","monitor_source":""}]"#;

    #[test]
    fn the_stored_list() {
        assert_eq!(from_setting(None).len(), DEFAULT_APPS.len());
        assert!(from_setting(Some("off")).is_empty());
        assert_eq!(from_setting(Some(" zoom, ,Teams ")), vec!["zoom", "Teams"]);
    }

    #[test]
    fn a_listed_application_on_a_microphone_is_a_call_and_a_monitor_capture_is_not() {
        let zoom = r#"[{"source":1,"corked":false,"properties":{"application.name":"ZOOM VoiceEngine","application.process.binary":"zoom"}}]"#;
        assert_eq!(
            capturing(zoom, SOURCES, &apps()).unwrap(),
            Some("ZOOM VoiceEngine".into())
        );
        let recorder = r#"[{"source":0,"corked":false,"properties":{"application.name":"zoom"}}]"#;
        assert_eq!(capturing(recorder, SOURCES, &apps()).unwrap(), None);
        let paused = r#"[{"source":1,"corked":true,"properties":{"application.name":"zoom"}}]"#;
        assert_eq!(capturing(paused, SOURCES, &apps()).unwrap(), None);
        let other = r#"[{"source":1,"corked":false,"properties":{"application.name":"audacity"}}]"#;
        assert_eq!(capturing(other, SOURCES, &apps()).unwrap(), None);
        assert_eq!(
            capturing(other, SOURCES, &["Audacity".to_string()]).unwrap(),
            Some("audacity".into())
        );
        assert_eq!(capturing("[]", SOURCES, &apps()).unwrap(), None);
        assert!(capturing("not json", SOURCES, &apps())
            .unwrap_err()
            .contains("could not be read"));
    }

    #[test]
    fn macos_bundles_recording_name_the_call() {
        let bundles = [
            "com.apple.VoiceMemos".to_string(),
            "us.zoom.xos".to_string(),
        ];
        assert_eq!(
            capturing_bundle(&bundles, &apps()),
            Some("us.zoom.xos".into())
        );
        assert_eq!(capturing_bundle(&bundles[..1], &apps()), None);
        assert_eq!(capturing_bundle(&[], &apps()), None);
    }

    #[test]
    fn windows_consent_entries_name_the_application_recording_now() {
        let entry = |key: &str, started, stopped| ConsentEntry {
            key: key.into(),
            started,
            stopped,
        };
        let entries = [
            entry(r"C:#Program Files#Zoom#bin#Zoom.exe", 0, 0),
            entry(
                r"C:#Users#a#AppData#Local#Discord#app-1.0#Discord.EXE",
                7,
                9,
            ),
            entry("MSTeams_8wekyb3d8bbwe", 7, 0),
            entry(
                r"C:#Program Files#Google#Chrome#Application#chrome.exe",
                7,
                0,
            ),
        ];
        assert_eq!(entries[1].name(), "Discord");
        assert_eq!(capturing_consent(&entries, &apps()), Some("MSTeams".into()));
        assert_eq!(
            capturing_consent(&entries[..2], &apps()),
            None,
            "never started, and stopped, are not recording"
        );
        assert_eq!(
            capturing_consent(&entries[3..], &apps()),
            Some("chrome".into())
        );
        assert_eq!(capturing_consent(&entries, &["audacity".to_string()]), None);
    }
}
