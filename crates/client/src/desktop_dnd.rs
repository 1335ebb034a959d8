//! The desktop's own Do not disturb, both ways.
//!
//! - **Follow**: when the desktop's Do not disturb comes on (GNOME's notification banners off),
//!   Presently goes Do not disturb too (or only pauses its notifications, as set), and comes
//!   back when the desktop's goes off — unless the person chose something else meanwhile.
//! - **Quiet the desktop**: while Presently holds notifications (Do not disturb, a pause, quiet
//!   hours), the desktop's banners are off as well, so other applications do not interrupt
//!   either; they come back with Presently's. A desktop the person changed by hand meanwhile is
//!   left as they set it.
//!
//! Two desktops have a switch Presently can read and turn:
//! - **KDE Plasma** (and any notification server with KDE's extension):
//!   `org.freedesktop.Notifications`' `Inhibited` property says whether notifications are held,
//!   and `Inhibit` / `UnInhibit` hold and release them. An inhibition lives as long as the
//!   D-Bus connection that asked for it, so a Presently that quits leaves nothing held.
//! - **GNOME**: `org.gnome.desktop.notifications show-banners`, read and written with
//!   `gsettings` (the same on every GNOME, whichever GSettings backend it uses). The setting
//!   outlives Presently, so what Presently turned off is remembered and given back.
//!
//! Desktops with neither are not followed, and Settings says so.

use crate::sync::{Command, Event, SyncHandle};
use presence::{Change, Interruptibility, SelfView, Span, StatusId, Timestamp};
use std::process::{Command as Process, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// What Presently does when the desktop's Do not disturb comes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Follow {
    /// Nothing.
    Off,
    /// Pause Presently's notifications (the status stays as it is).
    Pause,
    /// Do not disturb: teammates see it, notifications wait in the center.
    #[default]
    DoNotDisturb,
}

impl Follow {
    /// Its stored and IPC form.
    pub fn as_str(self) -> &'static str {
        match self {
            Follow::Off => "off",
            Follow::Pause => "pause",
            Follow::DoNotDisturb => "dnd",
        }
    }

    pub fn parse(raw: &str) -> Result<Follow, String> {
        match raw {
            "off" => Ok(Follow::Off),
            "pause" => Ok(Follow::Pause),
            "dnd" | "do_not_disturb" => Ok(Follow::DoNotDisturb),
            other => Err(format!(
                "\"{other}\" is not a way to follow the desktop's Do not disturb: use dnd, pause or off"
            )),
        }
    }
}

/// The desktop's Do not disturb switch.
pub trait Desktop: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// Whether the desktop's Do not disturb is on.
    fn dnd(&self) -> Result<bool, String>;
    fn set_dnd(&self, on: bool) -> Result<(), String>;
    /// Whether what Presently turned on stays on after Presently stops (GNOME's setting does;
    /// KDE's inhibition ends with Presently's connection).
    fn outlives_presently(&self) -> bool {
        true
    }
}

/// The desktop's switch where there is one, or why there is none. Tries KDE's inhibition on
/// the notification server first (a KDE desktop may have GNOME's schema installed too, without
/// meaning anything), then GNOME's setting. Blocking: run it off the async threads.
pub fn detect() -> Result<Arc<dyn Desktop>, String> {
    let kde = match Kde::connect() {
        Ok(kde) => return Ok(Arc::new(kde)),
        Err(e) => e,
    };
    match Gnome::detect() {
        Some(gnome) => Ok(Arc::new(gnome)),
        None => Err(format!(
            "this desktop has no Do not disturb Presently can follow (GNOME's notification banners setting, or KDE's notification inhibition: {kde})"
        )),
    }
}

const NOTIFICATIONS: &str = "org.freedesktop.Notifications";
const NOTIFICATIONS_PATH: &str = "/org/freedesktop/Notifications";

/// KDE Plasma: Do not disturb is the notification server's `Inhibited`; Presently's own is an
/// inhibition it holds (its cookie kept here) on a connection of its own.
pub struct Kde {
    conn: zbus::blocking::Connection,
    cookie: std::sync::Mutex<Option<u32>>,
}

