//! Favourites and "tell me when they are available": a person pins anyone of their
//! organisation to watch them live beside their team, and asks once to be told when someone
//! becomes Available (a notification, then the request is gone), as Teams does. Personal: no
//! audit entry; every node reloads, as for an administrative change.

use super::{App, Slot};
use crate::db;
use crate::error::AppError;
use presence::{Family, UserId};
use protocol::rest;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// At most this many favourites per person.
pub const MAX_FAVOURITES: usize = 200;

/// Pins, unpins and requests a person may make in a burst, then one a second.
const BURST: u32 = 60;

pub(crate) fn limiter(clock: clock::SharedClock) -> crate::limits::Keyed<String> {
    crate::limits::per_person(clock, BURST, Duration::from_secs(1))
}

impl App {
    fn personal_limit(&self, me: &Slot) -> Result<(), AppError> {
        crate::limits::count(
            &self.personal_changes,
            me.id.as_str(),
            &self.clock,
            "too many changes to your favourites",
        )
    }

    /// Stores one of a person's own changes; every node reloads their organisation.
    async fn personal(&self, me: &Slot, statement: crate::db::Statement) -> Result<(), AppError> {
        self.db.personal_change(&me.org, &[statement]).await?;
        self.reload().await?;
        self.org_changed(&me.org);
        Ok(())
    }

    /// The person `user` names, of `me`'s organisation, and not `me`.
    fn someone_else(&self, me: &Slot, user: &str, what: &str) -> Result<Arc<Slot>, AppError> {
        let them = self.user_in_org(&me.org, user)?;
        if them.id == me.id {
            return Err(AppError::invalid(format!("you cannot {what} yourself")));
        }
        Ok(them)
    }

    /// Pins (`on`) or unpins someone of the person's organisation. Pinning again changes
    /// nothing; more than [`MAX_FAVOURITES`] is refused.
    pub async fn set_favourite(&self, me: &Slot, user: &str, on: bool) -> Result<(), AppError> {
        self.personal_limit(me)?;
        let them = self.someone_else(me, user, "pin")?;
        let pinned = self.hub.directory().favourites(&me.id);
        let statement = if on {
            if !pinned.contains(&them.id) && pinned.len() >= MAX_FAVOURITES {
                return Err(AppError::conflict(format!(
                    "you have {MAX_FAVOURITES} favourites, the most there can be: unpin someone first"
                )));
            }
            db::add_favourite(me.id.as_str(), them.id.as_str(), self.clock.now().0)
        } else {
            db::remove_favourite(me.id.as_str(), them.id.as_str())
        };
        self.personal(me, statement).await
    }

    /// Asks once to be told when someone becomes Available (`on`), or takes the request back.
    /// Someone Available now is said so instead.
    pub async fn set_alert(&self, me: &Slot, user: &str, on: bool) -> Result<(), AppError> {
        self.personal_limit(me)?;
        let them = self.someone_else(me, user, "wait for")?;
        let statement = if on {
            if them.team_view().status.family == Family::Available {
                return Err(AppError::conflict(format!(
                    "{} is available now: no need to wait",
                    them.name
                )));
            }
            db::add_alert(me.id.as_str(), them.id.as_str(), self.clock.now().0)
        } else {
            db::remove_alert(me.id.as_str(), them.id.as_str())
        };
        self.personal(me, statement).await
    }

    /// The person's favourites as their panel shows them, and whom they wait for.
    pub async fn favourites(&self, me: &Slot) -> Result<rest::Favourites, AppError> {
        let mut people = Vec::new();
        for id in self.hub.directory().favourites(&me.id).iter() {
            if let Some(slot) = self.slot(id) {
                people.push(slot.member());
            }
        }
        let waiting = self
            .db
            .alerts_of(me.id.as_str())
            .await?
            .into_iter()
            .filter_map(|p| UserId::parse(p).ok())
            .collect();
        Ok(rest::Favourites { people, waiting })
    }
}

/// Tells whoever waited for a person that they are Available, once: each request is taken from
/// the database by the node that applied the change, and answered with a notification from
/// that person (held, like any other, while the one who asked is in Do not disturb).
pub(crate) async fn tell_available(
    app: std::sync::Weak<App>,
    mut rx: mpsc::UnboundedReceiver<UserId>,
) {
    while let Some(person) = rx.recv().await {
        let Some(app) = app.upgrade() else { return };
        let Some(slot) = app.slot(&person) else {
            continue;
        };
        let asked = match app.db.take_alerts_for(person.as_str()).await {
            Ok(asked) => asked,
            Err(e) => {
                tracing::warn!(error = %e, "could not read who waits for a person");
                continue;
            }
        };
        if let Ok(mut awaited) = app.awaited.write() {
            awaited.remove(&person);
        }
        let now = app.clock.now().0;
        for watcher in asked {
            let sent = app
                .notify(
                    &slot.org,
                    rest::SendNotification {
                        user: watcher.clone(),
                        title: format!("{} is available", slot.name),
                        body: "You asked to be told when they are available.".into(),
                        sender: Some(person.as_str().to_string()),
                        urgent: false,
                        external_id: Some(format!("available:{}:{now}", person.as_str())),
                        link: None,
                    },
                )
                .await;
            if let Err(e) = sent {
                tracing::warn!(%watcher, error = %e, "could not tell that a person is available");
            }
        }
    }
}
