//! The compact panel from the tray, as Teams and Slack open one: a small borderless window
//! beside the tray with the person's face and status, Do not disturb, teammates and the latest
//! notifications (`ui/src/Popover.svelte`). A left click on the tray icon opens it on Windows and
//! macOS, from the icon's rectangle; Linux trays (StatusNotifierItem through appindicator) send no
//! clicks, so the tray menu's first entry opens it, beside the pointer that chose the entry (the
//! menu is beside the tray), else in the work area's corner where the desktop's panel is. It
//! never opens off-screen, closes on Escape and when it loses focus, and a second click closes
//! it.

use std::sync::Mutex;
use std::time::{Duration, Instant};
use tauri::{
    AppHandle, Manager, PhysicalPosition, PhysicalSize, Runtime, WebviewUrl, WebviewWindowBuilder,
};

pub const LABEL: &str = "popover";

/// The panel's size in logical pixels (scaled on a high-density screen).
const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 540.0;

/// The gap between the panel and what it opens from, and the work area's edge.
const GAP: i32 = 8;

/// Losing focus this soon after opening is the open itself settling (a tray host or the menu
/// taking focus back), not the person going elsewhere.
const SETTLE: Duration = Duration::from_millis(400);

/// A rectangle in physical pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
}

impl Rect {
    fn right(&self) -> i32 {
        self.x + self.width
    }
    fn bottom(&self) -> i32 {
        self.y + self.height
    }
    fn contains(&self, x: i32, y: i32) -> bool {
        x >= self.x && x < self.right() && y >= self.y && y < self.bottom()
    }
}

/// What the panel opens from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The tray icon's rectangle (Windows, macOS).
    Icon(Rect),
    /// A point near the tray: where the tray reported a click, or the pointer that chose the
    /// menu entry.
    Point(i32, i32),
    /// Nothing known: the corner of the work area where the desktop's panel (and so its tray)
    /// is.
    Unknown,
}

/// Where the panel's top left goes, in physical pixels: beside the anchor on the side with room
/// (above an icon at the bottom of the screen, below one at the top), and always wholly inside
/// `work` (the monitor's area without its panels), `screen` being the whole monitor.
pub fn place(anchor: Anchor, screen: Rect, work: Rect, width: i32, height: i32) -> (i32, i32) {
    let (x, y) = match anchor {
        Anchor::Icon(icon) => {
            // Right-aligned to the icon (trays sit at the right), then kept on screen.
            let x = icon.right() - width;
            let below = icon.bottom() + GAP;
            let above = icon.y - GAP - height;
            // Below when the icon is in the top half of the screen (a menu bar, a top panel).
            let y = if icon.y + icon.height / 2 < screen.y + screen.height / 2 {
                below
            } else {
                above
            };
            (x, y)
        }
        Anchor::Point(px, py) => {
            let x = px - width / 2;
            let y = if py < screen.y + screen.height / 2 {
                py + GAP
            } else {
                py - GAP - height
            };
            (x, y)
        }
        Anchor::Unknown => {
            // A panel takes its height off the work area at its edge; the tray is at its right.
            let bottom_panel = work.bottom() < screen.bottom() && work.y == screen.y;
            let x = work.right() - GAP - width;
            let y = if bottom_panel {
                work.bottom() - GAP - height
            } else {
                work.y + GAP
            };
            (x, y)
        }
    };
    clamp(x, y, work, width, height)
}

fn clamp(x: i32, y: i32, work: Rect, width: i32, height: i32) -> (i32, i32) {
    let fit = |v: i32, start: i32, span: i32, size: i32| {
        if size + 2 * GAP >= span {
            start
        } else {
            v.clamp(start + GAP, start + span - GAP - size)
        }
    };
    (
        fit(x, work.x, work.width, width),
        fit(y, work.y, work.height, height),
    )
}

/// The window's theme ("system", "light", "dark"), which the panel shows too.
pub struct Theme(pub Mutex<String>);

