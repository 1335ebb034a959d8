//! Sending: the HTTP client (the server's rustls settings, a resolver that refuses private
//! networks), the signature, each attempt and what comes of it, and the two tasks that queue
//! events and send what is due.

use super::*;
use crate::db;
/// Whether an address is on this machine or a private network.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                // Carrier-grade NAT, 100.64.0.0/10.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private(IpAddr::V4(v4)),
            None => {
                v6.is_loopback()
                    || v6.is_unspecified()
                    // Unique local (fc00::/7) and link-local (fe80::/10).
                    || (v6.segments()[0] & 0xfe00) == 0xfc00
                    || (v6.segments()[0] & 0xffc0) == 0xfe80
            }
        },
    }
}

/// Resolves an endpoint's name, refusing private networks unless allowed: checked on every
/// connection, so a name that points elsewhere later is caught then.
struct PublicOnly {
    allow_private: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow && addrs.iter().any(|a| is_private(a.ip())) {
                return Err(format!(
                    "{host} is on a private network: the server's administrator allows those with [outbound] allow_private_networks"
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

pub(super) fn build_client(options: &WebhookOptions) -> Result<reqwest::Client, AppError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = &options.ca_file {
        use rustls::pki_types::pem::PemObject;
        let bad = |detail: String| {
            AppError::invalid(format!("the outbound CA file {}: {detail}", path.display()))
        };
        let certs: Vec<rustls::pki_types::CertificateDer<'static>> =
            rustls::pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(format!("{e:?}")))?
                .collect::<Result<_, _>>()
                .map_err(|e| bad(format!("{e:?}")))?;
        if certs.is_empty() {
            return Err(bad("it holds no PEM certificate".into()));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| bad(format!("a certificate in it is not a CA certificate: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .dns_resolver(Arc::new(PublicOnly {
            allow_private: options.allow_private_networks,
        }))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .user_agent(concat!("Presently-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AppError::internal(format!("the outbound HTTP client: {e}")))
}

/// `Presently-Signature`'s value: `v1=` and the hex HMAC-SHA256 of `"<timestamp>.<body>"` with
/// the endpoint's secret.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("{timestamp}.{body}").as_bytes());
    format!("v1={}", hex::encode(tag.as_ref()))
}

/// How long to wait after the `attempts`-th failed attempt (ms).
pub fn backoff(attempts: u32) -> i64 {
    let doubled = FIRST_RETRY_MS.saturating_mul(1i64 << attempts.saturating_sub(1).min(20));
    doubled.min(LONGEST_WAIT_MS)
}

impl App {
    /// Turns an endpoint off after a day of failures, and tells the organisation's
    /// administrators (once: whichever node turned it off).
    async fn give_up(&self, w: &WebhookRow, last: &str) -> Result<(), AppError> {
        let reason =
            format!("deliveries failed for a day (last: {last}); turn it on again once it answers");
        if !self.db.disable_webhook(&w.id, &reason).await? {
            return Ok(());
        }
        self.webhooks.load(self.db.webhooks().await?);
        self.org_changed(&w.org_id);
        tracing::warn!(webhook = %w.id, url = %w.url, "a webhook was turned off after a day of failures");
        let now = self.clock.now().0;
        for admin in self
            .people_of_org(&w.org_id)
            .into_iter()
            .filter(|s| s.active && s.role == db::Role::Admin)
        {
            let sent = self
                .notify(
                    &w.org_id,
                    rest::SendNotification {
                        user: admin.id.as_str().to_string(),
                        title: "A webhook was turned off".into(),
                        body: format!(
                            "{} did not accept deliveries for a day ({last}). It is off until an administrator turns it on again in the console (Access → Webhooks).",
                            w.url
                        ),
                        sender: None,
                        urgent: false,
                        external_id: Some(format!("webhook-off:{}:{now}", w.id)),
                        link: None,
                    },
                )
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, "could not tell an administrator that a webhook was turned off");
            }
        }
        Ok(())
    }

    /// Sends one delivery and stores what came of it.
    async fn attempt(&self, d: db::DeliveryRow) -> Result<(), AppError> {
        let Some(w) = self.webhooks.endpoint(&d.webhook_id) else {
            return Ok(());
        };
        let now = self.clock.now().0;
        let timestamp = now / 1000;
        let outcome = self.post(&w, &d, timestamp).await;
        let at = self.clock.now().0;
        let counted = match &outcome {
            Ok(_) => "delivered",
            Err(_) if at - d.created_at >= RETRY_FOR_MS => "gave_up",
            Err(_) => "failed",
        };
        self.metrics
            .webhooks
            .get_or_create(&vec![("outcome", counted)])
            .inc();
        match outcome {
            Ok(status) => {
                self.db
                    .record_attempt(&d.id, "delivered", None, at, Some(status), None)
                    .await?;
                if w.failing_since.is_some() {
                    self.db.webhook_health(&w.id, true, at).await?;
                    self.webhooks.load(self.db.webhooks().await?);
                }
            }
            Err((status, error)) => {
                let attempts = d.attempts as u32 + 1;
                let over = at - d.created_at >= RETRY_FOR_MS;
                let (state, next) = if over {
                    ("failed", None)
                } else {
                    ("pending", Some(at + backoff(attempts)))
                };
                self.db
                    .record_attempt(&d.id, state, next, at, status, Some(&error))
                    .await?;
                if w.failing_since.is_none() {
                    self.db.webhook_health(&w.id, false, at).await?;
                    self.webhooks.load(self.db.webhooks().await?);
                }
                if over {
                    self.give_up(&w, &error).await?;
                }
            }
        }
        Ok(())
    }

    /// POSTs a delivery: the answer's status when 2xx, else (status, what went wrong).
    async fn post(
        &self,
        w: &WebhookRow,
        d: &db::DeliveryRow,
        timestamp: i64,
    ) -> Result<u16, (Option<u16>, String)> {
        // A literal address never reaches the resolver: checked here.
        if let Ok(url) = reqwest::Url::parse(&w.url) {
            if let Some(ip) = url
                .host_str()
                .and_then(|h| h.trim_matches(['[', ']']).parse::<IpAddr>().ok())
            {
                if is_private(ip) && !self.webhooks.allows_private() {
                    return Err((
                        None,
                        format!("{ip} is a private address: the server does not send there"),
                    ));
                }
            }
        }
        let client = self.webhooks.client();
        let sent = client
            .post(&w.url)
            .header("content-type", "application/json")
            .header("Presently-Delivery", &d.id)
            .header("Presently-Event", &d.kind)
            .header("Presently-Timestamp", timestamp.to_string())
            .header(
                "Presently-Signature",
                signature(&w.secret, timestamp, &d.body),
            )
            .body(d.body.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Ok(r.status().as_u16()),
            Ok(r) => Err((
                Some(r.status().as_u16()),
                format!("the endpoint answered {}", r.status()),
            )),
            Err(e) => Err((None, words(&e))),
        }
    }
}

/// What a failed request came to, in words (the innermost cause says most).
pub(crate) fn words(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        format!("no answer within {} s", TIMEOUT.as_secs())
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        "the request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    if let Some(cause) = last {
        text.push_str(": ");
        text.push_str(&cause);
    }
    text
}

/// Turns queued events into stored deliveries, a batch at a time.
pub(crate) async fn queue(app: Weak<App>, mut rx: mpsc::Receiver<Queued>) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, 200).await > 0 {
        let Some(app) = app.upgrade() else { return };
        let endpoints = app
            .webhooks
            .endpoints
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let full = app
            .webhooks
            .full
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut rows = Vec::new();
        for q in batch.drain(..) {
            for w in endpoints
                .iter()
                .filter(|w| w.org_id == q.org && w.enabled && takes(w, q.event))
            {
                if full.contains(&w.id) {
                    app.webhooks
                        .dropped
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    continue;
                }
                let id = crate::auth::new_id("wd");
                let body = envelope(&id, q.event, &q.org, q.at, q.data.clone());
                rows.push((id, w.id.clone(), q.event.as_str().to_string(), body));
            }
        }
        if rows.is_empty() {
            continue;
        }
        let now = app.clock.now().0;
        match app.db.queue_deliveries(&rows, now).await {
            Ok(()) => app.webhooks.wake.notify_one(),
            Err(e) => {
                tracing::warn!(error = %e, events = rows.len(), "webhook deliveries could not be stored: dropped")
            }
        }
    }
}

