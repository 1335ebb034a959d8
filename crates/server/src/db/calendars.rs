//! People's calendars: the sealed address (and credentials), and what the last read came to.

use super::{Backend, Db, DbError, Statement};
use sqlx::Row;

/// A calendar as stored.
#[derive(Debug, Clone)]
pub struct CalendarRow {
    pub user_id: String,
    pub kind: String,
    pub sealed: String,
    pub key_id: String,
    pub shown: String,
    pub etag: Option<String>,
    pub created_at: i64,
    pub next_at: i64,
    pub last_ok: Option<i64>,
    pub last_full: Option<i64>,
    pub failing_since: Option<i64>,
    pub last_error: Option<String>,
    pub failures: i64,
}

const COLUMNS: &str = "user_id, kind, sealed, key_id, shown, etag, created_at, next_at, last_ok, \
     last_full, failing_since, last_error, failures";

fn row(r: &sqlx::any::AnyRow) -> CalendarRow {
    CalendarRow {
        user_id: r.get(0),
        kind: r.get(1),
        sealed: r.get(2),
        key_id: r.get(3),
        shown: r.get(4),
        etag: r.get(5),
        created_at: r.get(6),
        next_at: r.get(7),
        last_ok: r.get(8),
        last_full: r.get(9),
        failing_since: r.get(10),
        last_error: r.get(11),
        failures: r.get(12),
    }
}

/// A person's calendar, with the person (they are being deleted).
pub fn delete_calendar_of(user: impl Into<String>) -> Statement {
    Statement::new("DELETE FROM calendars WHERE user_id = $1").text(user)
}

/// What one read of a calendar came to.
#[derive(Debug, Clone)]
pub struct CalendarRead {
    pub next_at: i64,
    pub etag: Option<String>,
    pub ok_at: Option<i64>,
    /// A full read (not "unchanged since the ETag").
    pub full: bool,
    pub error: Option<String>,
    pub now: i64,
}

impl Db {
    /// Sets (or replaces) a person's calendar, due at once.
    #[allow(clippy::too_many_arguments)]
    pub async fn put_calendar(
        &self,
        user: &str,
        kind: &str,
        sealed: &str,
        key_id: &str,
        shown: &str,
        now: i64,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO calendars (user_id, kind, sealed, key_id, shown, created_at, next_at, failures) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, 0) \
             ON CONFLICT (user_id) DO UPDATE SET kind = $2, sealed = $3, key_id = $4, shown = $5, \
             created_at = $6, next_at = $6, etag = NULL, last_ok = NULL, last_full = NULL, \
             failing_since = NULL, last_error = NULL, failures = 0",
        )
        .bind(user)
        .bind(kind)
        .bind(sealed)
        .bind(key_id)
        .bind(shown)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets a person's calendar; true when there was one.
    pub async fn delete_calendar(&self, user: &str) -> Result<bool, DbError> {
        let done = sqlx::query("DELETE FROM calendars WHERE user_id = $1")
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn calendar_of(&self, user: &str) -> Result<Option<CalendarRow>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM calendars WHERE user_id = $1");
        let r = sqlx::query(&sql)
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.as_ref().map(row))
    }

    /// Takes up to `limit` calendars due to be read, holding each until `hold`.
    pub async fn take_due_calendars(
        &self,
        now: i64,
        hold: i64,
        limit: i64,
    ) -> Result<Vec<CalendarRow>, DbError> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE calendars SET next_at = $2 WHERE user_id IN ( \
               SELECT user_id FROM calendars WHERE next_at <= $1 ORDER BY next_at LIMIT $3{lock}) \
             RETURNING {COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(hold)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(row).collect())
    }

    /// When the next calendar is due.
    pub async fn next_calendar_at(&self) -> Result<Option<i64>, DbError> {
        let r = sqlx::query("SELECT MIN(next_at) FROM calendars")
            .fetch_one(&self.pool)
            .await?;
        Ok(r.get(0))
    }

    /// Stores what a read came to (for the calendar set at `created_at`: one replaced meanwhile
    /// is left alone).
    pub async fn calendar_read(
        &self,
        user: &str,
        created_at: i64,
        read: &CalendarRead,
    ) -> Result<(), DbError> {
        match &read.error {
            None => {
                sqlx::query(
                    "UPDATE calendars SET next_at = $1, etag = $2, last_ok = $3, \
                     last_full = CASE WHEN $4 = 1 THEN $3 ELSE last_full END, \
                     failing_since = NULL, last_error = NULL, failures = 0 \
                     WHERE user_id = $5 AND created_at = $6",
                )
                .bind(read.next_at)
                .bind(read.etag.clone())
                .bind(read.ok_at.unwrap_or(read.now))
                .bind(read.full as i64)
                .bind(user)
                .bind(created_at)
                .execute(&self.pool)
                .await?;
            }
            Some(error) => {
                sqlx::query(
                    "UPDATE calendars SET next_at = $1, last_error = $2, failures = failures + 1, \
                     failing_since = COALESCE(failing_since, $3) \
                     WHERE user_id = $4 AND created_at = $5",
                )
                .bind(read.next_at)
                .bind(error.clone())
                .bind(read.now)
                .bind(user)
                .bind(created_at)
                .execute(&self.pool)
                .await?;
            }
        }
        Ok(())
    }

    /// Seals a calendar again with the current key (after a rotation).
    pub async fn reseal_calendar(
        &self,
        user: &str,
        created_at: i64,
        sealed: &str,
        key_id: &str,
    ) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE calendars SET sealed = $1, key_id = $2 WHERE user_id = $3 AND created_at = $4",
        )
        .bind(sealed)
        .bind(key_id)
        .bind(user)
        .bind(created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
