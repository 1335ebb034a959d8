//! The server's state and every operation on it. Each change to a person goes through
//! [`App::mutate`]: the engine applies it to a copy, the copy is stored, and only then does it
//! become the state in memory and are the views that changed published. A refused or failed
//! change leaves both the database and memory as they were.

use crate::auth;
use crate::clock;
use crate::db::{Db, NewNotification, OrgRow, Role, UserRow};
use crate::error::AppError;
use crate::hub::{Broker, Directory, Event, Frame, Hub, InProcess};
use presence::{
    Activity, AssignmentCandidate, CallOutcome, DeviceId, ExternalId, Notice, Person, Preferences,
    Rules, Schedule, SelfView, TeamView, TimeZone, Timestamp, UserId,
};
use protocol::{encode, Member, Notification, NotificationSeq, RequestId, ServerMessage};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use tokio::sync::{mpsc, watch, Mutex};

/// How many applied request ids are remembered per person (an outbox replays fewer).
const REMEMBERED_REQUESTS: usize = 200;

pub struct App {
    pub db: Db,
    pub hub: Arc<Hub>,
    broker: Arc<dyn Broker>,
    orgs: RwLock<HashMap<String, Arc<OrgEntry>>>,
    users: RwLock<HashMap<UserId, Arc<Slot>>>,
    teams: RwLock<HashMap<String, TeamEntry>>,
    timers: mpsc::UnboundedSender<(UserId, Option<Timestamp>)>,
    assign_lock: Mutex<()>,
    pub shutdown: watch::Receiver<bool>,
}

pub struct OrgEntry {
    pub row: OrgRow,
    pub rules: Arc<Rules>,
}

#[derive(Clone)]
pub struct TeamEntry {
    pub org: String,
    pub name: String,
    pub members: Vec<UserId>,
}

/// Who a person is (fixed) and their presence (behind a lock, one change at a time).
pub struct Slot {
    pub id: UserId,
    pub org: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    state: Mutex<SlotState>,
}

struct SlotState {
    person: Person,
    applied: Vec<String>,
    team_view: TeamView,
    self_view: SelfView,
    /// When the state was last stored: heartbeats renew leases in memory and store them at
    /// most every half lease (a stored lease is never more than half a lease behind).
    stored_at: Timestamp,
    last_assigned: Option<i64>,
}

/// A signed-in device.
#[derive(Debug, Clone)]
pub struct DeviceAuth {
    pub user: Arc<Slot>,
    pub device: DeviceId,
    pub token_hash: String,
}

/// An integration's key.
#[derive(Debug, Clone)]
pub struct KeyAuth {
    pub org: String,
    pub key_id: String,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot").field("id", &self.id).finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationKind {
    CallStarted,
    CallEnded,
    MeetingStarted,
    MeetingEnded,
    WrapUpClosed,
}

impl IntegrationKind {
    fn key(self) -> &'static str {
        match self {
            IntegrationKind::CallStarted => "call_started",
            IntegrationKind::CallEnded => "call_ended",
            IntegrationKind::MeetingStarted => "meeting_started",
            IntegrationKind::MeetingEnded => "meeting_ended",
            IntegrationKind::WrapUpClosed => "wrap_up_closed",
        }
    }
}

/// A notification as another system sends it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationRequest {
    /// The user's id or email.
    pub user: String,
    pub title: String,
    #[serde(default)]
    pub body: String,
    /// The sender's user id, for the urgent allow-list.
    pub sender: Option<String>,
    #[serde(default)]
    pub urgent: bool,
    /// The caller's id for this notification: sending it again returns the stored one.
    pub external_id: Option<String>,
    /// Where "Open" takes the person: an absolute http or https address.
    pub link: Option<String>,
}

pub const MAX_TITLE: usize = 200;
pub const MAX_BODY: usize = 4000;

fn frame(message: &ServerMessage) -> Frame {
    Frame::from(encode(message))
}

