//! Running an organisation: people's accounts from invite to deletion, teams and membership,
//! devices and API keys, and the audit log of every administrative action.
//!
//! Each operation checks what it may do against what this node has loaded, then writes its
//! statements, its audit entry and the organisation's new revision in one transaction
//! ([`Db::admin_change`](crate::db::Db::admin_change)), then [`App::reload`]s. What a change
//! means for connections and presence (a deactivated person's sessions closed and their devices
//! signed out, teammates' panels redrawn) is carried out by the reload on each serving node, from
//! what is stored — so it is the same whether the change came over REST, from another node, or
//! from the admin CLI writing to the database while the server runs (found by
//! [`watch_revisions`]).

mod audit;
mod codes;

pub(crate) use codes::invite_state;
mod devices;
mod people;
mod teams;

use super::{checked_name, frame, App, Slot};
use crate::auth;
use crate::broker::Event;
use crate::db;
use crate::db::{
    add_member, insert_code, revoke_codes_of, revoke_tokens, role_str, AuditRow, CodeRow, Role,
    Statement,
};
use crate::error::AppError;
use presence::{DeviceActivity, DeviceId, Person, Preferences, Schedule, TimeZone, UserId};
use protocol::rest::{self, InviteState};
use protocol::ServerMessage;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::watch;

/// Who does an administrative action, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: Option<UserId>,
    pub label: String,
}

impl Actor {
    /// `presently-server admin …`.
    pub fn command_line() -> Actor {
        Actor {
            id: None,
            label: "command line (presently-server admin)".into(),
        }
    }

    /// The server itself (the demo's seeding, tests' fixtures).
    pub fn system() -> Actor {
        Actor {
            id: None,
            label: "the server".into(),
        }
    }

    /// A signed-in person (an administrator, or someone acting on their own account).
    pub fn person(slot: &Slot) -> Actor {
        Actor {
            id: Some(slot.id.clone()),
            label: format!("{} <{}>", slot.name, slot.email),
        }
    }
}

/// How often a serving node looks for changes made outside it (the admin CLI, another node).
pub const REVISION_CHECK: Duration = Duration::from_millis(500);

/// Passwords people set themselves (an invite, a reset, a change): at least this long.
pub const MIN_PASSWORD: usize = 8;

const INVITE_HOURS_DEFAULT: u32 = 7 * 24;
const INVITE_HOURS_MAX: u32 = 30 * 24;
const RESET_HOURS: i64 = 24;
const HOUR_MS: i64 = 3_600_000;

/// Reloads whenever an organisation's revision moved without this node (a change by the admin
/// CLI on the same database, or by another node), until shutdown.
pub(crate) async fn watch_revisions(app: Weak<App>, mut shutdown: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(REVISION_CHECK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.changed() => return,
        }
        let Some(app) = app.upgrade() else { return };
        let seen = match app.db.revisions().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the organisations' revisions");
                continue;
            }
        };
        if app.roster.moved(&seen) {
            tracing::info!("an organisation changed outside this node: reloading");
            if let Err(e) = app.reload().await {
                tracing::warn!(error = %e, "could not reload a changed organisation");
            }
        }
    }
}

fn closing(message: &str) -> crate::broker::Frame {
    frame(&ServerMessage::Error {
        request: None,
        error: protocol::WireError::new(protocol::ErrorKind::Unauthorized, message),
    })
}

pub(crate) fn role_of(s: &str) -> Role {
    if s == "admin" {
        Role::Admin
    } else {
        Role::Member
    }
}

fn checked_email(email: &str) -> Result<String, AppError> {
    let email = email.trim().to_string();
    let ok = email.len() <= 200
        && email
            .split_once('@')
            .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.starts_with('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(AppError::invalid(format!(
            "\"{}\" is not an email address",
            email.chars().take(80).collect::<String>()
        )));
    }
    Ok(email)
}

/// Team ids in their first order, each once (a list naming a team twice means it once).
pub(crate) fn distinct(teams: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    teams
        .iter()
        .filter(|t| seen.insert(t.as_str()))
        .cloned()
        .collect()
}

fn checked_password(password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(AppError::invalid(format!(
            "the password is too short: use at least {MIN_PASSWORD} characters"
        )));
    }
    if n > 200 {
        return Err(AppError::invalid(
            "the password is too long: use at most 200 characters",
        ));
    }
    Ok(())
}

async fn hash(password: &str) -> Result<String, AppError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| AppError::internal(e.to_string()))?
}

impl App {
    /// Writes an administrative change with its audit entry, then makes this node match it and
    /// tells the others. Returns how many rows each statement changed.
    pub(crate) async fn record(
        &self,
        org: &str,
        actor: &Actor,
        action: &str,
        target: String,
        detail: String,
        statements: Vec<Statement>,
    ) -> Result<Vec<u64>, AppError> {
        let audit = AuditRow {
            id: auth::new_id("a"),
            org_id: org.to_string(),
            at: self.clock.now().0,
            actor_id: actor.id.as_ref().map(|u| u.as_str().to_string()),
            actor: actor.label.clone(),
            action: action.to_string(),
            target,
            detail,
        };
        let (_, affected) = self.db.admin_change(&statements, &audit).await?;
        self.reload().await?;
        self.org_changed(org);
        if let Some(change) = super::webhooks::account_change(action) {
            let (user, email) = super::webhooks::target_parts(&audit.target);
            self.webhooks.emit(
                org,
                protocol::rest::WebhookEvent::AccountChanged,
                audit.at,
                || {
                    serde_json::json!({"change": change, "user": user, "email": email, "by": audit.actor, "detail": audit.detail})
                },
            );
        }
        Ok(affected)
    }

