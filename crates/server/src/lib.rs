//! The Presently server: accounts, real-time presence over WebSocket, notifications, integrations
//! and routing. The `presence` engine decides everything; this crate stores, times and fans out
//! what it decides. See `docs/server.md`.

pub mod api;
pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod hub;
pub mod openapi;
pub mod ws;

use app::App;
use error::AppError;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

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
        self.app.db.close().await;
    }
}

/// Opens the database, loads the state and serves on `listen` (port 0: any free port).
pub async fn start(database_url: &str, listen: SocketAddr) -> Result<Running, AppError> {
    let db = db::Db::connect(database_url).await?;
    let (stop, stop_rx) = watch::channel(false);
    let app = App::start(db, stop_rx.clone()).await?;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        AppError::config(format!(
            "cannot listen on {listen}: {e} (is another server running there? pick another with --listen)"
        ))
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| AppError::config(e.to_string()))?;
    let router = api::router(app.clone());
    let mut shutdown = stop_rx;
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|s| *s).await;
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
