//! Prometheus metrics (`/metrics`, by the `prometheus-client` crate: OpenMetrics text for a
//! scraper that asks for it, as Prometheus does, else Prometheus's text format 0.0.4): what an
//! operator watches a node by. Counters are kept where things happen (a relaxed atomic add on
//! the delivery path); gauges are read when Prometheus asks. Served on a listener of its own
//! ([`listen`], no token: keep it on loopback or the monitoring network), or on the main
//! listener for a bearer token ([`Metrics::configure`]); neither by default.
//!
//! Names and what they count are listed in docs/admin.md ("Monitoring"); the dashboard in
//! `packaging/grafana/presently.json` reads them.

use crate::app::App;
use crate::error::AppError;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

/// A metric's labels: names and values known when the code is written (bounded).
pub type Labels = Vec<(&'static str, &'static str)>;

/// This node's counters, and the token `/metrics` answers on the main listener.
pub struct Metrics {
    token: RwLock<Option<String>>,
    /// Changes teammates see, published by this node.
    pub changes: Counter,
    /// A change's time on this node: from its arrival to stored and its frames queued for every
    /// connection here.
    pub change_seconds: Histogram,
    /// HTTP requests refused: 401, 403, 429 by area (`sessions` for sign-in, `me`, `admin` …).
    pub refused: Family<Labels, Counter>,
    /// WebSocket connections refused or closed for cause, by kind.
    pub ws_refused: Family<Labels, Counter>,
    /// Webhook delivery attempts by outcome (`delivered`, `failed`, `gave_up`).
    pub webhooks: Family<Labels, Counter>,
    /// Calendar reads by outcome (`read`, `unchanged`, `failed`, `gone`).
    pub calendars: Family<Labels, Counter>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            token: RwLock::new(None),
            changes: Counter::default(),
            // 0.25 ms … about 4 s.
            change_seconds: Histogram::new(exponential_buckets(0.00025, 2.0, 15)),
            refused: Family::default(),
            ws_refused: Family::default(),
            webhooks: Family::default(),
            calendars: Family::default(),
        }
    }
}

impl Metrics {
    /// `/metrics` on the main listener for `Authorization: Bearer <token>`; none: not there.
    pub fn configure(&self, token: Option<String>) {
        *self.token.write().unwrap_or_else(|p| p.into_inner()) = token;
    }

    fn token(&self) -> Option<String> {
        self.token.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Counts an HTTP refusal (401, 403, 429) of a request for `path`.
    pub fn count_refusal(&self, status: StatusCode, path: &str) {
        let status = match status.as_u16() {
            401 => "401",
            403 => "403",
            429 => "429",
            _ => return,
        };
        self.refused
            .get_or_create(&vec![("status", status), ("area", area(path))])
            .inc();
    }
}

/// The part of the API a path is in, from a fixed list (a label never grows with ids).
fn area(path: &str) -> &'static str {
    if path == "/metrics" {
        return "metrics";
    }
    let rest = path.strip_prefix("/api/v1/").unwrap_or("");
    let first = rest.split('/').next().unwrap_or("");
    const AREAS: &[&str] = &[
        "sessions",
        "me",
        "ws",
        "admin",
        "integrations",
        "routing",
        "notifications",
        "team",
        "directory",
        "people",
        "statuses",
    ];
    AREAS
        .iter()
        .find(|a| **a == first)
        .copied()
        .unwrap_or("other")
}

/// The exposition, OpenMetrics text or Prometheus text 0.0.4: every counter, and the gauges as
/// of now.
pub async fn render(app: &App, openmetrics: bool) -> String {
    let healthy = app.health().await.is_ok();
    let mut root = Registry::default();
    let registry = root.sub_registry_with_prefix("presently");
    let m = &app.metrics;
    let hub = &app.hub.counters;
    registry.register(
        "connections_opened",
        "WebSocket connections admitted on this node",
        hub.opened.clone(),
    );
    registry.register(
        "deliveries",
        "Frames queued to connections on this node (presence, self views, notifications)",
        hub.delivered.clone(),
    );
    registry.register(
        "slow_connections_dropped",
        "Connections dropped because they stopped reading (their queue was full)",
        hub.dropped.clone(),
    );
    registry.register(
        "changes",
        "Changes teammates see, published by this node",
        m.changes.clone(),
    );
    registry.register_with_unit(
        "change",
        "A change on this node from its arrival to stored and queued for every connection here",
        Unit::Seconds,
        m.change_seconds.clone(),
    );
    registry.register(
        "http_refused",
        "HTTP requests refused: 401 (sign-in, tokens), 403, 429 (limits hit), by area (sessions: sign-in)",
        m.refused.clone(),
    );
    registry.register(
        "ws_refused",
        "WebSocket connections refused or closed for cause, by kind",
        m.ws_refused.clone(),
    );
    registry.register(
        "webhook_attempts",
        "Webhook delivery attempts by outcome",
        m.webhooks.clone(),
    );
    registry.register(
        "calendar_reads",
        "Calendar reads by outcome",
        m.calendars.clone(),
    );

    let gauge = |v: i64| {
        let g: Gauge = Gauge::default();
        g.set(v);
        g
    };
    registry.register(
        "connections",
        "WebSocket connections open on this node",
        gauge(app.hub.connection_count() as i64),
    );
    let (size, idle, max) = app.db.pool_state();
    let pool: Family<Labels, Gauge> = Family::default();
    pool.get_or_create(&vec![("state", "idle")])
        .set(idle as i64);
    pool.get_or_create(&vec![("state", "in_use")])
        .set(size.saturating_sub(idle as u32) as i64);
    registry.register(
        "db_pool_connections",
        "Database connections by state (in_use at db_pool_max means requests wait for one)",
        pool,
    );
    registry.register(
        "db_pool_max",
        "The most database connections the pool opens",
        gauge(max as i64),
    );
    let bus = app.bus_stats();
    if let Some(up) = app.bus_up() {
        registry.register(
            "nats_connected",
            "1 while events reach the other nodes through NATS",
            gauge(up as i64),
        );
        let rejected: Counter = Counter::default();
        rejected.inc_by(bus.rejected);
        registry.register(
            "bus_rejected",
            "Events from NATS dropped: not sealed with the cluster's secret, replayed or stale",
            rejected,
        );
    }
    let reloads: Counter = Counter::default();
    reloads.inc_by(bus.reloads);
    registry.register(
        "reloads",
        "Reloads of the organisations on this node",
        reloads,
    );
    registry.register(
        "healthy",
        "1 while the node is healthy (as /healthz says)",
        gauge(healthy as i64),
    );
    process(&mut root);

    let mut out = String::new();
    if openmetrics {
        prometheus_client::encoding::text::encode(&mut out, &root)
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut out, &root)
    }
    .expect("writing to a String does not fail");
    out
}

