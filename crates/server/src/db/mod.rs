//! Storage: one code path for SQLite (the default, an embedded file) and PostgreSQL, through
//! sqlx's `Any` driver. Queries use `$1` placeholders, which both databases accept, and only
//! portable types (TEXT, BIGINT). Every write that must happen together is one transaction.
//!
//! One module per group of tables, each with its row structs: [`orgs`] (organisations, teams,
//! memberships), [`users`] (people and their presence state), [`credentials`] (device tokens and
//! API keys), [`notifications`], [`events`] (integration events seen). Errors are [`DbError`];
//! the application layer maps them to what a caller is told.

mod admin;
pub mod backup;
mod calendars;
mod changes;
mod credentials;
mod error;
mod events;
mod favourites;
mod notifications;
mod orgs;
mod sso;
mod users;
mod webhooks;

pub use admin::{
    add_member, insert_code, record_mail, replace_code, revoke_codes_of, revoke_tokens, teams_json,
    AuditRow, CodeRow, DeviceTokenRow, KeyInfoRow, Statement, Value,
};
pub use calendars::*;
pub use changes::*;
pub use credentials::{insert_token, KeyRow, NewToken, TokenIssued, TokenRow};
pub use error::DbError;
pub use favourites::*;
pub use notifications::NewNotification;
pub use orgs::OrgRow;
pub use sso::*;
pub use users::{role_str, Role, StateWrite, UserRow, STATES_PER_STATEMENT};
pub use webhooks::*;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};
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

impl Db {
    /// The pool's connections open, idle among them, and the most it opens.
    pub fn pool_state(&self) -> (u32, usize, u32) {
        (
            self.pool.size(),
            self.pool.num_idle(),
            self.pool.options().get_max_connections(),
        )
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("stored types serialize to JSON")
}

fn parse<T: serde::de::DeserializeOwned>(raw: &str, what: &str) -> Result<T, DbError> {
    serde_json::from_str(raw).map_err(|e| DbError::corrupt(what, e))
}

impl Db {
    /// Opens (and for SQLite creates) the database and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(DbError::Config(format!(
                "the database URL must start with sqlite: or postgres:, not \"{}\"",
                url.split(':').next().unwrap_or_default()
            )));
        };
        let (url, file) = match backend {
            Backend::Sqlite => {
                let (file, query) = sqlite_file(url)?;
                (sqlite_url(&file, &query), Some(file))
            }
            Backend::Postgres => (url.to_string(), None),
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
            DbError::Config(format!(
                "cannot open the database ({e}): check DATABASE_URL and that the server or directory is reachable"
            ))
        })?;
        if let Err(e) = MIGRATOR.run(&pool).await {
            let duplicates = emails_differing_in_case(&pool).await;
            pool.close().await;
            return Err(DbError::Config(match duplicates {
                Some(report) => report,
                None => format!("cannot bring the database schema up to date: {e}"),
            }));
        }
        if backend == Backend::Sqlite {
            drop_claims_index(&pool).await?;
        }
        if let Some(file) = file {
            owner_only(&file)?;
        }
        Ok(Db { pool, backend })
    }

    /// The database's own name (PostgreSQL): the nodes on it form one cluster.
    pub async fn name(&self) -> Result<String, DbError> {
        use sqlx::Row;
        let row = sqlx::query("SELECT CAST(current_database() AS TEXT)")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get(0))
    }

    /// Whether the database answers now.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The index of stored deadlines (migration 5) serves the nodes' claims of due people
/// ([`Db::claim_due`]), which only PostgreSQL runs: one node on SQLite keeps its deadlines in
/// memory. SQLite rewrites an index entry whenever its column is set, even to the same value, so
/// on SQLite the index only made every store of a person write two more pages (about twice the
/// time of the store, docs/benchmarks.md). It is dropped after the migrations, every start
/// (idempotent); the column stays, read when the server starts.
async fn drop_claims_index(pool: &sqlx::AnyPool) -> Result<(), DbError> {
    sqlx::query("DROP INDEX IF EXISTS users_next_deadline")
        .execute(pool)
        .await?;
    Ok(())
}

