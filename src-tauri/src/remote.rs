//! The app connected to a server: a thin shell around the client core (`crates/client`). Sync,
//! the local store, auto-away and desktop notifications all live there; this keeps the latest
//! views for the tray and the window and turns sync events into redraws.

use clock::SharedClock;
use presence::{SelfView, StatusEntry};
use presently_client::api::Api;
use presently_client::idle;
use presently_client::notifier::DesktopNotifier;
use presently_client::server::{Server, Trust};
use presently_client::session::{Session, SessionError};
use presently_client::store::Store;
use presently_client::sync::{self, Command, Connection, Event, Options, SyncHandle};
use protocol::ipc::{CenterItem, TeamPanel};
use protocol::NotificationSeq;
use std::sync::Mutex;

/// Where the app connects, from the environment or what the store remembers.
#[derive(Clone)]
pub struct Config {
    pub server: String,
    pub email: Option<String>,
    pub password: Option<String>,
}

pub struct Remote {
    pub sync: SyncHandle,
    pub notifier: std::sync::Arc<DesktopNotifier>,
    pub server: String,
    pub store: Store,
    pub api: Api,
    pub token: String,
    /// People's photos kept on this computer, beside the store.
    pub faces: presently_client::faces::Faces,
    view: Mutex<View>,
    /// Subscribed before sync starts, so the first events are not missed; taken by the
    /// forwarding task.
    pub events: Mutex<Option<tokio::sync::broadcast::Receiver<Event>>>,
    /// The applications that make a call when they use the microphone (store key `call_apps`).
    pub call_apps: presently_client::calls::CallApps,
    /// Why auto-away cannot work on this session, said in Settings; none when it works.
    pub auto_away_unavailable: Option<String>,
    /// How the desktop's own Do not disturb and Presently's follow each other (store keys
    /// `desktop_dnd`, `quiet_desktop`), and why they cannot here, if they cannot.
    pub desktop_dnd: presently_client::desktop_dnd::Shared,
    /// Filled in once the desktop has been looked at (that is done off the start's path).
    pub desktop_dnd_unavailable: std::sync::Arc<std::sync::RwLock<Option<String>>>,
}