/// The process's own: resident memory, CPU time, open files (Linux; elsewhere left out).
fn process(registry: &mut Registry) {
    #[cfg(target_os = "linux")]
    {
        let sub = registry.sub_registry_with_prefix("process");
        // statm: sizes in pages; stat: utime and stime (fields 14, 15) in clock ticks.
        let page = 4096i64;
        if let Some(resident) = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<i64>().ok())
        {
            let g: Gauge = Gauge::default();
            g.set(resident * page);
            sub.register_with_unit("resident_memory", "Resident memory", Unit::Bytes, g);
        }
        if let Some(ticks) = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| {
                // The command name (field 2) may hold spaces: count from after its ')'.
                let after = s.rsplit_once(')')?.1;
                let fields: Vec<&str> = after.split_whitespace().collect();
                Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
            })
        {
            let c: Counter<f64> = Counter::default();
            c.inc_by(ticks as f64 / 100.0);
            sub.register_with_unit("cpu", "User and system CPU time", Unit::Seconds, c);
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            let g: Gauge = Gauge::default();
            g.set(fds.count() as i64);
            sub.register("open_fds", "Open file descriptors", g);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = registry;
}

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `GET /metrics` on the main listener: for the configured bearer token only.
pub async fn on_main(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let Some(token) = app.metrics.token() else {
        return AppError::not_found(
            "metrics are off on this listener: the administrator sets [metrics] token (or listen) in the server's config (docs/admin.md, \"Monitoring\")",
        )
        .into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !same(given.trim().as_bytes(), token.as_bytes()) {
        return AppError::unauthorized(
            "/metrics needs \"Authorization: Bearer <the [metrics] token>\"",
        )
        .into_response();
    }
    exposition(&app, &headers).await
}

/// What the scraper accepts: OpenMetrics when it says so, else the classic text format.
async fn exposition(app: &App, headers: &HeaderMap) -> Response {
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"));
    let kind = if openmetrics {
        OPENMETRICS
    } else {
        prometheus_client::encoding::prometheus_text::CONTENT_TYPE
    };
    (
        [(header::CONTENT_TYPE, kind)],
        render(app, openmetrics).await,
    )
        .into_response()
}

/// Equal, in a time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Serves `/metrics` (and nothing else) on `addr`, plain HTTP and no token, until the node stops;
/// the address bound.
pub async fn listen(app: Arc<App>, addr: SocketAddr) -> Result<SocketAddr, AppError> {
    let listener = crate::bind(addr).await?;
    let bound = listener
        .local_addr()
        .map_err(|e| AppError::config(format!("the metrics listener on {addr}: {e}")))?;
    let mut shutdown = app.shutdown.clone();
    let router = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(
                |State(app): State<Arc<App>>, headers: HeaderMap| async move {
                    exposition(&app, &headers).await
                },
            ),
        )
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "this listener serves /metrics only\n",
            )
        })
        .with_state(app);
    tokio::spawn(async move {
        let stop = async move {
            let _ = shutdown.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::warn!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_are_a_fixed_list() {
        assert_eq!(area("/api/v1/sessions"), "sessions");
        assert_eq!(area("/api/v1/admin/users/u-1/status"), "admin");
        assert_eq!(area("/api/v1/9f1c2e0a-any-id"), "other");
        assert_eq!(area("/healthz"), "other");
        assert_eq!(area("/metrics"), "metrics");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"a token of sixteen", b"a token of sixteen"));
        assert!(!same(b"a token of sixteen", b"a token of sixteeN"));
        assert!(!same(b"a token", b"a token of sixteen"));
    }
}
