//! Outgoing webhooks: an organisation's administrators register HTTPS endpoints for its events
//! (what teammates see change, notifications created, read and dismissed, account changes).
//! An event is queued in the database, one delivery per endpoint that takes it, by the node
//! where it happened; any serving node sends what is due (held while it sends, so two nodes do
//! not), signed with the endpoint's secret, and retries with exponential back-off for a day.
//! An endpoint whose delivery failed for a whole day is turned off and its organisation's
//! administrators are told. The deliveries are the endpoint's log, kept a week.

use super::App;
use crate::db::{self, WebhookRow};
use crate::error::AppError;
use protocol::rest::{self, WebhookEvent};
use serde_json::json;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

mod send;
use send::build_client;
pub use send::{backoff, is_private, signature};
pub(crate) use send::{deliver, queue, words};

/// At most this many endpoints per organisation.
pub const MAX_WEBHOOKS: usize = 20;
/// A delivery is tried for this long (ms) before it fails for good.
pub const RETRY_FOR_MS: i64 = 24 * 3600 * 1000;
/// The first retry waits this long (ms); each next one twice as long, at most [`LONGEST_WAIT_MS`].
pub const FIRST_RETRY_MS: i64 = 30 * 1000;
pub const LONGEST_WAIT_MS: i64 = 3600 * 1000;
/// How long a node holds a delivery it is sending before another may take it (ms).
const HOLD_MS: i64 = 60 * 1000;
/// How long an endpoint has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Pending deliveries an endpoint may have; beyond, new events for it are dropped (counted).
const BACKLOG: i64 = 10_000;
/// Events waiting to be queued in the database; beyond, they are dropped (counted).
const QUEUE: usize = 10_000;
/// The log keeps finished deliveries this long (ms).
const KEEP_MS: i64 = 7 * 24 * 3600 * 1000;
/// At most this many deliveries sent at once by a node.
const AT_ONCE: usize = 8;

/// What the server's configuration says about reaching out (webhooks, calendars): `[outbound]`.
#[derive(Debug, Clone, Default)]
pub struct WebhookOptions {
    /// A PEM file of CA certificates trusted beside the system's (endpoints with a company CA).
    pub ca_file: Option<PathBuf>,
    /// Endpoints on loopback and private networks are allowed (off: refused, so that an
    /// organisation's administrator cannot reach the server's own network).
    pub allow_private_networks: bool,
}

pub(crate) struct Queued {
    org: String,
    event: WebhookEvent,
    data: serde_json::Value,
    at: i64,
}

/// This node's copy of the endpoints, its queue of events, and its HTTP client.
pub struct Webhooks {
    endpoints: RwLock<Vec<WebhookRow>>,
    /// Endpoints at their backlog bound: new events skip them.
    full: RwLock<std::collections::HashSet<String>>,
    queue: mpsc::Sender<Queued>,
    wake: Arc<Notify>,
    client: RwLock<reqwest::Client>,
    allow_private: std::sync::atomic::AtomicBool,
    dropped: std::sync::atomic::AtomicU64,
}

impl Webhooks {
    pub(super) fn new() -> (Webhooks, mpsc::Receiver<Queued>) {
        let (queue, rx) = mpsc::channel(QUEUE);
        let client = build_client(&WebhookOptions::default())
            .expect("the system's roots alone make a client");
        (
            Webhooks {
                endpoints: RwLock::new(Vec::new()),
                full: RwLock::new(Default::default()),
                queue,
                wake: Arc::new(Notify::new()),
                client: RwLock::new(client),
                allow_private: Default::default(),
                dropped: Default::default(),
            },
            rx,
        )
    }

    /// Takes the configuration's trust and network rules.
    pub fn configure(&self, options: &WebhookOptions) -> Result<(), AppError> {
        let client = build_client(options)?;
        *self.client.write().unwrap_or_else(|p| p.into_inner()) = client;
        self.allow_private.store(
            options.allow_private_networks,
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(())
    }

    pub(super) fn load(&self, rows: Vec<WebhookRow>) {
        *self.endpoints.write().unwrap_or_else(|p| p.into_inner()) = rows;
        self.wake.notify_one();
    }

    fn endpoint(&self, id: &str) -> Option<WebhookRow> {
        self.endpoints
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|w| w.id == id)
            .cloned()
    }

