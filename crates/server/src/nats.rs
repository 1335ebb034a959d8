//! The broker between nodes: NATS, through the official async-nats client. Every event is
//! serialized once, with this node's id, and published on the cluster's subject; every node
//! subscribes to it and hands what other nodes published to its subscribers (its hub and its
//! application layer). This node's own events reach its subscribers at once, without the round
//! trip. The client reconnects by itself when NATS comes back; meanwhile [`Broker::health`] says
//! so (and `/healthz` with it).

use crate::broker::{Broker, Event, Origin, Subscriber};
use crate::error::AppError;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};
use tokio::sync::mpsc;

pub struct NatsBroker {
    node: String,
    client: async_nats::Client,
    outbox: mpsc::UnboundedSender<Vec<u8>>,
    subscribers: RwLock<Vec<Subscriber>>,
    reconnected: Reconnected,
}

type Reconnected = Arc<RwLock<Vec<Arc<dyn Fn() + Send + Sync>>>>;

#[derive(Serialize)]
struct Outgoing<'a> {
    node: &'a str,
    event: &'a Event,
}

#[derive(Deserialize)]
struct Incoming {
    node: String,
    event: Event,
}

impl NatsBroker {
    /// Connects to NATS at `url` and joins `cluster` (every node on one database uses the same
    /// name: the subject is `presently.<cluster>.events`).
    pub async fn connect(url: &str, cluster: &str) -> Result<Arc<NatsBroker>, AppError> {
        let reconnected: Reconnected = Arc::default();
        let on_event = reconnected.clone();
        let client = async_nats::ConnectOptions::new()
            .name("presently-server")
            // Keep trying for as long as the node runs, at most a few seconds apart.
            .max_reconnects(None)
            .reconnect_delay_callback(|attempt| {
                std::time::Duration::from_millis((250 * attempt.min(16)) as u64)
            })
            .event_callback(move |event| {
                let on_event = on_event.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            tracing::info!("NATS connected");
                            let callbacks = on_event.read().expect("callbacks lock").clone();
                            for f in callbacks.iter() {
                                f();
                            }
                        }
                        async_nats::Event::Disconnected => {
                            tracing::warn!("NATS disconnected: changes here do not reach the other nodes until it is back")
                        }
                        other => tracing::info!(event = %other, "NATS"),
                    }
                }
            })
            .connect(url)
            .await
            .map_err(|e| {
                AppError::config(format!(
                    "cannot reach NATS at {url} ({e}): start nats-server there, or check --cluster"
                ))
            })?;
        let subject = format!("presently.{cluster}.events");
        let mut incoming = client
            .subscribe(subject.clone())
            .await
            .map_err(|e| AppError::config(format!("cannot subscribe to {subject} on NATS: {e}")))?;
        let (outbox, mut to_send) = mpsc::unbounded_channel::<Vec<u8>>();
        let broker = Arc::new(NatsBroker {
            node: crate::auth::new_id("n"),
            client: client.clone(),
            outbox,
            subscribers: RwLock::new(Vec::new()),
            reconnected,
        });
        // One task publishes, in the order events were published here.
        let (publisher, out_subject) = (client.clone(), subject.clone());
        tokio::spawn(async move {
            while let Some(bytes) = to_send.recv().await {
                if let Err(e) = publisher.publish(out_subject.clone(), bytes.into()).await {
                    tracing::warn!(error = %e, "an event could not be sent to the other nodes");
                }
            }
        });
        let node = Arc::downgrade(&broker);
        tokio::spawn(async move {
            while let Some(message) = incoming.next().await {
                let Some(broker) = node.upgrade() else { return };
                match serde_json::from_slice::<Incoming>(&message.payload) {
                    Ok(m) if m.node == broker.node => {}
                    Ok(m) => {
                        let subscribers =
                            broker.subscribers.read().expect("subscribers lock").clone();
                        for s in subscribers.iter() {
                            s(&m.event, Origin::OtherNode);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "an event from another node could not be read")
                    }
                }
            }
        });
        tracing::info!(%url, %subject, node = %broker.node, "joined the cluster over NATS");
        Ok(broker)
    }
}

impl Broker for NatsBroker {
    fn publish(&self, event: Event) {
        let bytes = serde_json::to_vec(&Outgoing {
            node: &self.node,
            event: &event,
        })
        .expect("events serialize to JSON");
        let _ = self.outbox.send(bytes);
        let subscribers = self.subscribers.read().expect("subscribers lock").clone();
        for s in subscribers.iter() {
            s(&event, Origin::ThisNode);
        }
    }

    fn subscribe(&self, subscriber: Subscriber) {
        self.subscribers
            .write()
            .expect("subscribers lock")
            .push(subscriber);
    }

    fn on_reconnect(&self, f: Arc<dyn Fn() + Send + Sync>) {
        self.reconnected.write().expect("callbacks lock").push(f);
    }

    fn between_nodes(&self) -> bool {
        true
    }

    fn health(&self) -> Result<(), String> {
        match self.client.connection_state() {
            async_nats::connection::State::Connected => Ok(()),
            other => Err(format!(
                "NATS is {other}: changes here do not reach the other nodes until it is back"
            )),
        }
    }
}
