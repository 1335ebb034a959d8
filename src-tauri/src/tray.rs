//! The tray: an icon in the colour and glyph of the effective status, and a menu that reaches
//! everything (Linux trays have no click or tooltip).

use presence::{Change, Family, Glyph, SelfView, StatusId, Timestamp};
use protocol::ipc::events;
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::popover;
use crate::state::{AppState, ChangeRequest, CommandError, Snapshot};

pub const TRAY_ID: &str = "presently";

/// macOS's menu bar takes template images (black and clear, tinted by the system), the same
/// shapes; elsewhere the icon has the status's colour as well as its glyph.
const TEMPLATE: bool = cfg!(target_os = "macos");

fn icon(family: Family) -> Image<'static> {
    let bytes: &'static [u8] = if TEMPLATE {
        match family {
            Family::Available => include_bytes!("../../icons/tray-available-template.png"),
            Family::Busy => include_bytes!("../../icons/tray-busy-template.png"),
            Family::Away => include_bytes!("../../icons/tray-away-template.png"),
            Family::DoNotDisturb => include_bytes!("../../icons/tray-dnd-template.png"),
            Family::Offline => include_bytes!("../../icons/tray-offline-template.png"),
        }
    } else {
        match family {
            Family::Available => include_bytes!("../../icons/tray-available.png"),
            Family::Busy => include_bytes!("../../icons/tray-busy.png"),
            Family::Away => include_bytes!("../../icons/tray-away.png"),
            Family::DoNotDisturb => include_bytes!("../../icons/tray-dnd.png"),
            Family::Offline => include_bytes!("../../icons/tray-offline.png"),
        }
    };
    Image::from_bytes(bytes).expect("tray icons are valid PNGs checked in with the source")
}

/// A text glyph for the menu's first line, so that it never relies on the icon's colour.
pub fn glyph_text(glyph: Glyph) -> &'static str {
    match glyph {
        Glyph::Check => "✓",
        Glyph::Dot => "●",
        Glyph::Clock => "◷",
        Glyph::Line => "⊖",
        Glyph::Cross => "⊗",
        Glyph::Phone => "☎",
        Glyph::Calendar => "▦",
        Glyph::Pencil => "✎",
        Glyph::Forward => "↪",
        Glyph::Plane => "✈",
        Glyph::Emoji => "",
    }
}

/// The first line of the menu: "● Busy — On a deadline".
pub fn headline(me: &SelfView) -> String {
    let s = &me.status;
    let mark = s
        .emoji
        .as_ref()
        .map(|e| e.to_string())
        .unwrap_or_else(|| glyph_text(s.glyph).to_owned());
    let mut line = format!("{mark} {}", s.label);
    if let Some(m) = &me.message {
        line.push_str(" — ");
        if let Some(e) = &m.emoji {
            line.push_str(e.as_str());
            line.push(' ');
        }
        line.push_str(m.text.as_str());
    }
    line
}