impl App {
    /// Loads everything, applies what fell due while the server was down, and starts the timer.
    pub async fn start(db: Db, shutdown: watch::Receiver<bool>) -> Result<Arc<App>, AppError> {
        let hub = Arc::new(Hub::default());
        let broker: Arc<dyn Broker> = Arc::new(InProcess { hub: hub.clone() });
        let (timers, timer_rx) = mpsc::unbounded_channel();
        let app = Arc::new(App {
            db,
            hub,
            broker,
            orgs: RwLock::new(HashMap::new()),
            users: RwLock::new(HashMap::new()),
            teams: RwLock::new(HashMap::new()),
            timers,
            assign_lock: Mutex::new(()),
            shutdown,
        });
        app.reload().await?;
        tokio::spawn(run_timers(
            Arc::downgrade(&app),
            timer_rx,
            app.shutdown.clone(),
        ));
        let now = clock::now();
        let ids: Vec<UserId> = app
            .users
            .read()
            .expect("users lock")
            .keys()
            .cloned()
            .collect();
        for id in ids {
            // Anything that fell due while the server was down applies now.
            app.mutate(&id, None, |p, rules, now| {
                p.settle(rules, now);
                Ok(())
            })
            .await?;
        }
        tracing::info!(
            users = app.users.read().expect("users lock").len(),
            elapsed_ms = clock::now().0 - now.0,
            "presence state loaded"
        );
        Ok(app)
    }

    /// (Re)reads organisations, teams and users from the database. People already loaded keep
    /// their in-memory state (it is the same as the stored one).
    pub async fn reload(&self) -> Result<(), AppError> {
        let now = clock::now();
        let orgs = self.db.orgs().await?;
        {
            let mut map = self.orgs.write().expect("orgs lock");
            for row in orgs {
                let rules = Arc::new(Rules {
                    catalog: row.catalog.clone(),
                    policy: row.policy.clone(),
                });
                map.insert(row.id.clone(), Arc::new(OrgEntry { row, rules }));
            }
        }
        let memberships: Vec<(String, UserId)> = self
            .db
            .memberships()
            .await?
            .into_iter()
            .filter_map(|(t, u)| UserId::parse(u).ok().map(|u| (t, u)))
            .collect();
        let rows = self.db.teams().await?;
        {
            let mut teams = self.teams.write().expect("teams lock");
            for (id, org, name) in rows {
                let members = memberships
                    .iter()
                    .filter(|(t, _)| *t == id)
                    .map(|(_, u)| u.clone())
                    .collect();
                teams.insert(id, TeamEntry { org, name, members });
            }
        }
        self.hub
            .set_directory(Directory::from_memberships(&memberships));
        for row in self.db.users().await? {
            let id = UserId::parse(row.id.clone())?;
            if self.users.read().expect("users lock").contains_key(&id) {
                continue;
            }
            let slot = self.slot_from_row(row, now)?;
            self.users
                .write()
                .expect("users lock")
                .insert(id, Arc::new(slot));
        }
        Ok(())
    }

    fn slot_from_row(&self, row: UserRow, now: Timestamp) -> Result<Slot, AppError> {
        let rules = self.rules(&row.org_id)?;
        Ok(Slot {
            id: UserId::parse(row.id)?,
            org: row.org_id,
            email: row.email,
            name: row.name,
            role: row.role,
            state: Mutex::new(SlotState {
                team_view: rules.team_view(&row.state, now),
                self_view: rules.self_view(&row.state, now),
                person: row.state,
                applied: row.applied_requests,
                stored_at: now,
                last_assigned: row.last_assigned,
            }),
        })
    }

    pub fn rules(&self, org: &str) -> Result<Arc<Rules>, AppError> {
        self.org(org).map(|o| o.rules.clone())
    }