/// What the app shows beside the client core's own copies (the self view and the team, read
/// from [`SyncHandle`]): written by the presenter alone, as it applies events.
#[derive(Default)]
struct View {
    statuses: Vec<StatusEntry>,
    connection: String,
    unread: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Store(#[from] presently_client::store::StoreError),
    #[error("{0}")]
    Session(#[from] SessionError),
}

impl StartError {
    /// Worth trying again later (the server is not up yet, or the network is down), as opposed
    /// to wrong credentials or a broken store.
    pub fn is_transient(&self) -> bool {
        matches!(self, StartError::Session(e) if e.is_transient())
    }
}

/// Opens this installation's store: `PRESENTLY_STORE`, or the default path in the person's data
/// directory.
pub async fn open_store() -> Result<Store, presently_client::store::StoreError> {
    let path = std::env::var_os("PRESENTLY_STORE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(presently_client::store::default_path);
    Store::open(&path).await
}

impl Remote {
    /// Signs in when needed, and starts sync, auto-away and notifications on `store`.
    pub async fn start(
        config: Config,
        clock: SharedClock,
        store: Store,
    ) -> Result<Remote, StartError> {
        let credentials = config.email.as_deref().zip(config.password.as_deref());
        let server = Server::new(&config.server, &Trust::from_env()).map_err(SessionError::from)?;
        let session = Session::resume(&store, &server, credentials).await?;
        let api = session.api();
        let (token, device) = (session.token, session.device);
        let notifier = std::sync::Arc::new(DesktopNotifier::new("presently"));
        notifier.set_enabled(store.get("desktop_notifications").await?.as_deref() != Some("off"));
        let (sync, _task) = sync::spawn(
            store.clone(),
            notifier.clone(),
            Options {
                clock: clock.clone(),
                faces: Some(presently_client::faces::Faces::beside(&store.path)),
                ..Options::new(&server, &token, device)
            },
        );
        let events = sync.subscribe();
        let source = idle::detect();
        let auto_away_unavailable = idle::unavailable(source.as_ref());
        if let Some(why) = &auto_away_unavailable {
            tracing::warn!("{why}");
        }
        tokio::spawn(idle::run(
            source,
            sync.clone(),
            std::time::Duration::from_secs(5),
            std::time::Duration::from_secs(30),
            idle::watch_lock(sync.clone()),
        ));
        idle::watch_sleep(sync.clone(), tokio::runtime::Handle::current());
        let call_apps: presently_client::calls::CallApps =
            std::sync::Arc::new(std::sync::RwLock::new(
                presently_client::calls::from_setting(store.get("call_apps").await?.as_deref()),
            ));
        tokio::spawn(presently_client::calls::run(
            sync.clone(),
            call_apps.clone(),
            std::time::Duration::from_secs(2),
        ));
        let desktop_dnd: presently_client::desktop_dnd::Shared =
            std::sync::Arc::new(std::sync::RwLock::new(desktop_dnd_options(&store).await));
        let desktop_dnd_unavailable = std::sync::Arc::new(std::sync::RwLock::new(None));
        {
            let (sync, store, options, clock, unavailable) = (
                sync.clone(),
                store.clone(),
                desktop_dnd.clone(),
                clock.clone(),
                desktop_dnd_unavailable.clone(),
            );
            tokio::spawn(async move {
                use presently_client::desktop_dnd;
                let found = tokio::task::spawn_blocking(desktop_dnd::detect)
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|d| d);
                match found {
                    Ok(desktop) => {
                        tracing::info!(
                            desktop = desktop.name(),
                            "following the desktop's Do not disturb"
                        );
                        desktop_dnd::run(
                            sync,
                            store,
                            desktop,
                            options,
                            std::time::Duration::from_secs(2),
                            clock,
                        )
                        .await
                    }
                    Err(reason) => {
                        tracing::info!(%reason, "the desktop's Do not disturb is not followed");
                        if let Ok(mut u) = unavailable.write() {
                            *u = Some(reason);
                        }
                    }
                }
            });
        }
        let view = View {
            connection: "Connecting…".into(),
            unread: store.unread_count().await.unwrap_or(0),
            statuses: Vec::new(),
        };
        Ok(Remote {
            sync,
            notifier,
            server: server.address(),
            faces: presently_client::faces::Faces::beside(&store.path),
            store,
            api,
            token,
            view: Mutex::new(view),
            events: Mutex::new(Some(events)),
            call_apps,
            auto_away_unavailable,
            desktop_dnd,
            desktop_dnd_unavailable,
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut View) -> T) -> T {
        let mut v = self.view.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut v)
    }

    /// Sends a person's change and waits, at most `wait`, until the server has applied it. The
    /// server sends a change's effects before its ack, and the client core keeps them before it
    /// says so, so after the answer [`Remote::me`] shows the change. Refused: the server's
    /// reason. No answer in time (offline, slow): `Ok`, and the change waits in the outbox.
    pub async fn apply_change(
        &self,
        change: presence::Change,
        wait: std::time::Duration,
    ) -> Result<(), protocol::WireError> {
        use tokio::sync::broadcast::error::RecvError;
        let mut events = self.sync.subscribe();
        let Some(request) = self.sync.send(Command::Change(change)).await else {
            return Ok(());
        };
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Err(_) | Ok(Err(RecvError::Closed)) => return Ok(()),
                Ok(Err(RecvError::Lagged(_))) => continue,
                Ok(Ok(Event::Applied { request: r })) if r == request => return Ok(()),
                Ok(Ok(Event::Refused { request: r, error })) if r == request => return Err(error),
                Ok(Ok(_)) => {}
            }
        }
    }

    pub fn me(&self) -> Option<SelfView> {
        self.sync.me()
    }

    pub fn statuses(&self) -> Vec<StatusEntry> {
        self.with(|v| v.statuses.clone())
    }

    pub fn unread(&self) -> u64 {
        self.with(|v| v.unread)
    }

