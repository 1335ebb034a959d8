//! This node's connections. Every [`Event`] any node publishes reaches [`Hub::deliver`], which
//! hands its finished frame to the local connections of its audience (resolved here, from this
//! node's directory of who is in which team).

use crate::broker::{Event, Frame};
use presence::{DeviceId, UserId};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::mpsc;

/// How many frames may wait for one connection. A client that falls this far behind is
/// disconnected (it resumes from its cursor when it reconnects) rather than growing memory.
pub const CONNECTION_QUEUE: usize = 4096;

#[derive(Debug)]
pub enum Outgoing {
    Frame(Frame),
    Notification {
        seq: u64,
        frame: Frame,
    },
    Close(Frame),
    /// After a break between nodes: send what this connection has not been sent yet (a
    /// notification made on another node meanwhile never reached this one).
    Resync,
}

struct Conn {
    id: u64,
    device: DeviceId,
    tx: mpsc::Sender<Outgoing>,
}

/// Who sees whom: the teammates of each user (members of any team they are in), and each
/// user's organisation (for administrators' boards).
#[derive(Default)]
pub struct Directory {
    audience: HashMap<UserId, Arc<[UserId]>>,
    orgs: HashMap<UserId, Arc<str>>,
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

/// An administrator's board: who watches, on which connection, and its queue.
type Board = (UserId, u64, mpsc::Sender<Outgoing>);

/// This node's open connections.
pub struct Hub {
    conns: RwLock<HashMap<UserId, Vec<Conn>>>,
    /// Administrators' boards, by organisation.
    boards: RwLock<HashMap<String, Vec<Board>>>,
    pub directory: RwLock<Arc<Directory>>,
    next_id: AtomicU64,
    /// The newest stored version of each person whose state frames this node delivered: an
    /// older one (a node that published late) is dropped.
    delivered: std::sync::Mutex<HashMap<(UserId, bool), i64>>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            conns: RwLock::new(HashMap::new()),
            boards: RwLock::new(HashMap::new()),
            directory: RwLock::new(Arc::new(Directory::default())),
            next_id: AtomicU64::new(1),
            delivered: std::sync::Mutex::new(HashMap::new()),
        }
    }
}

impl Hub {
    pub fn register(&self, user: &UserId, device: &DeviceId) -> (u64, mpsc::Receiver<Outgoing>) {
        let (tx, rx) = mpsc::channel(CONNECTION_QUEUE);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.conns
            .write()
            .expect("hub lock")
            .entry(user.clone())
            .or_default()
            .push(Conn {
                id,
                device: device.clone(),
                tx,
            });
        (id, rx)
    }

    /// Makes a registered connection an administrator's board of `org`: it also gets every
    /// presence change of the organisation's people.
    pub fn watch_board(&self, org: &str, user: &UserId, id: u64) {
        let tx = self
            .conns
            .read()
            .expect("hub lock")
            .get(user)
            .and_then(|l| l.iter().find(|c| c.id == id).map(|c| c.tx.clone()));
        if let Some(tx) = tx {
            let mut boards = self.boards.write().expect("boards lock");
            let list = boards.entry(org.to_string()).or_default();
            if !list.iter().any(|(_, i, _)| *i == id) {
                list.push((user.clone(), id, tx));
            }
        }
    }

    /// The organisations with a board open here, and who watches each.
    pub fn boards(&self) -> Vec<(String, Vec<UserId>)> {
        self.boards
            .read()
            .expect("boards lock")
            .iter()
            .map(|(o, l)| (o.clone(), l.iter().map(|(u, _, _)| u.clone()).collect()))
            .collect()
    }

    /// Sends a frame to every board of `org` on this node.
    pub fn to_boards(&self, org: &str, frame: &Frame) {
        for (_, _, tx) in self
            .boards
            .read()
            .expect("boards lock")
            .get(org)
            .into_iter()
            .flatten()
        {
            let _ = tx.try_send(Outgoing::Frame(frame.clone()));
        }
    }

