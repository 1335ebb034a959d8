//! The broker between nodes: NATS, through the official async-nats client. Every event is
//! serialized once with this node's id, a sequence number and the time, sealed with the
//! cluster's secret ([`crate::envelope`]) and published on the cluster's subject; every node
//! subscribes to it and hands what other nodes sealed, once and while fresh, to its subscribers
//! (its hub and its application layer). What fails to open or is stale is dropped and counted
//! ([`Broker::rejected`]). This node's own events reach its subscribers at once, without the
//! round trip. The client reconnects by itself when NATS comes back; meanwhile
//! [`Broker::health`] says so (and `/healthz` with it).

use crate::broker::{Broker, Event, Origin, Subscriber};
use crate::config::redact_url;
use crate::envelope::{ClusterSecret, Freshness, Sealer, Stale};
use crate::error::AppError;
use clock::SharedClock;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::mpsc;

/// How a node signs in to NATS (any combination NATS's server accepts): user and password (also
/// as `nats://user:password@host` in the address), a token, an NKey seed file, a `.creds` file;
/// TLS with `tls://` and a CA file, and a client certificate when NATS asks for one. Also
/// `[nats]` in the config file.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsAuth {
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    /// A file holding the NKey seed (`SU…`).
    pub nkey: Option<PathBuf>,
    /// A `.creds` file (JWT and NKey seed), as `nsc` makes them.
    pub creds: Option<PathBuf>,
    /// The CA that signed NATS's certificate (PEM); implies TLS.
    pub ca: Option<PathBuf>,
    /// This node's client certificate and key (PEM), when NATS verifies clients.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl NatsAuth {
    /// Each of these that is given, else `fallback`'s (flags over the config file).
    pub fn or(self, fallback: NatsAuth) -> NatsAuth {
        NatsAuth {
            user: self.user.or(fallback.user),
            password: self.password.or(fallback.password),
            token: self.token.or(fallback.token),
            nkey: self.nkey.or(fallback.nkey),
            creds: self.creds.or(fallback.creds),
            ca: self.ca.or(fallback.ca),
            cert: self.cert.or(fallback.cert),
            key: self.key.or(fallback.key),
        }
    }
}

impl std::fmt::Debug for NatsAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "…");
        f.debug_struct("NatsAuth")
            .field("user", &self.user)
            .field("password", &hidden(&self.password))
            .field("token", &hidden(&self.token))
            .field("nkey", &self.nkey)
            .field("creds", &self.creds)
            .field("ca", &self.ca)
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish()
    }
}

/// Everything a node needs to join a cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// NATS's address: `nats://host:4222`, or `tls://host:4222`.
    pub url: String,
    pub auth: NatsAuth,
    /// Seals this node's events and opens the others'.
    pub secret: ClusterSecret,
    /// Also opens events sealed with these (while a new secret rolls out).
    pub accepted: Vec<ClusterSecret>,
}

impl ClusterOptions {
    pub fn new(url: impl Into<String>, secret: ClusterSecret) -> ClusterOptions {
        ClusterOptions {
            url: url.into(),
            auth: NatsAuth::default(),
            secret,
            accepted: Vec::new(),
        }
    }
}

pub struct NatsBroker {
    node: String,
    client: async_nats::Client,
    outbox: mpsc::UnboundedSender<Vec<u8>>,
    subscribers: RwLock<Vec<Subscriber>>,
    reconnected: Reconnected,
    sealer: Arc<Sealer>,
    seq: AtomicU64,
    clock: SharedClock,
    rejected: AtomicU64,
}

type Reconnected = Arc<RwLock<Vec<Arc<dyn Fn() + Send + Sync>>>>;

#[derive(Serialize)]
struct Outgoing<'a> {
    node: &'a str,
    seq: u64,
    at: i64,
    event: &'a Event,
}

#[derive(Deserialize)]
struct Incoming {
    node: String,
    seq: u64,
    at: i64,
    event: Event,
}

