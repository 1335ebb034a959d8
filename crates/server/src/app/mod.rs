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
//! - [`timers`]: the deadline queue and the task that wakes each person exactly on time;
//! - [`load`]: starting up and reloading: organisations, teams and people read from storage.

mod accounts;
pub mod admin;
pub mod calendars;
mod faces;
pub mod favourites;
pub mod leases;
mod load;
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
    /// The identity providers' discovery documents, read recently.
    discovered: sso::Discovered,
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
    /// What teammates see of them, shared like `state`.
    shown: Arc<std::sync::RwLock<Shown>>,
}

/// What teammates see of a person: written with the person's state lock held, before the change
/// is published, and read without it, so a hello's snapshot, a board or the directory never
/// waits on a teammate's change while it is stored. A reader sees the view before a change (and
/// the change's delta after, if it listens already) or after it.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    view: TeamView,
    time_zone: presence::TimeZone,
}

impl Shown {
    fn of(person: &Person, rules: &Rules, now: Timestamp) -> Shown {
        Shown {
            view: rules.team_view(person, now),
            time_zone: person.preferences.time_zone,
        }
    }
}

impl Slot {
    /// The person of a stored row, holding `state` and `shown` (their own, or those of the slot
    /// the row replaces).
    fn from_row(
        id: UserId,
        row: UserRow,
        state: Arc<Mutex<SlotState>>,
        shown: Arc<std::sync::RwLock<Shown>>,
    ) -> Slot {
        Slot {
            id,
            org: row.org_id,
            email: row.email,
            name: row.name,
            role: row.role,
            active: row.active,
            avatar: row.avatar,
            state,
            shown,
        }
    }

    fn same_identity(&self, row: &UserRow) -> bool {
        self.org == row.org_id
            && self.email == row.email
            && self.name == row.name
            && self.role == row.role
            && self.active == row.active
            && self.avatar == row.avatar
    }

    /// The person as teammates, the directory and boards show them (without waiting for their
    /// state's lock).
    fn member(&self) -> protocol::Member {
        let shown = self.shown();
        protocol::Member {
            user: self.id.clone(),
            name: self.name.clone(),
            time_zone: shown.time_zone.name().to_string(),
            view: shown.view,
            avatar: self.avatar.clone(),
        }
    }

    /// What teammates see of the person now.
    fn team_view(&self) -> TeamView {
        self.shown().view
    }

    fn shown(&self) -> Shown {
        // A writer that panicked left a whole value (it only assigns): read it.
        self.shown
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Publishes what teammates see of the person now (call it with their state's lock held);
    /// the view before, when the view changed (a time zone alone is no change to tell anyone).
    fn show(&self, view: &TeamView, time_zone: presence::TimeZone) -> Option<TeamView> {
        // Most calls (every heartbeat) show what is already shown: readers are not held up
        // for them. Only the caller, holding the state's lock, writes, so nothing can change
        // between this read and the write below.
        {
            let current = self
                .shown
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if current.view == *view && current.time_zone == time_zone {
                return None;
            }
        }
        let mut current = self
            .shown
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        current.time_zone = time_zone;
        (current.view != *view).then(|| std::mem::replace(&mut current.view, view.clone()))
    }
}

struct SlotState {
    person: Person,
    applied: Vec<String>,
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
