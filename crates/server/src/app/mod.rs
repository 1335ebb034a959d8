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
pub mod admin;
pub mod calendars;
mod faces;
pub mod favourites;
pub mod leases;
pub mod mail;
mod notifications;
mod orgs;
mod registry;
mod roster;
mod routing;
pub mod signin;
pub mod sso;
pub mod timers;
pub mod webhooks;

pub use accounts::{DeviceAuth, KeyAuth, MAX_DEVICES};
pub use admin::Actor;
pub use leases::Beat;
pub use notifications::{MAX_BODY, MAX_TITLE};
pub use orgs::{MAX_CUSTOM_STATUSES, MAX_QUIET_WINDOWS};
pub use registry::IDLE_AFTER_RANGE;

use crate::broker::{Broker, Event, Frame, Origin};
use crate::db::{Db, OrgRow, Role, UserRow};
use crate::error::AppError;
use crate::hub::{Directory, Hub};
use clock::SharedClock;
use presence::{Person, Rules, SelfView, TeamView, Timestamp, UserId};
use protocol::{encode, ServerMessage};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, watch, Mutex};

pub struct App {
    pub db: Db,
    pub hub: Arc<Hub>,
    broker: Arc<dyn Broker>,
    /// The organisations, teams and people this node has loaded.
    roster: roster::Roster,
    timers: mpsc::UnboundedSender<(UserId, Option<Timestamp>)>,
    /// Lease renewals waiting to be stored together (see [`leases`]).
    leases: leases::Queued,
    assign_lock: Mutex<()>,
    pub shutdown: watch::Receiver<bool>,
    /// Every `now` the server uses, and every wait on time (timers, timeouts).
    pub clock: SharedClock,
    /// Running with `--demo`: the demo's pages exist only then.
    pub demo: std::sync::atomic::AtomicBool,
    /// The desktop app release published to this server's people (`[app]` in the config).
    pub release: std::sync::RwLock<Option<protocol::rest::AppRelease>>,
    /// Sign-in limits and the password-checking workers.
    pub signin: signin::Guard,
    /// Photo changes per person.
    face_changes: crate::limits::Keyed<String>,
    /// Favourites and availability requests per person.
    personal_changes: crate::limits::Keyed<String>,
    /// People someone waits for ("tell me when available"), as of the last reload.
    awaited: std::sync::RwLock<std::collections::HashSet<UserId>>,
    /// People who just became Available, for [`favourites::tell_available`].
    became_available: mpsc::UnboundedSender<UserId>,
    /// The organisations' outgoing webhooks: their endpoints, the events on their way.
    pub webhooks: webhooks::Webhooks,
    /// People's calendars: the key their addresses are sealed with, and the poller's wake-up.
    pub calendars: calendars::Calendars,
    /// Counters for `/metrics`, and its token.
    pub metrics: crate::metrics::Metrics,
    /// The SMTP relay invites and password resets are sent through, if configured.
    pub mail: mail::Mail,
    /// Where people reach this server (no trailing slash), for links in mail and sign-in
    /// redirects: the listener's address until the configuration's `public_url` is set.
    public_url: std::sync::RwLock<String>,
    /// Serving clients (a server node), as opposed to the admin CLI's short-lived App: only a
    /// serving node runs timers and carries out what an account change means for connections
    /// and presence (closing sessions, signing devices out).
    serving: bool,
    /// One reload at a time, requests from other nodes coalesced.
    reloads: roster::Reloads,
}

/// What crossed the bus between nodes, as counts since the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusStats {
    /// Events dropped: not sealed with the cluster's secret, replayed or stale.
    pub rejected: u64,
    /// Reloads of the organisations (whoever asked).
    pub reloads: u64,
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

/// Who a person is and their presence (behind a lock, one change at a time). When an
/// administrator changes who they are (name, role, deactivation), the slot is replaced by one
/// sharing the same presence state.
pub struct Slot {
    pub id: UserId,
    pub org: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// False once deactivated: no sign-in, shown Offline, history kept.
    pub active: bool,
    /// The version of their photo; none: initials.
    pub avatar: Option<String>,
    state: Arc<Mutex<SlotState>>,
}

