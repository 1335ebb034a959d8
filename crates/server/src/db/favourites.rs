//! Favourites (whom a person pins) and "tell me when they are available" requests.

use super::{Db, DbError, Statement};
use sqlx::Row;

/// A person pinned by another (nothing when already pinned).
pub fn add_favourite(user: &str, person: &str, now: i64) -> Statement {
    Statement::new(
        "INSERT INTO favourites (user_id, person_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, person_id) DO NOTHING",
    )
    .text(user)
    .text(person)
    .int(now)
}

pub fn remove_favourite(user: &str, person: &str) -> Statement {
    Statement::new("DELETE FROM favourites WHERE user_id = $1 AND person_id = $2")
        .text(user)
        .text(person)
}

/// A one-time request: tell `user` when `person` becomes Available (nothing when asked already).
pub fn add_alert(user: &str, person: &str, now: i64) -> Statement {
    Statement::new(
        "INSERT INTO availability_alerts (user_id, person_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, person_id) DO NOTHING",
    )
    .text(user)
    .text(person)
    .int(now)
}

pub fn remove_alert(user: &str, person: &str) -> Statement {
    Statement::new("DELETE FROM availability_alerts WHERE user_id = $1 AND person_id = $2")
        .text(user)
        .text(person)
}

/// Everything of a person's in both tables, either side (they are being deleted).
pub fn delete_favourites_of(user: impl Into<String>) -> Statement {
    Statement::new("DELETE FROM favourites WHERE user_id = $1 OR person_id = $1").text(user)
}

pub fn delete_alerts_of(user: impl Into<String>) -> Statement {
    Statement::new("DELETE FROM availability_alerts WHERE user_id = $1 OR person_id = $1")
        .text(user)
}

impl Db {
    /// Every (person, pinned person).
    pub async fn favourites(&self) -> Result<Vec<(String, String)>, DbError> {
        let rows =
            sqlx::query("SELECT user_id, person_id FROM favourites ORDER BY created_at, person_id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Every (person asking, person awaited).
    pub async fn alerts(&self) -> Result<Vec<(String, String)>, DbError> {
        let rows = sqlx::query("SELECT user_id, person_id FROM availability_alerts")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Whom `user` waits for.
    pub async fn alerts_of(&self, user: &str) -> Result<Vec<String>, DbError> {
        let rows = sqlx::query("SELECT person_id FROM availability_alerts WHERE user_id = $1")
            .bind(user)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Takes the requests awaiting `person`: each is answered once, whichever node takes it.
    pub async fn take_alerts_for(&self, person: &str) -> Result<Vec<String>, DbError> {
        let rows =
            sqlx::query("DELETE FROM availability_alerts WHERE person_id = $1 RETURNING user_id")
                .bind(person)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
