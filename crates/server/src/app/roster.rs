//! The roster: the organisations, teams, people and revisions this node has loaded, behind one
//! narrow interface. [`App::reload`](super::App::reload) builds the next roster from the
//! database and swaps it in; everything else reads it. The locks live here and nowhere else, and
//! none is held across an await.

use super::{OrgEntry, Slot, TeamEntry};
use crate::db::OrgRow;
use crate::error::AppError;
use presence::{Rules, UserId};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

#[derive(Default)]
pub struct Roster {
    orgs: RwLock<HashMap<String, Arc<OrgEntry>>>,
    users: RwLock<HashMap<UserId, Arc<Slot>>>,
    teams: RwLock<HashMap<String, TeamEntry>>,
    /// The organisations' revisions loaded (see [`Roster::moved`]).
    revisions: Mutex<HashMap<String, i64>>,
}

/// Reads through a lock. A panic elsewhere while it was held leaves plain data, still whole
/// (every write here is one assignment or one insert), so it is read rather than panicking too.
fn read<T, R>(lock: &RwLock<T>, f: impl FnOnce(&T) -> R) -> R {
    f(&lock.read().unwrap_or_else(|p| p.into_inner()))
}

fn write<T, R>(lock: &RwLock<T>, f: impl FnOnce(&mut T) -> R) -> R {
    f(&mut lock.write().unwrap_or_else(|p| p.into_inner()))
}

fn bounded(s: &str) -> String {
    s.chars().take(80).collect()
}

impl Roster {
    pub fn org(&self, org: &str) -> Result<Arc<OrgEntry>, AppError> {
        read(&self.orgs, |m| m.get(org).cloned())
            .ok_or_else(|| AppError::not_found(format!("no organisation {org}")))
    }

    pub fn rules(&self, org: &str) -> Result<Arc<Rules>, AppError> {
        self.org(org).map(|o| o.rules.clone())
    }

    /// Every organisation, by name.
    pub fn orgs(&self) -> Vec<OrgRow> {
        let mut v: Vec<OrgRow> = read(&self.orgs, |m| m.values().map(|o| o.row.clone()).collect());
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    pub fn slot(&self, user: &UserId) -> Option<Arc<Slot>> {
        read(&self.users, |m| m.get(user).cloned())
    }

    /// The people `keep` keeps, in no order.
    pub fn slots(&self, keep: impl Fn(&Slot) -> bool) -> Vec<Arc<Slot>> {
        read(&self.users, |m| {
            m.values().filter(|s| keep(s)).cloned().collect()
        })
    }

    /// Every person of an organisation, by name.
    pub fn people_of_org(&self, org: &str) -> Vec<Arc<Slot>> {
        let mut v = self.slots(|s| s.org == org);
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// How many people are loaded.
    pub fn count(&self) -> usize {
        read(&self.users, |m| m.len())
    }

    /// A user of `org`, by id or email. Another organisation's user is "not found": nothing
    /// tells a caller that it exists.
    pub fn user_in_org(&self, org: &str, user: &str) -> Result<Arc<Slot>, AppError> {
        let found = read(&self.users, |users| {
            UserId::parse(user)
                .ok()
                .and_then(|id| users.get(&id).cloned())
                .or_else(|| {
                    users
                        .values()
                        .find(|s| s.email.eq_ignore_ascii_case(user.trim()))
                        .cloned()
                })
        });
        found.filter(|s| s.org == org).ok_or_else(|| {
            AppError::not_found(format!(
                "no user \"{}\" in your organisation",
                bounded(user)
            ))
        })
    }

    pub fn team_in_org(&self, org: &str, team: &str) -> Result<TeamEntry, AppError> {
        read(&self.teams, |m| {
            m.get(team).filter(|t| t.org == org).cloned()
        })
        .ok_or_else(|| {
            AppError::not_found(format!(
                "no team \"{}\" in your organisation",
                bounded(team)
            ))
        })
    }

    /// An organisation's teams, by name.
    pub fn teams_of_org(&self, org: &str) -> Vec<(String, TeamEntry)> {
        let mut v: Vec<_> = read(&self.teams, |m| {
            m.iter()
                .filter(|(_, t)| t.org == org)
                .map(|(id, t)| (id.clone(), t.clone()))
                .collect()
        });
        v.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        v
    }

    /// Takes the organisations as read; returns those whose statuses changed (their people
    /// get the new list).
    pub fn put_orgs(&self, rows: Vec<OrgRow>) -> HashSet<String> {
        let mut recatalogued = HashSet::new();
        write(&self.orgs, |map| {
            for row in rows {
                let rules = Arc::new(Rules {
                    catalog: row.catalog.clone(),
                    policy: row.policy.clone(),
                });
                if map
                    .get(&row.id)
                    .is_some_and(|old| old.rules.catalog != rules.catalog)
                {
                    recatalogued.insert(row.id.clone());
                }
                map.insert(row.id.clone(), Arc::new(OrgEntry { row, rules }));
            }
        });
        recatalogued
    }

    /// The people now, for building the next roster from.
    pub fn people(&self) -> HashMap<UserId, Arc<Slot>> {
        read(&self.users, |m| m.clone())
    }

    /// Swaps in what a reload read: the teams, the people and the revisions they are of.
    pub fn replace(
        &self,
        teams: HashMap<String, TeamEntry>,
        users: HashMap<UserId, Arc<Slot>>,
        revisions: Vec<(String, i64)>,
    ) {
        write(&self.teams, |t| *t = teams);
        write(&self.users, |u| *u = users);
        *self.revisions.lock().unwrap_or_else(|p| p.into_inner()) = revisions.into_iter().collect();
    }

    /// Whether the database's revisions `seen` differ from the ones loaded: something changed
    /// outside this node.
    pub fn moved(&self, seen: &[(String, i64)]) -> bool {
        let known = self.revisions.lock().unwrap_or_else(|p| p.into_inner());
        seen.iter().any(|(org, rev)| known.get(org) != Some(rev))
    }
}

/// Reloads of the roster: one at a time, and a flood of requests from other nodes costs at most
/// one running and one waiting.
#[derive(Default)]
pub struct Reloads {
    one: tokio::sync::Mutex<()>,
    /// A reload another node asked for is waiting to start: later requests join it.
    queued: AtomicBool,
    done: AtomicU64,
}

impl Reloads {
    /// The turn of one reload; counted.
    pub async fn turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        let turn = self.one.lock().await;
        self.done.fetch_add(1, Ordering::Relaxed);
        turn
    }

    /// Asks for a reload on another node's word: true when none is waiting yet (the caller
    /// starts one), false when the waiting one will do.
    pub fn ask(&self) -> bool {
        !self.queued.swap(true, Ordering::AcqRel)
    }

    /// The asked-for reload is about to start: a request from now on needs another.
    pub async fn starting(&self) {
        let _one = self.one.lock().await;
        self.queued.store(false, Ordering::Release);
    }

    /// Reloads done since the start.
    pub fn count(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
}