    /// Events dropped because the queue or an endpoint's backlog was full, since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The HTTP client for addresses the server reaches out to (webhooks, calendars).
    pub(crate) fn client(&self) -> reqwest::Client {
        self.client
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn allows_private(&self) -> bool {
        self.allow_private
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// An event of `org`: queued when one of its enabled endpoints takes it (`data` is made
    /// only then). Never waits: on the path of every change.
    pub(super) fn emit(
        &self,
        org: &str,
        event: WebhookEvent,
        at: i64,
        data: impl FnOnce() -> serde_json::Value,
    ) {
        let wanted = self
            .endpoints
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|w| w.org_id == org && w.enabled && takes(w, event));
        if !wanted {
            return;
        }
        let queued = Queued {
            org: org.to_string(),
            event,
            data: data(),
            at,
        };
        if self.queue.try_send(queued).is_err() {
            let n = self
                .dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if n.is_multiple_of(1000) {
                tracing::warn!(dropped = n + 1, "webhook events dropped: the queue is full");
            }
        }
    }
}

fn takes(w: &WebhookRow, event: WebhookEvent) -> bool {
    event == WebhookEvent::Ping || w.events.split(',').any(|e| e == event.as_str())
}

fn events_text(events: &[WebhookEvent]) -> String {
    let mut v: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
    v.sort();
    v.dedup();
    v.join(",")
}

fn view(w: &WebhookRow) -> rest::Webhook {
    rest::Webhook {
        id: w.id.clone(),
        url: w.url.clone(),
        events: w
            .events
            .split(',')
            .filter_map(WebhookEvent::parse)
            .collect(),
        description: w.description.clone(),
        enabled: w.enabled,
        created_at: presence::Timestamp(w.created_at),
        failing_since: w.failing_since.map(presence::Timestamp),
        disabled_reason: w.disabled_reason.clone(),
    }
}

impl App {
    /// Checks an address the server will reach out to (a webhook, a calendar): https, a host,
    /// at most 2,000 characters, and not this machine or a private network unless the server
    /// allows those ([outbound] allow_private_networks).
    pub(crate) fn outbound_url(&self, url: &str, what: &str) -> Result<reqwest::Url, AppError> {
        let url = url.trim();
        if url.len() > 2000 {
            return Err(AppError::invalid(
                "the address has more than 2000 characters",
            ));
        }
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| AppError::invalid(format!("\"{url}\" is not an address: {e}")))?;
        if parsed.scheme() != "https" {
            return Err(AppError::invalid(format!(
                "{what} address must start with https:// (what crosses the network must be encrypted)"
            )));
        }
        let host = parsed
            .host_str()
            .ok_or_else(|| AppError::invalid("the address has no host"))?;
        let private = host == "localhost"
            || host.ends_with(".localhost")
            || host
                .trim_matches(['[', ']'])
                .parse::<IpAddr>()
                .is_ok_and(is_private);
        if private && !self.webhooks.allows_private() {
            return Err(AppError::invalid(format!(
                "{host} is this machine or a private network: the server's administrator allows those with [outbound] allow_private_networks"
            )));
        }
        Ok(parsed)
    }

    fn checked_events(events: &[WebhookEvent]) -> Result<String, AppError> {
        let events: Vec<WebhookEvent> = events
            .iter()
            .copied()
            .filter(|e| *e != WebhookEvent::Ping)
            .collect();
        if events.is_empty() {
            return Err(AppError::invalid(
                "choose at least one event: status.changed, notification.created, notification.read, notification.dismissed or account.changed",
            ));
        }
        Ok(events_text(&events))
    }

    fn webhook_of(&self, org: &str, id: &str) -> Result<WebhookRow, AppError> {
        self.webhooks
            .endpoint(id)
            .filter(|w| w.org_id == org)
            .ok_or_else(|| AppError::not_found("no such webhook"))
    }

