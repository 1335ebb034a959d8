//! The app connected to a server: a thin shell around the client core (`crates/client`). Sync,
//! the local store, auto-away and desktop notifications all live there; this keeps the latest
//! views for the tray and the window and turns sync events into redraws.

use presence::{DeviceId, SelfView, StatusEntry, StatusId, Timestamp};
use presently_client::api::Api;
use presently_client::idle;
use presently_client::notifier::DesktopNotifier;
use presently_client::store::Store;
use presently_client::sync::{self, Command, Connection, Event, Options, SyncHandle};
use protocol::ipc::{CenterItem, TeamPanel};
use protocol::{Member, NotificationSeq};
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
    view: Mutex<View>,
    /// Subscribed before sync starts, so the first events are not missed; taken by the
    /// forwarding task.
    pub events: Mutex<Option<tokio::sync::broadcast::Receiver<Event>>>,
}

#[derive(Default)]
struct View {
    me: Option<SelfView>,
    statuses: Vec<StatusEntry>,
    members: Vec<Member>,
    stale_since: Option<Timestamp>,
    connection: String,
    unread: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Store(#[from] presently_client::store::StoreError),
    #[error("{0}")]
    Api(#[from] presently_client::api::ApiError),
    #[error("not signed in to {0}: set PRESENTLY_EMAIL and PRESENTLY_PASSWORD, or run presently-cli login")]
    NoToken(String),
}

impl StartError {
    /// Worth trying again later (the server is not up yet, or the network is down), as opposed
    /// to wrong credentials or a broken store.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StartError::Api(presently_client::api::ApiError::Unreachable { .. })
        )
    }
}

impl Remote {
    /// Opens the store, signs in when needed, and starts sync, auto-away and notifications.
    pub async fn start(config: Config) -> Result<Remote, StartError> {
        let path = std::env::var_os("PRESENTLY_STORE")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(presently_client::store::default_path);
        let store = Store::open(&path).await?;
        let api = Api::new(&config.server);
        let same_server = store.get("server").await?.as_deref() == Some(config.server.as_str());
        let mut stored = if same_server {
            store.get("token").await?
        } else {
            None
        };
        // A remembered token the server no longer knows (its database was reset, or the device
        // was signed out) is replaced by a fresh sign-in when credentials are given.
        if let (Some(t), Some(_), Some(_)) = (&stored, &config.email, &config.password) {
            if let Err(presently_client::api::ApiError::Refused { status: 401, .. }) =
                api.get(t, "/me").await
            {
                stored = None;
            }
        }
        let device = store
            .get("device")
            .await?
            .unwrap_or_else(|| "desktop".into());
        let token = match (stored, &config.email, &config.password) {
            (Some(t), _, _) => t,
            (None, Some(email), Some(password)) => {
                let t = api.sign_in(email, password, &device).await?;
                store.set("server", &config.server).await?;
                store.set("token", &t).await?;
                store.set("device", &device).await?;
                t
            }
            _ => return Err(StartError::NoToken(config.server)),
        };
        let device =
            DeviceId::parse(device).unwrap_or_else(|_| DeviceId::parse("desktop").expect("valid"));
        let notifier = std::sync::Arc::new(DesktopNotifier::new("presently"));
        notifier.set_enabled(store.get("desktop_notifications").await?.as_deref() != Some("off"));
        let (sync, _task) = sync::spawn(
            store.clone(),
            notifier.clone(),
            Options::new(&config.server, &token, device),
        );
        let events = sync.subscribe();
        let source = idle::detect();
        tokio::spawn(idle::run(
            source,
            sync.clone(),
            std::time::Duration::from_secs(5),
            std::time::Duration::from_secs(30),
        ));
        idle::watch_sleep(sync.clone(), tokio::runtime::Handle::current());
        let (members, stale_since) = match store.team().await.ok().flatten() {
            Some((members, at)) => (members, Some(at)),
            None => (Vec::new(), None),
        };
        let view = View {
            me: store.self_view().await.ok().flatten(),
            members,
            stale_since,
            connection: "Connecting…".into(),
            unread: store.unread_count().await.unwrap_or(0),
            statuses: Vec::new(),
        };
        Ok(Remote {
            sync,
            notifier,
            server: config.server.clone(),
            store,
            api,
            token,
            view: Mutex::new(view),
            events: Mutex::new(Some(events)),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut View) -> T) -> T {
        let mut v = self.view.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut v)
    }

    pub fn me(&self) -> Option<SelfView> {
        self.with(|v| v.me.clone())
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
        self.with(|v| TeamPanel {
            members: v.members.clone(),
            stale_since: v.stale_since,
        })
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
        if let Ok(v) = self.api.get(&self.token, "/statuses").await {
            if let Ok(list) = serde_json::from_value::<Vec<StatusEntry>>(v["statuses"].clone()) {
                self.with(|view| view.statuses = list);
            }
        }
    }

    pub fn send(&self, command: Command) {
        let sync = self.sync.clone();
        tauri::async_runtime::spawn(async move {
            sync.send(command).await;
        });
    }

    pub fn choose(&self, status: StatusId, until: Option<Timestamp>) {
        self.send(Command::SetStatus { status, until });
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

    /// Applies one sync event to the views. Returns what changed, for the window.
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
                    // The panel drops its "offline" mark (the fresh snapshot follows).
                    self.with(|v| v.stale_since = None);
                    changed.team = true;
                } else if !matches!(c, Connection::Connecting) {
                    self.with(|v| {
                        v.stale_since.get_or_insert(crate::clock::now());
                    });
                    changed.team = true;
                }
                self.with(|v| v.connection = text);
                changed.presence = true;
            }
            Event::SelfView { view } => {
                self.with(|v| v.me = Some(view.clone()));
                changed.presence = true;
            }
            Event::Team { members } => {
                self.with(|v| v.members = members.clone());
                changed.team = true;
            }
            Event::Delta { user, view } => {
                self.with(|v| {
                    if let Some(m) = v.members.iter_mut().find(|m| &m.user == user) {
                        m.view = view.clone();
                    }
                });
                changed.team = true;
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

#[derive(Default)]
pub struct Changed {
    pub presence: bool,
    pub team: bool,
    pub center: bool,
}