impl Kde {
    /// The notification server's inhibition, when it has one (reading `Inhibited` works).
    pub fn connect() -> Result<Kde, String> {
        let conn =
            zbus::blocking::Connection::session().map_err(|e| format!("no session bus ({e})"))?;
        let kde = Kde {
            conn,
            cookie: std::sync::Mutex::new(None),
        };
        kde.dnd()?;
        Ok(kde)
    }

    fn proxy(&self) -> Result<zbus::blocking::Proxy<'_>, String> {
        zbus::blocking::proxy::Builder::new(&self.conn)
            .destination(NOTIFICATIONS)
            .and_then(|b| b.path(NOTIFICATIONS_PATH))
            .and_then(|b| b.interface(NOTIFICATIONS))
            .map(|b| b.cache_properties(zbus::proxy::CacheProperties::No))
            .and_then(|b| b.build())
            .map_err(|e| format!("the notification server cannot be reached ({e})"))
    }
}

impl Desktop for Kde {
    fn name(&self) -> &'static str {
        "kde"
    }

    fn dnd(&self) -> Result<bool, String> {
        self.proxy()?
            .get_property::<bool>("Inhibited")
            .map_err(|e| format!("the notification server has no Inhibited property ({e})"))
    }

    fn set_dnd(&self, on: bool) -> Result<(), String> {
        let proxy = self.proxy()?;
        let mut cookie = self.cookie.lock().map_err(|_| "poisoned".to_string())?;
        // An inhibition held from before (the person may have cleared it by hand meanwhile):
        // released, so at most one is ever held.
        if let Some(old) = cookie.take() {
            let _ = proxy.call_method("UnInhibit", &(old,));
        }
        if !on {
            return Ok(());
        }
        let hints: std::collections::HashMap<&str, zbus::zvariant::Value<'_>> =
            std::collections::HashMap::new();
        let new: u32 = proxy
            .call(
                "Inhibit",
                &(
                    "presently",
                    "Do not disturb in Presently: notifications wait in its center",
                    hints,
                ),
            )
            .map_err(|e| format!("the notification server refused Inhibit ({e})"))?;
        *cookie = Some(new);
        Ok(())
    }

    fn outlives_presently(&self) -> bool {
        false
    }
}

/// GNOME: Do not disturb is `show-banners` off.
pub struct Gnome;

const SCHEMA: &str = "org.gnome.desktop.notifications";
const KEY: &str = "show-banners";

impl Gnome {
    /// GNOME's switch, when `gsettings` can read it here.
    pub fn detect() -> Option<Gnome> {
        Gnome.dnd().ok().map(|_| Gnome)
    }
}

impl Desktop for Gnome {
    fn name(&self) -> &'static str {
        "gnome"
    }

    fn dnd(&self) -> Result<bool, String> {
        let out = Process::new("gsettings")
            .args(["get", SCHEMA, KEY])
            .stderr(Stdio::null())
            .output()
            .map_err(|e| format!("gsettings cannot run: {e}"))?;
        match String::from_utf8_lossy(&out.stdout).trim() {
            "true" => Ok(false),
            "false" => Ok(true),
            _ => Err(format!("gsettings has no {SCHEMA} {KEY} here")),
        }
    }

    fn set_dnd(&self, on: bool) -> Result<(), String> {
        let status = Process::new("gsettings")
            .args(["set", SCHEMA, KEY, if on { "false" } else { "true" }])
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("gsettings cannot run: {e}"))?;
        status
            .success()
            .then_some(())
            .ok_or_else(|| format!("gsettings could not set {SCHEMA} {KEY}"))
    }
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A change to the person's own presence.
    Presently(Change),
    /// Turn the desktop's Do not disturb on or off.
    Desktop(bool),
}

/// The two directions and who turned what on, so each side undoes only what it did.
#[derive(Debug, Clone, Default)]
pub struct Reconciler {
    pub follow: Follow,
    pub quiet_desktop: bool,
    /// Presently went quiet because the desktop did.
    followed: bool,
    /// Whether Presently's quiet has shown in the self view since it followed: until it has,
    /// the change is on its way to the server (a self view of Available or Offline meanwhile is
    /// not the person ending it), and the desktop's switch going off must still undo it.
    seen_ours: bool,
    /// The desktop went quiet because Presently did.
    quieted: bool,
    /// The person turned the desktop's back on while Presently was quiet: left so until
    /// Presently's quiet ends.
    left_alone: bool,
    /// What Presently last wrote to the desktop, until a read shows it (a write can take a
    /// moment to land; an older value read meanwhile is not the person's doing), and for how
    /// many more looks to wait for it.
    wrote: Option<(bool, u8)>,
}

