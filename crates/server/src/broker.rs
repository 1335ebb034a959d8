//! The seam between nodes. What one node publishes reaches every node's subscribers, itself
//! included: what teammates see of a person (once per change, for the whole audience), a
//! person's own frames (self view, notifications, read and dismiss), the end of a device's
//! connections, and "an organisation's people, teams or rules changed".
//!
//! Events are plain serializable data holding ids and finished frames: a broker between nodes
//! serializes each once and the receiving node resolves the audience from its own directory. One
//! node runs on [`InProcess`], the default; several nodes plug in a broker over NATS behind the
//! same trait (see `docs/architecture.md`).

use axum::extract::ws::Utf8Bytes;
use presence::{DeviceId, Person, UserId};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::{Arc, RwLock};

/// A finished text frame; cloning it shares the bytes. One pointer wide: every slot of every
/// connection's queue is as large as the largest thing queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame(Arc<Utf8Bytes>);

impl Frame {
    /// The text to hand to a WebSocket, without copying.
    pub fn text(&self) -> Utf8Bytes {
        (*self.0).clone()
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl From<String> for Frame {
    fn from(s: String) -> Frame {
        Frame(Arc::new(s.into()))
    }
}

impl Serialize for Frame {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for Frame {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Frame, D::Error> {
        String::deserialize(d).map(Frame::from)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// What teammates see of `user` changed: to every connection of every teammate. `version`
    /// is the stored state's: a node drops a frame older than one it delivered already, so
    /// teammates end on the last stored state whatever order nodes publish in.
    Presence {
        user: UserId,
        frame: Frame,
        #[serde(default)]
        version: i64,
    },
    /// To every connection of one user. `notification` carries the sequence number so a
    /// connection that just sent its backlog skips what it already sent; `version` is as for
    /// `Presence` (none for frames that are not the person's state).
    User {
        user: UserId,
        frame: Frame,
        notification: Option<u64>,
        #[serde(default)]
        version: Option<i64>,
    },
    /// Ends the connections of one device (token revoked, signed out), after sending `frame`.
    Disconnect {
        user: UserId,
        device: DeviceId,
        frame: Frame,
    },
    /// An organisation's people, teams or rules changed: every other node reloads them.
    OrgChanged { org: String },
    /// A node stored `user`'s state at `version` (onto `after`), with the request it applied
    /// if any: another node whose copy is at `after` takes it as it is, with no database read;
    /// one further behind reads the person again. Published only between nodes.
    Stored {
        user: UserId,
        version: i64,
        after: i64,
        person: Box<Person>,
        applied: Option<String>,
        deadline: Option<i64>,
    },
}

/// Where an event was published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    ThisNode,
    OtherNode,
}

/// Receives every event, in the order the broker delivers them. Called on the publisher's task
/// for [`InProcess`]: it must not block.
pub type Subscriber = Arc<dyn Fn(&Event, Origin) + Send + Sync>;

pub trait Broker: Send + Sync + 'static {
    fn publish(&self, event: Event);
    /// Adds a subscriber for every event published from now on, on any node.
    fn subscribe(&self, subscriber: Subscriber);
    /// Whether events reach the other nodes now; what is wrong, in words, when not.
    fn health(&self) -> Result<(), String> {
        Ok(())
    }

    /// Calls `f` each time events reach the other nodes again after they could not (what was
    /// published meanwhile is lost to them: the node catches up from the database).
    fn on_reconnect(&self, f: Arc<dyn Fn() + Send + Sync>) {
        let _ = f;
    }

    /// Whether events go to other nodes: only then is [`Event::Stored`] published.
    fn between_nodes(&self) -> bool {
        false
    }

    /// How many events from the bus were dropped since the start: not sealed with the cluster's
    /// secret, replayed, or stale (see `envelope.rs`).
    fn rejected(&self) -> u64 {
        0
    }
}

/// The broker of a single node: a publish calls every subscriber at once.
#[derive(Default)]
pub struct InProcess {
    subscribers: RwLock<Vec<Subscriber>>,
}

impl InProcess {
    pub fn shared() -> Arc<dyn Broker> {
        Arc::new(InProcess::default())
    }
}

impl Broker for InProcess {
    fn publish(&self, event: Event) {
        for s in self.subscribers.read().expect("subscribers lock").iter() {
            s(&event, Origin::ThisNode);
        }
    }

    fn subscribe(&self, subscriber: Subscriber) {
        self.subscribers
            .write()
            .expect("subscribers lock")
            .push(subscriber);
    }
}
