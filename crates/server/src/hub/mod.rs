//! This node's connections. Every [`Event`] any node publishes reaches [`Hub::deliver`], which
//! hands its finished frame to the local connections of its audience (resolved here, from this
//! node's directory of who is in which team).

use crate::broker::{Event, Frame};
use presence::{DeviceId, UserId};
use protocol::{encode, ErrorKind, ServerMessage, WireError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

mod directory;
mod queue;
pub use directory::Directory;
pub use queue::Receiver;
use queue::Sender;

/// How many frames may wait for one connection. A client that falls this far behind is
/// disconnected (it resumes from its cursor when it reconnects) rather than growing memory.
pub const CONNECTION_QUEUE: usize = 4096;

/// How many WebSocket connections one device, one person and one address (an IPv6 address's
/// /64) may hold on a node at once; 0 is no cap. The defaults are far above what a person's own
/// apps open (one per device, two for a moment while one reconnects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Over it, the device's oldest connection is closed (a reconnect replaces a stale one).
    pub per_device: usize,
    /// Over it, the new connection is refused.
    pub per_person: usize,
    /// Over it, the new connection is refused. Behind a proxy every client shares the proxy's
    /// address: raise it there, or set 0 (docs/server.md).
    pub per_address: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            per_device: 4,
            per_person: 32,
            per_address: 2000,
        }
    }
}

/// A connection over a cap, with what to tell its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverCap(pub String);

#[derive(Debug)]
pub enum Outgoing {
    Frame(Frame),
    Notification {
        seq: u64,
        frame: Frame,
    },
    /// Ends the connection after sending the frame, with the close frame's reason (boxed: it
    /// is rare, and every slot of a queue is as large as the largest variant).
    Close(Box<(Frame, &'static str)>),
    /// After a break between nodes: send what this connection has not been sent yet (a
    /// notification made on another node meanwhile never reached this one).
    Resync,
}

// A connection's queue holds room for the frames waiting in it (given back once it is drained):
// keep a slot small (docs/benchmarks.md).
const _: () = assert!(std::mem::size_of::<Outgoing>() <= 24);

struct Conn {
    id: u64,
    device: DeviceId,
    tx: Sender,
}

/// An administrator's board: who watches, on which connection, and its queue.
type Board = (UserId, u64, Sender);

/// The people connections watch beyond their teammates and favourites (the directory's results
/// on screen), both ways round.
#[derive(Default)]
struct Glances {
    /// Who watches each person: (watcher, connection, its queue).
    of: HashMap<UserId, Vec<Board>>,
    /// Whom each connection watches.
    by: HashMap<u64, Vec<UserId>>,
}

impl Glances {
    fn forget(&mut self, id: u64) {
        for person in self.by.remove(&id).unwrap_or_default() {
            if let Some(list) = self.of.get_mut(&person) {
                list.retain(|(_, i, _)| *i != id);
                if list.is_empty() {
                    self.of.remove(&person);
                }
            }
        }
    }
}

/// This node's open connections.
pub struct Hub {
    conns: RwLock<HashMap<UserId, Vec<Conn>>>,
    /// Administrators' boards, by organisation.
    boards: RwLock<HashMap<String, Vec<Board>>>,
    glances: RwLock<Glances>,
    directory: RwLock<Arc<Directory>>,
    next_id: AtomicU64,
    /// The newest stored version of each person whose state frames this node delivered: an
    /// older one (a node that published late) is dropped.
    delivered: std::sync::Mutex<HashMap<(UserId, bool), i64>>,
    limits: RwLock<ConnectionLimits>,
    /// Open connections per address (network).
    addresses: std::sync::Mutex<HashMap<std::net::IpAddr, usize>>,
    /// What this node's connections took, for `/metrics`.
    pub counters: HubCounters,
}

/// Counts since the start (relaxed atomic adds), read by `/metrics`.
#[derive(Default)]
pub struct HubCounters {
    /// Connections registered (signed in).
    pub opened: prometheus_client::metrics::counter::Counter,
    /// Frames queued to connections.
    pub delivered: prometheus_client::metrics::counter::Counter,
    /// Connections dropped for not reading.
    pub dropped: prometheus_client::metrics::counter::Counter,
}

/// One connection counted against its address, for as long as it lives.
pub struct AddressSlot {
    hub: Arc<Hub>,
    network: std::net::IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut addresses = self.hub.addresses.lock().expect("addresses lock");
        if let Some(n) = addresses.get_mut(&self.network) {
            *n -= 1;
            if *n == 0 {
                addresses.remove(&self.network);
            }
        }
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            conns: RwLock::new(HashMap::new()),
            boards: RwLock::new(HashMap::new()),
            glances: RwLock::new(Glances::default()),
            directory: RwLock::new(Arc::new(Directory::default())),
            next_id: AtomicU64::new(1),
            delivered: std::sync::Mutex::new(HashMap::new()),
            limits: RwLock::new(ConnectionLimits::default()),
            addresses: std::sync::Mutex::new(HashMap::new()),
            counters: HubCounters::default(),
        }
    }
}