    /// Removes a connection. Returns whether the same device still has another one open.
    pub fn unregister(&self, user: &UserId, id: u64) -> bool {
        {
            let mut boards = self.boards.write().expect("boards lock");
            for list in boards.values_mut() {
                list.retain(|(_, i, _)| *i != id);
            }
            boards.retain(|_, l| !l.is_empty());
        }
        let mut conns = self.conns.write().expect("hub lock");
        let Some(list) = conns.get_mut(user) else {
            return false;
        };
        let device = list.iter().find(|c| c.id == id).map(|c| c.device.clone());
        list.retain(|c| c.id != id);
        let still = device.is_some_and(|d| list.iter().any(|c| c.device == d));
        if list.is_empty() {
            conns.remove(user);
        }
        still
    }

    /// The devices of `user` with a connection open on this node.
    /// Asks every connection here to send what it has not been sent yet ([`Outgoing::Resync`]).
    pub fn resync_all(&self) {
        for conns in self.conns.read().expect("hub lock").values() {
            for c in conns {
                // A full queue is a connection about to be dropped: it resumes on reconnect.
                let _ = c.tx.try_send(Outgoing::Resync);
            }
        }
    }

    pub fn devices_of(&self, user: &UserId) -> Vec<DeviceId> {
        let conns = self.conns.read().expect("hub lock");
        let mut v: Vec<DeviceId> = conns
            .get(user)
            .into_iter()
            .flatten()
            .map(|c| c.device.clone())
            .collect();
        v.dedup();
        v
    }

    pub fn connection_count(&self) -> usize {
        self.conns
            .read()
            .expect("hub lock")
            .values()
            .map(Vec::len)
            .sum()
    }

    pub fn set_directory(&self, directory: Directory) {
        *self.directory.write().expect("directory lock") = Arc::new(directory);
    }

    /// Whether a state frame of `user` at `version` (a team view, or `own` view) is not older
    /// than one this node delivered already; remembers it.
    fn current(&self, user: &UserId, own: bool, version: i64) -> bool {
        let mut delivered = self.delivered.lock().expect("delivered lock");
        let last = delivered.entry((user.clone(), own)).or_insert(version);
        if version < *last {
            return false;
        }
        *last = version;
        true
    }

    pub fn deliver(&self, event: &Event) {
        let mut slow = Vec::new();
        {
            let conns = self.conns.read().expect("hub lock");
            let mut send = |user: &UserId, c: &Conn, out: Outgoing| {
                if c.tx.try_send(out).is_err() {
                    slow.push((user.clone(), c.id));
                }
            };
            match event {
                Event::Presence {
                    user,
                    frame,
                    version,
                } => {
                    if !self.current(user, false, *version) {
                        return;
                    }
                    let audience = self.directory.read().expect("directory lock").clone();
                    let mates = audience.teammates(user);
                    for mate in mates.iter() {
                        for c in conns.get(mate).into_iter().flatten() {
                            send(mate, c, Outgoing::Frame(frame.clone()));
                        }
                    }
                    if let Some(org) = audience.org_of(user) {
                        let boards = self.boards.read().expect("boards lock");
                        for (watcher, id, tx) in boards.get(org).into_iter().flatten() {
                            // A teammate's board has it already.
                            if !mates.contains(watcher)
                                && tx.try_send(Outgoing::Frame(frame.clone())).is_err()
                            {
                                slow.push((watcher.clone(), *id));
                            }
                        }
                    }
                }
                Event::User {
                    user,
                    frame,
                    notification,
                    version,
                } => {
                    if version.is_some_and(|v| !self.current(user, true, v)) {
                        return;
                    }
                    for c in conns.get(user).into_iter().flatten() {
                        let out = match notification {
                            Some(seq) => Outgoing::Notification {
                                seq: *seq,
                                frame: frame.clone(),
                            },
                            None => Outgoing::Frame(frame.clone()),
                        };
                        send(user, c, out);
                    }
                }
                Event::Disconnect {
                    user,
                    device,
                    frame,
                } => {
                    for c in conns.get(user).into_iter().flatten() {
                        if &c.device == device {
                            send(user, c, Outgoing::Close(frame.clone()));
                        }
                    }
                }
                // Nothing to send: the node's application layer reloads the organisation, or
                // takes the stored state.
                Event::OrgChanged { .. } | Event::Stored { .. } => {}
            }
        }
        // A full queue means the client stopped reading: drop it; it resumes on reconnect.
        for (user, id) in slow {
            tracing::warn!(user = %user.as_str(), "a connection fell behind and was dropped");
            self.unregister(&user, id);
        }
    }
}
