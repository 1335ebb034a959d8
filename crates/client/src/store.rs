//! The local store: an SQLite file in the user's data directory (WAL, migrations). Every
//! notification that arrives is written here, durably, before it is shown; the outbox holds
//! changes until the server acknowledges them; the last team snapshot lets the panel show
//! something offline.

use presence::SelfView;
use presence::{Delivery, Timestamp};
use protocol::{ClientMessage, Member, Notification, NotificationSeq, RequestId};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::{Path, PathBuf};
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the local database {path} is in use by another Presently: quit the other one first")]
    Locked { path: PathBuf },
    #[error("the local database {path} was damaged; it was moved to {moved_to} and a new one started (nothing in it was deleted)")]
    Corrupt { path: PathBuf, moved_to: PathBuf },
    #[error("the disk is full: free some space; nothing stored so far was lost")]
    DiskFull,
    #[error("cannot open the local database {path}: {detail}")]
    Open { path: PathBuf, detail: String },
    #[error("the local database failed: {0}")]
    Other(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.message().contains("full") => StoreError::DiskFull,
            _ => StoreError::Other(e.to_string()),
        }
    }
}

/// One row of the missed-notification center.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CenterEntry {
    pub notification: Notification,
    pub received_at: Timestamp,
    /// A desktop notification was shown for it here.
    pub shown: bool,
    /// Held during Do not disturb or a pause and not yet summarised: highlighted.
    pub missed: bool,
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    pub path: PathBuf,
}

/// The default store, in the person's local application data: `$XDG_DATA_HOME/presently/client.db`
/// (or `~/.local/share/…`) on Linux, `%LOCALAPPDATA%\Presently\client.db` on Windows,
/// `~/Library/Application Support/Presently/client.db` on macOS.
pub fn default_path() -> PathBuf {
    let folder = if cfg!(any(windows, target_os = "macos")) {
        "Presently"
    } else {
        "presently"
    };
    let base = dirs::data_local_dir().unwrap_or_else(|| PathBuf::from("."));
    base.join(folder).join("client.db")
}

/// Renames a damaged store. On Windows a file is renamed only once every handle on it is
/// closed, and SQLite's closes a moment after a failed open: a sharing violation is retried for
/// up to two seconds.
async fn move_aside(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut tries = 0;
    loop {
        match std::fs::rename(from, to) {
            Err(e) if cfg!(windows) && e.raw_os_error() == Some(32) && tries < 40 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            done => return done,
        }
    }
}