impl Hub {
    /// Counts a new connection from `address` (before its hello), or refuses it over the cap.
    pub fn admit_address(
        self: &Arc<Self>,
        address: std::net::IpAddr,
    ) -> Result<AddressSlot, OverCap> {
        let cap = self.limits.read().expect("limits lock").per_address;
        let network = crate::network_of(address);
        let mut addresses = self.addresses.lock().expect("addresses lock");
        let open = addresses.entry(network).or_insert(0);
        if cap > 0 && *open >= cap {
            return Err(OverCap(format!(
                "too many connections from your address ({cap}): close some and reconnect, or ask the server's administrator to raise the limit"
            )));
        }
        *open += 1;
        Ok(AddressSlot {
            hub: self.clone(),
            network,
        })
    }

    /// Registers a signed-in connection of `user`'s `device`: refused when the person holds as
    /// many as allowed; over the device's cap, its oldest connection is closed.
    pub fn register(&self, user: &UserId, device: &DeviceId) -> Result<(u64, Receiver), OverCap> {
        let limits = *self.limits.read().expect("limits lock");
        let mut conns = self.conns.write().expect("hub lock");
        let list = conns.entry(user.clone()).or_default();
        let mut same: Vec<&Conn> = list.iter().filter(|c| &c.device == device).collect();
        same.sort_by_key(|c| c.id);
        let cap = |n: usize| if n == 0 { usize::MAX } else { n };
        // What the person holds once this device's oldest connections over its cap are gone.
        let after = list.len() - same.len() + (same.len() + 1).min(cap(limits.per_device));
        if after > cap(limits.per_person) {
            let open = list.len();
            if open == 0 {
                conns.remove(user);
            }
            return Err(OverCap(format!(
                "you have {open} connections open (at most {}): close the app on a device you no longer use, or sign it out in Settings",
                limits.per_person
            )));
        }
        let excess = (same.len() + 1).saturating_sub(cap(limits.per_device));
        for old in same.into_iter().take(excess) {
            let _ = old.tx.try_send(Outgoing::Close(Box::new((
                Frame::from(encode(&ServerMessage::Error {
                    request: None,
                    error: WireError::new(
                        ErrorKind::Conflict,
                        format!(
                            "this device opened more than {} connections: the oldest, this one, is closed (the device is connected on a newer one)",
                            limits.per_device
                        ),
                    ),
                })),
                "replaced by a newer connection of this device",
            ))));
        }
        let (tx, rx) = queue::channel(CONNECTION_QUEUE);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        list.push(Conn {
            id,
            device: device.clone(),
            tx,
        });
        self.counters.opened.inc();
        Ok((id, rx))
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

    /// From now on a registered connection of `user` also gets the presence changes of `people`
    /// (already checked to be of their organisation), instead of those it watched before.
    pub fn glance(&self, user: &UserId, id: u64, people: &[UserId]) {
        let tx = self
            .conns
            .read()
            .expect("hub lock")
            .get(user)
            .and_then(|l| l.iter().find(|c| c.id == id).map(|c| c.tx.clone()));
        let mut glances = self.glances.write().expect("glances lock");
        glances.forget(id);
        let Some(tx) = tx else { return };
        let mut people = people.to_vec();
        people.sort();
        people.dedup();
        for person in &people {
            glances
                .of
                .entry(person.clone())
                .or_default()
                .push((user.clone(), id, tx.clone()));
        }
        if !people.is_empty() {
            glances.by.insert(id, people);
        }
    }

    /// How many (connection, person) watches this node holds beyond teams and favourites.
    pub fn glance_count(&self) -> usize {
        self.glances
            .read()
            .expect("glances lock")
            .by
            .values()
            .map(Vec::len)
            .sum()
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

    /// Ends the boards `keep` refuses (an administrator demoted or deactivated): each is told
    /// why and its connection closed at once.
    pub fn close_boards_unless(&self, keep: impl Fn(&UserId) -> bool) {
        let mut boards = self.boards.write().expect("boards lock");
        for list in boards.values_mut() {
            list.retain(|(user, _, tx)| {
                if keep(user) {
                    return true;
                }
                let _ = tx.try_send(Outgoing::Close(Box::new((
                    Frame::from(encode(&ServerMessage::Error {
                        request: None,
                        error: WireError::new(
                            ErrorKind::Forbidden,
                            "you are no longer an administrator of this organisation: the live board is closed",
                        ),
                    })),
                    "no longer an administrator",
                ))));
                false
            });
        }
        boards.retain(|_, l| !l.is_empty());
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
        self.glances.write().expect("glances lock").forget(id);
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

    /// Who is whose teammate now (a snapshot: a reload swaps in the next one).
    pub fn directory(&self) -> Arc<Directory> {
        self.directory.read().expect("directory lock").clone()
    }

    pub fn limits(&self) -> ConnectionLimits {
        *self.limits.read().expect("limits lock")
    }

    /// The caps on connections (per device, person and address), from the configuration.
    pub fn set_limits(&self, limits: ConnectionLimits) {
        *self.limits.write().expect("limits lock") = limits;
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
        let mut sent = 0u64;
        {
            let conns = self.conns.read().expect("hub lock");
            let mut send = |user: &UserId, c: &Conn, out: Outgoing| {
                if c.tx.try_send(out).is_err() {
                    slow.push((user.clone(), c.id));
                } else {
                    sent += 1;
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
                    let mates = audience.watchers(user);
                    for mate in mates.iter() {
                        for c in conns.get(mate).into_iter().flatten() {
                            send(mate, c, Outgoing::Frame(frame.clone()));
                        }
                    }
                    let glances = self.glances.read().expect("glances lock");
                    if !glances.of.is_empty() {
                        for (watcher, id, tx) in glances.of.get(user).into_iter().flatten() {
                            // A teammate or a fan has it already.
                            if !mates.contains(watcher) {
                                if tx.try_send(Outgoing::Frame(frame.clone())).is_err() {
                                    slow.push((watcher.clone(), *id));
                                } else {
                                    sent += 1;
                                }
                            }
                        }
                    }
                    drop(glances);
                    if let Some(org) = audience.org_of(user) {
                        let boards = self.boards.read().expect("boards lock");
                        for (watcher, id, tx) in boards.get(org).into_iter().flatten() {
                            // A teammate's board has it already.
                            if !mates.contains(watcher) {
                                if tx.try_send(Outgoing::Frame(frame.clone())).is_err() {
                                    slow.push((watcher.clone(), *id));
                                } else {
                                    sent += 1;
                                }
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
                            send(
                                user,
                                c,
                                Outgoing::Close(Box::new((frame.clone(), "signed out"))),
                            );
                        }
                    }
                }
                // Nothing to send: the node's application layer reloads the organisation, or
                // takes the stored state.
                Event::OrgChanged { .. } | Event::Stored { .. } => {}
            }
        }
        self.counters.delivered.inc_by(sent);
        self.counters.dropped.inc_by(slow.len() as u64);
        // A full queue means the client stopped reading: drop it; it resumes on reconnect.
        for (user, id) in slow {
            tracing::warn!(user = %user.as_str(), "a connection fell behind and was dropped");
            self.unregister(&user, id);
        }
    }
}