impl Slot {
    fn same_identity(&self, row: &UserRow) -> bool {
        self.org == row.org_id
            && self.email == row.email
            && self.name == row.name
            && self.role == row.role
            && self.active == row.active
            && self.avatar == row.avatar
    }

    /// The person as teammates, the directory and boards show them.
    fn member(&self, st: &SlotState) -> protocol::Member {
        protocol::Member {
            user: self.id.clone(),
            name: self.name.clone(),
            time_zone: st.person.preferences.time_zone.name().to_string(),
            view: st.team_view.clone(),
            avatar: self.avatar.clone(),
        }
    }
}

struct SlotState {
    person: Person,
    applied: Vec<String>,
    team_view: TeamView,
    self_view: SelfView,
    /// When the state was last stored: heartbeats renew leases in memory, and a renewal is
    /// stored once the stored lease has half a lease or less left (see [`leases`]).
    stored_at: Timestamp,
    /// A renewal of this person waits in [`App::leases`].
    lease_queued: bool,
    last_assigned: Option<i64>,
    /// The version of the stored state this copy is (see [`App::mutate`]).
    version: i64,
    /// The deadline stored with it: the cluster's timers read it (see [`timers`]), so a change
    /// that moves the deadline is stored even when the state is the same.
    stored_deadline: Option<i64>,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot").field("id", &self.id).finish()
    }
}

/// Takes what other nodes stored into this node's copies, one event after another (so a
/// person's versions come in order and are taken without reading the database).
async fn adopt_stored(app: std::sync::Weak<App>, mut rx: mpsc::UnboundedReceiver<Event>) {
    while let Some(event) = rx.recv().await {
        let Some(app) = app.upgrade() else { return };
        if let Event::Stored {
            user,
            version,
            after,
            person,
            applied,
            deadline,
        } = event
        {
            if let Err(e) = app
                .adopt(&user, version, after, *person, applied, deadline)
                .await
            {
                tracing::warn!(user = %user.as_str(), error = %e, "could not take what another node stored");
            }
        }
    }
}

fn frame(message: &ServerMessage) -> Frame {
    Frame::from(encode(message))
}

