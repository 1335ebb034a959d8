//! The IPC commands the window calls. Thin: parse, call the state (the local engine, or the
//! client core when connected to a server); the timer task redraws and tells the window.

use presence::{ClearAfter, Emoji, MessageText, StatusId, Timestamp};
use presently_client::sync::Command;
use protocol::ipc::{CenterItem, Settings, TeamPanel};
use tauri::State;
use tauri_plugin_autostart::ManagerExt;

use crate::state::{AppState, CommandError, Snapshot};

#[tauri::command]
pub fn get_snapshot(state: State<'_, AppState>) -> Snapshot {
    state.snapshot()
}

#[tauri::command]
pub async fn explain(state: State<'_, AppState>) -> Result<presence::Explanation, CommandError> {
    match state.remote.get() {
        Some(r) => {
            let v = r
                .api
                .get(&r.token, "/me/explain")
                .await
                .map_err(|e| CommandError {
                    kind: "offline".into(),
                    message: format!("{e}: the explanation needs the server"),
                })?;
            serde_json::from_value(v).map_err(|e| CommandError {
                kind: "internal".into(),
                message: format!("the server's explanation could not be read: {e}"),
            })
        }
        None => Ok(state.explain()),
    }
}

/// `until` in milliseconds since the epoch, or none for "until I change it".
#[tauri::command]
pub fn set_status(
    state: State<'_, AppState>,
    status: String,
    until: Option<i64>,
) -> Result<Snapshot, CommandError> {
    let status: StatusId = status.parse()?;
    state.choose(status, until.map(Timestamp))
}

/// Pause notifications until a time (ms since the epoch); none resumes.
#[tauri::command]
pub fn pause(state: State<'_, AppState>, until: Option<i64>) -> Result<Snapshot, CommandError> {
    state.pause(until.map(Timestamp))
}

fn needs_server() -> CommandError {
    CommandError {
        kind: "offline".into(),
        message: "this needs a server: start the app with PRESENTLY_SERVER (scripts/run.sh does)"
            .into(),
    }
}

/// A status message; `clear_after` is never, 30m, 1h, 4h, today or week.
#[tauri::command]
pub fn set_message(
    state: State<'_, AppState>,
    text: String,
    emoji: Option<String>,
    clear_after: String,
) -> Result<(), CommandError> {
    let r = state.remote.get().ok_or_else(needs_server)?;
    let text = text.trim();
    if text.is_empty() {
        r.send(Command::ClearMessage);
        return Ok(());
    }
    let clear_after = match clear_after.as_str() {
        "30m" => ClearAfter::ThirtyMinutes,
        "1h" => ClearAfter::OneHour,
        "4h" => ClearAfter::FourHours,
        "today" => ClearAfter::Today,
        "week" => ClearAfter::ThisWeek,
        _ => ClearAfter::Never,
    };
    r.send(Command::SetMessage {
        text: MessageText::parse(text)?,
        emoji: emoji
            .filter(|e| !e.trim().is_empty())
            .map(Emoji::parse)
            .transpose()?,
        clear_after,
    });
    Ok(())
}

#[tauri::command]
pub fn get_team(state: State<'_, AppState>) -> TeamPanel {
    state.remote.get().map(|r| r.team()).unwrap_or(TeamPanel {
        members: vec![],
        stale_since: None,
    })
}

#[tauri::command]
pub async fn get_center(state: State<'_, AppState>) -> Result<Vec<CenterItem>, CommandError> {
    Ok(match state.remote.get() {
        Some(r) => r.center().await,
        None => vec![],
    })
}

#[tauri::command]
pub fn mark_read(state: State<'_, AppState>, seqs: Vec<u64>) -> Result<(), CommandError> {
    state
        .remote
        .get()
        .ok_or_else(needs_server)?
        .mark(seqs, false);
    Ok(())
}

/// Opens a notification: marks it read everywhere and opens its link in the system's browser.
/// Returns the link (none: the window shows the whole notification instead).
#[tauri::command]
pub async fn open_notification(
    state: State<'_, AppState>,
    seq: u64,
) -> Result<Option<String>, CommandError> {
    let remote = state.remote.get().ok_or_else(needs_server)?;
    let link = remote.open(seq).await.map_err(|e| CommandError {
        kind: "store".into(),
        message: format!("the notification could not be read from this computer's store: {e}"),
    })?;
    if let Some(link) = &link {
        let link = link.clone();
        tauri::async_runtime::spawn_blocking(move || open_link(&link))
            .await
            .map_err(|e| offline(format!("opening the link stopped: {e}")))??;
    }
    Ok(link.map(String::from))
}

/// Hands a notification's link (always http or https: the protocol refuses anything else) to
/// the desktop's browser.
pub fn open_link(link: &protocol::Link) -> Result<(), CommandError> {
    tauri_plugin_opener::open_url(link.as_str(), None::<&str>).map_err(|e| CommandError {
        kind: "open_failed".into(),
        message: format!(
            "could not open {link} ({e}): set a default web browser for this desktop; the notification stays in the center"
        ),
    })
}

