//! The Presently server: accounts, real-time presence over WebSocket, notifications, integrations
//! and routing. The `presence` engine decides everything; this crate stores, times and fans out
//! what it decides. See `docs/server.md`.

pub mod admin_api;
pub mod api;
pub mod app;
pub mod auth;
pub mod broker;
pub mod calendars_api;
pub mod config;
pub mod console;
pub mod db;
pub mod demo;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod faces;
pub mod faces_api;
pub mod favourites_api;
pub mod hub;
mod limits;
pub mod metrics;
pub mod nats;
pub mod openapi;
pub mod secrets;
pub mod sso_api;
pub mod tls;
pub mod webhooks_api;
pub mod ws;

use app::App;
use clock::{SharedClock, SystemClock};
use error::AppError;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// The address a request came from (the proxy's, behind one), for the per-address limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

macro_rules! peer_of {
    ($listener:ty) => {
        impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, $listener>>
            for Peer
        {
            fn connect_info(stream: axum::serve::IncomingStream<'_, $listener>) -> Peer {
                Peer(*stream.remote_addr())
            }
        }
    };
}
peer_of!(tokio::net::TcpListener);
peer_of!(tls::TlsListener);

/// An IPv4 address, or an IPv6 address's /64 (one subscriber's usual allocation): what the
/// per-address limits count.
pub fn network_of(address: std::net::IpAddr) -> std::net::IpAddr {
    use std::net::IpAddr;
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                seg[4..].fill(0);
                IpAddr::V6(seg.into())
            }
        },
        v4 => v4,
    }
}

/// A running server: its address, its state, and a way to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, closes every connection (code 1012, "server restarting") and the
    /// database. Everything was already stored as it happened.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        // Renewals still queued are stored: a restart finds every lease renewed so far.
        self.app.store_leases().await;
        self.app.db.close().await;
    }
}

/// Opens the database and serves on `listen` (port 0: any free port) on the wall clock, over
/// TLS when `tls` is given ([`tls::server_config`]): what the binary runs.
pub async fn start(
    database_url: &str,
    listen: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<Running, AppError> {
    start_node(database_url, listen, tls, None).await
}

/// [`start`], as one node of a cluster when `cluster` names NATS and the cluster's secret:
/// events reach the other nodes on the same PostgreSQL database through it, sealed. A cluster
/// needs PostgreSQL; SQLite is refused with what to do.
pub async fn start_node(
    database_url: &str,
    listen: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    cluster: Option<&nats::ClusterOptions>,
) -> Result<Running, AppError> {
    start_node_configured(database_url, listen, tls, cluster, None).await
}

/// What to set on the application before the listener serves its first request (the
/// configuration's limits, trust, mail, public address, app release), so no request sees a
/// server half set up.
pub type Configure = Box<dyn FnOnce(&App) -> Result<(), AppError> + Send>;

/// [`start_node`], with `configure` applied before anything is served: what the binary runs.
pub async fn start_node_configured(
    database_url: &str,
    listen: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    cluster: Option<&nats::ClusterOptions>,
    configure: Option<Configure>,
) -> Result<Running, AppError> {
    let db = db::Db::connect(database_url).await?;
    let clock = SystemClock::shared();
    let broker: Arc<dyn broker::Broker> = match cluster {
        None => broker::InProcess::shared(),
        Some(options) => {
            if db.backend != db::Backend::Postgres {
                return Err(AppError::config(
                    "several nodes (--cluster) need PostgreSQL: give --database-url postgres://… (an SQLite file belongs to one node)",
                ));
            }
            let name = db.name().await?;
            nats::NatsBroker::connect(options, &name, clock.clone()).await?
        }
    };
    let listener = bind(listen).await?;
    match tls {
        None => {
            serve_configured(
                db,
                broker,
                clock,
                listener,
                std::future::pending(),
                configure,
            )
            .await
        }
        Some(config) => {
            let listener = tls::TlsListener::new(listener, config)
                .map_err(|e| AppError::config(format!("cannot listen on {listen}: {e}")))?;
            serve_configured(
                db,
                broker,
                clock,
                listener,
                std::future::pending(),
                configure,
            )
            .await
        }
    }
}

/// Binds the listening socket, with an error that says what to do when the port is taken.
pub async fn bind(listen: SocketAddr) -> Result<tokio::net::TcpListener, AppError> {
    tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        AppError::config(format!(
            "cannot listen on {listen}: {e} (is another server running there? pick another with --listen)"
        ))
    })
}

/// Loads the state from `db` and serves on `listener` (plain TCP, or a [`tls::TlsListener`])
/// until `shutdown` resolves or [`Running::stop`] is called. Changes reach connections through `broker` (one node:
/// [`broker::InProcess`]); everything the server reads time from is `clock`, so tests run it on a
/// clock they move by hand.
pub async fn serve<L>(
    db: db::Db,
    broker: Arc<dyn broker::Broker>,
    clock: SharedClock,
    listener: L,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Running, AppError>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
    Peer: for<'a> axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, L>>,
{
    serve_configured(db, broker, clock, listener, shutdown, None).await
}

/// [`serve`], with `configure` applied before the first request is served.
pub async fn serve_configured<L>(
    db: db::Db,
    broker: Arc<dyn broker::Broker>,
    clock: SharedClock,
    listener: L,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    configure: Option<Configure>,
) -> Result<Running, AppError>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
    Peer: for<'a> axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, L>>,
{
    let (stop, stop_rx) = watch::channel(false);
    let app = App::start(db, broker, clock, stop_rx.clone()).await?;
    let addr = listener
        .local_addr()
        .map_err(|e| AppError::config(e.to_string()))?;
    // Until the configuration says where people reach it (behind TLS the binary sets https).
    app.set_public_url(&format!("http://{addr}"));
    if let Some(configure) = configure {
        configure(&app)?;
    }
    let router = api::router(app.clone());
    let mut stopped = stop_rx;
    let on_shutdown = stop.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = on_shutdown.send(true);
    });
    let task = tokio::spawn(async move {
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<Peer>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
        .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the server stopped with an error");
        }
    });
    tracing::info!(%addr, backend = ?app.db.backend, "listening");
    Ok(Running {
        addr,
        app,
        stop,
        task,
    })
}
