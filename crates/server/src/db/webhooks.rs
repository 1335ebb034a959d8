//! Outgoing webhooks: the endpoints (changed through [`Statement`]s, audited) and the queue of
//! deliveries, which is also each endpoint's log.

use super::{Backend, Db, DbError, Statement};
use sqlx::Row;

/// An endpoint as stored.
#[derive(Debug, Clone)]
pub struct WebhookRow {
    pub id: String,
    pub org_id: String,
    pub url: String,
    pub secret: String,
    pub events: String,
    pub description: String,
    pub enabled: bool,
    pub created_at: i64,
    pub failing_since: Option<i64>,
    pub disabled_reason: Option<String>,
}

/// A delivery as stored.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub kind: String,
    pub body: String,
    pub created_at: i64,
    pub attempts: i64,
    pub state: String,
    pub next_at: Option<i64>,
    pub last_at: Option<i64>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
}

#[allow(clippy::too_many_arguments)]
pub fn insert_webhook(
    id: &str,
    org: &str,
    url: &str,
    secret: &str,
    events: &str,
    description: &str,
    now: i64,
) -> Statement {
    Statement::new(
        "INSERT INTO webhooks (id, org_id, url, secret, events, description, enabled, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7)",
    )
    .text(id)
    .text(org)
    .text(url)
    .text(secret)
    .text(events)
    .text(description)
    .int(now)
}

/// The endpoint's address, events and description; `enabled` on clears its failures.
pub fn update_webhook(
    id: &str,
    org: &str,
    url: &str,
    events: &str,
    description: &str,
    enabled: bool,
) -> Statement {
    Statement::new(
        "UPDATE webhooks SET url = $1, events = $2, description = $3, enabled = $4, \
         failing_since = CASE WHEN $4 = 1 AND enabled = 0 THEN NULL ELSE failing_since END, \
         disabled_reason = CASE WHEN $4 = 1 THEN NULL ELSE disabled_reason END \
         WHERE id = $5 AND org_id = $6",
    )
    .text(url)
    .text(events)
    .text(description)
    .int(enabled as i64)
    .text(id)
    .text(org)
    .must_change("no such webhook")
}

pub fn delete_deliveries_of(id: &str) -> Statement {
    Statement::new("DELETE FROM webhook_deliveries WHERE webhook_id = $1").text(id)
}

pub fn delete_webhook(id: &str, org: &str) -> Statement {
    Statement::new("DELETE FROM webhooks WHERE id = $1 AND org_id = $2")
        .text(id)
        .text(org)
        .must_change("no such webhook")
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, kind, body, created_at, attempts, state, next_at, \
     last_at, last_status, last_error";

fn delivery(r: &sqlx::any::AnyRow) -> DeliveryRow {
    DeliveryRow {
        id: r.get(0),
        webhook_id: r.get(1),
        kind: r.get(2),
        body: r.get(3),
        created_at: r.get(4),
        attempts: r.get(5),
        state: r.get(6),
        next_at: r.get(7),
        last_at: r.get(8),
        last_status: r.get(9),
        last_error: r.get(10),
    }
}

impl Db {
    /// Every endpoint (of every organisation).
    pub async fn webhooks(&self) -> Result<Vec<WebhookRow>, DbError> {
        let rows = sqlx::query(
            "SELECT id, org_id, url, secret, events, description, enabled, created_at, \
             failing_since, disabled_reason FROM webhooks ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| WebhookRow {
                id: r.get(0),
                org_id: r.get(1),
                url: r.get(2),
                secret: r.get(3),
                events: r.get(4),
                description: r.get(5),
                enabled: r.get::<i64, _>(6) != 0,
                created_at: r.get(7),
                failing_since: r.get(8),
                disabled_reason: r.get(9),
            })
            .collect())
    }

    /// Queues one delivery per endpoint, each due now.
    pub async fn queue_deliveries(
        &self,
        deliveries: &[(String, String, String, String)],
        now: i64,
    ) -> Result<(), DbError> {
        let mut tx = self.pool.begin().await?;
        for (id, webhook, kind, body) in deliveries {
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, webhook_id, kind, body, created_at, attempts, \
                 state, next_at) VALUES ($1, $2, $3, $4, $5, 0, 'pending', $5)",
            )
            .bind(id)
            .bind(webhook)
            .bind(kind)
            .bind(body)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Takes up to `limit` due deliveries of enabled endpoints, holding each until `hold`
    /// (another node takes it after that, if this one dies sending it): oldest first.
    pub async fn take_due_deliveries(
        &self,
        now: i64,
        hold: i64,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, DbError> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE webhook_deliveries SET next_at = $2 WHERE id IN ( \
               SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
               WHERE d.state = 'pending' AND d.next_at <= $1 AND w.enabled = 1 \
               ORDER BY d.next_at LIMIT $3{lock}) \
             RETURNING {DELIVERY_COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(hold)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut out: Vec<DeliveryRow> = rows.iter().map(delivery).collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    /// When the next pending delivery of an enabled endpoint is due.
    pub async fn next_delivery_at(&self) -> Result<Option<i64>, DbError> {
        let row = sqlx::query(
            "SELECT MIN(d.next_at) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.state = 'pending' AND w.enabled = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.get(0))
    }

    /// What one attempt came to: delivered, failed for good, or tried again at `next_at`.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_attempt(
        &self,
        id: &str,
        state: &str,
        next_at: Option<i64>,
        at: i64,
        status: Option<u16>,
        error: Option<&str>,
    ) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, state = $1, next_at = $2, \
             last_at = $3, last_status = $4, last_error = $5 WHERE id = $6",
        )
        .bind(state)
        .bind(next_at)
        .bind(at)
        .bind(status.map(i64::from))
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An endpoint's deliveries arrive (`ok`) or fail from `now` on (kept from the first).
    pub async fn webhook_health(&self, id: &str, ok: bool, now: i64) -> Result<(), DbError> {
        let q = if ok {
            sqlx::query("UPDATE webhooks SET failing_since = NULL WHERE id = $1")
                .bind(id.to_string())
        } else {
            sqlx::query(
                "UPDATE webhooks SET failing_since = $2 WHERE id = $1 AND failing_since IS NULL",
            )
            .bind(id.to_string())
            .bind(now)
        };
        q.execute(&self.pool).await?;
        Ok(())
    }

    /// Turns an endpoint off, saying why; true when it was on.
    pub async fn disable_webhook(&self, id: &str, reason: &str) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE webhooks SET enabled = 0, disabled_reason = $1 WHERE id = $2 AND enabled = 1",
        )
        .bind(reason)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// An endpoint's newest deliveries.
    pub async fn deliveries(&self, webhook: &str, limit: i64) -> Result<Vec<DeliveryRow>, DbError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(webhook)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(delivery).collect())
    }

    /// Pending deliveries per endpoint (a backlog beyond a bound stops taking new events).
    pub async fn pending_per_webhook(&self) -> Result<Vec<(String, i64)>, DbError> {
        let rows = sqlx::query(
            "SELECT webhook_id, COUNT(*) FROM webhook_deliveries WHERE state = 'pending' GROUP BY webhook_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Forgets finished deliveries older than `before` (the log keeps a week).
    pub async fn prune_deliveries(&self, before: i64) -> Result<u64, DbError> {
        let done = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND created_at < $1",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
