//! Configuration: flags, then environment variables, then a TOML file, then defaults that work
//! (an SQLite file in the user's data directory, loopback port 7878, plain HTTP).

use crate::envelope::ClusterSecret;
use crate::error::AppError;
use crate::nats::{ClusterOptions, NatsAuth};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

/// What a config file may set (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub demo: Option<bool>,
    pub log_format: Option<String>,
    /// PEM certificate chain (leaf first); with `tls_key`, the server speaks https and wss.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// NATS (`nats://host:4222`): run as one node of several on one PostgreSQL database.
    pub cluster: Option<String>,
    /// The secret every node of the cluster shares: events between nodes are sealed with it.
    pub cluster_secret: Option<String>,
    /// Earlier (or next) secrets also accepted from other nodes, while a new one rolls out.
    #[serde(default)]
    pub cluster_secret_accept: Vec<String>,
    /// How this node signs in to NATS.
    pub nats: Option<NatsAuth>,
    /// WebSocket connections one device, person or address may hold (0: no cap).
    pub max_connections_per_device: Option<usize>,
    pub max_connections_per_person: Option<usize>,
    pub max_connections_per_address: Option<usize>,
    /// The address people reach this server at (`https://presently.example.org`), for the
    /// links and instructions the server prints; default: from `listen` and TLS.
    pub public_url: Option<String>,
    /// The desktop app release published to this server's people (`GET /api/v1/version`).
    pub app: Option<AppTable>,
    /// Addresses the server reaches out to (webhooks, calendars): whom they trust, and whether
    /// private networks may be reached.
    pub outbound: Option<OutboundTable>,
    /// The key credentials are sealed with at rest (calendars).
    pub secrets: Option<SecretsTable>,
    /// Prometheus metrics: on a listener of their own, or on the main one behind a token.
    pub metrics: Option<MetricsTable>,
    /// The SMTP relay invites and password resets are sent through.
    pub mail: Option<MailTable>,
}

/// `[mail]` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailTable {
    /// The relay's host name, such as smtp.example.org.
    pub relay: String,
    /// Default: 587 for starttls, 465 for tls, 25 for none.
    pub port: Option<u16>,
    /// starttls (default), tls, or none (a relay on this machine only).
    pub security: Option<String>,
    pub user: Option<String>,
    /// The relay's password (or PRESENTLY_MAIL_PASSWORD, to keep it out of the file).
    pub password: Option<String>,
    /// Who mail is from: "Presently <presently@example.org>".
    pub from: String,
    /// A PEM file of CA certificates trusted beside the system's (default: [outbound] ca_file).
    pub ca_file: Option<PathBuf>,
}

/// `[metrics]` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsTable {
    /// `host:port` of a plain-HTTP listener serving only `/metrics`, without a token (keep it on
    /// loopback or the monitoring network).
    pub listen: Option<String>,
    /// `/metrics` on the main listener, for `Authorization: Bearer <token>` (at least 16
    /// characters).
    pub token: Option<String>,
}

/// `[secrets]` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsTable {
    /// At least 16 characters; the same on every node of a cluster.
    pub key: Option<String>,
    /// Earlier keys, still accepted while credentials are sealed again with `key`.
    #[serde(default)]
    pub previous_keys: Vec<String>,
}

/// `[outbound]` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundTable {
    /// A PEM file of CA certificates trusted beside the system's.
    pub ca_file: Option<PathBuf>,
    /// Allow endpoints on loopback and private networks (default: refused).
    pub allow_private_networks: Option<bool>,
}

/// `[app]` in the config file: the latest desktop app and where to get it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppTable {
    pub latest_version: String,
    pub download_url: String,
    pub notes: Option<String>,
}

/// What the command line and the environment gave; each `Some` wins over the config file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub demo: bool,
    pub log_format: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub cluster: Option<String>,
    pub cluster_secret: Option<String>,
    pub cluster_secret_accept: Vec<String>,
    /// Field by field over `[nats]` in the file.
    pub nats: NatsAuth,
    pub max_connections_per_device: Option<usize>,
    pub max_connections_per_person: Option<usize>,
    pub max_connections_per_address: Option<usize>,
    pub public_url: Option<String>,
    pub outbound_ca_file: Option<PathBuf>,
    pub outbound_allow_private_networks: bool,
    pub secrets_key: Option<String>,
    pub metrics_listen: Option<String>,
    pub metrics_token: Option<String>,
    /// The mail relay's password, over `[mail] password`.
    pub mail_password: Option<String>,
}

