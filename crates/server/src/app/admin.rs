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

use super::{checked_name, frame, App, Slot};
use crate::auth;
use crate::broker::Event;
use crate::db::{role_str, teams_json, AuditRow, CodeRow, Role, Statement};
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
        let moved = {
            let known = app.revisions.lock().expect("revisions lock");
            seen.iter().any(|(org, rev)| known.get(org) != Some(rev))
        };
        if moved {
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

fn role_of(s: &str) -> Role {
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
fn distinct(teams: &[String]) -> Vec<String> {
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
        let slots: Vec<Arc<Slot>> = self
            .users
            .read()
            .expect("users lock")
            .values()
            .cloned()
            .collect();
        let now = self.clock.now();
        for slot in slots {
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
            .users
            .read()
            .expect("users lock")
            .values()
            .filter(|s| s.active && s.role == Role::Admin)
            .map(|s| s.id.clone())
            .collect();
        self.hub.close_boards_unless(|user| admins.contains(user));
        for (org, _) in self.hub.boards() {
            let members = self.board(&org).await;
            self.hub
                .to_boards(&org, &frame(&ServerMessage::BoardSnapshot { members }));
        }
        for user in regrouped {
            if self.hub.devices_of(user).is_empty() {
                continue;
            }
            let members = self.members(user).await;
            self.hub.deliver(&Event::User {
                user: user.clone(),
                frame: frame(&ServerMessage::TeamSnapshot { members }),
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

    /// The organisation's directory for one of its people: everyone active who matches every
    /// word of `query` (in a name, email or team name) and `family`, as teammates see them (so
    /// Invisible shows as Offline), by name; at most `limit`, and whether there were more.
    pub async fn directory(
        &self,
        org: &str,
        query: &str,
        family: Option<presence::Family>,
        limit: usize,
    ) -> (Vec<rest::DirectoryEntry>, bool) {
        let words: Vec<String> = query
            .split_whitespace()
            .take(10)
            .map(|w| w.to_lowercase())
            .collect();
        let teams = self.teams_of_org(org);
        let mut out = Vec::new();
        let mut more = false;
        for slot in self.people_of_org(org).into_iter().filter(|s| s.active) {
            let their_teams: Vec<rest::TeamRef> = teams
                .iter()
                .filter(|(_, t)| t.members.contains(&slot.id))
                .map(|(id, t)| rest::TeamRef {
                    id: id.clone(),
                    name: t.name.clone(),
                })
                .collect();
            let haystack = format!(
                "{} {} {}",
                slot.name,
                slot.email,
                their_teams
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
            .to_lowercase();
            if !words.iter().all(|w| haystack.contains(w.as_str())) {
                continue;
            }
            let st = slot.state.lock().await;
            if family.is_some_and(|f| st.team_view.status.family != f) {
                continue;
            }
            if out.len() == limit {
                more = true;
                break;
            }
            out.push(rest::DirectoryEntry {
                member: protocol::Member {
                    user: slot.id.clone(),
                    name: slot.name.clone(),
                    time_zone: st.person.preferences.time_zone.name().to_string(),
                    view: st.team_view.clone(),
                },
                email: slot.email.clone(),
                teams: their_teams,
            });
        }
        (out, more)
    }

    /// Everyone in an organisation as a board shows them.
    pub async fn board(&self, org: &str) -> Vec<protocol::Member> {
        let mut out = Vec::new();
        for slot in self.people_of_org(org) {
            let st = slot.state.lock().await;
            out.push(protocol::Member {
                user: slot.id.clone(),
                name: slot.name.clone(),
                time_zone: st.person.preferences.time_zone.name().to_string(),
                view: st.team_view.clone(),
            });
        }
        out
    }

    /// Makes an administrator's connection a board of their organisation: everyone now, and
    /// every change from now on.
    pub async fn watch_board(
        &self,
        auth: &super::DeviceAuth,
        conn_id: u64,
    ) -> Result<Vec<protocol::Member>, AppError> {
        let slot = self
            .slot(&auth.user.id)
            .unwrap_or_else(|| auth.user.clone());
        if slot.role != Role::Admin {
            return Err(AppError::forbidden(
                "only an administrator of the organisation can watch its board",
            ));
        }
        self.hub.watch_board(&slot.org, &slot.id, conn_id);
        Ok(self.board(&slot.org).await)
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

    /// A new person with a password the administrator gives them.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_user_by(
        &self,
        actor: &Actor,
        org: &str,
        email: &str,
        name: &str,
        password: &str,
        role: Role,
        time_zone: &str,
        teams: &[String],
    ) -> Result<UserId, AppError> {
        let email = checked_email(email)?;
        let name = checked_name(name, "name")?;
        checked_password(password)?;
        if let Some(existing) = self.db.user_by_email(&email).await? {
            if existing.org_id == org {
                return Err(AppError::conflict(format!(
                    "{email} already has an account in your organisation"
                )));
            }
        }
        let password_hash = hash(password).await?;
        let tz = TimeZone::parse(time_zone)?;
        let id = UserId::parse(auth::new_id("u"))?;
        let mut statements = self.insert_user(org, &id, &email, &name, &password_hash, role, tz)?;
        let teams = &distinct(teams);
        for t in teams {
            self.team_in_org(org, t)?;
            statements.push(add_member(t, id.as_str()));
        }
        self.record(
            org,
            actor,
            "user.create",
            format!("{} <{email}>", id.as_str()),
            format!(
                "role {}, teams {}",
                role_str(role),
                self.team_names(org, teams)
            ),
            statements,
        )
        .await?;
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    fn insert_user(
        &self,
        org: &str,
        id: &UserId,
        email: &str,
        name: &str,
        password_hash: &str,
        role: Role,
        tz: TimeZone,
    ) -> Result<Vec<Statement>, AppError> {
        let org_entry = self.org(org)?;
        let mut prefs = Preferences {
            time_zone: tz,
            ..Preferences::default()
        };
        if !org_entry.row.quiet_hours.is_empty() || !org_entry.row.do_not_disturb.is_empty() {
            let mut s = Schedule::new(tz);
            s.quiet_hours = org_entry.row.quiet_hours.clone();
            s.do_not_disturb = org_entry.row.do_not_disturb.clone();
            prefs.schedule = Some(s);
        }
        let state = serde_json::to_string(&Person::new(prefs))
            .map_err(|e| AppError::internal(e.to_string()))?;
        Ok(vec![Statement::new(
            "INSERT INTO users (id, org_id, email, name, password_hash, role, state, applied_requests, next_deadline, notification_seq, last_assigned, created_at, active, password_reset) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, '[]', NULL, 0, NULL, $8, 1, 0)",
        )
        .text(id.as_str())
        .text(org)
        .text(email)
        .text(name)
        .text(password_hash)
        .text(role_str(role))
        .text(state)
        .int(self.clock.now().0)
        // Whose account it is, and where, is not said (it may be another organisation's).
        .on_conflict(format!(
            "{email} cannot be given a new account: if it is yours, sign in with it; otherwise use another address"
        ))])
    }

    /// Everyone in the organisation as an administrator sees them.
    pub async fn admin_users(&self, org: &str) -> Result<Vec<rest::AdminUser>, AppError> {
        let mut signed_in: HashMap<String, HashSet<String>> = HashMap::new();
        for t in self.db.device_tokens(org).await? {
            if t.revoked_at.is_none() {
                signed_in.entry(t.user_id).or_default().insert(t.device_id);
            }
        }
        let reset: HashSet<String> = self.db.pending_resets(org).await?.into_iter().collect();
        let teams = self.teams_of_org(org);
        let mut out = Vec::new();
        for slot in self.people_of_org(org) {
            let view = slot.state.lock().await.team_view.clone();
            out.push(rest::AdminUser {
                id: slot.id.clone(),
                email: slot.email.clone(),
                name: slot.name.clone(),
                role: slot.role,
                active: slot.active,
                password_reset: reset.contains(slot.id.as_str()),
                teams: teams
                    .iter()
                    .filter(|(_, t)| t.members.contains(&slot.id))
                    .map(|(id, t)| rest::TeamRef {
                        id: id.clone(),
                        name: t.name.clone(),
                    })
                    .collect(),
                view,
                devices: signed_in
                    .get(slot.id.as_str())
                    .map_or(0, |d| d.len() as u32),
            });
        }
        Ok(out)
    }

    pub async fn admin_user(&self, org: &str, user: &str) -> Result<rest::AdminUser, AppError> {
        let slot = self.user_in_org(org, user)?;
        self.admin_users(org)
            .await?
            .into_iter()
            .find(|u| u.id == slot.id)
            .ok_or_else(|| AppError::not_found("the person was just removed"))
    }

    /// Renames, changes the role of, deactivates or reactivates a person.
    pub async fn update_user(
        &self,
        actor: &Actor,
        org: &str,
        user: &str,
        change: rest::UpdateUser,
    ) -> Result<rest::AdminUser, AppError> {
        let slot = self.user_in_org(org, user)?;
        let now = self.clock.now().0;
        let mut statements = Vec::new();
        let mut done = Vec::new();
        if let Some(name) = &change.name {
            let name = checked_name(name, "name")?;
            if name != slot.name {
                statements.push(
                    Statement::new("UPDATE users SET name = $1 WHERE id = $2")
                        .text(name.clone())
                        .text(slot.id.as_str()),
                );
                done.push(format!("name \"{}\" → \"{name}\"", slot.name));
            }
        }
        if let Some(role) = change.role {
            if role != slot.role {
                if role == Role::Member {
                    self.keep_an_admin(actor, &slot, "take the administrator role from")?;
                }
                statements.push(
                    Statement::new("UPDATE users SET role = $1 WHERE id = $2")
                        .text(role_str(role))
                        .text(slot.id.as_str()),
                );
                done.push(format!("role {} → {}", role_str(slot.role), role_str(role)));
            }
        }
        let mut action = "user.update";
        match change.active {
            Some(false) if slot.active => {
                self.keep_an_admin(actor, &slot, "deactivate")?;
                statements.push(
                    Statement::new("UPDATE users SET active = 0 WHERE id = $1")
                        .text(slot.id.as_str()),
                );
                statements.push(revoke_tokens(slot.id.as_str(), now));
                statements.push(revoke_codes_of(slot.id.as_str(), now));
                done.push("deactivated: sessions closed, tokens revoked".into());
                action = "user.deactivate";
            }
            Some(true) if !slot.active => {
                statements.push(
                    Statement::new("UPDATE users SET active = 1 WHERE id = $1")
                        .text(slot.id.as_str()),
                );
                done.push("reactivated".into());
                action = "user.reactivate";
            }
            _ => {}
        }
        if !statements.is_empty() {
            self.record(
                org,
                actor,
                action,
                format!("{} <{}>", slot.id.as_str(), slot.email),
                done.join("; "),
                statements,
            )
            .await?;
        }
        self.admin_user(org, slot.id.as_str()).await
    }

    /// Deletes a person with their notifications, devices and memberships. The audit log keeps
    /// what was done.
    pub async fn delete_user(&self, actor: &Actor, org: &str, user: &str) -> Result<(), AppError> {
        let slot = self.user_in_org(org, user)?;
        self.keep_an_admin(actor, &slot, "delete")?;
        let id = slot.id.as_str();
        let statements = vec![
            Statement::new("DELETE FROM notifications WHERE user_id = $1").text(id),
            Statement::new("DELETE FROM device_tokens WHERE user_id = $1").text(id),
            Statement::new("DELETE FROM team_members WHERE user_id = $1").text(id),
            Statement::new("DELETE FROM codes WHERE user_id = $1").text(id),
            Statement::new("DELETE FROM users WHERE id = $1").text(id),
        ];
        let affected = self
            .record(
                org,
                actor,
                "user.delete",
                format!("{id} <{}>", slot.email),
                format!("{} ({})", slot.name, role_str(slot.role)),
                statements,
            )
            .await?;
        tracing::info!(user = id, notifications = affected[0], "person deleted");
        Ok(())
    }

    /// A password reset: the old password stops working, every device is signed out, and the
    /// code returned (shown once, valid 24 h) sets a new one.
    pub async fn reset_password(
        &self,
        actor: &Actor,
        org: &str,
        user: &str,
    ) -> Result<rest::PasswordReset, AppError> {
        let slot = self.user_in_org(org, user)?;
        if !slot.active {
            return Err(AppError::conflict(format!(
                "{} is deactivated: reactivate them first",
                slot.email
            )));
        }
        let now = self.clock.now().0;
        let expires_at = now + RESET_HOURS * HOUR_MS;
        let (code, code_hash) = auth::new_secret(auth::CODE_PREFIX);
        let statements = vec![
            revoke_codes_of(slot.id.as_str(), now),
            Statement::new("UPDATE users SET password_reset = 1 WHERE id = $1")
                .text(slot.id.as_str()),
            revoke_tokens(slot.id.as_str(), now),
            insert_code(
                &CodeRow {
                    id: auth::new_id("c"),
                    org_id: org.to_string(),
                    kind: "reset".into(),
                    email: slot.email.clone(),
                    name: None,
                    user_id: Some(slot.id.as_str().to_string()),
                    role: role_str(slot.role).into(),
                    teams: Vec::new(),
                    created_by: actor.id.as_ref().map(|u| u.as_str().to_string()),
                    created_at: now,
                    expires_at,
                    used_at: None,
                    revoked_at: None,
                },
                &code_hash,
            ),
        ];
        self.record(
            org,
            actor,
            "user.password_reset",
            format!("{} <{}>", slot.id.as_str(), slot.email),
            "password reset: devices signed out, a reset code issued (24 h)".into(),
            statements,
        )
        .await?;
        Ok(rest::PasswordReset {
            link: join_link(&code),
            code,
            expires_at: presence::Timestamp(expires_at),
        })
    }

    /// Invites a person by email: the code returned (shown once) makes their account when they
    /// first use it. A pending invite for the same email is replaced.
    pub async fn invite(
        &self,
        actor: &Actor,
        org: &str,
        request: rest::CreateInvite,
    ) -> Result<rest::InviteCreated, AppError> {
        self.org(org)?;
        let email = checked_email(&request.email)?;
        // An account in another organisation is not said: the invite is made, and the person
        // is told when they use it (they own the address).
        if let Some(existing) = self.db.user_by_email(&email).await? {
            if existing.org_id == org {
                return Err(AppError::conflict(format!(
                    "{email} already has an account in your organisation"
                )));
            }
        }
        let name = request
            .name
            .as_deref()
            .map(|n| checked_name(n, "name"))
            .transpose()?;
        let teams = distinct(&request.teams);
        for t in &teams {
            self.team_in_org(org, t)?;
        }
        let hours = request.expires_in_hours.unwrap_or(INVITE_HOURS_DEFAULT);
        if !(1..=INVITE_HOURS_MAX).contains(&hours) {
            return Err(AppError::invalid(format!(
                "an invite lasts 1 to {INVITE_HOURS_MAX} hours"
            )));
        }
        let now = self.clock.now().0;
        let (code, code_hash) = auth::new_secret(auth::CODE_PREFIX);
        let row = CodeRow {
            id: auth::new_id("i"),
            org_id: org.to_string(),
            kind: "invite".into(),
            email: email.clone(),
            name,
            user_id: None,
            role: role_str(request.role).into(),
            teams,
            created_by: actor.id.as_ref().map(|u| u.as_str().to_string()),
            created_at: now,
            expires_at: now + i64::from(hours) * HOUR_MS,
            used_at: None,
            revoked_at: None,
        };
        let statements = vec![
            Statement::new(
                "UPDATE codes SET revoked_at = $1 WHERE org_id = $2 AND kind = 'invite' AND lower(email) = lower($3) AND used_at IS NULL AND revoked_at IS NULL",
            )
            .int(now)
            .text(org)
            .text(email.clone()),
            insert_code(&row, &code_hash),
        ];
        self.record(
            org,
            actor,
            "invite.create",
            format!("{} <{email}>", row.id),
            format!(
                "role {}, teams {}, expires in {hours} h",
                row.role,
                self.team_names(org, &row.teams)
            ),
            statements,
        )
        .await?;
        Ok(rest::InviteCreated {
            invite: self.invite_view(&row),
            link: join_link(&code),
            code,
        })
    }

    fn invite_view(&self, row: &CodeRow) -> rest::Invite {
        let now = self.clock.now().0;
        let state = if row.used_at.is_some() {
            InviteState::Used
        } else if row.revoked_at.is_some() {
            InviteState::Revoked
        } else if now >= row.expires_at {
            InviteState::Expired
        } else {
            InviteState::Pending
        };
        let teams = self.teams_of_org(&row.org_id);
        rest::Invite {
            id: row.id.clone(),
            email: row.email.clone(),
            name: row.name.clone(),
            role: role_of(&row.role),
            teams: row
                .teams
                .iter()
                .filter_map(|t| {
                    teams
                        .iter()
                        .find(|(id, _)| id == t)
                        .map(|(id, e)| rest::TeamRef {
                            id: id.clone(),
                            name: e.name.clone(),
                        })
                })
                .collect(),
            created_at: presence::Timestamp(row.created_at),
            expires_at: presence::Timestamp(row.expires_at),
            state,
        }
    }

    pub async fn invites(&self, org: &str) -> Result<Vec<rest::Invite>, AppError> {
        self.org(org)?;
        Ok(self
            .db
            .codes(org, "invite")
            .await?
            .iter()
            .map(|r| self.invite_view(r))
            .collect())
    }

    pub async fn revoke_invite(&self, actor: &Actor, org: &str, id: &str) -> Result<(), AppError> {
        let invite = self
            .db
            .codes(org, "invite")
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| AppError::not_found(format!("no invite {id} in your organisation")))?;
        if invite.used_at.is_some() {
            return Err(AppError::conflict(format!(
                "the invite for {} was used already: deactivate the account instead",
                invite.email
            )));
        }
        self.record(
            org,
            actor,
            "invite.revoke",
            format!("{id} <{}>", invite.email),
            String::new(),
            vec![Statement::new(
                "UPDATE codes SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            )
            .int(self.clock.now().0)
            .text(id)],
        )
        .await?;
        Ok(())
    }

    /// Signs a device in with a one-time code: an invite makes the account (with `password` and
    /// `name`), a reset sets the new password. Limited per address like a sign-in.
    pub async fn redeem_code(
        &self,
        request: &rest::RedeemCode,
        address: std::net::IpAddr,
    ) -> Result<(String, Arc<Slot>), AppError> {
        self.signin.attempt_from(address)?;
        let invalid = || {
            AppError::unauthorized(
                "the code is not valid: check it, or ask an administrator for a new one",
            )
        };
        let code = request.code.trim();
        if !code.starts_with(auth::CODE_PREFIX) || code.len() > 200 {
            return Err(invalid());
        }
        let row = self
            .db
            .code(&auth::hash_secret(code))
            .await?
            .ok_or_else(invalid)?;
        let now = self.clock.now().0;
        if row.used_at.is_some() {
            return Err(AppError::unauthorized(
                "this code was used already: sign in with your email and password",
            ));
        }
        if row.revoked_at.is_some() {
            return Err(AppError::unauthorized(
                "this code was withdrawn by an administrator: ask them for a new one",
            ));
        }
        if now >= row.expires_at {
            return Err(AppError::unauthorized(
                "this code has expired: ask an administrator for a new one",
            ));
        }
        checked_password(&request.password)?;
        let password_hash = hash(&request.password).await?;
        // The code is used, the account made or the password set, and the device's token
        // stored in one transaction, only if the code is still unused, not withdrawn and not
        // expired when it is stored: several redeeming it at once, or an administrator
        // withdrawing or replacing it meanwhile, leave one account and one token at most.
        let used_meanwhile = "this code was used or withdrawn meanwhile: sign in with your email and password, or ask an administrator for a new one";
        let use_code = Statement::new(
            "UPDATE codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
        )
        .int(now)
        .text(row.id.clone())
        .int(now)
        .must_change(used_meanwhile);
        let about = presence::DeviceAbout {
            name: request.device_name.clone(),
            platform: request.platform.unwrap_or_default(),
        };
        let (token, token_hash) = auth::new_secret(auth::TOKEN_PREFIX);
        let refused = |e: AppError| {
            if e.message == used_meanwhile {
                AppError::unauthorized(used_meanwhile)
            } else {
                e
            }
        };
        let user = if row.kind == "invite" {
            let name = match request.name.as_deref().or(row.name.as_deref()) {
                Some(n) => checked_name(n, "name")?,
                None => {
                    return Err(AppError::invalid(
                        "give your name: the invite does not carry one",
                    ))
                }
            };
            let id = UserId::parse(auth::new_id("u"))?;
            let mut statements = vec![use_code];
            statements.extend(self.insert_user(
                &row.org_id,
                &id,
                &row.email,
                &name,
                &password_hash,
                role_of(&row.role),
                TimeZone::UTC,
            )?);
            for t in &distinct(&row.teams) {
                // A team deleted since the invite is skipped.
                if self.team_in_org(&row.org_id, t).is_ok() {
                    statements.push(add_member(t, id.as_str()));
                }
            }
            statements.push(crate::db::insert_token(&crate::db::NewToken {
                hash: &token_hash,
                user_id: id.as_str(),
                device_id: request.device.as_str(),
                about: &about,
                now,
            }));
            self.record(
                &row.org_id,
                &Actor {
                    id: Some(id.clone()),
                    label: format!("{name} <{}>", row.email),
                },
                "invite.accept",
                format!("{} <{}>", id.as_str(), row.email),
                format!("invite {}", row.id),
                statements,
            )
            .await
            .map_err(refused)?;
            id
        } else {
            let user = row
                .user_id
                .clone()
                .and_then(|u| UserId::parse(u).ok())
                .ok_or_else(invalid)?;
            let slot = self.slot(&user).ok_or_else(invalid)?;
            self.record(
                &row.org_id,
                &Actor::person(&slot),
                "user.password_set",
                format!("{} <{}>", user.as_str(), slot.email),
                "a new password with the administrator's reset code".into(),
                vec![
                    use_code,
                    Statement::new(
                        "UPDATE users SET password_hash = $1, password_reset = 0 WHERE id = $2 AND active = 1",
                    )
                    .text(password_hash)
                    .text(user.as_str())
                    .must_change(used_meanwhile),
                    crate::db::insert_token(&crate::db::NewToken {
                hash: &token_hash,
                user_id: user.as_str(),
                device_id: request.device.as_str(),
                about: &about,
                now,
            }),
                ],
            )
            .await
            .map_err(refused)?;
            user
        };
        let slot = self.slot(&user).ok_or_else(invalid)?;
        Ok((token, slot))
    }

    /// A person changes their own password (the current one first), optionally signing out
    /// every other device.
    pub async fn change_password(
        &self,
        auth: &super::DeviceAuth,
        request: &rest::ChangePassword,
    ) -> Result<(), AppError> {
        self.signin.attempt_for(&auth.user.email)?;
        let row = self
            .db
            .user_by_email(&auth.user.email)
            .await?
            .ok_or_else(|| AppError::unauthorized("the account no longer exists"))?;
        if !self
            .signin
            .check(&request.current, Some(row.password_hash))
            .await?
        {
            return Err(AppError::new(
                protocol::ErrorKind::Forbidden,
                "the current password is wrong: nothing was changed",
            ));
        }
        checked_password(&request.new)?;
        let password_hash = hash(&request.new).await?;
        let mut statements = vec![Statement::new(
            "UPDATE users SET password_hash = $1, password_reset = 0 WHERE id = $2",
        )
        .text(password_hash)
        .text(auth.user.id.as_str())];
        if request.sign_out_others {
            statements.push(
                Statement::new(
                    "UPDATE device_tokens SET revoked_at = $1 WHERE user_id = $2 AND token_hash <> $3 AND revoked_at IS NULL",
                )
                .int(self.clock.now().0)
                .text(auth.user.id.as_str())
                .text(auth.token_hash.clone()),
            );
        }
        self.record(
            &auth.user.org,
            &Actor::person(&auth.user),
            "user.password_change",
            format!("{} <{}>", auth.user.id.as_str(), auth.user.email),
            if request.sign_out_others {
                "other devices signed out".into()
            } else {
                String::new()
            },
            statements,
        )
        .await?;
        Ok(())
    }

    /// The signed-in devices of an organisation, or of one person in it.
    pub async fn devices(
        &self,
        org: &str,
        user: Option<&UserId>,
    ) -> Result<Vec<rest::DeviceInfo>, AppError> {
        let now = self.clock.now();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for t in self.db.device_tokens(org).await? {
            if t.revoked_at.is_some() || user.is_some_and(|u| u.as_str() != t.user_id) {
                continue;
            }
            if !seen.insert((t.user_id.clone(), t.device_id.clone())) {
                continue;
            }
            let Some(slot) = UserId::parse(t.user_id.clone())
                .ok()
                .and_then(|u| self.slot(&u))
            else {
                continue;
            };
            let device = DeviceId::parse(t.device_id)?;
            let state = slot
                .state
                .lock()
                .await
                .person
                .devices()
                .get(&device)
                .cloned();
            out.push(rest::DeviceInfo {
                user: slot.id.clone(),
                user_name: slot.name.clone(),
                name: t.about.name,
                platform: t.about.platform,
                signed_in_at: presence::Timestamp(t.created_at),
                last_report_at: state.as_ref().map(|s| s.last_report_at),
                activity: state.filter(|s| s.is_live(now)).map(|s| {
                    if let Some(l) = s.locked_since {
                        DeviceActivity::Locked {
                            locked_for: now.since(l),
                        }
                    } else if let Some(i) = s.idle_since {
                        DeviceActivity::Idle {
                            idle_for: now.since(i),
                        }
                    } else {
                        DeviceActivity::Active
                    }
                }),
                device,
                current: false,
            });
        }
        Ok(out)
    }

    /// Signs one device of a person out (an administrator, or the person from another device).
    pub async fn revoke_device(
        &self,
        actor: &Actor,
        org: &str,
        user: &str,
        device: &str,
    ) -> Result<(), AppError> {
        let slot = self.user_in_org(org, user)?;
        let affected = self
            .record(
                org,
                actor,
                "device.revoke",
                format!("{} <{}> device {device}", slot.id.as_str(), slot.email),
                String::new(),
                vec![Statement::new(
                    "UPDATE device_tokens SET revoked_at = $1 WHERE user_id = $2 AND device_id = $3 AND revoked_at IS NULL",
                )
                .int(self.clock.now().0)
                .text(slot.id.as_str())
                .text(device)],
            )
            .await?;
        if affected[0] == 0 {
            return Err(AppError::not_found(format!(
                "{} has no device \"{}\" signed in",
                slot.email,
                device.chars().take(80).collect::<String>()
            )));
        }
        Ok(())
    }

    /// The organisation's API keys, newest first.
    pub async fn keys(&self, org: &str) -> Result<Vec<rest::ApiKey>, AppError> {
        self.db
            .keys(org)
            .await?
            .into_iter()
            .map(|k| {
                Ok(rest::ApiKey {
                    id: k.id,
                    name: k.name,
                    created_by: k.created_by.map(UserId::parse).transpose()?,
                    created_at: presence::Timestamp(k.created_at),
                    revoked_at: k.revoked_at.map(presence::Timestamp),
                })
            })
            .collect()
    }

    pub async fn create_key_by(
        &self,
        actor: &Actor,
        org: &str,
        name: &str,
    ) -> Result<rest::KeyCreated, AppError> {
        self.org(org)?;
        let name = checked_name(name, "key name")?;
        let (secret, hash) = auth::new_secret(auth::KEY_PREFIX);
        let id = auth::new_id("k");
        let now = self.clock.now().0;
        self.record(
            org,
            actor,
            "key.create",
            format!("{id} \"{name}\""),
            String::new(),
            vec![Statement::new(
                "INSERT INTO api_keys (key_hash, id, org_id, name, created_at, revoked_at, created_by) VALUES ($1, $2, $3, $4, $5, NULL, $6)",
            )
            .text(hash)
            .text(id.clone())
            .text(org)
            .text(name.clone())
            .int(now)
            .maybe_text(actor.id.as_ref().map(|u| u.as_str().to_string()))],
        )
        .await?;
        Ok(rest::KeyCreated {
            key: rest::ApiKey {
                id,
                name,
                created_by: actor.id.clone(),
                created_at: presence::Timestamp(now),
                revoked_at: None,
            },
            secret,
        })
    }

    /// Revokes one of the organisation's API keys.
    pub async fn revoke_key_by(&self, actor: &Actor, org: &str, id: &str) -> Result<(), AppError> {
        let key = self
            .db
            .keys(org)
            .await?
            .into_iter()
            .find(|k| k.id == id && k.revoked_at.is_none())
            .ok_or_else(|| {
                AppError::not_found(format!(
                    "no active API key \"{}\" in your organisation",
                    id.chars().take(80).collect::<String>()
                ))
            })?;
        self.record(
            org,
            actor,
            "key.revoke",
            format!("{id} \"{}\"", key.name),
            String::new(),
            vec![Statement::new(
                "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            )
            .int(self.clock.now().0)
            .text(id)],
        )
        .await?;
        Ok(())
    }

    pub async fn create_team_by(
        &self,
        actor: &Actor,
        org: &str,
        name: &str,
    ) -> Result<String, AppError> {
        self.org(org)?;
        let name = checked_name(name, "team name")?;
        let id = auth::new_id("t");
        self.record(
            org,
            actor,
            "team.create",
            format!("{id} \"{name}\""),
            String::new(),
            vec![Statement::new(
                "INSERT INTO teams (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)",
            )
            .text(id.clone())
            .text(org)
            .text(name)
            .int(self.clock.now().0)],
        )
        .await?;
        Ok(id)
    }

    pub async fn rename_team(
        &self,
        actor: &Actor,
        org: &str,
        team: &str,
        name: &str,
    ) -> Result<(), AppError> {
        let entry = self.team_in_org(org, team)?;
        let name = checked_name(name, "team name")?;
        self.record(
            org,
            actor,
            "team.rename",
            format!("{team} \"{}\"", entry.name),
            format!("→ \"{name}\""),
            vec![Statement::new("UPDATE teams SET name = $1 WHERE id = $2")
                .text(name)
                .text(team)],
        )
        .await?;
        Ok(())
    }

    pub async fn delete_team(&self, actor: &Actor, org: &str, team: &str) -> Result<(), AppError> {
        let entry = self.team_in_org(org, team)?;
        self.record(
            org,
            actor,
            "team.delete",
            format!("{team} \"{}\"", entry.name),
            format!("{} members", entry.members.len()),
            vec![
                Statement::new("DELETE FROM team_members WHERE team_id = $1").text(team),
                Statement::new("DELETE FROM teams WHERE id = $1").text(team),
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn add_to_team(
        &self,
        actor: &Actor,
        org: &str,
        team: &str,
        user: &str,
    ) -> Result<(), AppError> {
        let entry = self.team_in_org(org, team)?;
        let slot = self.user_in_org(org, user)?;
        if entry.members.contains(&slot.id) {
            return Err(AppError::conflict(format!(
                "{} is in {} already",
                slot.email, entry.name
            )));
        }
        self.record(
            org,
            actor,
            "team.add_member",
            format!("{team} \"{}\"", entry.name),
            format!("{} <{}>", slot.id.as_str(), slot.email),
            vec![add_member(team, slot.id.as_str())
                .on_conflict(format!("{} is in {} already", slot.email, entry.name))],
        )
        .await?;
        Ok(())
    }

    pub async fn remove_from_team(
        &self,
        actor: &Actor,
        org: &str,
        team: &str,
        user: &str,
    ) -> Result<(), AppError> {
        let entry = self.team_in_org(org, team)?;
        let slot = self.user_in_org(org, user)?;
        if !entry.members.contains(&slot.id) {
            return Err(AppError::not_found(format!(
                "{} is not in {}",
                slot.email, entry.name
            )));
        }
        self.record(
            org,
            actor,
            "team.remove_member",
            format!("{team} \"{}\"", entry.name),
            format!("{} <{}>", slot.id.as_str(), slot.email),
            vec![
                Statement::new("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
                    .text(team)
                    .text(slot.id.as_str()),
            ],
        )
        .await?;
        Ok(())
    }

    pub fn admin_teams(&self, org: &str) -> Vec<rest::AdminTeam> {
        self.teams_of_org(org)
            .into_iter()
            .map(|(id, t)| rest::AdminTeam {
                id,
                name: t.name,
                members: t.members,
            })
            .collect()
    }

    /// A page of the audit log, newest first.
    pub async fn audit(
        &self,
        org: &str,
        before: Option<i64>,
        before_id: Option<&str>,
        limit: u32,
    ) -> Result<rest::AuditPage, AppError> {
        let limit = limit.clamp(1, 500);
        let rows = self
            .db
            .audit(org, before.map(|at| (at, before_id)), limit)
            .await?;
        let last = rows.last().filter(|_| rows.len() == limit as usize);
        let next_before = last.map(|r| presence::Timestamp(r.at));
        let next_before_id = last.map(|r| r.id.clone());
        let entries = rows
            .into_iter()
            .map(|r| rest::AuditEntry {
                id: r.id,
                at: presence::Timestamp(r.at),
                actor_id: r.actor_id.and_then(|a| UserId::parse(a).ok()),
                actor: r.actor,
                action: r.action,
                target: r.target,
                detail: r.detail,
            })
            .collect();
        Ok(rest::AuditPage {
            entries,
            next_before,
            next_before_id,
        })
    }
}

/// Where a person uses a code: the console's page that sets the password with it (the app's
/// sign-in takes the code too).
pub fn join_link(code: &str) -> String {
    format!("/admin/#/join/{code}")
}

fn add_member(team: &str, user: &str) -> Statement {
    Statement::new("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)")
        .text(team)
        .text(user)
}

fn revoke_tokens(user: &str, now: i64) -> Statement {
    Statement::new(
        "UPDATE device_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .int(now)
    .text(user)
}

fn revoke_codes_of(user: &str, now: i64) -> Statement {
    Statement::new(
        "UPDATE codes SET revoked_at = $1 WHERE user_id = $2 AND used_at IS NULL AND revoked_at IS NULL",
    )
    .int(now)
    .text(user)
}

fn insert_code(row: &CodeRow, code_hash: &str) -> Statement {
    Statement::new(
        "INSERT INTO codes (code_hash, id, org_id, kind, email, name, user_id, role, teams, created_by, created_at, expires_at, used_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL)",
    )
    .text(code_hash)
    .text(row.id.clone())
    .text(row.org_id.clone())
    .text(row.kind.clone())
    .text(row.email.clone())
    .maybe_text(row.name.clone())
    .maybe_text(row.user_id.clone())
    .text(row.role.clone())
    .text(teams_json(&row.teams))
    .maybe_text(row.created_by.clone())
    .int(row.created_at)
    .int(row.expires_at)
}