impl Default for Theme {
    fn default() -> Theme {
        Theme(Mutex::new("system".into()))
    }
}

/// When the panel last opened, for [`SETTLE`].
#[derive(Default)]
pub struct Opened(Mutex<Option<Instant>>);

/// Opens the panel from `anchor`, or closes it when it is open (a second click on the tray).
pub fn toggle<R: Runtime>(app: &AppHandle<R>, anchor: Anchor) {
    if is_open(app) {
        close(app);
    } else {
        open(app, anchor);
    }
}

pub fn is_open<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.get_webview_window(LABEL)
        .and_then(|w| w.is_visible().ok())
        .unwrap_or(false)
}

/// Opens (or moves and focuses) the panel from `anchor`.
pub fn open<R: Runtime>(app: &AppHandle<R>, anchor: Anchor) {
    let window = match app.get_webview_window(LABEL) {
        Some(w) => w,
        None => {
            let built =
                WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App("index.html#popover".into()))
                    .title("Presently quick panel")
                    .inner_size(WIDTH, HEIGHT)
                    .resizable(false)
                    .decorations(false)
                    .always_on_top(true)
                    .skip_taskbar(true)
                    .visible(false)
                    .build();
            match built {
                // (Not rendered on the CPU as the main window is: WebKitGTK's policy set on a
                // second webview after it is built leaves it blank.)
                Ok(w) => w,
                Err(e) => {
                    tracing::warn!("the tray panel could not be made: {e}");
                    return;
                }
            }
        }
    };
    let anchor = match anchor {
        Anchor::Unknown => app
            .cursor_position()
            .ok()
            .map(|p| Anchor::Point(p.x as i32, p.y as i32))
            .unwrap_or(Anchor::Unknown),
        known => known,
    };
    let monitor = match anchor {
        Anchor::Icon(r) => app
            .monitor_from_point(r.x as f64, r.y as f64)
            .ok()
            .flatten(),
        Anchor::Point(x, y) => app.monitor_from_point(x as f64, y as f64).ok().flatten(),
        Anchor::Unknown => None,
    }
    .or_else(|| app.primary_monitor().ok().flatten());
    if let Some(m) = monitor {
        let scale = m.scale_factor();
        let (w, h) = ((WIDTH * scale) as i32, (HEIGHT * scale) as i32);
        let screen = Rect {
            x: m.position().x,
            y: m.position().y,
            width: m.size().width as i32,
            height: m.size().height as i32,
        };
        let area = m.work_area();
        let work = Rect {
            x: area.position.x,
            y: area.position.y,
            width: area.size.width as i32,
            height: area.size.height as i32,
        };
        // A point on another monitor than the one found is not believed.
        let anchor = match anchor {
            Anchor::Point(x, y) if !screen.contains(x, y) => Anchor::Unknown,
            a => a,
        };
        let (x, y) = place(anchor, screen, work, w, h);
        let _ = window.set_size(PhysicalSize::new(w as u32, h as u32));
        let _ = window.set_position(PhysicalPosition::new(x, y));
    }
    if let Ok(mut at) = app.state::<Opened>().0.lock() {
        *at = Some(Instant::now());
    }
    let _ = window.show();
    let _ = window.set_focus();
    // The keyboard goes to the page, not only to the window (GTK gives a toplevel's focus to
    // its webview only when asked).
    let webview: &tauri::Webview<R> = window.as_ref();
    let _ = webview.set_focus();
}

pub fn close<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window(LABEL) {
        let _ = w.hide();
    }
}