impl Reconciler {
    pub fn new(follow: Follow, quiet_desktop: bool) -> Reconciler {
        Reconciler {
            follow,
            quiet_desktop,
            ..Reconciler::default()
        }
    }

    /// One look at both sides at `now`: the desktop's Do not disturb, and Presently's self
    /// view.
    pub fn step(&mut self, now: Timestamp, desktop_dnd: bool, me: &SelfView) -> Vec<Action> {
        if let Some((value, looks)) = self.wrote {
            if desktop_dnd != value && looks > 0 {
                self.wrote = Some((value, looks - 1));
                return Vec::new();
            }
            self.wrote = None;
        }
        let out = self.decide(now, desktop_dnd, me);
        if let Some(Action::Desktop(on)) = out.last() {
            self.wrote = Some((*on, 5));
        }
        out
    }

    fn decide(&mut self, now: Timestamp, desktop_dnd: bool, me: &SelfView) -> Vec<Action> {
        // The person's own hold: Do not disturb (not Offline, which holds notifications only
        // because nobody is there), a pause, quiet hours.
        let quiet = match me.interruptibility {
            Interruptibility::Normal => false,
            Interruptibility::DoNotDisturb { .. } => {
                me.status.family == presence::Family::DoNotDisturb
            }
            _ => true,
        };
        let mut out = Vec::new();
        if self.followed && quiet {
            self.seen_ours = true;
        }
        // Presently's quiet is still on its way: the self view shows what was there before (a
        // status the person chose meanwhile, Busy say, is theirs and stands).
        let in_flight = self.followed
            && !self.seen_ours
            && matches!(
                me.status.family,
                presence::Family::Available | presence::Family::Offline
            );
        // The desktop's Do not disturb went off.
        if !desktop_dnd {
            if self.quieted {
                // Turned off by hand while Presently had turned it on: left as it is.
                self.quieted = false;
                self.left_alone = quiet;
            }
            if self.followed {
                self.followed = false;
                match self.follow {
                    Follow::Pause
                        if in_flight
                            || matches!(me.interruptibility, Interruptibility::Paused { .. }) =>
                    {
                        out.push(Action::Presently(Change::ResumeNotifications));
                    }
                    Follow::DoNotDisturb if in_flight || me.status.status == StatusId::DND => {
                        out.push(Action::Presently(Change::SetStatus {
                            status: StatusId::AVAILABLE,
                            until: None,
                        }));
                    }
                    // The person chose something else meanwhile: theirs stands.
                    _ => {}
                }
                return out;
            }
        }
        // The desktop's Do not disturb is on, and not Presently's doing: follow it.
        if desktop_dnd && !self.quieted && !self.followed && !quiet {
            let change = match self.follow {
                Follow::Off => None,
                // A pause needs an end: a day, in case the desktop's switch is never turned off.
                Follow::Pause => Some(Change::PauseNotifications {
                    until: now.plus(Span::hours(24)),
                }),
                Follow::DoNotDisturb => Some(Change::do_not_disturb(None)),
            };
            if let Some(c) = change {
                self.followed = true;
                self.seen_ours = false;
                out.push(Action::Presently(c));
            }
            return out;
        }
        if self.followed && !quiet && !in_flight {
            // Presently's quiet ended by the person's hand while the desktop's stays on.
            self.followed = false;
        }
        if !quiet {
            self.left_alone = false;
        }
        // Presently holds notifications: the desktop's banners go quiet too, and come back.
        if self.quiet_desktop && !self.followed && !self.left_alone {
            if quiet && !desktop_dnd && !self.quieted {
                self.quieted = true;
                out.push(Action::Desktop(true));
            } else if !quiet && self.quieted && desktop_dnd {
                self.quieted = false;
                out.push(Action::Desktop(false));
            }
        }
        out
    }
}

/// The store key that says Presently turned the desktop's Do not disturb on.
const QUIETED: &str = "desktop_quieted";