    pub fn org(&self, org: &str) -> Result<Arc<OrgEntry>, AppError> {
        self.orgs
            .read()
            .expect("orgs lock")
            .get(org)
            .cloned()
            .ok_or_else(|| AppError::not_found(format!("no organisation {org}")))
    }

    pub fn slot(&self, user: &UserId) -> Option<Arc<Slot>> {
        self.users.read().expect("users lock").get(user).cloned()
    }

    /// A user of `org`, by id or email. Another organisation's user is "not found": nothing
    /// tells a caller that it exists.
    pub fn user_in_org(&self, org: &str, user: &str) -> Result<Arc<Slot>, AppError> {
        let users = self.users.read().expect("users lock");
        let found = UserId::parse(user)
            .ok()
            .and_then(|id| users.get(&id).cloned())
            .or_else(|| users.values().find(|s| s.email == user).cloned());
        found.filter(|s| s.org == org).ok_or_else(|| {
            AppError::not_found(format!(
                "no user \"{}\" in your organisation",
                user.chars().take(80).collect::<String>()
            ))
        })
    }

    pub fn team_in_org(&self, org: &str, team: &str) -> Result<TeamEntry, AppError> {
        self.teams
            .read()
            .expect("teams lock")
            .get(team)
            .filter(|t| t.org == org)
            .cloned()
            .ok_or_else(|| {
                AppError::not_found(format!(
                    "no team \"{}\" in your organisation",
                    team.chars().take(80).collect::<String>()
                ))
            })
    }

    pub fn teams_of_org(&self, org: &str) -> Vec<(String, TeamEntry)> {
        let mut v: Vec<_> = self
            .teams
            .read()
            .expect("teams lock")
            .iter()
            .filter(|(_, t)| t.org == org)
            .map(|(id, t)| (id.clone(), t.clone()))
            .collect();
        v.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        v
    }

    pub fn user_count(&self) -> usize {
        self.users.read().expect("users lock").len()
    }

    /// Applies a change to one person. With a request id already applied, changes nothing and
    /// returns `None` (an outbox replay). The change is stored before it is visible.
    pub async fn mutate<R>(
        &self,
        user: &UserId,
        request: Option<&RequestId>,
        change: impl FnOnce(&mut Person, &Rules, Timestamp) -> Result<R, AppError>,
    ) -> Result<Option<R>, AppError> {
        let slot = self
            .slot(user)
            .ok_or_else(|| AppError::not_found("no such user"))?;
        let rules = self.rules(&slot.org)?;
        let mut st = slot.state.lock().await;
        if let Some(r) = request {
            if st.applied.contains(&r.0) {
                return Ok(None);
            }
        }
        let now = clock::now();
        let mut person = st.person.clone();
        let out = change(&mut person, &rules, now)?;
        let mut applied = st.applied.clone();
        if let Some(r) = request {
            applied.push(r.0.clone());
            let extra = applied.len().saturating_sub(REMEMBERED_REQUESTS);
            applied.drain(..extra);
        }
        let deadline = next_wakeup(&person, &rules, now);
        if person != st.person || applied != st.applied {
            self.db
                .save_state(user.as_str(), &person, &applied, deadline.map(|t| t.0))
                .await?;
            st.person = person;
            st.applied = applied;
            st.stored_at = now;
        }
        self.publish_views(&slot, &mut st, &rules, now);
        let _ = self.timers.send((user.clone(), deadline));
        Ok(Some(out))
    }

    fn publish_views(&self, slot: &Slot, st: &mut SlotState, rules: &Rules, now: Timestamp) {
        let team_view = rules.team_view(&st.person, now);
        if team_view != st.team_view {
            st.team_view = team_view.clone();
            self.broker.publish(Event::Presence {
                user: slot.id.clone(),
                frame: frame(&ServerMessage::PresenceDelta {
                    user: slot.id.clone(),
                    view: team_view,
                }),
            });
        }
        let self_view = rules.self_view(&st.person, now);
        if self_view != st.self_view {
            st.self_view = self_view.clone();
            self.broker.publish(Event::User {
                user: slot.id.clone(),
                frame: frame(&ServerMessage::SelfUpdate { view: self_view }),
                notification: None,
            });
        }
    }