fn menu<R: Runtime>(app: &AppHandle<R>, snap: &Snapshot) -> tauri::Result<Menu<R>> {
    let menu = Menu::new(app)?;
    menu.append(&MenuItem::with_id(
        app,
        "headline",
        headline(&snap.me),
        false,
        None::<&str>,
    )?)?;
    if snap.me.seen_by_others.status.status != snap.me.status.status {
        let others = format!("Others see you as {}", snap.me.seen_by_others.status.label);
        menu.append(&MenuItem::with_id(
            app,
            "seen-by-others",
            others,
            false,
            None::<&str>,
        )?)?;
    }
    // Linux trays send no clicks: the compact panel is an entry under the status there (a left
    // click opens it on Windows and macOS, where the menu is the right click's).
    menu.append(&MenuItem::with_id(
        app,
        "popover",
        "Quick panel…",
        true,
        None::<&str>,
    )?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    for entry in &snap.statuses {
        let label = match &entry.emoji {
            Some(e) => format!("{e} {}", entry.label),
            None => entry.label.clone(),
        };
        let checked = entry.id == snap.me.status.status;
        let item = CheckMenuItem::with_id(
            app,
            format!("status:{}", entry.id),
            label,
            true,
            checked,
            None::<&str>,
        )?;
        menu.append(&item)?;
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(
        app,
        "message",
        "Set status message…",
        true,
        None::<&str>,
    )?)?;
    // The submenu's own label says whether notifications are paused and until when: a person
    // sees it without opening anything, and DND in the first line can hide a pause.
    let pause_label = match snap.paused_until {
        Some(until) => format!("Notifications paused until {}", local_time(until)),
        None => "Pause notifications".to_owned(),
    };
    let pause = Submenu::with_id(app, "pause", pause_label, true)?;
    for (id, label) in [
        ("pause:30", "For 30 minutes"),
        ("pause:60", "For 1 hour"),
        ("pause:120", "For 2 hours"),
        ("pause:tomorrow", "Until tomorrow"),
    ] {
        pause.append(&MenuItem::with_id(app, id, label, true, None::<&str>)?)?;
    }
    pause.append(&MenuItem::with_id(
        app,
        "pause:resume",
        "Resume notifications",
        snap.paused_until.is_some(),
        None::<&str>,
    )?)?;
    menu.append(&pause)?;
    let center = match snap.unread {
        0 => "Notification center".to_owned(),
        n => format!("Notification center ({n} unread)"),
    };
    menu.append(&MenuItem::with_id(
        app,
        "center",
        center,
        true,
        None::<&str>,
    )?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    if let Some(update) = &snap.update {
        menu.append(&MenuItem::with_id(
            app,
            "update",
            format!("Update available: Presently {}…", update.version),
            true,
            None::<&str>,
        )?)?;
    }
    menu.append(&MenuItem::with_id(
        app,
        "open",
        "Open Presently",
        true,
        None::<&str>,
    )?)?;
    menu.append(&MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?)?;
    Ok(menu)
}

pub fn create<R: Runtime>(app: &AppHandle<R>, snap: &Snapshot) -> tauri::Result<()> {
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(snap.me.status.family))
        .icon_as_template(TEMPLATE)
        .menu(&menu(app, snap)?)
        // Windows and macOS: the left click opens the panel, the right click the menu. Linux
        // trays show the menu on any click (and send no click events).
        .show_menu_on_left_click(cfg!(target_os = "linux"))
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                rect,
                ..
            } = event
            {
                let scale = 1.0;
                let position = rect.position.to_physical::<i32>(scale);
                let size = rect.size.to_physical::<u32>(scale);
                popover::toggle(
                    tray.app_handle(),
                    popover::Anchor::Icon(popover::Rect {
                        x: position.x,
                        y: position.y,
                        width: size.width as i32,
                        height: size.height as i32,
                    }),
                );
            }
        })
        .on_menu_event(on_menu_event)
        .build(app)?;
    Ok(())
}

/// Redraws the icon and the menu (the presenter does, with the snapshot it sends the window).
pub fn draw<R: Runtime>(app: &AppHandle<R>, snap: &Snapshot) {
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        if let Err(e) = menu(app, snap).and_then(|m| tray.set_menu(Some(m))) {
            tracing::warn!("could not update the tray menu: {e}");
        }
        // Both at once on macOS (one after the other flickers); set_icon elsewhere.
        if let Err(e) = tray.set_icon_with_as_template(Some(icon(snap.me.status.family)), TEMPLATE)
        {
            tracing::warn!("could not update the tray icon: {e}");
        }
    }
}

fn local_time(t: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(t.millis())
        .map(|d| d.with_timezone(&chrono::Local).format("%H:%M").to_string())
        .unwrap_or_default()
}

fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    let id = event.id().as_ref();
    tracing::info!(item = id, "tray menu");
    let state = app.state::<AppState>();
    let request = if let Some(status) = id.strip_prefix("status:") {
        status
            .parse::<StatusId>()
            .map(|status| ChangeRequest::Change {
                change: Change::SetStatus {
                    status,
                    until: None,
                },
            })
            .map_err(CommandError::from)
    } else if let Some(choice) = id.strip_prefix("pause:") {
        Ok(match choice {
            "tomorrow" => ChangeRequest::PauseUntilTomorrow,
            "resume" => ChangeRequest::Change {
                change: Change::ResumeNotifications,
            },
            minutes => match minutes.parse() {
                Ok(minutes) => ChangeRequest::PauseFor { minutes },
                Err(_) => return,
            },
        })
    } else {
        match id {
            "open" => {
                show_window(app);
                return;
            }
            "popover" => {
                popover::open(app, popover::Anchor::Unknown);
                return;
            }
            // The window opens at what the item names: the message field, or the center.
            "message" => {
                show_window(app);
                let _ = app.emit(events::FOCUS_MESSAGE, ());
                return;
            }
            "center" => {
                show_window(app);
                let _ = app.emit(events::SHOW_CENTER, None::<u64>);
                return;
            }
            "quit" => {
                app.exit(0);
                return;
            }
            // Where the administrator says to get it, in the browser; the window if that fails.
            "update" => {
                if let Err(e) = state.open_update() {
                    tracing::warn!("{e}");
                    show_window(app);
                }
                return;
            }
            _ => return,
        }
    };
    // The same path as the window's: the presenter redraws the tray and tells the window.
    let (app, id) = (app.clone(), id.to_string());
    tauri::async_runtime::spawn(async move {
        let result = match request {
            Ok(request) => app.state::<AppState>().ask(request).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!("tray action {id} failed: {e}");
        }
    });
}

pub fn show_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}
