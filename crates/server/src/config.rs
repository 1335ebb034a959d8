//! Configuration: flags, then environment variables, then a TOML file, then defaults that work
//! (an SQLite file in the user's data directory, loopback port 7878, plain HTTP).

use crate::error::AppError;
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
    /// The address people reach this server at (`https://presently.example.org`), for the
    /// links and instructions the server prints; default: from `listen` and TLS.
    pub public_url: Option<String>,
    /// The desktop app release published to this server's people (`GET /api/v1/version`).
    pub app: Option<AppTable>,
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
    pub public_url: Option<String>,
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
    /// NATS between nodes; `None`: one node.
    pub cluster: Option<String>,
    /// Where people reach this server (no trailing slash).
    pub public_url: String,
    /// The desktop app release published to this server's people.
    pub app_release: Option<protocol::rest::AppRelease>,
}

/// The default SQLite database: `$XDG_DATA_HOME/presently/server.db` (or `~/.local/share/…`).
pub fn default_database_url() -> String {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    format!("sqlite://{}", base.join("presently/server.db").display())
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
            public_url,
        } = given;
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
        let cluster = cluster.or(file.cluster);
        if let Some(url) = &cluster {
            if !url.starts_with("nats://") && !url.starts_with("tls://") {
                return Err(AppError::config(format!(
                    "--cluster takes NATS's address, nats://host:4222, not \"{url}\""
                )));
            }
        }
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
        Ok(Config {
            listen,
            tls,
            cluster,
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