    pub fn connection(&self) -> String {
        self.with(|v| v.connection.clone())
    }

    pub fn team(&self) -> TeamPanel {
        self.sync.team()
    }

    pub async fn center(&self) -> Vec<CenterItem> {
        self.store
            .center(false, 500)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|e| CenterItem {
                notification: e.notification,
                missed: e.missed,
            })
            .collect()
    }

    pub async fn refresh_statuses(&self) {
        if let Ok(list) = self.api.statuses(&self.token).await {
            self.with(|view| view.statuses = list.statuses);
        }
    }

    pub fn send(&self, command: Command) {
        let sync = self.sync.clone();
        tauri::async_runtime::spawn(async move {
            sync.send(command).await;
        });
    }

    pub fn mark(&self, seqs: Vec<u64>, dismiss: bool) {
        let seqs: Vec<NotificationSeq> = seqs.into_iter().map(NotificationSeq).collect();
        self.send(if dismiss {
            Command::Dismiss(seqs)
        } else {
            Command::MarkRead(seqs)
        });
    }

    /// Opens a notification from the center or a desktop notification's button: marks it read
    /// on every device and returns where it links to, if anywhere.
    pub async fn open(
        &self,
        seq: u64,
    ) -> Result<Option<protocol::Link>, presently_client::store::StoreError> {
        let entry = self.store.entry(NotificationSeq(seq)).await?;
        if entry.as_ref().is_some_and(|e| !e.notification.read) {
            self.mark(vec![seq], false);
        }
        Ok(entry.and_then(|e| e.notification.link))
    }

    /// Applies one sync event to the views (the presenter does, and no one else). Returns what
    /// changed, for the window and the tray.
    pub async fn apply(&self, event: &Event) -> Changed {
        let mut changed = Changed::default();
        match event {
            Event::Connection(c) => {
                let text = match c {
                    Connection::Connecting => "Connecting…".to_string(),
                    Connection::Online => "Connected".to_string(),
                    Connection::Offline {
                        reason,
                        retry_in_ms,
                    } => format!(
                        "Offline: {reason}; retrying in {} s",
                        retry_in_ms.div_ceil(1000)
                    ),
                    Connection::SignedOut { reason } => format!("Signed out: {reason}"),
                };
                if matches!(c, Connection::Online) {
                    self.refresh_statuses().await;
                }
                self.with(|v| v.connection = text);
                // The team's "offline" mark comes and goes with the connection.
                changed.team = true;
                changed.presence = true;
            }
            Event::SelfView { .. } => changed.presence = true,
            Event::Delta { .. } | Event::Glances { .. } => changed.team = true,
            // A team snapshot may carry the person's own new name or photo too.
            Event::Team { .. } => {
                changed.team = true;
                changed.presence = true;
            }
            Event::Statuses { statuses } => {
                self.with(|v| v.statuses = statuses.clone());
                changed.presence = true;
            }
            Event::Notification { .. } | Event::CenterChanged | Event::Missed { .. } => {
                let unread = self.store.unread_count().await.unwrap_or(0);
                self.with(|v| v.unread = unread);
                changed.center = true;
                changed.presence = true;
            }
            _ => {}
        }
        changed
    }
}

/// What an event changed, for the presenter to redraw.
#[derive(Debug, Default)]
pub struct Changed {
    pub presence: bool,
    pub team: bool,
    pub center: bool,
}

impl Changed {
    pub fn everything() -> Changed {
        Changed {
            presence: true,
            team: true,
            center: true,
        }
    }
}

/// This computer's choice for the desktop's Do not disturb, from the store (follow with Do not
/// disturb and quiet the desktop, unless set otherwise).
pub async fn desktop_dnd_options(store: &Store) -> (presently_client::desktop_dnd::Follow, bool) {
    use presently_client::desktop_dnd::Follow;
    let follow = store
        .get("desktop_dnd")
        .await
        .ok()
        .flatten()
        .and_then(|f| Follow::parse(&f).ok())
        .unwrap_or_default();
    let quiet = store.get("quiet_desktop").await.ok().flatten().as_deref() != Some("off");
    (follow, quiet)
}