    /// What a reload found, carried out on this node: the connections of deleted people and of
    /// revoked devices closed, revoked devices and deactivated people signed out, and a fresh
    /// team snapshot for everyone connected here whose teammates changed.
    pub(crate) async fn carry_out(
        &self,
        removed: &[UserId],
        regrouped: &[UserId],
    ) -> Result<(), AppError> {
        for user in removed {
            for device in self.hub.devices_of(user) {
                self.hub.deliver(&Event::Disconnect {
                    user: user.clone(),
                    device,
                    frame: closing("this account was deleted by an administrator"),
                });
            }
        }
        // Each (person, device) that has tokens: whether one of them still works.
        let tokens: HashMap<(String, String), bool> = self
            .db
            .signed_in_devices()
            .await?
            .into_iter()
            .map(|(user, device, live)| ((user, device), live))
            .collect();
        let now = self.clock.now();
        for slot in self.roster.slots(|_| true) {
            let revoked = |device: &DeviceId| {
                !slot.active
                    || tokens.get(&(slot.id.as_str().to_string(), device.as_str().to_string()))
                        == Some(&false)
            };
            let why = if slot.active {
                "this device was signed out: sign in again"
            } else {
                "this account was deactivated by an administrator"
            };
            for device in self.hub.devices_of(&slot.id) {
                let known = tokens
                    .contains_key(&(slot.id.as_str().to_string(), device.as_str().to_string()));
                if revoked(&device) || !known {
                    self.hub.deliver(&Event::Disconnect {
                        user: slot.id.clone(),
                        device,
                        frame: closing(why),
                    });
                }
            }
            let signed_out: Vec<DeviceId> = {
                let st = slot.state.lock().await;
                st.person
                    .devices()
                    .iter()
                    .filter(|(d, s)| s.is_live(now) && revoked(d))
                    .map(|(d, _)| d.clone())
                    .collect()
            };
            if !slot.active {
                // Deactivated means gone: Offline to everyone, with nothing of what was on
                // them left (an administrator's status, a call) to show or come back.
                self.mutate(&slot.id, None, |p, rules, now| {
                    p.depart(rules, now);
                    Ok(())
                })
                .await?;
            } else if !signed_out.is_empty() {
                self.mutate(&slot.id, None, move |p, rules, now| {
                    for d in &signed_out {
                        p.sign_out(rules, now, d);
                    }
                    Ok(())
                })
                .await?;
            }
        }
        // Only administrators watch boards: a demoted or deactivated one's closes now.
        let admins: HashSet<UserId> = self
            .roster
            .slots(|s| s.active && s.role == Role::Admin)
            .iter()
            .map(|s| s.id.clone())
            .collect();
        self.hub.close_boards_unless(|user| admins.contains(user));
        for (org, _) in self.hub.boards() {
            let members = self.board(&org);
            self.hub
                .to_boards(&org, &frame(&ServerMessage::BoardSnapshot { members }));
        }
        for user in regrouped {
            if self.hub.devices_of(user).is_empty() {
                continue;
            }
            let snapshot = self.team_snapshot(user);
            self.hub.deliver(&Event::User {
                user: user.clone(),
                frame: frame(&snapshot),
                notification: None,
                version: None,
            });
        }
        Ok(())
    }

    /// Team names for the audit log ("none" for no team).
    fn team_names(&self, org: &str, teams: &[String]) -> String {
        if teams.is_empty() {
            return "none".into();
        }
        teams
            .iter()
            .map(|t| {
                self.team_in_org(org, t)
                    .map(|e| format!("\"{}\"", e.name))
                    .unwrap_or_else(|_| t.clone())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Refuses to leave the organisation without an active administrator, and an administrator
    /// locking themselves out.
    fn keep_an_admin(&self, actor: &Actor, target: &Slot, what: &str) -> Result<(), AppError> {
        if actor.id.as_ref() == Some(&target.id) {
            return Err(AppError::conflict(format!(
                "you cannot {what} yourself: ask another administrator"
            )));
        }
        if target.role == Role::Admin && target.active {
            let others = self
                .people_of_org(&target.org)
                .iter()
                .filter(|s| s.role == Role::Admin && s.active && s.id != target.id)
                .count();
            if others == 0 {
                return Err(AppError::conflict(format!(
                    "{} is the organisation's only administrator: make someone else an administrator first",
                    target.email
                )));
            }
        }
        Ok(())
    }
}

/// Where a person uses a code: the console's page that sets the password with it (the app's
/// sign-in takes the code too).
pub fn join_link(code: &str) -> String {
    format!("/admin/#/join/{code}")
}
