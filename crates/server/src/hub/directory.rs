//! Who sees whom on this node: built from the stored teams and favourites on every reload, read
//! on every delivery.

use presence::UserId;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Who sees whom: the teammates of each user (members of any team they are in), whom each
/// pinned as a favourite (and who pinned each), and each user's organisation (for
/// administrators' boards).
#[derive(Default)]
pub struct Directory {
    audience: HashMap<UserId, Arc<[UserId]>>,
    orgs: HashMap<UserId, Arc<str>>,
    favourites: HashMap<UserId, Arc<[UserId]>>,
    fans: HashMap<UserId, Arc<[UserId]>>,
}

impl Directory {
    /// Builds the audience of every user from the team memberships.
    pub fn from_memberships(memberships: &[(String, UserId)]) -> Directory {
        let mut teams: HashMap<&str, Vec<&UserId>> = HashMap::new();
        for (team, user) in memberships {
            teams.entry(team.as_str()).or_default().push(user);
        }
        let mut audience: HashMap<UserId, HashSet<UserId>> = HashMap::new();
        for members in teams.values() {
            for m in members {
                let set = audience.entry((*m).clone()).or_default();
                set.extend(members.iter().filter(|o| *o != m).map(|o| (*o).clone()));
            }
        }
        Directory {
            orgs: HashMap::new(),
            favourites: HashMap::new(),
            fans: HashMap::new(),
            audience: audience
                .into_iter()
                .map(|(u, set)| {
                    let mut v: Vec<UserId> = set.into_iter().collect();
                    v.sort();
                    (u, v.into())
                })
                .collect(),
        }
    }

    /// The same, knowing each user's organisation.
    pub fn with_orgs(mut self, orgs: impl IntoIterator<Item = (UserId, String)>) -> Directory {
        self.orgs = orgs.into_iter().map(|(u, o)| (u, Arc::from(o))).collect();
        self
    }

    /// The same, knowing whom each person pinned: (person, pinned person).
    pub fn with_favourites(
        mut self,
        pairs: impl IntoIterator<Item = (UserId, UserId)>,
    ) -> Directory {
        let (mut favourites, mut fans): (
            HashMap<UserId, Vec<UserId>>,
            HashMap<UserId, Vec<UserId>>,
        ) = Default::default();
        for (user, person) in pairs {
            favourites
                .entry(user.clone())
                .or_default()
                .push(person.clone());
            fans.entry(person).or_default().push(user);
        }
        self.favourites = favourites.into_iter().map(|(u, v)| (u, v.into())).collect();
        self.fans = fans.into_iter().map(|(u, v)| (u, v.into())).collect();
        self
    }

    /// Whom `user` pinned, oldest first.
    pub fn favourites(&self, user: &UserId) -> Arc<[UserId]> {
        self.favourites
            .get(user)
            .cloned()
            .unwrap_or_else(|| Arc::from(Vec::new()))
    }

    /// Whom `user`'s panel shows live: their teammates and their favourites.
    pub fn watched(&self, user: &UserId) -> Vec<UserId> {
        let mut all: Vec<UserId> = self.teammates(user).to_vec();
        all.extend(self.favourites(user).iter().filter(|f| *f != user).cloned());
        all.sort();
        all.dedup();
        all
    }

    /// Who sees `user`'s changes live: their teammates and whoever pinned them (the teammates'
    /// list itself, not a copy, for someone nobody pinned: this is on every change's path).
    pub fn watchers(&self, user: &UserId) -> Arc<[UserId]> {
        let mates = self.teammates(user);
        let Some(fans) = self.fans.get(user) else {
            return mates;
        };
        let mut all: Vec<UserId> = mates.to_vec();
        all.extend(fans.iter().filter(|f| *f != user).cloned());
        all.sort();
        all.dedup();
        all.into()
    }

    pub fn org_of(&self, user: &UserId) -> Option<&str> {
        self.orgs.get(user).map(|o| &**o)
    }

    pub fn teammates(&self, user: &UserId) -> Arc<[UserId]> {
        self.audience
            .get(user)
            .cloned()
            .unwrap_or_else(|| Arc::from(Vec::new()))
    }
}