/// Replaces each of `secrets` in `text` (an error a library wrote) with "…".
fn scrub(text: String, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text, |t, s| t.replace(s, "…"))
}

/// `url` without its user information, and `auth` with it: `user:password@` as user and
/// password, a lone `token@` as the token (flags and the config file win over the address).
fn split_credentials(url: &str, auth: &NatsAuth) -> (String, NatsAuth) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), auth.clone());
    };
    let Some(at) = rest.rfind('@') else {
        return (url.to_string(), auth.clone());
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let mut auth = auth.clone();
    match rest[..at].split_once(':') {
        Some((user, password)) => {
            auth.user = auth.user.or_else(|| Some(decode(user)));
            auth.password = auth.password.or_else(|| Some(decode(password)));
        }
        None => auth.token = auth.token.or_else(|| Some(decode(&rest[..at]))),
    }
    (format!("{scheme}://{}", &rest[at + 1..]), auth)
}

/// The client's options from [`NatsAuth`], or what is wrong with them in words.
async fn connect_options(
    url: &str,
    auth: &NatsAuth,
) -> Result<async_nats::ConnectOptions, AppError> {
    let mut options = async_nats::ConnectOptions::new();
    match (&auth.user, &auth.password) {
        (Some(user), Some(password)) => {
            options = options.user_and_password(user.clone(), password.clone())
        }
        (None, None) => {}
        (Some(_), None) => {
            return Err(AppError::config(
                "a NATS user was given without its password: add --nats-password (PRESENTLY_NATS_PASSWORD, or password under [nats] in the config file)",
            ))
        }
        (None, Some(_)) => {
            return Err(AppError::config(
                "a NATS password was given without its user: add --nats-user (PRESENTLY_NATS_USER, or user under [nats] in the config file)",
            ))
        }
    }
    if let Some(token) = &auth.token {
        options = options.token(token.clone());
    }
    if let Some(path) = &auth.nkey {
        let seed = std::fs::read_to_string(path).map_err(|e| {
            AppError::config(format!(
                "cannot read the NATS NKey seed file {}: {e}",
                path.display()
            ))
        })?;
        options = options.nkey(seed.trim().to_string());
    }
    if let Some(path) = &auth.creds {
        options = options.credentials_file(path).await.map_err(|e| {
            AppError::config(format!(
                "cannot use the NATS credentials file {}: {e} (make it with `nsc generate creds`)",
                path.display()
            ))
        })?;
    }
    if let Some(ca) = &auth.ca {
        if !ca.is_file() {
            return Err(AppError::config(format!(
                "the NATS CA file {} does not exist",
                ca.display()
            )));
        }
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    }
    match (&auth.cert, &auth.key) {
        (Some(cert), Some(key)) => {
            options = options
                .add_client_certificate(cert.clone(), key.clone())
                .require_tls(true)
        }
        (None, None) => {}
        _ => {
            return Err(AppError::config(
                "a NATS client certificate needs both --nats-cert and --nats-key",
            ))
        }
    }
    if url.starts_with("tls://") {
        options = options.require_tls(true);
    }
    Ok(options)
}

