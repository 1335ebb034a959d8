//! `/metrics`: off on the main listener until a token is set, then for that bearer token only;
//! on a listener of its own without one; OpenMetrics for a scraper that asks, else Prometheus's
//! text format. After a change a teammate sees and a wrong password,
//! the counts say so; the exposition passes Prometheus's own parser (`promtool check metrics`),
//! and a real Prometheus (Debian's) scrapes the node and answers queries on what it read.

use crate::support::*;
use presence::{Change, StatusId};
use protocol::ClientMessage;
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

on_both_databases!(metrics_count_what_happened_and_prometheus_reads_them,);

/// A GET outside `/api/v1`: its status and text.
async fn get_root(f: &Fixture, path: &str, bearer: Option<&str>) -> (u16, String) {
    let mut r = f.http.get(format!("http://{}{path}", f.addr()));
    if let Some(token) = bearer {
        r = r.bearer_auth(token);
    }
    let r = r.send().await.expect("request");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

/// The samples of an exposition: `name{labels}` → value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_string(), value.parse().ok()?))
        })
        .collect()
}

async fn metrics_count_what_happened_and_prometheus_reads_them(b: Backend) {
    let Some(f) = Fixture::start(b).await else {
        return;
    };
    // Off by default on the main listener, and said so.
    let (code, answer) = get_root(&f, "/metrics", None).await;
    assert_eq!(code, 404, "{answer}");
    assert!(answer.contains("[metrics] token"), "{answer}");

    // A change bea makes and cal sees; a wrong password.
    let mut cal = f.online(&f.cal, "cal-desk").await;
    let mut bea = f.online(&f.bea, "bea-desk").await;
    bea.request(|request| ClientMessage::Change {
        request,
        change: Change::SetStatus {
            status: StatusId::BUSY,
            until: None,
        },
    })
    .await;
    cal.until("bea busy", delta_for(&f.bea, StatusId::BUSY))
        .await;
    let (code, _) = f.sign_in("bea@one.test", "a guess", "desk").await;
    assert_eq!(code, 401);

    // On the main listener for the token only.
    let token = "a metrics token of the test";
    f.app().metrics.configure(Some(token.into()));
    let (code, answer) = get_root(&f, "/metrics", Some("not the token at all")).await;
    assert_eq!(code, 401, "{answer}");
    let (code, text) = get_root(&f, "/metrics", Some(token)).await;
    assert_eq!(code, 200, "{text}");
    let seen = samples(&text);
    let value = |name: &str| {
        *seen
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not in the exposition:\n{text}"))
    };
    assert_eq!(value("presently_connections"), 2.0);
    assert_eq!(value("presently_connections_opened_total"), 2.0);
    assert!(value("presently_changes_total") >= 1.0, "bea's change");
    assert!(
        value("presently_deliveries_total") >= 2.0,
        "bea's change to cal, bea's own view"
    );
    assert!(value("presently_change_seconds_count") >= 1.0);
    assert_eq!(
        value(r#"presently_http_refused_total{status="401",area="sessions"}"#),
        1.0,
        "the wrong password"
    );
    assert_eq!(value("presently_healthy"), 1.0);
    assert!(value("presently_db_pool_max") >= 1.0);
    assert!(value("process_resident_memory_bytes") > 0.0);
    assert!(
        !text.contains("presently_nats_connected"),
        "one node: no NATS"
    );
    assert!(
        !text.contains("# EOF"),
        "Prometheus text 0.0.4 unless asked"
    );

    // Prometheus's own parser and linter.
    if test_support::require("promtool") {
        let mut check = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        check
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = check.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // A listener of its own, without a token, scraped by a real Prometheus.
    let at = presently_server::metrics::listen(f.app().clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let own = reqwest::Client::new()
        .get(format!("http://{at}/metrics"))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    assert!(own.headers().get("content-type").is_some_and(|v| v
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text")));
    let open = own.text().await.unwrap();
    assert!(open.trim_end().ends_with("# EOF"), "OpenMetrics text");
    assert!(open.contains("presently_changes_total"));
    let other = reqwest::get(format!("http://{at}/api/v1/team"))
        .await
        .unwrap();
    assert_eq!(other.status(), 404, "that listener serves /metrics only");
    if test_support::require("prometheus") {
        let dir = tempfile::tempdir().unwrap();
        let mut prometheus = Prometheus::start(dir.path(), &at.to_string());
        let up = prometheus
            .query("presently_connections")
            .await
            .expect("Prometheus scraped the node");
        assert_eq!(up, 2.0, "as Prometheus read it");
        let refused = prometheus
            .query(r#"presently_http_refused_total{area="sessions"}"#)
            .await
            .unwrap();
        assert_eq!(refused, 1.0);
        // The Grafana dashboard's every query is one Prometheus evaluates.
        for expr in dashboard_queries() {
            let q = expr.replace("$__rate_interval", "1m").replace("$job", ".*");
            let answer = prometheus.ask(&q).await;
            assert_eq!(answer["status"], "success", "{expr}: {answer}");
        }
        prometheus.stop();
    }
    drop(bea);
    f.finish().await;
}

/// Debian's Prometheus on loopback, scraping one target every second.
struct Prometheus {
    child: std::process::Child,
    base: String,
}

impl Prometheus {
    fn start(dir: &std::path::Path, target: &str) -> Prometheus {
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: presently\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .expect("prometheus starts");
        Prometheus {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The value of an instant query once Prometheus has one (it scrapes every second).
    async fn query(&mut self, q: &str) -> Option<f64> {
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = http
                .get(format!("{}/api/v1/query", self.base))
                .query(&[("query", q)])
                .send()
                .await
            {
                let v: serde_json::Value = r.json().await.unwrap_or_default();
                if let Some(value) = v["data"]["result"][0]["value"][1]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                {
                    return Some(value);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// An instant query's whole answer.
    async fn ask(&self, q: &str) -> serde_json::Value {
        reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.base))
            .query(&[("query", q)])
            .send()
            .await
            .expect("Prometheus answers")
            .json()
            .await
            .expect("Prometheus answers JSON")
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The queries of `packaging/grafana/presently.json`.
fn dashboard_queries() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../packaging/grafana/presently.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let queries: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().clone())
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect();
    assert!(queries.len() >= 10);
    queries
}

#[test]
fn every_metric_the_dashboard_reads_is_documented() {
    let admin =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/admin.md"))
            .unwrap();
    for expr in dashboard_queries() {
        for name in expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("presently_") || w.starts_with("process_"))
        {
            let base = name.trim_end_matches("_bucket").trim_end_matches("_total");
            assert!(
                admin.contains(&format!("`{base}")),
                "{name} (in the dashboard) is not in docs/admin.md's Monitoring table"
            );
        }
    }
}