    /// A heartbeat: renews the device's lease. False when the device has no live lease (it
    /// must report first).
    pub async fn heartbeat(&self, user: &Arc<Slot>, device: &DeviceId) -> Result<bool, AppError> {
        let rules = self.rules(&user.org)?;
        let mut st = user.state.lock().await;
        let now = clock::now();
        let mut person = st.person.clone();
        if !person.keep_alive(&rules, now, device) {
            return Ok(false);
        }
        let deadline = next_wakeup(&person, &rules, now);
        let half = rules.policy.device_lease.millis() / 2;
        if now.0 - st.stored_at.0 >= half {
            self.db
                .save_state(
                    user.id.as_str(),
                    &person,
                    &st.applied,
                    deadline.map(|t| t.0),
                )
                .await?;
            st.stored_at = now;
        }
        st.person = person;
        self.publish_views(user, &mut st, &rules, now);
        let _ = self.timers.send((user.id.clone(), deadline));
        Ok(true)
    }

    pub async fn self_view(&self, user: &Slot) -> SelfView {
        user.state.lock().await.self_view.clone()
    }

    pub async fn explain(&self, user: &Slot) -> Result<presence::Explanation, AppError> {
        let rules = self.rules(&user.org)?;
        let st = user.state.lock().await;
        Ok(rules.explain(&st.person, clock::now()))
    }

    pub async fn person(&self, user: &Slot) -> Person {
        user.state.lock().await.person.clone()
    }

    /// The user's teammates as the panel shows them.
    pub async fn members(&self, user: &UserId) -> Vec<Member> {
        let mates = self
            .hub
            .directory
            .read()
            .expect("directory lock")
            .teammates(user);
        let mut out = Vec::with_capacity(mates.len());
        for mate in mates.iter() {
            if let Some(slot) = self.slot(mate) {
                let st = slot.state.lock().await;
                out.push(Member {
                    user: slot.id.clone(),
                    name: slot.name.clone(),
                    time_zone: st.person.preferences.time_zone.name().to_string(),
                    view: st.team_view.clone(),
                });
            }
        }
        out
    }