/// The panel lost focus: it closes, unless it has only just opened.
pub fn blurred<R: Runtime>(app: &AppHandle<R>) {
    let settling = app
        .state::<Opened>()
        .0
        .lock()
        .ok()
        .and_then(|at| *at)
        .is_some_and(|at| at.elapsed() < SETTLE);
    if !settling {
        close(app);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCREEN: Rect = Rect {
        x: 0,
        y: 0,
        width: 1920,
        height: 1080,
    };

    fn inside(work: Rect, (x, y): (i32, i32), w: i32, h: i32) {
        assert!(x >= work.x && y >= work.y, "({x}, {y}) inside {work:?}");
        assert!(
            x + w <= work.right() && y + h <= work.bottom(),
            "({x}, {y}) {w}×{h} inside {work:?}"
        );
    }

    #[test]
    fn above_a_taskbar_icon_at_the_bottom_right_right_aligned_to_it() {
        // Windows: a 40 px taskbar at the bottom; the icon near the clock.
        let work = Rect {
            height: 1040,
            ..SCREEN
        };
        let icon = Rect {
            x: 1800,
            y: 1044,
            width: 24,
            height: 32,
        };
        let at = place(Anchor::Icon(icon), SCREEN, work, 360, 540);
        // Right-aligned to the icon, just above the taskbar (the work area's edge).
        assert_eq!(at, (1824 - 360, 1040 - GAP - 540));
        inside(work, at, 360, 540);
    }

    #[test]
    fn below_a_menu_bar_icon_and_never_past_the_screens_edge() {
        // macOS: a 25 px menu bar; an icon at the far right would push the panel off-screen.
        let work = Rect {
            y: 25,
            height: 1055,
            ..SCREEN
        };
        let icon = Rect {
            x: 1890,
            y: 0,
            width: 30,
            height: 25,
        };
        let at = place(Anchor::Icon(icon), SCREEN, work, 360, 540);
        assert_eq!(at.1, 25 + GAP);
        assert_eq!(at.0, 1920 - GAP - 360, "moved left to fit");
        inside(work, at, 360, 540);
        // At the left end of the bar: kept from the left edge too.
        let at = place(Anchor::Icon(Rect { x: 0, ..icon }), SCREEN, work, 360, 540);
        assert_eq!(at.0, GAP);
    }

    #[test]
    fn from_a_point_on_the_side_with_room() {
        let work = Rect {
            y: 32,
            height: 1048,
            ..SCREEN
        };
        // A pointer on a top panel's menu: below it.
        let at = place(Anchor::Point(1700, 40), SCREEN, work, 360, 540);
        assert_eq!(at, (1700 - 180, 40 + GAP));
        // Near the bottom: above it.
        let at = place(Anchor::Point(300, 1000), SCREEN, work, 360, 540);
        assert_eq!(at, (300 - 180, 1000 - GAP - 540));
        inside(work, at, 360, 540);
    }

    #[test]
    fn without_a_position_in_the_corner_where_the_panel_is() {
        // A top panel (GNOME): the top right corner below it.
        let top = Rect {
            y: 32,
            height: 1048,
            ..SCREEN
        };
        assert_eq!(
            place(Anchor::Unknown, SCREEN, top, 360, 540),
            (1920 - GAP - 360, 32 + GAP)
        );
        // A bottom panel (KDE, Cinnamon): the bottom right corner above it.
        let bottom = Rect {
            height: 1036,
            ..SCREEN
        };
        assert_eq!(
            place(Anchor::Unknown, SCREEN, bottom, 360, 540),
            (1920 - GAP - 360, 1036 - GAP - 540)
        );
        // No panel at all: the top right corner.
        assert_eq!(
            place(Anchor::Unknown, SCREEN, SCREEN, 360, 540),
            (1920 - GAP - 360, GAP)
        );
    }

    #[test]
    fn a_second_monitor_and_a_screen_smaller_than_the_panel() {
        let right = Rect {
            x: 1920,
            y: 0,
            width: 1280,
            height: 1024,
        };
        let at = place(Anchor::Point(3100, 1000), right, right, 360, 540);
        inside(right, at, 360, 540);
        let tiny = Rect {
            x: 0,
            y: 0,
            width: 320,
            height: 480,
        };
        assert_eq!(place(Anchor::Unknown, tiny, tiny, 360, 540), (0, 0));
    }
}