impl App {
    /// Where people reach this server (no trailing slash).
    pub fn public_url(&self) -> String {
        self.public_url
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Sets where people reach this server (the configuration's `public_url`).
    pub fn set_public_url(&self, url: &str) {
        *self.public_url.write().unwrap_or_else(|p| p.into_inner()) =
            url.trim_end_matches('/').to_string();
    }

    /// Loads everything, applies what fell due while the server was down, and starts the timer.
    pub async fn start(
        db: Db,
        broker: Arc<dyn Broker>,
        clock: SharedClock,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Arc<App>, AppError> {
        App::open(db, broker, clock, shutdown, true).await
    }

    /// The application layer for the admin CLI: the same operations on the same database, with
    /// no timers and no presence changes of its own. A server running on the database sees what
    /// it changes within its revision check (and carries out the consequences: sessions closed,
    /// devices signed out).
    pub async fn open_for_admin(db: Db, clock: SharedClock) -> Result<Arc<App>, AppError> {
        let (_stop, shutdown) = watch::channel(false);
        App::open(
            db,
            crate::broker::InProcess::shared(),
            clock,
            shutdown,
            false,
        )
        .await
    }

    async fn open(
        db: Db,
        broker: Arc<dyn Broker>,
        clock: SharedClock,
        shutdown: watch::Receiver<bool>,
        serving: bool,
    ) -> Result<Arc<App>, AppError> {
        let hub = Arc::new(Hub::default());
        let (timers, timer_rx) = mpsc::unbounded_channel();
        let (became_available, available_rx) = mpsc::unbounded_channel();
        let (hooks, hook_rx) = webhooks::Webhooks::new();
        let app = Arc::new(App {
            db,
            hub,
            broker,
            roster: roster::Roster::default(),
            timers,
            leases: leases::Queued::default(),
            assign_lock: Mutex::new(()),
            shutdown,
            clock: clock.clone(),
            demo: std::sync::atomic::AtomicBool::new(false),
            release: std::sync::RwLock::new(None),
            signin: signin::Guard::start(clock.clone(), signin::workers()),
            face_changes: faces::limiter(clock.clone()),
            personal_changes: favourites::limiter(clock.clone()),
            awaited: Default::default(),
            became_available,
            webhooks: hooks,
            calendars: Default::default(),
            metrics: Default::default(),
            mail: Default::default(),
            public_url: Default::default(),
            serving,
            reloads: roster::Reloads::default(),
        });
        app.reload().await?;
        if !serving {
            return Ok(app);
        }
        let (deliver, node) = (app.hub.clone(), Arc::downgrade(&app));
        // What other nodes stored, taken in the order they published it.
        let (stored_tx, stored_rx) = mpsc::unbounded_channel();
        tokio::spawn(adopt_stored(Arc::downgrade(&app), stored_rx));
        app.broker.subscribe(Arc::new(move |event: &Event, origin| {
            deliver.deliver(event);
            // Another node stored a person: this node's copy follows.
            if let (Event::Stored { .. }, Origin::OtherNode) = (event, origin) {
                let _ = stored_tx.send(event.clone());
            }
            if let (Event::OrgChanged { org }, Origin::OtherNode) = (event, origin) {
                // Another node changed an organisation: read it again here, once for however
                // many asked while a reload was waiting.
                if let Some(app) = node.upgrade() {
                    if app.reloads.ask() {
                        let org = org.clone();
                        tokio::spawn(async move {
                            app.reloads.starting().await;
                            if let Err(e) = app.reload().await {
                                tracing::warn!(%org, error = %e, "could not reload a changed organisation");
                            }
                        });
                    }
                }
            }
        }));
        // Back on the broker after a break: catch up on what other nodes stored meanwhile.
        let node = Arc::downgrade(&app);
        app.broker.on_reconnect(Arc::new(move || {
            if let Some(app) = node.upgrade() {
                tokio::spawn(async move {
                    if let Err(e) = app.catch_up().await {
                        tracing::warn!(error = %e, "could not catch up after the broker came back");
                    }
                });
            }
        }));
        tokio::spawn(favourites::tell_available(
            Arc::downgrade(&app),
            available_rx,
        ));
        tokio::spawn(webhooks::queue(Arc::downgrade(&app), hook_rx));
        tokio::spawn(webhooks::deliver(Arc::downgrade(&app), clock.clone()));
        tokio::spawn(calendars::poll(Arc::downgrade(&app), clock.clone()));
        tokio::spawn(signin::forget_idle_limits(
            Arc::downgrade(&app),
            clock.clone(),
            app.shutdown.clone(),
        ));
        let source = match app.db.backend {
            crate::db::Backend::Postgres => timers::Source::Claims,
            crate::db::Backend::Sqlite => timers::Source::Memory,
        };
        tokio::spawn(timers::run(
            Arc::downgrade(&app),
            clock,
            source,
            timer_rx,
            app.shutdown.clone(),
        ));
        tokio::spawn(leases::store(
            Arc::downgrade(&app),
            app.clock.clone(),
            app.shutdown.clone(),
        ));
        tokio::spawn(admin::watch_revisions(
            Arc::downgrade(&app),
            app.shutdown.clone(),
        ));
        let now = app.clock.now();
        let ids: Vec<UserId> = app
            .roster
            .slots(|_| true)
            .iter()
            .map(|s| s.id.clone())
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
            users = app.roster.count(),
            elapsed_ms = app.clock.now().0 - now.0,
            "presence state loaded"
        );
        Ok(app)
    }

    /// (Re)reads organisations, teams and people from the database and makes this node match
    /// it: new people appear, changed ones (name, role, deactivation) are replaced keeping their
    /// presence, deleted ones go; teams and memberships are read anew. On a serving node, a
    /// person whose teammates changed gets a fresh team snapshot, and devices whose tokens were
    /// revoked (signed out, deactivated, deleted, reset) are closed and signed out. Whoever made
    /// the change (this node, another node, the admin CLI), the result is the same.
    pub async fn reload(&self) -> Result<(), AppError> {
        let _one = self.reloads.turn().await;
        let now = self.clock.now();
        // Read first: a change made while this reload runs moves the revision again.
        let revisions = self.db.revisions().await?;
        let orgs = self.db.orgs().await?;
        // Organisations whose statuses changed: their people here get the new list.
        let recatalogued = self.roster.put_orgs(orgs);
        let memberships: Vec<(String, UserId)> = self
            .db
            .memberships()
            .await?
            .into_iter()
            .filter_map(|(t, u)| UserId::parse(u).ok().map(|u| (t, u)))
            .collect();
        let rows = self.db.teams().await?;
        let mut teams = HashMap::new();
        for (id, org, name) in rows {
            let members = memberships
                .iter()
                .filter(|(t, _)| *t == id)
                .map(|(_, u)| u.clone())
                .collect();
            teams.insert(id, TeamEntry { org, name, members });
        }
        let user_rows = self.db.users().await?;
        let mut users: HashMap<UserId, Arc<Slot>> = HashMap::with_capacity(user_rows.len());
        let mut renamed = std::collections::HashSet::new();
        let old = self.roster.people();
        {
            for row in user_rows {
                let id = UserId::parse(row.id.clone())?;
                let slot = match old.get(&id) {
                    Some(s) if s.same_identity(&row) => s.clone(),
                    Some(s) => {
                        if s.name != row.name || s.avatar != row.avatar {
                            renamed.insert(id.clone());
                        }
                        Arc::new(Slot {
                            id: id.clone(),
                            org: row.org_id,
                            email: row.email,
                            name: row.name,
                            role: row.role,
                            active: row.active,
                            avatar: row.avatar,
                            state: s.state.clone(),
                        })
                    }
                    None => Arc::new(self.slot_from_row(row, now)?),
                };
                users.insert(id, slot);
            }
        }
        let parsed =
            |(a, b): (String, String)| Some((UserId::parse(a).ok()?, UserId::parse(b).ok()?));
        let favourites: Vec<(UserId, UserId)> = self
            .db
            .favourites()
            .await?
            .into_iter()
            .filter_map(parsed)
            .collect();
        let awaited: std::collections::HashSet<UserId> = self
            .db
            .alerts()
            .await?
            .into_iter()
            .filter_map(parsed)
            .map(|(_, person)| person)
            .collect();
        let directory = Directory::from_memberships(&memberships)
            .with_orgs(users.values().map(|s| (s.id.clone(), s.org.clone())))
            .with_favourites(favourites);
        let old_directory = self.hub.directory();
        let removed: Vec<UserId> = old
            .keys()
            .filter(|id| !users.contains_key(*id))
            .cloned()
            .collect();
        // Who watches other people than before (teammates, favourites), or someone (or
        // themselves) with another name or photo.
        let regrouped: Vec<UserId> = users
            .keys()
            .filter(|u| {
                let (before, after) = (old_directory.watched(u), directory.watched(u));
                before != after || renamed.contains(*u) || after.iter().any(|m| renamed.contains(m))
            })
            .cloned()
            .collect();
        self.roster.replace(teams, users, revisions);
        self.hub.set_directory(directory);
        if let Ok(mut a) = self.awaited.write() {
            *a = awaited;
        }
        self.webhooks.load(self.db.webhooks().await?);
        if self.serving {
            self.carry_out(&removed, &regrouped).await?;
            self.send_statuses(&recatalogued).await;
        }
        Ok(())
    }

    /// Sends each person of `orgs` connected to this node the statuses they may choose now
    /// (every node reloads a changed organisation, so each tells its own connections).
    async fn send_statuses(&self, orgs: &std::collections::HashSet<String>) {
        if orgs.is_empty() {
            return;
        }
        for slot in self.roster.slots(|s| orgs.contains(&s.org)) {
            if self.hub.devices_of(&slot.id).is_empty() {
                continue;
            }
            let Ok(rules) = self.rules(&slot.org) else {
                continue;
            };
            let statuses = rules.selectable(&self.person(&slot).await);
            self.hub.deliver(&Event::User {
                user: slot.id.clone(),
                frame: frame(&ServerMessage::Statuses { statuses }),
                notification: None,
                version: None,
            });
        }
    }

    fn slot_from_row(&self, row: UserRow, now: Timestamp) -> Result<Slot, AppError> {
        let rules = self.rules(&row.org_id)?;
        Ok(Slot {
            id: UserId::parse(row.id)?,
            org: row.org_id,
            email: row.email,
            name: row.name,
            role: row.role,
            active: row.active,
            avatar: row.avatar,
            state: Arc::new(Mutex::new(SlotState {
                team_view: rules.team_view(&row.state, now),
                self_view: rules.self_view(&row.state, now),
                person: row.state,
                applied: row.applied_requests,
                stored_at: now,
                lease_queued: false,
                last_assigned: row.last_assigned,
                version: row.version,
                stored_deadline: row.next_deadline,
            })),
        })
    }

    /// Tells every node that an organisation's people, teams or rules changed.
    pub(crate) fn org_changed(&self, org: &str) {
        self.broker.publish(Event::OrgChanged {
            org: org.to_string(),
        });
    }

    pub fn rules(&self, org: &str) -> Result<Arc<Rules>, AppError> {
        self.roster.rules(org)
    }

    pub fn org(&self, org: &str) -> Result<Arc<OrgEntry>, AppError> {
        self.roster.org(org)
    }

    pub fn slot(&self, user: &UserId) -> Option<Arc<Slot>> {
        self.roster.slot(user)
    }

    /// A user of `org`, by id or email. Another organisation's user is "not found": nothing
    /// tells a caller that it exists.
    pub fn user_in_org(&self, org: &str, user: &str) -> Result<Arc<Slot>, AppError> {
        self.roster.user_in_org(org, user)
    }

    pub fn team_in_org(&self, org: &str, team: &str) -> Result<TeamEntry, AppError> {
        self.roster.team_in_org(org, team)
    }

    pub fn teams_of_org(&self, org: &str) -> Vec<(String, TeamEntry)> {
        self.roster.teams_of_org(org)
    }

    /// Whether this node can serve: the database answers and events reach the other nodes.
    pub async fn health(&self) -> Result<(), String> {
        let db = tokio::time::timeout(std::time::Duration::from_secs(3), self.db.ping()).await;
        match db {
            Err(_) => return Err("the database does not answer (3 s)".into()),
            Ok(Err(e)) => return Err(format!("the database: {e}")),
            Ok(Ok(())) => {}
        }
        self.broker.health()
    }

    /// What crossed the bus between nodes (see [`BusStats`]).
    /// Whether events reach the other nodes now; none on a single node.
    pub fn bus_up(&self) -> Option<bool> {
        self.broker
            .between_nodes()
            .then(|| self.broker.health().is_ok())
    }

    pub fn bus_stats(&self) -> BusStats {
        BusStats {
            rejected: self.broker.rejected(),
            reloads: self.reloads.count(),
        }
    }

    pub fn user_count(&self) -> usize {
        self.roster.count()
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

/// A poller's pause: until `next` (ms, at most a minute), a wake-up, or shutdown. Takes the node
/// so it is not held while waiting; false when the server is stopping.
pub(crate) async fn pause(
    node: Arc<App>,
    clock: &clock::SharedClock,
    next: Option<i64>,
    wake: &Arc<tokio::sync::Notify>,
) -> bool {
    let now = clock.now().0;
    let wait = next.map(|n| (n - now).clamp(0, 60_000)).unwrap_or(60_000);
    let mut shutdown = node.shutdown.clone();
    let woken = wake.notified();
    let sleep = clock.sleep(std::time::Duration::from_millis(wait as u64));
    drop(node);
    tokio::select! {
        _ = sleep => true,
        _ = woken => true,
        _ = shutdown.changed() => false,
    }
}
