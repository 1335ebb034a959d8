//! The application layer: every operation the server offers, whatever calls it (HTTP, the
//! WebSocket, the admin CLI, the demo). Handlers parse and call these; they never reach the
//! database. One module per idea:
//!
//! - [`registry`]: people's presence in memory and the write path: apply a change to a copy,
//!   store it, then publish what changed;
//! - [`accounts`]: sign-in, tokens and API keys, people;
//! - [`orgs`]: organisations, teams and their rules;
//! - [`notifications`]: store, decide, deliver; read and dismiss;
//! - [`routing`]: integrations (calls, meetings, wrap-up), team calls, direct calls, assignment;
//! - [`timers`]: the deadline queue and the task that wakes each person exactly on time.

mod accounts;
mod notifications;
mod orgs;
mod registry;
mod routing;
pub mod signin;
pub mod timers;

pub use accounts::{DeviceAuth, KeyAuth};
pub use notifications::{MAX_BODY, MAX_TITLE};
pub use orgs::{MAX_CUSTOM_STATUSES, MAX_QUIET_WINDOWS};

use crate::broker::{Broker, Event, Frame, Origin};
use crate::db::{Db, OrgRow, Role, UserRow};
use crate::error::AppError;
use crate::hub::{Directory, Hub};
use clock::SharedClock;
use presence::{Person, Rules, SelfView, TeamView, Timestamp, UserId};
use protocol::{encode, ServerMessage};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tokio::sync::{mpsc, watch, Mutex};

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
    /// Every `now` the server uses, and every wait on time (timers, timeouts).
    pub clock: SharedClock,
    /// Running with `--demo`: the demo's pages exist only then.
    pub demo: std::sync::atomic::AtomicBool,
    /// Sign-in limits and the password-checking workers.
    pub signin: signin::Guard,
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

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot").field("id", &self.id).finish()
    }
}

fn frame(message: &ServerMessage) -> Frame {
    Frame::from(encode(message))
}

impl App {
    /// Loads everything, applies what fell due while the server was down, and starts the timer.
    pub async fn start(
        db: Db,
        broker: Arc<dyn Broker>,
        clock: SharedClock,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Arc<App>, AppError> {
        let hub = Arc::new(Hub::default());
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
            clock: clock.clone(),
            demo: std::sync::atomic::AtomicBool::new(false),
            signin: signin::Guard::start(clock.clone(), signin::workers()),
        });
        app.reload().await?;
        let (deliver, node) = (app.hub.clone(), Arc::downgrade(&app));
        app.broker.subscribe(Arc::new(move |event: &Event, origin| {
            deliver.deliver(event);
            if let (Event::OrgChanged { org }, Origin::OtherNode) = (event, origin) {
                // Another node changed an organisation: read it again here.
                if let Some(app) = node.upgrade() {
                    let org = org.clone();
                    tokio::spawn(async move {
                        if let Err(e) = app.reload().await {
                            tracing::warn!(%org, error = %e, "could not reload a changed organisation");
                        }
                    });
                }
            }
        }));
        tokio::spawn(signin::forget_idle_limits(
            Arc::downgrade(&app),
            clock.clone(),
            app.shutdown.clone(),
        ));
        tokio::spawn(timers::run(
            Arc::downgrade(&app),
            clock,
            timer_rx,
            app.shutdown.clone(),
        ));
        let now = app.clock.now();
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
            elapsed_ms = app.clock.now().0 - now.0,
            "presence state loaded"
        );
        Ok(app)
    }

    /// (Re)reads organisations, teams and users from the database. People already loaded keep
    /// their in-memory state (it is the same as the stored one).
    pub async fn reload(&self) -> Result<(), AppError> {
        let now = self.clock.now();
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

    /// Tells every node that an organisation's people, teams or rules changed.
    pub(crate) fn org_changed(&self, org: &str) {
        self.broker.publish(Event::OrgChanged {
            org: org.to_string(),
        });
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
}

fn checked_name(name: &str, what: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::invalid(format!(
            "the {what} must have 1 to 100 characters"
        )));
    }
    if presence::text::has_hidden_characters(name, &[]) {
        return Err(AppError::invalid(format!(
            "the {what} contains a control or direction-override character: remove it"
        )));
    }
    Ok(name.to_string())
}
