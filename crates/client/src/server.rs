//! Which server this installation talks to and how it trusts it: the address (`https://…`, or
//! `http://…` on loopback or when plain HTTP is explicitly allowed) — or several, separated by
//! commas, the nodes of one cluster, tried in turn when one cannot be reached — the system's
//! root certificates plus an optional extra CA file (a company's own CA), and certificate
//! problems in words. Every REST call and the WebSocket go through one [`Server`].

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, ClientConfig, RootCertStore};
use std::error::Error as StdError;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How this installation trusts servers: the environment's `PRESENTLY_CA_FILE` and
/// `PRESENTLY_ALLOW_HTTP`, or the CLI's `--ca-file` and `--allow-http`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    /// A PEM file of CA certificates trusted beside the system's own.
    pub extra_ca: Option<PathBuf>,
    /// Allow plain `http://` to a server that is not on this machine (passwords and tokens then
    /// cross the network readable by anyone on the path).
    pub allow_http: bool,
}

impl Trust {
    /// `PRESENTLY_CA_FILE` and `PRESENTLY_ALLOW_HTTP` (`1`, `true` or `yes`).
    pub fn from_env() -> Trust {
        Trust {
            extra_ca: std::env::var_os("PRESENTLY_CA_FILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            allow_http: std::env::var("PRESENTLY_ALLOW_HTTP")
                .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
                .unwrap_or(false),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    #[error("\"{0}\" is not a server address: use https://host[:port] (or http://127.0.0.1:port for a server on this machine)")]
    NotAnAddress(String),
    #[error("{url} would send your password and device token unencrypted across the network: use https://, or allow plain HTTP explicitly (PRESENTLY_ALLOW_HTTP=1, or --allow-http)")]
    PlainHttp { url: String },
    #[error("cannot use the CA file {path}: {detail}")]
    CaFile { path: String, detail: String },
}

/// A server's address (or a cluster's addresses) with the TLS settings to reach it. Cheap to
/// clone; clones share which address is in use, so when the WebSocket moves to another node,
/// REST calls follow.
#[derive(Clone)]
pub struct Server {
    urls: Arc<[String]>,
    current: Arc<AtomicUsize>,
    tls: Arc<ClientConfig>,
    http: reqwest::Client,
}

impl PartialEq for Server {
    fn eq(&self, other: &Server) -> bool {
        self.urls == other.urls
    }
}
impl Eq for Server {}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Server").field(&self.urls).finish()
    }
}

/// The address in use.
impl std::fmt::Display for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.url())
    }
}

/// `http://host:port/` → `http://host:port`; a bare `host:port` is taken as `https://`.
pub fn normalize(address: &str) -> String {
    match address.trim().split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.trim_end_matches('/')),
        None => format!("https://{}", address.trim().trim_end_matches('/')),
    }
}

/// Checks one address against `trust`; returns it normalized.
fn checked(address: &str, trust: &Trust) -> Result<String, ServerError> {
    let url = normalize(address);
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| ServerError::NotAnAddress(address.to_string()))?;
    let host = host_of(rest).ok_or_else(|| ServerError::NotAnAddress(address.to_string()))?;
    match scheme {
        "https" => {}
        "http" if trust.allow_http || is_loopback(&host) => {}
        "http" => return Err(ServerError::PlainHttp { url }),
        _ => return Err(ServerError::NotAnAddress(address.to_string())),
    }
    Ok(url)
}

