//! Backup and restore of an SQLite database (`presently-server admin backup | restore`).
//! A backup is SQLite's `VACUUM INTO`: one consistent copy of the database as of one moment,
//! taken through a reader while the server keeps serving (WAL: writers are not stopped, and what
//! they commit after that moment is simply not in it). A restore checks the copy by opening it as
//! the server would (migrations included), keeps the database it replaces beside it, and puts
//! the copy in its place. PostgreSQL has its own tools (`pg_dump`, `pg_restore`): docs/admin.md.

use super::{sqlite_file, Backend, Db, DbError};
use std::path::{Path, PathBuf};

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// People in the restored database.
    pub people: i64,
    /// Where the database it replaced was kept (none: there was none).
    pub kept: Option<PathBuf>,
}

/// The file of an `sqlite:` URL; an error saying what to use for PostgreSQL.
pub fn sqlite_path(url: &str) -> Result<PathBuf, DbError> {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return Err(DbError::Config(
            "this server is on PostgreSQL: back it up with pg_dump and restore with pg_restore (docs/admin.md, \"Backups\")".into(),
        ));
    }
    let (file, _) = sqlite_file(url)?;
    if file == ":memory:" || file.is_empty() {
        return Err(DbError::Config(
            "an in-memory database has nothing to back up".into(),
        ));
    }
    Ok(PathBuf::from(file))
}

impl Db {
    /// Writes a consistent copy of the database, as it is now, to `to` (which must not exist).
    pub async fn backup_to(&self, to: &Path) -> Result<(), DbError> {
        if self.backend != Backend::Sqlite {
            return Err(DbError::Config(
                "this server is on PostgreSQL: back it up with pg_dump (docs/admin.md, \"Backups\")"
                    .into(),
            ));
        }
        if to.exists() {
            return Err(DbError::Config(format!(
                "{} exists: give a new file name (a backup never overwrites)",
                to.display()
            )));
        }
        if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                return Err(DbError::Config(format!(
                    "the folder {} does not exist",
                    dir.display()
                )));
            }
        }
        let path = to
            .to_str()
            .ok_or_else(|| DbError::Config(format!("{} is not a UTF-8 path", to.display())))?;
        sqlx::query("VACUUM INTO ?")
            .bind(path)
            .execute(&self.pool)
            .await
            .map_err(|e| {
                let _ = std::fs::remove_file(to);
                DbError::Config(format!(
                    "the backup to {} failed ({e}): is there room on that disk, and may this account write there?",
                    to.display()
                ))
            })?;
        super::owner_only(path)?;
        Ok(())
    }
}

/// Puts the backup `from` in place of the SQLite database of `database_url`, after opening a
/// copy of it as the server would (an unreadable or foreign file changes nothing). The database
/// it replaces (with its WAL) is kept beside it as `….before-restore-<seconds>`.
pub async fn restore(from: &Path, database_url: &str) -> Result<Restored, DbError> {
    let target = sqlite_path(database_url)?;
    if !from.is_file() {
        return Err(DbError::Config(format!(
            "{} is not a file: give the backup's path",
            from.display()
        )));
    }
    let staging = with_suffix(&target, ".restoring");
    remove_trio(&staging);
    std::fs::copy(from, &staging).map_err(|e| {
        DbError::Config(format!(
            "cannot copy {} to {} ({e}): is there room on that disk?",
            from.display(),
            staging.display()
        ))
    })?;
    let people = match check(&staging).await {
        Ok(n) => n,
        Err(e) => {
            remove_trio(&staging);
            return Err(DbError::Config(format!(
                "{} is not a Presently database this server can open: {e}; nothing was changed",
                from.display()
            )));
        }
    };
    let kept = if target.exists() {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let aside = with_suffix(&target, &format!(".before-restore-{seconds}"));
        for (a, b) in trio(&target).into_iter().zip(trio(&aside)) {
            if a.exists() {
                std::fs::rename(&a, &b).map_err(|e| {
                    DbError::Config(format!(
                        "cannot move {} aside ({e}); nothing was replaced",
                        a.display()
                    ))
                })?;
            }
        }
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&staging, &target).map_err(|e| {
        DbError::Config(format!(
            "cannot put the restored database at {} ({e}); the one it replaces is at {}",
            target.display(),
            kept.as_ref()
                .map(|k| k.display().to_string())
                .unwrap_or_default()
        ))
    })?;
    remove_trio(&staging);
    Ok(Restored { people, kept })
}

/// Opens the file as the server would (bringing its schema up to date) and counts its people.
async fn check(file: &Path) -> Result<i64, DbError> {
    use sqlx::Row;
    let db = Db::connect(&format!("sqlite://{}", file.display())).await?;
    let people = sqlx::query("SELECT COUNT(*) FROM users")
        .fetch_one(&db.pool)
        .await
        .map(|r| r.get::<i64, _>(0));
    db.close().await;
    Ok(people?)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The database file and its WAL and shared-memory files.
fn trio(path: &Path) -> [PathBuf; 3] {
    [
        path.to_path_buf(),
        with_suffix(path, "-wal"),
        with_suffix(path, "-shm"),
    ]
}

fn remove_trio(path: &Path) {
    for p in trio(path) {
        let _ = std::fs::remove_file(p);
    }
}
