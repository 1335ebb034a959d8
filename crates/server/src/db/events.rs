//! Integration events already applied (so a retried event applies once).

use super::{Backend, Db, DbError};

impl Db {
    /// Records an integration event by the caller's id. False: seen before, apply nothing.
    pub async fn record_event(
        &self,
        org_id: &str,
        external_id: &str,
        kind: &str,
        user_id: &str,
        now: i64,
    ) -> Result<bool, DbError> {
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

    /// Forgets a recorded event whose change could not be applied, so that a retry applies it.
    pub async fn forget_event(
        &self,
        org_id: &str,
        external_id: &str,
        kind: &str,
    ) -> Result<(), DbError> {
        sqlx::query(
            "DELETE FROM integration_events WHERE org_id = $1 AND external_id = $2 AND kind = $3",
        )
        .bind(org_id)
        .bind(external_id)
        .bind(kind)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