/// Where Prometheus reads the server's metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsOptions {
    /// A listener of their own (no token).
    pub listen: Option<SocketAddr>,
    /// `/metrics` on the main listener for this bearer token.
    pub token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    pub demo: bool,
    pub json_logs: bool,
    /// The certificate chain and key to terminate TLS with; `None`: plain HTTP (on loopback, or
    /// behind a proxy that terminates TLS).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// NATS between nodes, and the cluster's secret; `None`: one node.
    pub cluster: Option<ClusterOptions>,
    /// WebSocket connections one device, person or address may hold.
    pub connection_limits: crate::hub::ConnectionLimits,
    /// Where people reach this server (no trailing slash).
    pub public_url: String,
    /// The desktop app release published to this server's people.
    pub app_release: Option<protocol::rest::AppRelease>,
    pub webhooks: crate::app::webhooks::WebhookOptions,
    /// The secrets key and earlier ones; none: a one-node SQLite server makes its own.
    pub secrets: Option<(String, Vec<String>)>,
    pub metrics: MetricsOptions,
    /// The SMTP relay for invites and resets; `None`: codes are only shown to administrators.
    pub mail: Option<crate::app::mail::MailOptions>,
}

/// The default SQLite database, in the local application data of the account the server runs
/// as: `$XDG_DATA_HOME/presently/server.db` (or `~/.local/share/…`) on Linux,
/// `%LOCALAPPDATA%\Presently\server.db` on Windows, `~/Library/Application Support/Presently/`
/// on macOS.
pub fn default_database_url() -> String {
    let folder = if cfg!(any(windows, target_os = "macos")) {
        "Presently"
    } else {
        "presently"
    };
    let base = dirs::data_local_dir().unwrap_or_else(|| PathBuf::from("."));
    format!("sqlite://{}", base.join(folder).join("server.db").display())
}

impl Config {
    /// Merges what the command line and environment gave (`Some`) over the file and defaults.
    pub fn resolve(given: Overrides, file: Option<&Path>) -> Result<Config, AppError> {
        let Overrides {
            listen,
            database_url,
            demo,
            log_format,
            tls_cert,
            tls_key,
            cluster,
            cluster_secret,
            cluster_secret_accept,
            nats,
            max_connections_per_device,
            max_connections_per_person,
            max_connections_per_address,
            public_url,
            outbound_ca_file,
            outbound_allow_private_networks,
            secrets_key,
            metrics_listen,
            metrics_token,
            mail_password,
        } = given;
        let defaults = crate::hub::ConnectionLimits::default();
        let file: FileConfig = match file {
            None => FileConfig::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    AppError::config(format!(
                        "cannot read the config file {}: {e}",
                        path.display()
                    ))
                })?;
                toml::from_str(&text).map_err(|e| {
                    AppError::config(format!(
                        "the config file {} is not valid: {e}",
                        path.display()
                    ))
                })?
            }
        };
        let listen = listen
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen: SocketAddr = listen.parse().map_err(|_| {
            AppError::config(format!(
                "\"{listen}\" is not an address to listen on: use host:port, such as {DEFAULT_LISTEN}"
            ))
        })?;
        let log_format = log_format
            .or(file.log_format)
            .unwrap_or_else(|| "text".into());
        if log_format != "text" && log_format != "json" {
            return Err(AppError::config(format!(
                "log format \"{log_format}\" is not known: use text or json"
            )));
        }
        let tls = match (tls_cert.or(file.tls_cert), tls_key.or(file.tls_key)) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(AppError::config(
                    "a TLS certificate was given without its key: add --tls-key (PRESENTLY_TLS_KEY, or tls_key in the config file)",
                ))
            }
            (None, Some(_)) => {
                return Err(AppError::config(
                    "a TLS key was given without its certificate: add --tls-cert (PRESENTLY_TLS_CERT, or tls_cert in the config file)",
                ))
            }
        };
        let cluster = match cluster.or(file.cluster) {
            None => None,
            Some(url) => {
                if !url.starts_with("nats://") && !url.starts_with("tls://") {
                    return Err(AppError::config(format!(
                        "--cluster takes NATS's address, nats://host:4222 or tls://host:4222, not \"{}\"",
                        redact_url(&url)
                    )));
                }
                let secret = cluster_secret.or(file.cluster_secret).ok_or_else(|| {
                    AppError::config(
                        "several nodes need a secret they share, to seal what crosses NATS: give every node the same --cluster-secret (PRESENTLY_CLUSTER_SECRET, or cluster_secret in the config file); make one with `openssl rand -base64 32`",
                    )
                })?;
                let secret = ClusterSecret::parse(secret).map_err(AppError::config)?;
                let accepted = if cluster_secret_accept.is_empty() {
                    file.cluster_secret_accept
                } else {
                    cluster_secret_accept
                };
                let accepted = accepted
                    .into_iter()
                    .map(ClusterSecret::parse)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| AppError::config(format!("--cluster-secret-accept: {e}")))?;
                let auth = nats.or(file.nats.unwrap_or_default());
                Some(ClusterOptions {
                    url,
                    auth,
                    secret,
                    accepted,
                })
            }
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let public_url = public_url
            .or(file.public_url)
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("{scheme}://{listen}"));
        if !public_url.starts_with("http://") && !public_url.starts_with("https://") {
            return Err(AppError::config(format!(
                "public_url \"{public_url}\" must start with https:// (or http://)"
            )));
        }
        let app_release = match file.app {
            None => None,
            Some(a) => {
                if protocol::version_parts(&a.latest_version).is_none() {
                    return Err(AppError::config(format!(
                        "[app] latest_version \"{}\" is not a version such as 1.4.2",
                        a.latest_version
                    )));
                }
                Some(protocol::rest::AppRelease {
                    version: a.latest_version,
                    url: a.download_url,
                    notes: a.notes,
                })
            }
        };
        let connection_limits = crate::hub::ConnectionLimits {
            per_device: max_connections_per_device
                .or(file.max_connections_per_device)
                .unwrap_or(defaults.per_device),
            per_person: max_connections_per_person
                .or(file.max_connections_per_person)
                .unwrap_or(defaults.per_person),
            per_address: max_connections_per_address
                .or(file.max_connections_per_address)
                .unwrap_or(defaults.per_address),
        };
        let outbound = file.outbound.unwrap_or_default();
        let webhooks = crate::app::webhooks::WebhookOptions {
            ca_file: outbound_ca_file.or(outbound.ca_file),
            allow_private_networks: outbound_allow_private_networks
                || outbound.allow_private_networks.unwrap_or(false),
        };
        let secrets_table = file.secrets.unwrap_or_default();
        let secrets = secrets_key
            .or(secrets_table.key)
            .map(|k| (k, secrets_table.previous_keys));
        let metrics_table = file.metrics.unwrap_or_default();
        let metrics = MetricsOptions {
            listen: match metrics_listen.or(metrics_table.listen) {
                None => None,
                Some(a) => Some(a.parse().map_err(|_| {
                    AppError::config(format!(
                        "metrics listen \"{a}\" is not an address to listen on: use host:port, such as 127.0.0.1:9464"
                    ))
                })?),
            },
            token: match metrics_token.or(metrics_table.token) {
                Some(t) if t.trim().len() < 16 => {
                    return Err(AppError::config(
                        "the metrics token needs at least 16 characters: make one with `openssl rand -base64 24`",
                    ))
                }
                t => t.map(|t| t.trim().to_string()),
            },
        };
        let mail = match file.mail {
            None => None,
            Some(m) => {
                use crate::app::mail::{MailOptions, Security};
                let security = Security::parse(m.security.as_deref().unwrap_or("starttls"))?;
                let password = mail_password.or(m.password);
                let credentials = match (m.user, password) {
                    (Some(u), Some(p)) => Some((u, p)),
                    (None, None) => None,
                    (Some(_), None) => {
                        return Err(AppError::config(
                            "[mail] user is set without a password: add password (or PRESENTLY_MAIL_PASSWORD)",
                        ))
                    }
                    (None, Some(_)) => {
                        return Err(AppError::config(
                            "[mail] has a password without a user: add user",
                        ))
                    }
                };
                let options = MailOptions {
                    port: m.port.unwrap_or(security.default_port()),
                    relay: m.relay,
                    security,
                    credentials,
                    from: m.from,
                    ca_file: m.ca_file.or(webhooks.ca_file.clone()),
                };
                options.check()?;
                Some(options)
            }
        };
        Ok(Config {
            mail,
            webhooks,
            secrets,
            metrics,
            listen,
            tls,
            cluster,
            connection_limits,
            public_url,
            app_release,
            database_url: database_url
                .or(file.database_url)
                .unwrap_or_else(default_database_url),
            demo: demo || file.demo.unwrap_or(false),
            json_logs: log_format == "json",
        })
    }
}