    // ---- accounts ----------------------------------------------------------------------------

    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        device: &DeviceId,
    ) -> Result<(String, Arc<Slot>), AppError> {
        let wrong = || AppError::unauthorized("wrong email or password");
        let row = self.db.user_by_email(email).await?.ok_or_else(wrong)?;
        let (pw, hash) = (password.to_string(), row.password_hash.clone());
        let ok = tokio::task::spawn_blocking(move || auth::verify_password(&pw, &hash))
            .await
            .unwrap_or(false);
        if !ok {
            return Err(wrong());
        }
        let slot = self
            .slot(&UserId::parse(row.id.clone())?)
            .ok_or_else(wrong)?;
        let token = self.issue_token(&slot.id, device).await?;
        Ok((token, slot))
    }

    /// A new device token for a user (sign-in, the admin CLI, the benchmark's seeding).
    pub async fn issue_token(&self, user: &UserId, device: &DeviceId) -> Result<String, AppError> {
        let (token, hash) = auth::new_secret(auth::TOKEN_PREFIX);
        self.db
            .insert_token(&hash, user.as_str(), device.as_str(), clock::now().0)
            .await?;
        Ok(token)
    }

    pub async fn authenticate_device(&self, token: &str) -> Result<DeviceAuth, AppError> {
        if token.starts_with(auth::KEY_PREFIX) {
            return Err(AppError::unauthorized(
                "this is an API key; sign in with an email and password to get a device token",
            ));
        }
        let hash = auth::hash_secret(token);
        let row = self
            .db
            .token(&hash)
            .await?
            .ok_or_else(|| AppError::unauthorized("the token is not valid: sign in again"))?;
        if row.revoked {
            return Err(AppError::unauthorized(
                "the token was revoked (signed out): sign in again",
            ));
        }
        let user = self
            .slot(&UserId::parse(row.user_id)?)
            .ok_or_else(|| AppError::unauthorized("the account no longer exists"))?;
        Ok(DeviceAuth {
            user,
            device: DeviceId::parse(row.device_id)?,
            token_hash: hash,
        })
    }

    pub async fn authenticate_key(&self, key: &str) -> Result<KeyAuth, AppError> {
        if key.starts_with(auth::TOKEN_PREFIX) {
            return Err(AppError::unauthorized(
                "this is a device token; integrations use an API key (presently-server admin create-key)",
            ));
        }
        let row = self
            .db
            .key(&auth::hash_secret(key))
            .await?
            .ok_or_else(|| AppError::unauthorized("the API key is not valid"))?;
        if row.revoked {
            return Err(AppError::unauthorized("the API key was revoked"));
        }
        Ok(KeyAuth {
            org: row.org_id,
            key_id: row.id,
        })
    }

    /// Signs a device out: its token stops working, its connections close, it is gone at once.
    pub async fn sign_out(&self, auth: &DeviceAuth) -> Result<(), AppError> {
        self.db
            .revoke_token(&auth.token_hash, clock::now().0)
            .await?;
        self.broker.publish(Event::Disconnect {
            user: auth.user.id.clone(),
            device: auth.device.clone(),
            frame: frame(&ServerMessage::Error {
                request: None,
                error: protocol::WireError::new(
                    protocol::ErrorKind::Unauthorized,
                    "this device was signed out: sign in again",
                ),
            }),
        });
        let device = auth.device.clone();
        self.mutate(&auth.user.id, None, move |p, rules, now| {
            p.sign_out(rules, now, &device);
            Ok(())
        })
        .await?;
        Ok(())
    }

    pub async fn device_gone(&self, user: &UserId, device: &DeviceId) -> Result<(), AppError> {
        let device = device.clone();
        self.mutate(user, None, move |p, rules, now| {
            p.sign_out(rules, now, &device);
            Ok(())
        })
        .await
        .map(|_| ())
    }

    pub async fn create_org(&self, name: &str) -> Result<OrgRow, AppError> {
        let name = checked_name(name, "organisation name")?;
        let row = self
            .db
            .create_org(&auth::new_id("o"), &name, clock::now().0)
            .await?;
        self.reload().await?;
        Ok(row)
    }

    pub async fn create_team(&self, org: &str, name: &str) -> Result<String, AppError> {
        self.org(org)?;
        let name = checked_name(name, "team name")?;
        let id = auth::new_id("t");
        self.db.create_team(&id, org, &name, clock::now().0).await?;
        self.reload().await?;
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn create_user(
        &self,
        org: &str,
        email: &str,
        name: &str,
        password: &str,
        role: Role,
        time_zone: &str,
        teams: &[String],
    ) -> Result<UserId, AppError> {
        let org_entry = self.org(org)?;
        let email = email.trim();
        if !email.contains('@') || email.len() > 200 {
            return Err(AppError::invalid(format!(
                "\"{email}\" is not an email address"
            )));
        }
        let name = checked_name(name, "name")?;
        for t in teams {
            self.team_in_org(org, t)?;
        }
        let tz = TimeZone::parse(time_zone)?;
        let mut prefs = Preferences {
            time_zone: tz,
            ..Preferences::default()
        };
        if !org_entry.row.quiet_hours.is_empty() {
            let mut s = Schedule::new(tz);
            s.quiet_hours = org_entry.row.quiet_hours.clone();
            prefs.schedule = Some(s);
        }
        let password = password.to_string();
        let password_hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
            .await
            .map_err(|e| AppError::internal(e.to_string()))??;
        let id = UserId::parse(auth::new_id("u"))?;
        let row = UserRow {
            id: id.as_str().to_string(),
            org_id: org.to_string(),
            email: email.to_string(),
            name,
            password_hash,
            role,
            state: Person::new(prefs),
            applied_requests: Vec::new(),
            notification_seq: 0,
            last_assigned: None,
        };
        self.db.create_user(&row, clock::now().0).await?;
        for t in teams {
            self.db.add_member(t, id.as_str()).await?;
        }
        self.reload().await?;
        Ok(id)
    }

    pub async fn create_key(&self, org: &str, name: &str) -> Result<(String, String), AppError> {
        self.org(org)?;
        let name = checked_name(name, "key name")?;
        let (key, hash) = auth::new_secret(auth::KEY_PREFIX);
        let id = auth::new_id("k");
        self.db
            .insert_key(&hash, &id, org, &name, clock::now().0)
            .await?;
        Ok((id, key))
    }

    /// Changes an organisation's rules (catalog, timeouts, quiet hours) and re-evaluates
    /// everyone in it under the new rules.
    pub async fn update_org(
        &self,
        org: &str,
        change: impl FnOnce(&mut OrgRow) -> Result<(), AppError>,
    ) -> Result<OrgRow, AppError> {
        let mut row = self.org(org)?.row.clone();
        let old_quiet = row.quiet_hours.clone();
        change(&mut row)?;
        self.db.save_org_rules(&row).await?;
        let rules = Arc::new(Rules {
            catalog: row.catalog.clone(),
            policy: row.policy.clone(),
        });
        self.orgs.write().expect("orgs lock").insert(
            org.to_string(),
            Arc::new(OrgEntry {
                row: row.clone(),
                rules,
            }),
        );
        let members: Vec<UserId> = self
            .users
            .read()
            .expect("users lock")
            .values()
            .filter(|s| s.org == org)
            .map(|s| s.id.clone())
            .collect();
        let quiet = row.quiet_hours.clone();
        for m in members {
            let (old_quiet, quiet) = (old_quiet.clone(), quiet.clone());
            self.mutate(&m, None, move |p, rules, now| {
                // Org default quiet hours apply to people who kept the previous default.
                let own = p.preferences.schedule.as_ref().map(|s| &s.quiet_hours);
                if quiet != old_quiet && own.is_none_or(|q| *q == old_quiet) {
                    let mut prefs = p.preferences.clone();
                    let mut s = prefs
                        .schedule
                        .take()
                        .unwrap_or_else(|| Schedule::new(prefs.time_zone));
                    s.quiet_hours = quiet;
                    prefs.schedule = Some(s);
                    p.set_preferences(rules, now, prefs);
                } else {
                    p.settle(rules, now);
                }
                Ok(())
            })
            .await?;
        }
        Ok(row)
    }

    // ---- notifications -----------------------------------------------------------------------

    /// Stores a notification for a user of `org`, decides show or hold, then delivers it to
    /// every connected device. Returns it and whether it is new (false: a replay).
    pub async fn notify(
        &self,
        org: &str,
        req: NotificationRequest,
    ) -> Result<(Notification, bool), AppError> {
        let slot = self.user_in_org(org, &req.user)?;
        let title = req.title.trim().to_string();
        if title.is_empty() {
            return Err(AppError::invalid("the title is empty: say what happened"));
        }
        if title.chars().count() > MAX_TITLE {
            return Err(AppError::invalid(format!(
                "the title has more than {MAX_TITLE} characters: shorten it"
            )));
        }
        if req.body.chars().count() > MAX_BODY {
            return Err(AppError::invalid(format!(
                "the body has more than {MAX_BODY} characters: shorten it or link to the rest"
            )));
        }
        if let Some(ext) = &req.external_id {
            ExternalId::parse(ext.clone())?;
        }
        let link = req
            .link
            .map(protocol::Link::parse)
            .transpose()
            .map_err(|e| AppError::invalid(e.to_string()))?;
        let sender = req.sender.map(UserId::parse).transpose()?;
        let rules = self.rules(org)?;
        let now = clock::now();
        let delivery = {
            let st = slot.state.lock().await;
            rules.notification(
                &st.person,
                now,
                &Notice {
                    sender: sender.clone(),
                    urgent: req.urgent,
                },
            )
        };
        let (n, new) = self
            .db
            .insert_notification(
                slot.id.as_str(),
                &NewNotification {
                    external_id: req.external_id,
                    title,
                    body: req.body,
                    sender: sender.map(|s| s.as_str().to_string()),
                    urgent: req.urgent,
                    created_at: now.0,
                    delivery,
                    link,
                },
            )
            .await?;
        if new {
            self.broker.publish(Event::User {
                user: slot.id.clone(),
                frame: frame(&ServerMessage::Notification {
                    notification: n.clone(),
                }),
                notification: Some(n.seq.0),
            });
        }
        Ok((n, new))
    }

    /// Read or dismissed on one device: stored, then sent to all the user's devices.
    pub async fn mark(
        &self,
        user: &UserId,
        seqs: Option<&[NotificationSeq]>,
        dismiss: bool,
    ) -> Result<Vec<NotificationSeq>, AppError> {
        if seqs.is_some_and(|s| s.len() > 1000) {
            return Err(AppError::invalid(
                "at most 1000 notifications at a time: send the rest in another request",
            ));
        }
        let changed = match seqs {
            Some(seqs) => self.db.mark(user.as_str(), seqs, dismiss).await?,
            None => self.db.mark_all_read(user.as_str()).await?,
        };
        if !changed.is_empty() {
            self.broker.publish(Event::User {
                user: user.clone(),
                frame: frame(&ServerMessage::NotificationsChanged {
                    notifications: changed.clone(),
                    read: true,
                    dismissed: dismiss,
                }),
                notification: None,
            });
        }
        Ok(changed)
    }

    // ---- integrations and routing ------------------------------------------------------------

    /// An integration event (call, meeting, wrap-up), applied once per caller id.
    pub async fn integration_event(
        &self,
        org: &str,
        user: &str,
        kind: IntegrationKind,
        external_id: &str,
        until: Option<Timestamp>,
    ) -> Result<bool, AppError> {
        let slot = self.user_in_org(org, user)?;
        let ext = ExternalId::parse(external_id.to_string())?;
        if self.db.event_seen(org, external_id, kind.key()).await? {
            return Ok(false);
        }
        let ext2 = ext.clone();
        self.mutate(&slot.id, None, move |p, rules, now| {
            match kind {
                IntegrationKind::CallStarted => {
                    p.start_activity(rules, now, Activity::Call, ext2, until)?;
                }
                IntegrationKind::MeetingStarted => {
                    p.start_activity(rules, now, Activity::Meeting, ext2, until)?;
                }
                IntegrationKind::CallEnded => p.end_activity(rules, now, Activity::Call, &ext2),
                IntegrationKind::MeetingEnded => {
                    p.end_activity(rules, now, Activity::Meeting, &ext2)
                }
                IntegrationKind::WrapUpClosed => p.close_wrap_up(rules, now, Some(&ext2)),
            }
            Ok(())
        })
        .await?;
        self.db
            .record_event(
                org,
                ext.as_str(),
                kind.key(),
                slot.id.as_str(),
                clock::now().0,
            )
            .await?;
        Ok(true)
    }

    pub async fn team_call(&self, org: &str, team: &str) -> Result<Vec<UserId>, AppError> {
        let team = self.team_in_org(org, team)?;
        let rules = self.rules(org)?;
        let mut people = Vec::new();
        for m in &team.members {
            if let Some(slot) = self.slot(m) {
                people.push((slot.id.clone(), self.person(&slot).await));
            }
        }
        Ok(rules.team_call(people.iter().map(|(u, p)| (u, p)), clock::now()))
    }

    pub async fn direct_call(&self, org: &str, user: &str) -> Result<CallOutcome, AppError> {
        let slot = self.user_in_org(org, user)?;
        let rules = self.rules(org)?;
        let person = self.person(&slot).await;
        Ok(rules.direct_call(&person, clock::now()))
    }

    /// The next contact for a team: the assignable member who waited longest. Recorded, so
    /// the next call picks someone else.
    pub async fn assign(&self, org: &str, team: &str) -> Result<Option<UserId>, AppError> {
        let team = self.team_in_org(org, team)?;
        let rules = self.rules(org)?;
        let _one_at_a_time = self.assign_lock.lock().await;
        let mut people = Vec::new();
        for m in &team.members {
            if let Some(slot) = self.slot(m) {
                let st = slot.state.lock().await;
                people.push((
                    slot.id.clone(),
                    st.person.clone(),
                    st.last_assigned.map(Timestamp),
                ));
            }
        }
        let now = clock::now();
        let candidates: Vec<AssignmentCandidate<'_>> = people
            .iter()
            .map(|(u, p, l)| AssignmentCandidate {
                user: u,
                person: p,
                last_assigned: *l,
            })
            .collect();
        let chosen = rules.next_assignee(&candidates, now);
        if let Some(u) = &chosen {
            self.db.set_last_assigned(u.as_str(), now.0).await?;
            if let Some(slot) = self.slot(u) {
                slot.state.lock().await.last_assigned = Some(now.0);
            }
        }
        Ok(chosen)
    }
}

