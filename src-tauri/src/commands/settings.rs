//! The person's settings: on this device (notifications, start on login) and on the server
//! (time zone, auto-away, working hours, quiet hours, the Do not disturb schedule, the urgent
//! allow-list, call settings), which are the same on every device.

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
        let defaults = presence::Preferences::default();
        return Ok(Settings {
            server: None,
            account: None,
            time_zone: defaults.time_zone.name().to_string(),
            auto_away: defaults.auto_away,
            idle_after_minutes: None,
            working_hours: vec![],
            quiet_hours: vec![],
            dnd_schedule: vec![],
            urgent_from: vec![],
            call: defaults.call,
            out_of_office: None,
            statuses: vec![],
            limits: None,
            unavailable: None,
            desktop_notifications: true,
            start_on_login,
            call_detection: false,
            call_apps: default_call_apps(),
            auto_away_unavailable: None,
            desktop_dnd: "dnd".into(),
            quiet_desktop: true,
            desktop_dnd_unavailable: None,
        });
    };
    let call_apps = r.call_apps.read().map(|a| a.clone()).unwrap_or_default();
    let (follow, quiet_desktop) = r.desktop_dnd.read().map(|o| *o).unwrap_or_default();
    let (me, prefs, limits) = tokio::join!(
        r.api.me(&r.token),
        r.api.preferences(&r.token),
        r.api.limits(&r.token)
    );
    // Without the server the person's own settings cannot be read: they are not shown as
    // defaults that a save would then write back; this computer's settings still are.
    let (prefs, unavailable) = match prefs {
        Ok(p) => (p, None),
        Err(e) => (
            presence::Preferences::default(),
            Some(format!(
                "{e}: your hours, schedule and call settings are kept on the server, and can be changed when it is reachable"
            )),
        ),
    };
    let schedule = prefs
        .schedule
        .clone()
        .unwrap_or_else(|| presence::Schedule::new(prefs.time_zone));
    Ok(Settings {
        server: Some(r.server.clone()),
        account: me.ok().map(|m| m.email),
        time_zone: prefs.time_zone.name().to_string(),
        auto_away: prefs.auto_away,
        idle_after_minutes: prefs.idle_after.map(|s| (s.millis() / 60_000) as u32),
        working_hours: schedule.working_hours,
        quiet_hours: schedule.quiet_hours,
        dnd_schedule: schedule.do_not_disturb,
        urgent_from: prefs.breakthrough.into_iter().collect(),
        call: prefs.call,
        out_of_office: prefs.out_of_office,
        statuses: prefs.statuses,
        limits: limits.ok(),
        unavailable,
        desktop_notifications: r.notifier.enabled(),
        start_on_login,
        auto_away_unavailable: r.auto_away_unavailable.clone(),
        desktop_dnd: follow.as_str().into(),
        quiet_desktop,
        desktop_dnd_unavailable: r
            .desktop_dnd_unavailable
            .read()
            .ok()
            .and_then(|u| u.clone()),
        call_detection: !call_apps.is_empty(),
        call_apps: if call_apps.is_empty() {
            default_call_apps()
        } else {
            call_apps
        },
    })
}

fn default_call_apps() -> Vec<String> {
    presently_client::calls::DEFAULT_APPS
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Saves this computer's settings and the person's. Every refusal is the engine's (or the
/// server's) words, with the setting it is about when there is one: a value that is not one (a
/// phone number, a time zone, a text too long) as it is read, the rules for the whole as
/// [`presence::Preferences::check`] says, before anything is sent.
#[tauri::command]
pub async fn save_settings<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    settings: serde_json::Value,
) -> Result<(), CommandError> {
    let settings: Settings = serde_path_to_error::deserialize(settings).map_err(|e| {
        let field = e
            .path()
            .iter()
            .next()
            .map(|segment| segment.to_string())
            .unwrap_or_default();
        CommandError::new(CommandErrorKind::Invalid, e.into_inner().to_string()).about(field)
    })?;
    let autostart = crate::autostart::set(&app, state.store.get(), settings.start_on_login).await;
    if let Err(e) = autostart {
        return Err(CommandError::new(
            CommandErrorKind::Autostart,
            format!("start on login could not be changed: {e}"),
        ));
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
    let apps: Vec<String> = settings
        .call_apps
        .iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    let (kept, apps) = if settings.call_detection && !apps.is_empty() {
        (apps.join(","), apps)
    } else {
        ("off".to_string(), Vec::new())
    };
    let _ = r.store.set("call_apps", &kept).await;
    if let Ok(mut shared) = r.call_apps.write() {
        *shared = apps;
    }
    let follow = presently_client::desktop_dnd::Follow::parse(&settings.desktop_dnd)
        .map_err(|e| CommandError::new(CommandErrorKind::Invalid, e))?;
    let _ = r.store.set("desktop_dnd", follow.as_str()).await;
    let _ = r
        .store
        .set(
            "quiet_desktop",
            if settings.quiet_desktop { "on" } else { "off" },
        )
        .await;
    if let Ok(mut shared) = r.desktop_dnd.write() {
        *shared = (follow, settings.quiet_desktop);
    }
    if settings.unavailable.is_some() {
        return Ok(());
    }
    let time_zone = presence::TimeZone::parse(settings.time_zone.trim())
        .map_err(|e| CommandError::from(e).about("time_zone"))?;
    let prefs = presence::Preferences {
        time_zone,
        schedule: Some(presence::Schedule {
            time_zone,
            working_hours: settings.working_hours,
            quiet_hours: settings.quiet_hours,
            do_not_disturb: settings.dnd_schedule,
        }),
        idle_after: settings
            .idle_after_minutes
            .map(|m| presence::Span::minutes(m as i64)),
        breakthrough: settings.urgent_from.into_iter().collect(),
        call: settings.call,
        auto_away: settings.auto_away,
        out_of_office: settings.out_of_office,
        statuses: settings.statuses,
    };
    prefs.check()?;
    r.api
        .set_preferences(&r.token, &prefs)
        .await
        .map_err(super::api_error)?;
    // The menu and the tray list the person's own statuses at once (the server's `statuses`
    // frame tells the person's other devices).
    r.refresh_statuses().await;
    state.changed.notify_one();
    Ok(())
}