impl NatsBroker {
    /// Connects to NATS as `options` say and joins `cluster` (every node on one database uses the
    /// same name: the subject is `presently.<cluster>.events`). Events are sealed with the
    /// cluster's secret and admitted while fresh on `clock`.
    pub async fn connect(
        options: &ClusterOptions,
        cluster: &str,
        clock: SharedClock,
    ) -> Result<Arc<NatsBroker>, AppError> {
        // Credentials in the address are taken out of it: the client logs its addresses.
        let (address, auth) = split_credentials(&options.url, &options.auth);
        let url = address.as_str();
        let shown = redact_url(url);
        let secrets: Vec<&str> = [&auth.password, &auth.token]
            .into_iter()
            .flatten()
            .map(|s| s.as_str())
            .collect();
        let reconnected: Reconnected = Arc::default();
        let on_event = reconnected.clone();
        let client = connect_options(url, &auth)
            .await?
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
                use async_nats::ConnectErrorKind as Kind;
                let why = scrub(e.to_string(), &secrets);
                AppError::config(match e.kind() {
                    Kind::AuthorizationViolation | Kind::Authentication => format!(
                        "NATS at {shown} refused this node's credentials ({why}): check --nats-user and --nats-password, --nats-token, --nats-nkey or --nats-creds against NATS's authorization"
                    ),
                    // A certificate NATS's client does not trust comes as an I/O error.
                    Kind::Tls | Kind::Io if why.contains("certificate") || e.kind() == Kind::Tls => format!(
                        "TLS with NATS at {shown} failed ({why}): check --nats-ca (and --nats-cert with --nats-key when NATS verifies clients)"
                    ),
                    _ => format!(
                        "cannot reach NATS at {shown} ({why}): start nats-server there, or check --cluster"
                    ),
                })
            })?;
        let subject = format!("presently.{cluster}.events");
        let mut incoming = client.subscribe(subject.clone()).await.map_err(|e| {
            AppError::config(format!(
                "cannot subscribe to {subject} on NATS ({}): NATS must allow this node to publish and subscribe there (docs/cluster.md)",
                scrub(e.to_string(), &secrets)
            ))
        })?;
        let (outbox, mut to_send) = mpsc::unbounded_channel::<Vec<u8>>();
        let broker = Arc::new(NatsBroker {
            node: crate::auth::new_id("n"),
            client: client.clone(),
            outbox,
            subscribers: RwLock::new(Vec::new()),
            reconnected,
            sealer: Arc::new(Sealer::new(&options.secret, &options.accepted, &subject)),
            seq: AtomicU64::new(0),
            clock,
            rejected: AtomicU64::new(0),
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
            let freshness = Mutex::new(Freshness::default());
            while let Some(message) = incoming.next().await {
                let Some(broker) = node.upgrade() else { return };
                if let Some(event) = broker.admit(&message.payload, &freshness) {
                    let subscribers = broker.subscribers.read().expect("subscribers lock").clone();
                    for s in subscribers.iter() {
                        s(&event, Origin::OtherNode);
                    }
                }
            }
        });
        tracing::info!(url = %shown, %subject, node = %broker.node, "joined the cluster over NATS");
        Ok(broker)
    }

    /// An event from the bus another node sealed, not seen before and fresh; `None` (counted,
    /// and said in the log now and then) for anything else.
    fn admit(&self, payload: &[u8], freshness: &Mutex<Freshness>) -> Option<Event> {
        let reject = |why: &str| {
            let n = self.rejected.fetch_add(1, Ordering::Relaxed) + 1;
            // The first, then every thousandth: a flood must not flood the log too.
            if n == 1 || n.is_multiple_of(1000) {
                tracing::warn!(rejected = n, why, "dropped an event on the cluster's subject: is something other than this cluster's nodes publishing there? (docs/cluster.md)");
            }
            None
        };
        let Some(plain) = self.sealer.open(payload) else {
            return reject("not sealed with this cluster's secret");
        };
        let Ok(m) = serde_json::from_slice::<Incoming>(&plain) else {
            return reject("sealed, but not an event this version knows");
        };
        if m.node == self.node {
            return None;
        }
        let now = self.clock.now().0;
        match freshness
            .lock()
            .expect("freshness lock")
            .admit(&m.node, m.seq, m.at, now)
        {
            Ok(()) => Some(m.event),
            Err(Stale::Replayed) => reject("replayed"),
            Err(Stale::OutsideWindow { .. }) => {
                reject("sent more than a minute away from this node's clock: replayed, or the nodes' clocks disagree (run NTP)")
            }
        }
    }
}

impl Broker for NatsBroker {
    fn publish(&self, event: Event) {
        let plain = serde_json::to_vec(&Outgoing {
            node: &self.node,
            seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
            at: self.clock.now().0,
            event: &event,
        })
        .expect("events serialize to JSON");
        let _ = self.outbox.send(self.sealer.seal(&plain));
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

    fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
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