/// When to look at a person again: the earliest of a stored deadline and a visible change.
fn next_wakeup(person: &Person, rules: &Rules, now: Timestamp) -> Option<Timestamp> {
    match (
        person.next_deadline(rules, now),
        person.next_change(rules, now),
    ) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn checked_name(name: &str, what: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::invalid(format!(
            "the {what} must have 1 to 100 characters"
        )));
    }
    Ok(name.to_string())
}

/// One task holds every person's next deadline and wakes exactly then.
async fn run_timers(
    app: std::sync::Weak<App>,
    mut rx: mpsc::UnboundedReceiver<(UserId, Option<Timestamp>)>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut queue: BTreeSet<(Timestamp, UserId)> = BTreeSet::new();
    let mut due: HashMap<UserId, Timestamp> = HashMap::new();
    loop {
        let next = queue.first().map(|(t, _)| *t);
        let sleep = async {
            match next {
                Some(t) => {
                    let wait = (t.0 - clock::now().0).max(0) as u64;
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown.changed() => return,
            msg = rx.recv() => {
                let Some((user, at)) = msg else { return };
                if let Some(old) = due.remove(&user) {
                    queue.remove(&(old, user.clone()));
                }
                if let Some(at) = at {
                    due.insert(user.clone(), at);
                    queue.insert((at, user));
                }
            }
            _ = sleep => {
                let now = clock::now();
                let Some(app) = app.upgrade() else { return };
                while let Some((t, _)) = queue.first() {
                    if *t > now {
                        break;
                    }
                    let (_, user) = queue.pop_first().expect("checked non-empty");
                    due.remove(&user);
                    // `mutate` sends the following deadline back through the channel.
                    if let Err(e) = app
                        .mutate(&user, None, |p, rules, now| {
                            p.settle(rules, now);
                            Ok(())
                        })
                        .await
                    {
                        tracing::warn!(user = %user.as_str(), error = %e, "a timer could not apply; retrying in 5 s");
                        let retry = Timestamp(now.0 + 5000);
                        due.insert(user.clone(), retry);
                        queue.insert((retry, user));
                    }
                }
            }
        }
    }
}
