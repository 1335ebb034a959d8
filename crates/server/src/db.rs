//! Storage: one code path for SQLite (the default, an embedded file) and PostgreSQL, through
//! sqlx's `Any` driver. Queries use `$1` placeholders, which both databases accept, and only
//! portable types (TEXT, BIGINT). Every write that must happen together is one transaction.

use crate::error::AppError;
use presence::{Catalog, OrgPolicy, Person, WeeklyWindow};
use protocol::{Notification, NotificationSeq};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use std::path::Path;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    pub backend: Backend,
}

#[derive(Debug, Clone)]
pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub policy: OrgPolicy,
    pub catalog: Catalog,
    pub quiet_hours: Vec<WeeklyWindow>,
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub state: Person,
    pub applied_requests: Vec<String>,
    pub notification_seq: u64,
    pub last_assigned: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub user_id: String,
    pub device_id: String,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub id: String,
    pub org_id: String,
    pub revoked: bool,
}

/// A new notification, before it has a sequence number.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub external_id: Option<String>,
    pub title: String,
    pub body: String,
    pub sender: Option<String>,
    pub urgent: bool,
    pub created_at: i64,
    pub delivery: presence::Delivery,
    pub link: Option<protocol::Link>,
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("stored types serialize to JSON")
}

fn parse<T: serde::de::DeserializeOwned>(raw: &str, what: &str) -> Result<T, AppError> {
    serde_json::from_str(raw).map_err(|e| {
        AppError::internal(format!(
            "the stored {what} cannot be read ({e}): the database was changed by something else"
        ))
    })
}