impl Store {
    /// Opens or creates the store. A damaged file is moved aside (kept, never deleted) and a
    /// new one started; a file locked by another process is an error that says so.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.into(),
                detail: e.to_string(),
            })?;
        }
        match Store::try_open(path).await {
            Ok(s) => Ok(s),
            Err(StoreError::Other(detail))
                if detail.contains("not a database") || detail.contains("malformed") =>
            {
                let moved_to = path.with_extension(format!(
                    "corrupt-{}.db",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S")
                ));
                move_aside(path, &moved_to)
                    .await
                    .map_err(|e| StoreError::Open {
                        path: path.into(),
                        detail: format!("it is damaged and could not be moved aside: {e}"),
                    })?;
                for ext in ["db-wal", "db-shm"] {
                    let _ = std::fs::remove_file(path.with_extension(ext));
                }
                tracing::warn!(path = %path.display(), moved_to = %moved_to.display(), "the local database was damaged");
                let store = Store::try_open(path).await?;
                // The app shows this once (StoreError::Corrupt says what happened).
                store
                    .set("recovered_from", &moved_to.display().to_string())
                    .await?;
                Ok(store)
            }
            Err(e) => Err(e),
        }
    }

    async fn try_open(path: &Path) -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a notification is on disk before it is shown.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(2))
            .pragma("locking_mode", "NORMAL");
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| classify(path, e))?;
        if let Err(e) = MIGRATOR.run(&pool).await {
            // Closed before the caller moves a damaged file aside: Windows cannot rename a
            // file that is still open.
            pool.close().await;
            return Err(match e {
                sqlx::migrate::MigrateError::Execute(e) => classify(path, e),
                other => StoreError::Other(other.to_string()),
            });
        }
        Ok(Store {
            pool,
            path: path.into(),
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    // ---- small values -------------------------------------------------------------------------

    pub async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query("SELECT value FROM kv WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get(0)))
    }

    pub async fn set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn remove(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM kv WHERE key = ?")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The newest notification sequence stored: where to resume.
    pub async fn cursor(&self) -> Result<Option<NotificationSeq>, StoreError> {
        let n: Option<i64> = sqlx::query("SELECT MAX(seq) FROM notifications")
            .fetch_one(&self.pool)
            .await?
            .get(0);
        Ok(n.map(|n| NotificationSeq(n as u64)))
    }

    pub async fn save_team(&self, members: &[Member], at: Timestamp) -> Result<(), StoreError> {
        let value = serde_json::json!({ "at": at, "members": members });
        self.set("team_snapshot", &value.to_string()).await
    }

    /// The last team snapshot and when it was taken (the panel marks it stale offline).
    pub async fn team(&self) -> Result<Option<(Vec<Member>, Timestamp)>, StoreError> {
        let Some(raw) = self.get("team_snapshot").await? else {
            return Ok(None);
        };
        #[derive(serde::Deserialize)]
        struct Saved {
            at: Timestamp,
            members: Vec<Member>,
        }
        Ok(serde_json::from_str::<Saved>(&raw)
            .ok()
            .map(|s| (s.members, s.at)))
    }

    pub async fn save_self(&self, view: &SelfView) -> Result<(), StoreError> {
        self.set(
            "self_view",
            &serde_json::to_string(view).expect("serializes"),
        )
        .await
    }

    pub async fn self_view(&self) -> Result<Option<SelfView>, StoreError> {
        Ok(self
            .get("self_view")
            .await?
            .and_then(|raw| serde_json::from_str(&raw).ok()))
    }

    // ---- the center -----------------------------------------------------------------------------

    /// Stores a notification once (by its sequence). True when it is new. Durable on return.
    pub async fn insert(
        &self,
        n: &Notification,
        received_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let held = matches!(n.delivery, Delivery::Hold { .. });
        let done = sqlx::query(
            "INSERT INTO notifications (seq, title, body, sender, urgent, created_at, delivery, is_read, dismissed, received_at, shown, missed, link) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) ON CONFLICT (seq) DO NOTHING",
        )
        .bind(n.seq.0 as i64)
        .bind(&n.title)
        .bind(&n.body)
        .bind(n.sender.as_ref().map(|s| s.as_str().to_string()))
        .bind(n.urgent)
        .bind(n.created_at.0)
        .bind(serde_json::to_string(&n.delivery).expect("serializes"))
        .bind(n.read)
        .bind(n.dismissed)
        .bind(received_at.0)
        .bind(held && !n.read && !n.dismissed)
        .bind(n.link.as_ref().map(|l| l.as_str().to_string()))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn mark_shown(&self, seq: NotificationSeq) -> Result<(), StoreError> {
        sqlx::query("UPDATE notifications SET shown = 1 WHERE seq = ?")
            .bind(seq.0 as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Applies a read or dismissal (from here or another device).
    pub async fn apply_change(
        &self,
        seqs: &[NotificationSeq],
        read: bool,
        dismissed: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for s in seqs {
            sqlx::query(
                "UPDATE notifications SET is_read = MAX(is_read, ?), dismissed = MAX(dismissed, ?), missed = CASE WHEN ? OR ? THEN 0 ELSE missed END WHERE seq = ?",
            )
            .bind(read)
            .bind(dismissed)
            .bind(read)
            .bind(dismissed)
            .bind(s.0 as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The center: held-as-missed first, then newest first; dismissed ones left out unless asked.
    pub async fn center(
        &self,
        include_dismissed: bool,
        limit: u32,
    ) -> Result<Vec<CenterEntry>, StoreError> {
        let filter = if include_dismissed {
            ""
        } else {
            "WHERE dismissed = 0"
        };
        let rows = sqlx::query(&format!(
            "{CENTER_COLUMNS} {filter} ORDER BY missed DESC, seq DESC LIMIT ?"
        ))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(center_entry).collect())
    }

    /// One notification of the center, dismissed or not.
    pub async fn entry(&self, seq: NotificationSeq) -> Result<Option<CenterEntry>, StoreError> {
        let row = sqlx::query(&format!("{CENTER_COLUMNS} WHERE seq = ?"))
            .bind(seq.0 as i64)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().and_then(center_entry))
    }

    pub async fn unread_count(&self) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query("SELECT COUNT(*) FROM notifications WHERE is_read = 0 AND dismissed = 0")
                .fetch_one(&self.pool)
                .await?
                .get(0);
        Ok(n as u64)
    }

    /// How many held notifications wait to be summarised.
    pub async fn missed_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM notifications WHERE missed = 1")
            .fetch_one(&self.pool)
            .await?
            .get(0);
        Ok(n as u64)
    }

    /// Every stored sequence number, ascending (tests and tools).
    pub async fn seqs(&self) -> Result<Vec<u64>, StoreError> {
        let rows = sqlx::query("SELECT seq FROM notifications ORDER BY seq")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get::<i64, _>(0) as u64).collect())
    }

    // ---- the outbox -----------------------------------------------------------------------------

    pub async fn enqueue(
        &self,
        request: &RequestId,
        message: &ClientMessage,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO outbox (request, message, created_at) VALUES (?, ?, ?) ON CONFLICT (request) DO NOTHING")
            .bind(&request.0)
            .bind(protocol::encode(message))
            .bind(now.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn acknowledge(&self, request: &RequestId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM outbox WHERE request = ?")
            .bind(&request.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// What is waiting, oldest first.
    pub async fn pending(&self) -> Result<Vec<(RequestId, ClientMessage)>, StoreError> {
        let rows = sqlx::query("SELECT request, message FROM outbox ORDER BY created_at, request")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let msg: String = r.get(1);
                protocol::decode_stored_client(&msg)
                    .ok()
                    .map(|m| (RequestId(r.get(0)), m))
            })
            .collect())
    }
}

fn classify(path: &Path, e: sqlx::Error) -> StoreError {
    let text = e.to_string();
    if text.contains("locked") || text.contains("busy") {
        StoreError::Locked { path: path.into() }
    } else if text.contains("full") {
        StoreError::DiskFull
    } else if text.contains("not a database") || text.contains("malformed") {
        StoreError::Other(text)
    } else {
        StoreError::Open {
            path: path.into(),
            detail: text,
        }
    }
}

const CENTER_COLUMNS: &str = "SELECT seq, title, body, sender, urgent, created_at, delivery, is_read, dismissed, received_at, shown, missed, link FROM notifications";

/// A stored row as the center shows it; a row that no longer decodes is left out, not fatal.
fn center_entry(r: &sqlx::sqlite::SqliteRow) -> Option<CenterEntry> {
    let sender: Option<String> = r.get(3);
    let link: Option<String> = r.get(12);
    Some(CenterEntry {
        notification: Notification {
            seq: NotificationSeq(r.get::<i64, _>(0) as u64),
            title: r.get(1),
            body: r.get(2),
            sender: sender.and_then(|s| presence::UserId::parse(s).ok()),
            urgent: r.get(4),
            created_at: Timestamp(r.get(5)),
            delivery: serde_json::from_str(&r.get::<String, _>(6)).ok()?,
            read: r.get(7),
            dismissed: r.get(8),
            link: link.and_then(|l| protocol::Link::parse(l).ok()),
        },
        received_at: Timestamp(r.get(9)),
        shown: r.get(10),
        missed: r.get(11),
    })
}