impl Server {
    /// Checks `address` against `trust` and prepares the TLS settings to reach it. Several
    /// addresses separated by commas are the nodes of one cluster, tried in that order.
    pub fn new(address: &str, trust: &Trust) -> Result<Server, ServerError> {
        let urls = address
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| checked(a, trust))
            .collect::<Result<Vec<_>, _>>()?;
        if urls.is_empty() {
            return Err(ServerError::NotAnAddress(address.to_string()));
        }
        let tls = Arc::new(client_config(trust.extra_ca.as_deref())?);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .use_preconfigured_tls((*tls).clone())
            .build()
            .map_err(|e| ServerError::NotAnAddress(format!("{address} ({e})")))?;
        Ok(Server {
            urls: urls.into(),
            current: Arc::new(AtomicUsize::new(0)),
            tls,
            http,
        })
    }

    /// The address in use: `https://host:port`, no trailing slash.
    pub fn url(&self) -> &str {
        &self.urls[self.current.load(Ordering::Relaxed) % self.urls.len()]
    }

    /// Every address, as given (what is kept, and what two servers are compared by).
    pub fn address(&self) -> String {
        self.urls.join(", ")
    }

    /// Every address, in the order they are tried.
    pub fn addresses(&self) -> &[String] {
        &self.urls
    }

    /// Moves on to the next address, after `failed` could not be reached (unless another
    /// user of this server moved on already); false when there is only one.
    pub fn fail_over(&self, failed: &str) -> bool {
        if self.urls.len() < 2 {
            return false;
        }
        let now = self.current.load(Ordering::Relaxed);
        if self.urls[now % self.urls.len()] == failed {
            let _ = self.current.compare_exchange(
                now,
                (now + 1) % self.urls.len(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
        true
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The WebSocket's address: `wss://host:port/api/v1/ws` (or `ws://` for `http://`).
    pub(crate) fn ws_url(&self) -> String {
        let url = self.url();
        let base = match url.split_once("://") {
            Some(("https", rest)) => format!("wss://{rest}"),
            Some((_, rest)) => format!("ws://{rest}"),
            None => format!("ws://{url}"),
        };
        format!("{base}/api/v1/ws")
    }

    pub(crate) fn connector(&self) -> tokio_tungstenite::Connector {
        tokio_tungstenite::Connector::Rustls(self.tls.clone())
    }
}

/// The host part of `host[:port][/path]` (an IPv6 address without its brackets).
fn host_of(rest: &str) -> Option<String> {
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split_once(']')?.0
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// rustls with the ring provider, TLS 1.2 and 1.3, the system's roots and `extra_ca`.
fn client_config(extra_ca: Option<&Path>) -> Result<ClientConfig, ServerError> {
    let mut roots = RootCertStore::empty();
    // The system's store (/etc/ssl/certs on Debian); a few unreadable entries are skipped.
    let system = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(system.certs);
    if let Some(path) = extra_ca {
        let shown = path.display().to_string();
        let bad = |detail: String| ServerError::CaFile {
            path: shown.clone(),
            detail,
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(pem_problem(e)))?
            .collect::<Result<_, _>>()
            .map_err(|e| bad(pem_problem(e)))?;
        if certs.is_empty() {
            return Err(bad(
                "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
            ));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| bad(format!("a certificate in it is not a CA certificate: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn pem_problem(e: rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => io.to_string(),
        other => format!("it is not a PEM file ({other:?})"),
    }
}

/// A certificate problem found in an error's chain, in words, with what to do; `None` when the
/// error is not about the server's certificate.
pub fn certificate_problem(error: &(dyn StdError + 'static)) -> Option<String> {
    let mut next: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = next {
        if let Some(tls) = as_rustls(e) {
            return Some(describe(tls));
        }
        next = e.source();
    }
    None
}

/// `e` as a rustls error, also when wrapped in an `io::Error` (whose `source()` skips the
/// error it wraps).
fn as_rustls<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let io = e.downcast_ref::<std::io::Error>()?;
    let inner = io.get_ref()?;
    let inner: &(dyn StdError + 'static) = inner;
    as_rustls(inner)
}

fn describe(e: &rustls::Error) -> String {
    const ADD_CA: &str =
        "if your organisation uses its own certificate authority, give its certificate with PRESENTLY_CA_FILE (or --ca-file)";
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => format!(
                "the server's certificate is not signed by an authority this computer trusts: {ADD_CA}"
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the server's certificate has expired: its administrator must renew it".into()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet: check this computer's clock, or ask the server's administrator".into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "the server's certificate is for another name than the address you gave: use the name on its certificate".into()
            }
            CertificateError::Revoked => "the server's certificate has been revoked".into(),
            CertificateError::BadSignature | CertificateError::BadEncoding => {
                "the server's certificate is damaged or forged".into()
            }
            other => format!("the server's certificate was refused ({other:?})"),
        },
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the server did not answer with TLS: is it a plain http:// server?".into()
        }
        other => format!("the secure connection failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_this_machine_unless_allowed() {
        let strict = Trust::default();
        for local in [
            "http://127.0.0.1:7878",
            "http://localhost:7878/",
            "http://[::1]:7878",
            "http://127.8.9.1",
        ] {
            assert!(Server::new(local, &strict).is_ok(), "{local}");
        }
        for remote in [
            "http://presently.example.com",
            "http://10.0.0.5:7878",
            "http://localhost.example.com",
            "http://127.0.0.1@example.com",
        ] {
            assert!(
                matches!(
                    Server::new(remote, &strict),
                    Err(ServerError::PlainHttp { .. })
                ),
                "{remote}"
            );
        }
        let lax = Trust {
            allow_http: true,
            ..Trust::default()
        };
        assert!(Server::new("http://presently.example.com", &lax).is_ok());
        assert!(Server::new("https://presently.example.com", &strict).is_ok());
        assert!(matches!(
            Server::new("ftp://example.com", &strict),
            Err(ServerError::NotAnAddress(_))
        ));
        assert!(matches!(
            Server::new("https://", &strict),
            Err(ServerError::NotAnAddress(_))
        ));
    }

    #[test]
    fn several_addresses_are_tried_in_turn_and_clones_follow() {
        let s = Server::new(
            "https://a.example.com, b.example.com:8443/ ,",
            &Trust::default(),
        )
        .unwrap();
        assert_eq!(
            s.addresses(),
            ["https://a.example.com", "https://b.example.com:8443"]
        );
        assert_eq!(
            s.address(),
            "https://a.example.com, https://b.example.com:8443"
        );
        let clone = s.clone();
        assert_eq!(s.url(), "https://a.example.com");
        assert!(s.fail_over("https://a.example.com"));
        assert_eq!(clone.url(), "https://b.example.com:8443", "a clone follows");
        assert_eq!(clone.ws_url(), "wss://b.example.com:8443/api/v1/ws");
        // Another user of the server failing on the old address does not skip this one.
        assert!(clone.fail_over("https://a.example.com"));
        assert_eq!(s.url(), "https://b.example.com:8443");
        assert!(s.fail_over("https://b.example.com:8443"));
        assert_eq!(s.url(), "https://a.example.com", "round again");
        // Each address is checked: one plain http:// elsewhere refuses the list.
        assert!(matches!(
            Server::new(
                "https://a.example.com,http://b.example.com",
                &Trust::default()
            ),
            Err(ServerError::PlainHttp { .. })
        ));
        assert!(matches!(
            Server::new(" , ", &Trust::default()),
            Err(ServerError::NotAnAddress(_))
        ));
        let one = Server::new("https://a.example.com", &Trust::default()).unwrap();
        assert!(!one.fail_over("https://a.example.com"));
    }

    #[test]
    fn addresses_and_websocket_urls() {
        let s = Server::new("presently.example.com:8443/", &Trust::default()).unwrap();
        assert_eq!(s.url(), "https://presently.example.com:8443");
        assert_eq!(s.ws_url(), "wss://presently.example.com:8443/api/v1/ws");
        let s = Server::new("http://127.0.0.1:7878", &Trust::default()).unwrap();
        assert_eq!(s.ws_url(), "ws://127.0.0.1:7878/api/v1/ws");
    }

    #[test]
    fn a_ca_file_that_is_not_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let trust = Trust {
            extra_ca: Some(path.clone()),
            allow_http: false,
        };
        let err = Server::new("https://example.com", &trust).unwrap_err();
        assert!(
            matches!(&err, ServerError::CaFile { detail, .. } if detail.contains("no PEM certificate")),
            "{err}"
        );
        let missing = Trust {
            extra_ca: Some(dir.path().join("missing.pem")),
            allow_http: false,
        };
        let err = Server::new("https://example.com", &missing).unwrap_err();
        assert!(err.to_string().contains("missing.pem"), "{err}");
    }
}
