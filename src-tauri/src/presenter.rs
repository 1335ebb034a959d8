//! The presenter: the one loop between what changes and what a person sees.
//!
//! It alone applies the client core's events to the app's views, applies what falls due on the
//! local engine, and after each wake draws the tray and tells the window from the same
//! snapshot, once per change. Everything else that changes state (a command, a tray click, a
//! sign-in, the update check) only wakes it through [`AppState::changed`].

use crate::remote::Changed;
use crate::state::{AppState, Snapshot};
use presently_client::sync::Event;
use protocol::ipc::events;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::broadcast::{error::RecvError, Receiver};

/// How often the loop wakes with nothing to do (the local engine's heartbeat; well inside the
/// 90 s lease).
const HEARTBEAT: Duration = Duration::from_secs(30);

pub async fn run<R: Runtime>(app: AppHandle<R>) {
    let mut shown: Option<Snapshot> = None;
    let mut events: Option<Receiver<Event>> = None;
    let mut what = Changed::everything();
    loop {
        let state = app.state::<AppState>();
        // Connected since the last wake: from now on the client core's events come here.
        if events.is_none() {
            if let Some(r) = state.remote.get() {
                if let Some(rx) = r.events.lock().ok().and_then(|mut e| e.take()) {
                    r.refresh_statuses().await;
                    events = Some(rx);
                    what = Changed::everything();
                }
            }
        }
        let next = state.tick();
        publish(&app, &mut shown, &what);
        let now = state.clock.now();
        let wait = next
            .map(|n| Duration::from_millis(n.since(now).millis().max(0) as u64))
            .unwrap_or(HEARTBEAT)
            .min(HEARTBEAT);
        what = tokio::select! {
            _ = state.clock.sleep(wait) => Changed::default(),
            // A local change, a connection attempt's words, an update: the snapshot covers them
            // (a new connection's team and center are drawn when its events are taken, above).
            _ = state.changed.notified() => Changed {
                presence: true,
                ..Changed::default()
            },
            event = next_event(&mut events) => match (event, state.remote.get()) {
                (Some(event), Some(r)) => r.apply(&event).await,
                // Events were lost (a burst the loop fell behind on): draw everything again.
                _ => Changed::everything(),
            },
        };
    }
}

/// The next event of the client core; pending forever while not connected (or once sync ended).
async fn next_event(events: &mut Option<Receiver<Event>>) -> Option<Event> {
    let Some(rx) = events.as_mut() else {
        return std::future::pending().await;
    };
    match rx.recv().await {
        Ok(event) => Some(event),
        Err(RecvError::Lagged(_)) => None,
        Err(RecvError::Closed) => {
            *events = None;
            std::future::pending().await
        }
    }
}

/// Draws the tray and tells the window what changed: the presence snapshot only when it differs
/// from the one last shown, so a change is drawn and emitted once.
fn publish<R: Runtime>(app: &AppHandle<R>, shown: &mut Option<Snapshot>, what: &Changed) {
    let state = app.state::<AppState>();
    let snap = state.snapshot();
    if shown.as_ref() != Some(&snap) {
        crate::tray::draw(app, &snap);
        if let Err(e) = app.emit(events::PRESENCE_CHANGED, &snap) {
            tracing::warn!("could not tell the window: {e}");
        }
        *shown = Some(snap);
    }
    if what.team {
        let _ = app.emit(events::TEAM_CHANGED, state.team());
    }
    if what.center {
        let _ = app.emit(events::CENTER_CHANGED, ());
    }
}
