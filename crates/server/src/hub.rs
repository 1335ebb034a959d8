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
    Notification { seq: u64, frame: Frame },
    Close(Frame),
}

struct Conn {
    id: u64,
    device: DeviceId,
    tx: mpsc::Sender<Outgoing>,
}

/// Who sees whom: the teammates of each user (members of any team they are in).
#[derive(Default)]
pub struct Directory {
    audience: HashMap<UserId, Arc<[UserId]>>,
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

    pub fn teammates(&self, user: &UserId) -> Arc<[UserId]> {
        self.audience
            .get(user)
            .cloned()
            .unwrap_or_else(|| Arc::from(Vec::new()))
    }
}

/// This node's open connections.
pub struct Hub {
    conns: RwLock<HashMap<UserId, Vec<Conn>>>,
    pub directory: RwLock<Arc<Directory>>,
    next_id: AtomicU64,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            conns: RwLock::new(HashMap::new()),
            directory: RwLock::new(Arc::new(Directory::default())),
            next_id: AtomicU64::new(1),
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

    /// Removes a connection. Returns whether the same device still has another one open.
    pub fn unregister(&self, user: &UserId, id: u64) -> bool {
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
                Event::Presence { user, frame } => {
                    let audience = self.directory.read().expect("directory lock").clone();
                    for mate in audience.teammates(user).iter() {
                        for c in conns.get(mate).into_iter().flatten() {
                            send(mate, c, Outgoing::Frame(frame.clone()));
                        }
                    }
                }
                Event::User {
                    user,
                    frame,
                    notification,
                } => {
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
                // Nothing to send: the node's application layer reloads the organisation.
                Event::OrgChanged { .. } => {}
            }
        }
        // A full queue means the client stopped reading: drop it; it resumes on reconnect.
        for (user, id) in slow {
            tracing::warn!(user = %user.as_str(), "a connection fell behind and was dropped");
            self.unregister(&user, id);
        }
    }
}