/// `url` fit to print: no user information, no password or token in the query.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    // Whatever stands before the last '@' ahead of the query is user information, even when a
    // password holds '@' or '/' (printing too little beats printing a secret).
    let before_query = rest.find('?').unwrap_or(rest.len());
    let (host, tail) = match rest[..before_query].rfind('@') {
        Some(at) => (String::from("…@"), &rest[at + 1..]),
        None => (String::new(), rest),
    };
    let tail = match tail.split_once('?') {
        None => tail.to_string(),
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| {
                    let name = pair.split('=').next().unwrap_or("");
                    let secret = ["password", "pass", "pwd", "token", "secret", "sslpassword"]
                        .iter()
                        .any(|s| name.eq_ignore_ascii_case(s));
                    if secret {
                        format!("{name}=…")
                    } else {
                        pair.to_string()
                    }
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
    };
    match scheme {
        Some(s) => format!("{s}://{host}{tail}"),
        None => format!("{host}{tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn urls_are_printed_without_their_secrets() {
        for (url, shown) in [
            ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
            ("nats://node:s3cr@t@nats:4222", "nats://…@nats:4222"),
            (
                "postgres://app:p@ss/wrd@db.example.org:5432/presently?sslmode=require",
                "postgres://…@db.example.org:5432/presently?sslmode=require",
            ),
            (
                "postgres://db/presently?user=app&password=hunter22&sslmode=require",
                "postgres://db/presently?user=app&password=…&sslmode=require",
            ),
            (
                "sqlite:///var/lib/presently/server.db",
                "sqlite:///var/lib/presently/server.db",
            ),
            ("tls://tok3n@nats:4222", "tls://…@nats:4222"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
