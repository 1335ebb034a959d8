//! The person's settings: on this device (notifications, start on login) and on the server
//! (time zone, away threshold, quiet hours).

use super::offline;
use crate::state::{AppState, CommandError};
use protocol::ipc::{CommandErrorKind, Settings};
use tauri::State;

#[tauri::command]
pub async fn get_settings<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<Settings, CommandError> {
    let start_on_login = crate::autostart::enabled(&app, state.store.get()).await;
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
    let me = r.api.me(&r.token).await.ok();
    let prefs = r.api.preferences(&r.token).await.ok();
    let quiet = prefs
        .as_ref()
        .and_then(|p| p.schedule.as_ref())
        .and_then(|s| s.quiet_hours.first().cloned());
    Ok(Settings {
        server: Some(r.server.clone()),
        account: me.map(|m| m.email),
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
    let autostart = crate::autostart::set(&app, state.store.get(), settings.start_on_login).await;
    if let Err(e) = autostart {
        return Err(CommandError {
            kind: CommandErrorKind::Autostart,
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
    let mut prefs = r
        .api
        .preferences(&r.token)
        .await
        .map_err(|e| offline(format!("{e}: settings for your account need the server")))?;
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
        .set_preferences(&r.token, &prefs)
        .await
        .map_err(offline)?;
    Ok(())
}