/// Sends what is due, sleeping until the next delivery is due or an event arrives; prunes
/// the log and measures each endpoint's backlog now and then.
pub(crate) async fn deliver(app: Weak<App>, clock: clock::SharedClock) {
    use futures_util::StreamExt;
    let mut last_sweep: Option<i64> = None;
    loop {
        let Some(node) = app.upgrade() else { return };
        if *node.shutdown.borrow() {
            return;
        }
        let now = clock.now().0;
        if last_sweep.is_none_or(|t| now - t >= 60_000) {
            last_sweep = Some(now);
            sweep(&node, now).await;
        }
        let due = match node.db.take_due_deliveries(now, now + HOLD_MS, 50).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the webhook deliveries due");
                Vec::new()
            }
        };
        let busy = due.len() == 50;
        futures_util::stream::iter(due)
            .for_each_concurrent(AT_ONCE, |d| {
                let node = node.clone();
                async move {
                    if let Err(e) = node.attempt(d).await {
                        tracing::warn!(error = %e, "could not store a webhook delivery's outcome");
                    }
                }
            })
            .await;
        if busy {
            continue;
        }
        let next = node.db.next_delivery_at().await.ok().flatten();
        let wake = node.webhooks.wake.clone();
        if !crate::app::pause(node, &clock, next, &wake).await {
            return;
        }
    }
}

async fn sweep(app: &App, now: i64) {
    match app.db.pending_per_webhook().await {
        Ok(counts) => {
            let full: std::collections::HashSet<String> = counts
                .into_iter()
                .filter(|(_, n)| *n >= BACKLOG)
                .map(|(id, _)| id)
                .collect();
            if !full.is_empty() {
                tracing::warn!(endpoints = ?full, "webhook endpoints at their backlog bound: new events for them are dropped");
            }
            *app.webhooks.full.write().unwrap_or_else(|p| p.into_inner()) = full;
        }
        Err(e) => tracing::warn!(error = %e, "could not count the webhook backlog"),
    }
    if let Err(e) = app.db.prune_deliveries(now - KEEP_MS).await {
        tracing::warn!(error = %e, "could not prune the webhook log");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_documented_hmac() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_test", b"1700000000.{\"a\":1}", hashlib.sha256).hexdigest())'
        assert_eq!(
            signature("whsec_test", 1_700_000_000, r#"{"a":1}"#),
            "v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }

    #[test]
    fn retries_double_from_thirty_seconds_up_to_an_hour() {
        assert_eq!(backoff(1), 30_000);
        assert_eq!(backoff(2), 60_000);
        assert_eq!(backoff(3), 120_000);
        assert_eq!(backoff(8), 3_600_000);
        assert_eq!(backoff(40), 3_600_000);
    }

    #[test]
    fn private_networks_are_known() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "0.0.0.0",
        ] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1::1", "100.128.0.1"] {
            assert!(!is_private(public.parse().unwrap()), "{public}");
        }
    }
}