impl Db {
    /// Opens (and for SQLite creates) the database and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Db, AppError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(AppError::config(format!(
                "the database URL must start with sqlite: or postgres:, not \"{}\"",
                url.split(':').next().unwrap_or_default()
            )));
        };
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_string(),
        };
        let options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(10))
            .max_connections(match backend {
                // SQLite takes one writer at a time, and a writer that finds the lock taken
                // sleeps and retries (milliseconds each time). One connection, queued fairly by
                // the pool, keeps every write short and the latency flat.
                Backend::Sqlite => 1,
                Backend::Postgres => 16,
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = NORMAL",
                            "PRAGMA busy_timeout = 10000",
                            "PRAGMA foreign_keys = ON",
                        ] {
                            conn.execute(pragma).await?;
                        }
                    }
                    Ok(())
                })
            });
        let pool = options.connect(&url).await.map_err(|e| {
            AppError::config(format!(
                "cannot open the database ({e}): check DATABASE_URL and that the server or directory is reachable"
            ))
        })?;
        MIGRATOR.run(&pool).await.map_err(|e| {
            AppError::config(format!("cannot bring the database schema up to date: {e}"))
        })?;
        Ok(Db { pool, backend })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    // ---- organisations and teams -------------------------------------------------------

    pub async fn create_org(&self, id: &str, name: &str, now: i64) -> Result<OrgRow, AppError> {
        let org = OrgRow {
            id: id.into(),
            name: name.into(),
            policy: OrgPolicy::default(),
            catalog: Catalog::with_default_custom(),
            quiet_hours: Vec::new(),
        };
        sqlx::query(
            "INSERT INTO orgs (id, name, policy, catalog, quiet_hours, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&org.id)
        .bind(&org.name)
        .bind(json(&org.policy))
        .bind(json(&org.catalog))
        .bind(json(&org.quiet_hours))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(org)
    }

    pub async fn orgs(&self) -> Result<Vec<OrgRow>, AppError> {
        let rows = sqlx::query(
            "SELECT id, name, policy, catalog, quiet_hours FROM orgs ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(org_row).collect()
    }

    pub async fn org_by_name(&self, name: &str) -> Result<Option<OrgRow>, AppError> {
        let row =
            sqlx::query("SELECT id, name, policy, catalog, quiet_hours FROM orgs WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(org_row).transpose()
    }

    pub async fn save_org_rules(&self, org: &OrgRow) -> Result<(), AppError> {
        sqlx::query("UPDATE orgs SET policy = $1, catalog = $2, quiet_hours = $3 WHERE id = $4")
            .bind(json(&org.policy))
            .bind(json(&org.catalog))
            .bind(json(&org.quiet_hours))
            .bind(&org.id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn create_team(
        &self,
        id: &str,
        org_id: &str,
        name: &str,
        now: i64,
    ) -> Result<(), AppError> {
        sqlx::query("INSERT INTO teams (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(org_id)
            .bind(name)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every team: (id, org, name).
    pub async fn teams(&self) -> Result<Vec<(String, String, String)>, AppError> {
        let rows = sqlx::query("SELECT id, org_id, name FROM teams ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// Every membership: (team, user).
    pub async fn memberships(&self) -> Result<Vec<(String, String)>, AppError> {
        let rows =
            sqlx::query("SELECT team_id, user_id FROM team_members ORDER BY team_id, user_id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub async fn add_member(&self, team_id: &str, user_id: &str) -> Result<(), AppError> {
        sqlx::query("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)")
            .bind(team_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- users ------------------------------------------------------------------------------

    pub async fn create_user(&self, user: &UserRow, now: i64) -> Result<(), AppError> {
        sqlx::query(
            "INSERT INTO users (id, org_id, email, name, password_hash, role, state, applied_requests, next_deadline, notification_seq, last_assigned, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, 0, NULL, $9)",
        )
        .bind(&user.id)
        .bind(&user.org_id)
        .bind(&user.email)
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(json(&user.state))
        .bind(json(&user.applied_requests))
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => AppError::conflict(format!(
                "a user with the email {} already exists",
                user.email
            )),
            _ => e.into(),
        })?;
        Ok(())
    }

    pub async fn users(&self) -> Result<Vec<UserRow>, AppError> {
        let rows = sqlx::query(&format!("{USER_COLUMNS} ORDER BY created_at, id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_row).collect()
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, AppError> {
        let row = sqlx::query(&format!("{USER_COLUMNS} WHERE email = $1"))
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_row).transpose()
    }

    /// Stores a person's presence state, with the request that changed it (if any) recorded
    /// as applied, in one write.
    pub async fn save_state(
        &self,
        user_id: &str,
        state: &Person,
        applied_requests: &[String],
        next_deadline: Option<i64>,
    ) -> Result<(), AppError> {
        sqlx::query(
            "UPDATE users SET state = $1, applied_requests = $2, next_deadline = $3 WHERE id = $4",
        )
        .bind(json(state))
        .bind(json(&applied_requests))
        .bind(next_deadline)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_last_assigned(&self, user_id: &str, at: i64) -> Result<(), AppError> {
        sqlx::query("UPDATE users SET last_assigned = $1 WHERE id = $2")
            .bind(at)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- device tokens and API keys ---------------------------------------------------------

    pub async fn insert_token(
        &self,
        hash: &str,
        user_id: &str,
        device_id: &str,
        now: i64,
    ) -> Result<(), AppError> {
        sqlx::query(
            "INSERT INTO device_tokens (token_hash, user_id, device_id, created_at, revoked_at) VALUES ($1, $2, $3, $4, NULL)",
        )
        .bind(hash)
        .bind(user_id)
        .bind(device_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn token(&self, hash: &str) -> Result<Option<TokenRow>, AppError> {
        let row = sqlx::query(
            "SELECT user_id, device_id, revoked_at FROM device_tokens WHERE token_hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| TokenRow {
            user_id: r.get(0),
            device_id: r.get(1),
            revoked: r.get::<Option<i64>, _>(2).is_some(),
        }))
    }

    pub async fn revoke_token(&self, hash: &str, now: i64) -> Result<(), AppError> {
        sqlx::query(
            "UPDATE device_tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn insert_key(
        &self,
        hash: &str,
        id: &str,
        org_id: &str,
        name: &str,
        now: i64,
    ) -> Result<(), AppError> {
        sqlx::query(
            "INSERT INTO api_keys (key_hash, id, org_id, name, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(hash)
        .bind(id)
        .bind(org_id)
        .bind(name)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn key(&self, hash: &str) -> Result<Option<KeyRow>, AppError> {
        let row = sqlx::query("SELECT id, org_id, revoked_at FROM api_keys WHERE key_hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| KeyRow {
            id: r.get(0),
            org_id: r.get(1),
            revoked: r.get::<Option<i64>, _>(2).is_some(),
        }))
    }

    pub async fn revoke_key(&self, id: &str, now: i64) -> Result<bool, AppError> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    // ---- notifications ----------------------------------------------------------------------

    /// Stores a notification under the user's next sequence number. With an external id that
    /// was seen before, returns the stored one and `false` (nothing new).
    pub async fn insert_notification(
        &self,
        user_id: &str,
        new: &NewNotification,
    ) -> Result<(Notification, bool), AppError> {
        let mut tx = self.pool.begin().await?;
        if let Some(ext) = &new.external_id {
            let existing = sqlx::query(&format!(
                "{NOTIFICATION_COLUMNS} WHERE user_id = $1 AND external_id = $2"
            ))
            .bind(user_id)
            .bind(ext)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = existing {
                return Ok((notification_row(&row)?, false));
            }
        }
        // Taking the next number is the first write, so the row lock (PostgreSQL) or the
        // write lock (SQLite) orders concurrent inserts for the same user.
        sqlx::query("UPDATE users SET notification_seq = notification_seq + 1 WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let seq: i64 = sqlx::query("SELECT notification_seq FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
        sqlx::query(
            "INSERT INTO notifications (user_id, seq, external_id, title, body, sender, urgent, created_at, delivery, is_read, dismissed, link) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, $10)",
        )
        .bind(user_id)
        .bind(seq)
        .bind(&new.external_id)
        .bind(&new.title)
        .bind(&new.body)
        .bind(&new.sender)
        .bind(new.urgent as i64)
        .bind(new.created_at)
        .bind(json(&new.delivery))
        .bind(new.link.as_ref().map(|l| l.as_str().to_string()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let sender = new
            .sender
            .as_deref()
            .map(presence::UserId::parse)
            .transpose()
            .map_err(|e| AppError::internal(e.to_string()))?;
        Ok((
            Notification {
                seq: NotificationSeq(seq as u64),
                title: new.title.clone(),
                body: new.body.clone(),
                sender,
                urgent: new.urgent,
                created_at: presence::Timestamp(new.created_at),
                delivery: new.delivery.clone(),
                read: false,
                dismissed: false,
                link: new.link.clone(),
            },
            true,
        ))
    }

    /// Notifications after `after`, oldest first, at most `limit`.
    pub async fn notifications(
        &self,
        user_id: &str,
        after: u64,
        limit: u32,
        include_dismissed: bool,
    ) -> Result<Vec<Notification>, AppError> {
        let filter = if include_dismissed {
            ""
        } else {
            " AND dismissed = 0"
        };
        let rows = sqlx::query(&format!(
            "{NOTIFICATION_COLUMNS} WHERE user_id = $1 AND seq > $2{filter} ORDER BY seq LIMIT $3"
        ))
        .bind(user_id)
        .bind(after as i64)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(notification_row).collect()
    }

    pub async fn unread_count(&self, user_id: &str) -> Result<u64, AppError> {
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND is_read = 0 AND dismissed = 0",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?
        .get(0);
        Ok(n as u64)
    }

    pub async fn notification_cursor(&self, user_id: &str) -> Result<u64, AppError> {
        let n: i64 = sqlx::query("SELECT notification_seq FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&self.pool)
            .await?
            .get(0);
        Ok(n as u64)
    }

    /// Marks notifications read (and dismissed when asked). Returns the ones that changed;
    /// unknown numbers are ignored, so a replay changes nothing.
    pub async fn mark(
        &self,
        user_id: &str,
        seqs: &[NotificationSeq],
        dismiss: bool,
    ) -> Result<Vec<NotificationSeq>, AppError> {
        let mut changed = Vec::new();
        let mut tx = self.pool.begin().await?;
        let sql = if dismiss {
            "UPDATE notifications SET is_read = 1, dismissed = 1 WHERE user_id = $1 AND seq = $2 AND dismissed = 0"
        } else {
            "UPDATE notifications SET is_read = 1 WHERE user_id = $1 AND seq = $2 AND is_read = 0"
        };
        for seq in seqs {
            let done = sqlx::query(sql)
                .bind(user_id)
                .bind(seq.0 as i64)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() > 0 {
                changed.push(*seq);
            }
        }
        tx.commit().await?;
        Ok(changed)
    }

    pub async fn mark_all_read(&self, user_id: &str) -> Result<Vec<NotificationSeq>, AppError> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT seq FROM notifications WHERE user_id = $1 AND is_read = 0 ORDER BY seq",
        )
        .bind(user_id)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("UPDATE notifications SET is_read = 1 WHERE user_id = $1 AND is_read = 0")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows
            .iter()
            .map(|r| NotificationSeq(r.get::<i64, _>(0) as u64))
            .collect())
    }

    // ---- integrations ------------------------------------------------------------------------

    pub async fn event_seen(
        &self,
        org_id: &str,
        external_id: &str,
        kind: &str,
    ) -> Result<bool, AppError> {
        let row = sqlx::query(
            "SELECT 1 FROM integration_events WHERE org_id = $1 AND external_id = $2 AND kind = $3",
        )
        .bind(org_id)
        .bind(external_id)
        .bind(kind)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Records an integration event by the caller's id. False: seen before, apply nothing.
    pub async fn record_event(
        &self,
        org_id: &str,
        external_id: &str,
        kind: &str,
        user_id: &str,
        now: i64,
    ) -> Result<bool, AppError> {
        let done = sqlx::query(match self.backend {
            Backend::Sqlite => "INSERT OR IGNORE INTO integration_events (org_id, external_id, kind, user_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            Backend::Postgres => "INSERT INTO integration_events (org_id, external_id, kind, user_id, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        })
        .bind(org_id)
        .bind(external_id)
        .bind(kind)
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

const USER_COLUMNS: &str = "SELECT id, org_id, email, name, password_hash, role, state, applied_requests, notification_seq, last_assigned FROM users";
const NOTIFICATION_COLUMNS: &str = "SELECT seq, title, body, sender, urgent, created_at, delivery, is_read, dismissed, link FROM notifications";

fn org_row(r: &AnyRow) -> Result<OrgRow, AppError> {
    Ok(OrgRow {
        id: r.get(0),
        name: r.get(1),
        policy: parse(&r.get::<String, _>(2), "organisation policy")?,
        catalog: parse(&r.get::<String, _>(3), "status catalog")?,
        quiet_hours: parse(&r.get::<String, _>(4), "quiet hours")?,
    })
}

fn user_row(r: &AnyRow) -> Result<UserRow, AppError> {
    let role: String = r.get(5);
    Ok(UserRow {
        id: r.get(0),
        org_id: r.get(1),
        email: r.get(2),
        name: r.get(3),
        password_hash: r.get(4),
        role: if role == "admin" {
            Role::Admin
        } else {
            Role::Member
        },
        state: parse(&r.get::<String, _>(6), "presence state")?,
        applied_requests: parse(&r.get::<String, _>(7), "applied requests")?,
        notification_seq: r.get::<i64, _>(8) as u64,
        last_assigned: r.get(9),
    })
}

fn notification_row(r: &AnyRow) -> Result<Notification, AppError> {
    let sender: Option<String> = r.get(3);
    Ok(Notification {
        seq: NotificationSeq(r.get::<i64, _>(0) as u64),
        title: r.get(1),
        body: r.get(2),
        sender: sender
            .map(presence::UserId::parse)
            .transpose()
            .map_err(|e| AppError::internal(e.to_string()))?,
        urgent: r.get::<i64, _>(4) != 0,
        created_at: presence::Timestamp(r.get(5)),
        delivery: parse(&r.get::<String, _>(6), "notification delivery")?,
        read: r.get::<i64, _>(7) != 0,
        dismissed: r.get::<i64, _>(8) != 0,
        link: r
            .get::<Option<String>, _>(9)
            .map(protocol::Link::parse)
            .transpose()
            .map_err(|e| AppError::internal(format!("a stored link cannot be read ({e})")))?,
    })
}

/// `sqlite:path` or `sqlite://path`, created with its directory when missing.
fn sqlite_url(url: &str) -> Result<String, AppError> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:" {
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                AppError::config(format!(
                    "cannot create the database directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
    }
    let mut query = query.to_string();
    if !query.contains("mode=") {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str("mode=rwc");
    }
    Ok(format!("sqlite://{path}?{query}"))
}
