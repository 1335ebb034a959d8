//! Who sees whom on this node: built from the stored teams and favourites on every reload, read
//! on every delivery.

use presence::UserId;
use std::collections::HashMap;
use std::sync::Arc;

/// Who sees whom: the teammates of each user (members of any team they are in), whom each
/// pinned as a favourite (and who pinned each), and each user's organisation (for
/// administrators' boards).
#[derive(Default)]
pub struct Directory {
    /// Each user's team, themselves included, sorted: a user in one team shares its list with
    /// its other members (one list per team, not one per person); a user in several has the
    /// union of theirs.
    audience: HashMap<UserId, Arc<[UserId]>>,
    orgs: HashMap<UserId, Arc<str>>,
    favourites: HashMap<UserId, Arc<[UserId]>>,
    fans: HashMap<UserId, Arc<[UserId]>>,
}

/// Who sees a person's changes live: a sorted list that may hold the person too, read
/// without them.
pub struct Watchers<'a> {
    list: Arc<[UserId]>,
    of: &'a UserId,
}

impl Watchers<'_> {
    pub fn iter(&self) -> impl Iterator<Item = &UserId> {
        self.list.iter().filter(|u| *u != self.of)
    }

    pub fn contains(&self, user: &UserId) -> bool {
        user != self.of && self.list.binary_search(user).is_ok()
    }
}

impl Directory {
    /// Builds the audience of every user from the team memberships: (team, member).
    pub fn from_memberships(memberships: &[(String, UserId)]) -> Directory {
        let mut teams: HashMap<&str, Vec<UserId>> = HashMap::new();
        for (team, user) in memberships {
            teams.entry(team.as_str()).or_default().push(user.clone());
        }
        let teams: Vec<Arc<[UserId]>> = teams
            .into_values()
            .map(|mut members| {
                members.sort();
                members.dedup();
                members.into()
            })
            .collect();
        let mut of: HashMap<&UserId, Vec<&Arc<[UserId]>>> = HashMap::new();
        for team in &teams {
            for member in team.iter() {
                of.entry(member).or_default().push(team);
            }
        }
        let audience = of
            .into_iter()
            .map(|(user, in_teams)| {
                let list = match in_teams.as_slice() {
                    [one] => Arc::clone(one),
                    several => {
                        let mut all: Vec<UserId> =
                            several.iter().flat_map(|t| t.iter().cloned()).collect();
                        all.sort();
                        all.dedup();
                        all.into()
                    }
                };
                (user.clone(), list)
            })
            .collect();
        Directory {
            orgs: HashMap::new(),
            favourites: HashMap::new(),
            fans: HashMap::new(),
            audience,
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
        let mut all: Vec<UserId> = self.team(user).to_vec();
        all.extend(self.favourites(user).iter().cloned());
        all.sort();
        all.dedup();
        all.retain(|u| u != user);
        all
    }

    /// Who sees `user`'s changes live: their teammates and whoever pinned them (the team's
    /// list itself, not a copy, for someone nobody pinned: this is on every change's path).
    pub fn watchers<'a>(&self, user: &'a UserId) -> Watchers<'a> {
        let team = self.team(user);
        let list = match self.fans.get(user) {
            None => team,
            Some(fans) => {
                let mut all: Vec<UserId> = team.to_vec();
                all.extend(fans.iter().cloned());
                all.sort();
                all.dedup();
                all.into()
            }
        };
        Watchers { list, of: user }
    }

    pub fn org_of(&self, user: &UserId) -> Option<&str> {
        self.orgs.get(user).map(|o| &**o)
    }

    /// `user`'s teams' members, `user` included when they are in a team.
    fn team(&self, user: &UserId) -> Arc<[UserId]> {
        self.audience
            .get(user)
            .cloned()
            .unwrap_or_else(|| Arc::from(Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }

    fn ids(list: &[&str]) -> Vec<UserId> {
        list.iter().map(|s| id(s)).collect()
    }

    /// Teams `a` (ann, bo, cy) and `b` (cy, di); ed in no team; di pinned ann.
    fn directory() -> Directory {
        let member = |t: &str, u: &str| (t.to_string(), id(u));
        Directory::from_memberships(&[
            member("a", "ann"),
            member("a", "bo"),
            member("a", "cy"),
            member("b", "cy"),
            member("b", "di"),
        ])
        .with_favourites([(id("di"), id("ann"))])
    }

    fn watchers(d: &Directory, user: &str) -> Vec<UserId> {
        let user = id(user);
        d.watchers(&user).iter().cloned().collect()
    }

    #[test]
    fn a_person_sees_and_is_seen_by_their_teammates_never_themselves() {
        let d = directory();
        assert_eq!(d.watched(&id("bo")), ids(&["ann", "cy"]));
        assert_eq!(watchers(&d, "bo"), ids(&["ann", "cy"]));
        assert_eq!(d.watched(&id("cy")), ids(&["ann", "bo", "di"]));
        assert_eq!(watchers(&d, "cy"), ids(&["ann", "bo", "di"]));
        assert!(d.watched(&id("ed")).is_empty());
        assert_eq!(watchers(&d, "ed"), Vec::<UserId>::new());
    }

    #[test]
    fn a_fan_sees_whom_they_pinned() {
        let d = directory();
        assert_eq!(d.watched(&id("di")), ids(&["ann", "cy"]));
        assert_eq!(watchers(&d, "ann"), ids(&["bo", "cy", "di"]));
        let ann = id("ann");
        let w = d.watchers(&ann);
        assert!(w.contains(&id("di")) && w.contains(&id("bo")));
        assert!(
            !w.contains(&ann),
            "a person is not among their own watchers"
        );
        assert!(!w.contains(&id("ed")));
    }

    #[test]
    fn members_of_one_team_share_its_list() {
        let d = directory();
        let (ann, bo) = (&d.audience[&id("ann")], &d.audience[&id("bo")]);
        assert!(Arc::ptr_eq(ann, bo));
        assert!(!Arc::ptr_eq(ann, &d.audience[&id("cy")]));
    }
}