#[tauri::command]
pub fn dismiss(state: State<'_, AppState>, seqs: Vec<u64>) -> Result<(), CommandError> {
    state
        .remote
        .get()
        .ok_or_else(needs_server)?
        .mark(seqs, true);
    Ok(())
}

#[tauri::command]
pub fn mark_all_read(state: State<'_, AppState>) -> Result<(), CommandError> {
    state
        .remote
        .get()
        .ok_or_else(needs_server)?
        .send(Command::MarkAllRead);
    Ok(())
}

fn offline(e: impl std::fmt::Display) -> CommandError {
    CommandError {
        kind: "offline".into(),
        message: format!("{e}"),
    }
}

#[tauri::command]
pub async fn get_settings<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<Settings, CommandError> {
    let start_on_login = app.autolaunch().is_enabled().unwrap_or(false);
    let Some(r) = state.remote.get() else {
        return Ok(Settings {
            server: None,
            account: None,
            time_zone: "UTC".into(),
            idle_after_minutes: None,
            quiet_from: None,
            quiet_to: None,
            desktop_notifications: true,
            start_on_login,
        });
    };
    let me = r.api.get(&r.token, "/me").await.ok();
    let prefs: Option<presence::Preferences> = r
        .api
        .get(&r.token, "/me/preferences")
        .await
        .ok()
        .and_then(|v| serde_json::from_value(v).ok());
    let quiet = prefs
        .as_ref()
        .and_then(|p| p.schedule.as_ref())
        .and_then(|s| s.quiet_hours.first().cloned());
    Ok(Settings {
        server: Some(r.server.clone()),
        account: me.and_then(|m| m["email"].as_str().map(str::to_owned)),
        time_zone: prefs
            .as_ref()
            .map(|p| p.time_zone.name().to_string())
            .unwrap_or_else(|| "UTC".into()),
        idle_after_minutes: prefs
            .as_ref()
            .and_then(|p| p.idle_after)
            .map(|s| (s.millis() / 60_000) as u32),
        quiet_from: quiet.as_ref().map(|q| u16::from(q.start)),
        quiet_to: quiet.as_ref().map(|q| u16::from(q.end)),
        desktop_notifications: r.notifier.enabled(),
        start_on_login,
    })
}

#[tauri::command]
pub async fn save_settings<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    settings: Settings,
) -> Result<(), CommandError> {
    let auto = app.autolaunch();
    let result = if settings.start_on_login {
        auto.enable()
    } else {
        auto.disable()
    };
    if let Err(e) = result {
        return Err(CommandError {
            kind: "autostart".into(),
            message: format!("start on login could not be changed: {e}"),
        });
    }
    let Some(r) = state.remote.get() else {
        return Ok(());
    };
    r.notifier.set_enabled(settings.desktop_notifications);
    let _ = r
        .store
        .set(
            "desktop_notifications",
            if settings.desktop_notifications {
                "on"
            } else {
                "off"
            },
        )
        .await;
    let mut prefs: presence::Preferences = r
        .api
        .get(&r.token, "/me/preferences")
        .await
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| offline("the server is not reachable: settings for your account need it"))?;
    prefs.time_zone = presence::TimeZone::parse(&settings.time_zone)?;
    prefs.idle_after = settings
        .idle_after_minutes
        .map(|m| presence::Span::minutes(m as i64));
    let mut schedule = prefs
        .schedule
        .take()
        .unwrap_or_else(|| presence::Schedule::new(prefs.time_zone));
    schedule.time_zone = prefs.time_zone;
    schedule.quiet_hours = match (settings.quiet_from, settings.quiet_to) {
        (Some(from), Some(to)) => vec![presence::WeeklyWindow::every_day(
            presence::MinuteOfDay::try_from(from)?,
            presence::MinuteOfDay::try_from(to)?,
        )],
        _ => vec![],
    };
    prefs.schedule = Some(schedule);
    r.api
        .put(
            &r.token,
            "/me/preferences",
            &serde_json::to_value(&prefs).expect("serializes"),
        )
        .await
        .map_err(offline)?;
    Ok(())
}

/// Signs in to a server, remembers it, and restarts the app connected to it.
#[tauri::command]
pub async fn sign_in<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    server: String,
    email: String,
    password: String,
) -> Result<(), CommandError> {
    let server = server.trim().trim_end_matches('/').to_string();
    let api = presently_client::api::Api::new(&server);
    let token = api
        .sign_in(email.trim(), &password, "desktop")
        .await
        .map_err(offline)?;
    let path = std::env::var_os("PRESENTLY_STORE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(presently_client::store::default_path);
    let store = presently_client::store::Store::open(&path)
        .await
        .map_err(offline)?;
    for (k, v) in [
        ("server", server.as_str()),
        ("token", token.as_str()),
        ("device", "desktop"),
    ] {
        store.set(k, v).await.map_err(offline)?;
    }
    store.close().await;
    tracing::info!(%server, "signed in; restarting to connect");
    app.restart();
}