/// Accounts whose emails differ only in case, which the schema no longer allows (migration 7),
/// in words an administrator can act on; `None` when there are none.
async fn emails_differing_in_case(pool: &sqlx::AnyPool) -> Option<String> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT id, email FROM users WHERE lower(email) IN \
         (SELECT lower(email) FROM users GROUP BY lower(email) HAVING COUNT(*) > 1) \
         ORDER BY lower(email), id",
    )
    .fetch_all(pool)
    .await
    .ok()?;
    if rows.is_empty() {
        return None;
    }
    let accounts: Vec<String> = rows
        .iter()
        .map(|r| format!("{} <{}>", r.get::<String, _>(0), r.get::<String, _>(1)))
        .collect();
    Some(format!(
        "this version compares emails without regard to case, and these accounts' emails differ only in case: {}. Give one of each pair another email (UPDATE users SET email = '…' WHERE id = '…'), or delete it with the previous version's `presently-server admin delete-user`, then start again; nothing was changed",
        accounts.join(", ")
    ))
}

/// The SQLite file holds password hashes and token hashes: readable by its owner only, like its
/// write-ahead log (SQLite gives the log the file's permissions when it makes it again). On
/// Windows the file inherits its folder's access list, which under the person's local
/// application data is theirs alone.
fn owner_only(path: &str) -> Result<(), DbError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if path == ":memory:" || path.is_empty() {
            return Ok(());
        }
        for file in [
            path.to_string(),
            format!("{path}-wal"),
            format!("{path}-shm"),
        ] {
            if Path::new(&file).exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(
                    |e| {
                        DbError::Config(format!(
                            "cannot make {file} readable by its owner only: {e}"
                        ))
                    },
                )?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The file and the options of `sqlite:path`, `sqlite://path` or `sqlite:///path`, its
/// directory created when missing. A Windows path may carry a drive (`sqlite://C:/data/server.db`,
/// `sqlite:///C:/…`, backslashes too): the drive is part of the path, never a host named C.
fn sqlite_file(url: &str) -> Result<(String, String), DbError> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = match path.as_bytes() {
        [b'/', drive, b':', b'/' | b'\\', ..] if drive.is_ascii_alphabetic() && cfg!(windows) => {
            &path[1..]
        }
        _ => path,
    };
    if path != ":memory:" {
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                DbError::Config(format!(
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
    Ok((path.to_string(), query))
}

/// The URL sqlx's `Any` driver is given for a SQLite file. It parses it as a URL before SQLite
/// sees the path, so the path goes after `sqlite:` with no `//` (where `C:` would be read as a
/// host and port), and the characters a URL gives meaning to are escaped (SQLite's side
/// decodes them).
fn sqlite_url(file: &str, query: &str) -> String {
    let mut escaped = String::with_capacity(file.len());
    for c in file.chars() {
        match c {
            '%' => escaped.push_str("%25"),
            '?' => escaped.push_str("%3F"),
            '#' => escaped.push_str("%23"),
            c => escaped.push(c),
        }
    }
    format!("sqlite:{escaped}?{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Characters a URL gives meaning to, in a folder's name: the file is made where the path
    /// says, not at a path cut at `#` or decoded from `%`.
    #[tokio::test]
    async fn a_path_with_url_characters_opens_that_very_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a b#c%41").join("server.db");
        let db = Db::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        db.ping().await.unwrap();
        db.close().await;
        assert!(file.exists(), "{} was not made", file.display());
    }

    #[test]
    fn a_windows_drive_is_part_of_the_path() {
        let (file, query) = sqlite_file("sqlite::memory:").unwrap();
        assert_eq!((file.as_str(), query.as_str()), (":memory:", "mode=rwc"));
        assert_eq!(
            sqlite_url(r"C:\Users\a\AppData\Local\Presently\server.db", "mode=rwc"),
            r"sqlite:C:\Users\a\AppData\Local\Presently\server.db?mode=rwc"
        );
        if cfg!(windows) {
            let (file, _) = sqlite_file("sqlite:///C:/data/server.db").unwrap();
            assert_eq!(file, "C:/data/server.db");
        }
    }
}