/// How to follow, changed from Settings while the task runs.
pub type Shared = Arc<std::sync::RwLock<(Follow, bool)>>;

/// Looks at both sides every `every` and on every self view, and acts, as `options` say now
/// (follow, quiet the desktop). The self view starts from the one `store` kept (it may have
/// come before this task listened).
pub async fn run(
    sync: SyncHandle,
    store: crate::store::Store,
    desktop: Arc<dyn Desktop>,
    options: Shared,
    every: Duration,
    clock: clock::SharedClock,
) {
    // Presently quieted the desktop before it last stopped: still its doing, to give back (not
    // the person's Do not disturb to follow).
    let mut reconciler = Reconciler {
        quieted: desktop.outlives_presently()
            && store.get(QUIETED).await.ok().flatten().as_deref() == Some("yes"),
        ..Reconciler::default()
    };
    let mut kept = reconciler.quieted;
    let mut events = sync.subscribe();
    let mut me: Option<SelfView> = None;
    let mut warned = false;
    loop {
        tokio::select! {
            e = events.recv() => match e {
                Ok(Event::SelfView { view }) => me = Some(view),
                Ok(_) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
            _ = tokio::time::sleep(every) => {}
        }
        if me.is_none() {
            me = store.self_view().await.ok().flatten();
        }
        let Some(view) = me.as_ref() else { continue };
        let d = desktop.clone();
        let dnd = match tokio::task::spawn_blocking(move || d.dnd()).await {
            Ok(Ok(on)) => {
                warned = false;
                on
            }
            Ok(Err(e)) => {
                if !warned {
                    tracing::info!(error = %e, desktop = desktop.name(), "the desktop's Do not disturb cannot be read for now");
                    warned = true;
                }
                continue;
            }
            Err(_) => continue,
        };
        if let Ok(o) = options.read() {
            (reconciler.follow, reconciler.quiet_desktop) = *o;
        }
        let actions = reconciler.step(clock.now(), dnd, view);
        if reconciler.quieted != kept {
            kept = reconciler.quieted;
            let _ = store.set(QUIETED, if kept { "yes" } else { "no" }).await;
        }
        for action in actions {
            tracing::info!(?action, "following the desktop's Do not disturb");
            match action {
                Action::Presently(change) => {
                    sync.send(Command::Change(change)).await;
                }
                Action::Desktop(on) => {
                    let d = desktop.clone();
                    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || d.set_dnd(on)).await {
                        tracing::warn!(error = %e, "the desktop's Do not disturb could not be set");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use presence::{Person, Rules};

    fn t(s: i64) -> Timestamp {
        Timestamp(1_800_000_000_000 + s * 1000)
    }

    /// A person at their desk, after `changes`.
    fn me(changes: &[Change]) -> SelfView {
        let rules = Rules::default();
        let mut p = Person::default();
        p.report(
            &rules,
            t(0),
            &presence::DeviceReport {
                device: presence::DeviceId::parse("desk").unwrap(),
                seq: 1,
                activity: presence::DeviceActivity::Active,
                in_call: false,
            },
        );
        for c in changes {
            p.apply(&rules, t(1), c.clone()).unwrap();
        }
        rules.self_view(&p, t(2))
    }

    fn dnd() -> Change {
        Change::do_not_disturb(None)
    }

    #[test]
    fn presently_follows_the_desktops_do_not_disturb_and_comes_back() {
        let mut r = Reconciler::new(Follow::DoNotDisturb, true);
        assert_eq!(r.step(t(2), false, &me(&[])), []);
        assert_eq!(r.step(t(2), true, &me(&[])), [Action::Presently(dnd())]);
        // Now in Do not disturb because of it: the desktop is not told again.
        assert_eq!(r.step(t(3), true, &me(&[dnd()])), []);
        assert_eq!(
            r.step(t(4), false, &me(&[dnd()])),
            [Action::Presently(Change::SetStatus {
                status: StatusId::AVAILABLE,
                until: None
            })]
        );
    }

    #[test]
    fn the_desktops_switch_off_before_presentlys_quiet_showed_still_undoes_it() {
        let mut r = Reconciler::new(Follow::DoNotDisturb, true);
        assert_eq!(r.step(t(2), true, &me(&[])), [Action::Presently(dnd())]);
        // Off again before the self view showed Do not disturb: it is still on its way, and
        // is undone after it (the outbox keeps the order).
        assert_eq!(
            r.step(t(3), false, &me(&[])),
            [Action::Presently(Change::SetStatus {
                status: StatusId::AVAILABLE,
                until: None
            })]
        );
        assert_eq!(r.step(t(4), false, &me(&[])), []);
        // On again, and looked at while the self view still shows Available: not taken for
        // the person ending it; the switch off once Do not disturb showed undoes it.
        assert_eq!(r.step(t(5), true, &me(&[])), [Action::Presently(dnd())]);
        assert_eq!(r.step(t(6), true, &me(&[])), []);
        assert_eq!(r.step(t(7), true, &me(&[dnd()])), []);
        assert_eq!(
            r.step(t(8), false, &me(&[dnd()])),
            [Action::Presently(Change::SetStatus {
                status: StatusId::AVAILABLE,
                until: None
            })]
        );
    }

    #[test]
    fn a_status_the_person_chose_meanwhile_stands() {
        let mut r = Reconciler::new(Follow::DoNotDisturb, true);
        assert_eq!(r.step(t(2), true, &me(&[])), [Action::Presently(dnd())]);
        let busy = Change::SetStatus {
            status: StatusId::BUSY,
            until: None,
        };
        // Busy by hand, then the desktop's switch off: Busy stays.
        assert_eq!(r.step(t(3), true, &me(std::slice::from_ref(&busy))), []);
        assert_eq!(r.step(t(4), false, &me(&[busy])), []);
    }

    #[test]
    fn a_pause_is_the_gentler_way_to_follow() {
        let mut r = Reconciler::new(Follow::Pause, false);
        let acts = r.step(t(2), true, &me(&[]));
        assert_eq!(
            acts,
            [Action::Presently(Change::PauseNotifications {
                until: t(2).plus(Span::hours(24))
            })]
        );
        let paused = Change::PauseNotifications {
            until: t(2).plus(Span::hours(24)),
        };
        assert_eq!(
            r.step(t(3), false, &me(&[paused])),
            [Action::Presently(Change::ResumeNotifications)]
        );
        let mut off = Reconciler::new(Follow::Off, false);
        assert_eq!(off.step(t(2), true, &me(&[])), []);
    }

    #[test]
    fn a_write_still_landing_is_not_taken_for_the_persons_hand() {
        let mut r = Reconciler::new(Follow::DoNotDisturb, true);
        assert_eq!(r.step(t(2), false, &me(&[dnd()])), [Action::Desktop(true)]);
        assert_eq!(r.step(t(3), true, &me(&[])), [Action::Desktop(false)]);
        // The old value read once more before the write lands: not followed.
        assert_eq!(r.step(t(4), true, &me(&[])), []);
        assert_eq!(r.step(t(5), false, &me(&[])), []);
    }

    #[test]
    fn nobody_there_is_not_a_hold_of_the_persons_own() {
        let rules = Rules::default();
        let offline = rules.self_view(&Person::default(), t(0));
        let mut r = Reconciler::new(Follow::DoNotDisturb, true);
        assert_eq!(r.step(t(0), false, &offline), []);
    }

    #[test]
    fn presently_quiets_the_desktop_and_gives_it_back() {
        let mut r = Reconciler::new(Follow::DoNotDisturb, true);
        assert_eq!(r.step(t(2), false, &me(&[dnd()])), [Action::Desktop(true)]);
        // The desktop's switch is on because of Presently: that is not followed back.
        assert_eq!(r.step(t(3), true, &me(&[dnd()])), []);
        assert_eq!(r.step(t(4), true, &me(&[])), [Action::Desktop(false)]);
        // Off: nothing more.
        assert_eq!(r.step(t(5), false, &me(&[])), []);
        // Quieted again, then the person turns the desktop's back on by hand: left so.
        assert_eq!(r.step(t(6), false, &me(&[dnd()])), [Action::Desktop(true)]);
        assert_eq!(r.step(t(7), false, &me(&[dnd()])), []);
        let mut keep = Reconciler::new(Follow::DoNotDisturb, false);
        assert_eq!(keep.step(t(2), false, &me(&[dnd()])), []);
    }
}