    /// The organisation's endpoints.
    pub fn webhooks_of(&self, org: &str) -> Vec<rest::Webhook> {
        self.webhooks
            .endpoints
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|w| w.org_id == org)
            .map(view)
            .collect()
    }

    /// A new endpoint, with the secret its deliveries are signed with (shown once).
    pub async fn create_webhook(
        &self,
        actor: &super::Actor,
        org: &str,
        req: rest::WebhookCreate,
    ) -> Result<rest::WebhookCreated, AppError> {
        self.org(org)?;
        let url = self.outbound_url(&req.url, "a webhook's")?.to_string();
        let events = Self::checked_events(&req.events)?;
        let description = checked_description(&req.description)?;
        if self.webhooks_of(org).len() >= MAX_WEBHOOKS {
            return Err(AppError::conflict(format!(
                "this organisation has {MAX_WEBHOOKS} webhooks, the most it may: delete one first"
            )));
        }
        let id = crate::auth::new_id("wh");
        let secret = format!("whsec_{}", hex::encode(rand::random::<[u8; 24]>()));
        let now = self.clock.now().0;
        self.record(
            org,
            actor,
            "webhook.create",
            format!("{id} {url}"),
            events.clone(),
            vec![db::insert_webhook(
                &id,
                org,
                &url,
                &secret,
                &events,
                &description,
                now,
            )],
        )
        .await?;
        let webhook = view(&self.webhook_of(org, &id)?);
        Ok(rest::WebhookCreated { webhook, secret })
    }

    /// Changes an endpoint; turning it on again clears its failures.
    pub async fn update_webhook(
        &self,
        actor: &super::Actor,
        org: &str,
        id: &str,
        req: rest::WebhookUpdate,
    ) -> Result<rest::Webhook, AppError> {
        let w = self.webhook_of(org, id)?;
        let url = match &req.url {
            Some(u) => self.outbound_url(u, "a webhook's")?.to_string(),
            None => w.url.clone(),
        };
        let events = match &req.events {
            Some(e) => Self::checked_events(e)?,
            None => w.events.clone(),
        };
        let description = match &req.description {
            Some(d) => checked_description(d)?,
            None => w.description.clone(),
        };
        let enabled = req.enabled.unwrap_or(w.enabled);
        self.record(
            org,
            actor,
            "webhook.update",
            format!("{id} {url}"),
            format!("{events}, {}", if enabled { "on" } else { "off" }),
            vec![db::update_webhook(
                id,
                org,
                &url,
                &events,
                &description,
                enabled,
            )],
        )
        .await?;
        Ok(view(&self.webhook_of(org, id)?))
    }

    pub async fn delete_webhook(
        &self,
        actor: &super::Actor,
        org: &str,
        id: &str,
    ) -> Result<(), AppError> {
        let w = self.webhook_of(org, id)?;
        self.record(
            org,
            actor,
            "webhook.delete",
            format!("{id} {}", w.url),
            String::new(),
            vec![db::delete_deliveries_of(id), db::delete_webhook(id, org)],
        )
        .await?;
        Ok(())
    }

    /// An endpoint's newest deliveries (at most `limit`, 1 to 500).
    pub async fn webhook_deliveries(
        &self,
        org: &str,
        id: &str,
        limit: i64,
    ) -> Result<rest::WebhookDeliveries, AppError> {
        self.webhook_of(org, id)?;
        let rows = self.db.deliveries(id, limit.clamp(1, 500)).await?;
        Ok(rest::WebhookDeliveries {
            deliveries: rows
                .into_iter()
                .map(|d| rest::WebhookDelivery {
                    event: WebhookEvent::parse(&d.kind).unwrap_or(WebhookEvent::Ping),
                    id: d.id,
                    created_at: presence::Timestamp(d.created_at),
                    attempts: d.attempts as u32,
                    next_at: (d.state == "pending")
                        .then_some(d.next_at)
                        .flatten()
                        .map(presence::Timestamp),
                    state: d.state,
                    last_at: d.last_at.map(presence::Timestamp),
                    last_status: d.last_status.map(|s| s as u16),
                    last_error: d.last_error,
                })
                .collect(),
        })
    }

    /// Queues a `ping` to one endpoint (its "Send a test"), whatever events it takes.
    pub async fn ping_webhook(&self, org: &str, id: &str) -> Result<String, AppError> {
        let w = self.webhook_of(org, id)?;
        let now = self.clock.now().0;
        let delivery = crate::auth::new_id("wd");
        let body = envelope(
            &delivery,
            WebhookEvent::Ping,
            org,
            now,
            json!({"webhook": w.id}),
        );
        self.db
            .queue_deliveries(&[(delivery.clone(), w.id, "ping".into(), body)], now)
            .await?;
        self.webhooks.wake.notify_one();
        Ok(delivery)
    }
}

fn checked_description(d: &str) -> Result<String, AppError> {
    let d = d.trim();
    if d.chars().count() > 200 {
        return Err(AppError::invalid(
            "the description has more than 200 characters",
        ));
    }
    if presence::text::has_hidden_characters(d, &[]) {
        return Err(AppError::invalid(
            "the description contains a control character: remove it",
        ));
    }
    Ok(d.to_string())
}

/// The body of every delivery: its id, the event, the organisation, when, and the event's data.
fn envelope(id: &str, event: WebhookEvent, org: &str, at: i64, data: serde_json::Value) -> String {
    json!({"id": id, "type": event.as_str(), "org": org, "at": at, "data": data}).to_string()
}

/// The account changes an administrative action makes, as `account.changed` says them.
pub(super) fn account_change(action: &str) -> Option<&'static str> {
    Some(match action {
        "user.create" | "invite.accept" => "created",
        "user.update" => "updated",
        "user.deactivate" => "deactivated",
        "user.reactivate" => "reactivated",
        "user.delete" => "deleted",
        "user.photo_set" | "user.photo_remove" => "photo",
        _ => return None,
    })
}

/// `"<id> <email>"` (an audit target) as its parts.
pub(super) fn target_parts(target: &str) -> (String, String) {
    let mut parts = target.splitn(2, ' ');
    let id = parts.next().unwrap_or_default().to_string();
    let email = parts
        .next()
        .unwrap_or_default()
        .trim_matches(['<', '>'])
        .to_string();
    (id, email)
}
