//! Notifications: one sequence per person, read and dismissed flags.

use super::{json, parse, Db, DbError};
use protocol::{Notification, NotificationSeq};
use sqlx::any::AnyRow;
use sqlx::Row;

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

const NOTIFICATION_COLUMNS: &str = "SELECT seq, title, body, sender, urgent, created_at, delivery, is_read, dismissed, link FROM notifications";

impl Db {
    /// Stores a notification under the user's next sequence number. With an external id that
    /// was seen before, returns the stored one and `false` (nothing new).
    pub async fn insert_notification(
        &self,
        user_id: &str,
        new: &NewNotification,
    ) -> Result<(Notification, bool), DbError> {
        let mut tx = self.pool.begin().await?;
        // Taking the next number is the first write, so the row lock (PostgreSQL) or the
        // write lock (SQLite) orders concurrent inserts for the same user — and a concurrent
        // sender of the same external id waits here, then finds the stored one below.
        sqlx::query("UPDATE users SET notification_seq = notification_seq + 1 WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if let Some(ext) = &new.external_id {
            let existing = sqlx::query(&format!(
                "{NOTIFICATION_COLUMNS} WHERE user_id = $1 AND external_id = $2"
            ))
            .bind(user_id)
            .bind(ext)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = existing {
                // Dropping the transaction rolls the number back.
                return Ok((notification_row(&row)?, false));
            }
        }
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
            .map_err(|e| DbError::corrupt("sender id", e))?;
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
    ) -> Result<Vec<Notification>, DbError> {
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

    pub async fn unread_count(&self, user_id: &str) -> Result<u64, DbError> {
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND is_read = 0 AND dismissed = 0",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?
        .get(0);
        Ok(n as u64)
    }

    /// What a hello needs in one round trip: the user's newest sequence (the welcome's cursor)
    /// and the notifications after `after`, as [`Db::notifications`] reads them. One statement
    /// where there were two, and both answers come from the same snapshot.
    pub async fn notification_cursor_and_backlog(
        &self,
        user_id: &str,
        after: u64,
        limit: u32,
        include_dismissed: bool,
    ) -> Result<(u64, Vec<Notification>), DbError> {
        let filter = if include_dismissed {
            ""
        } else {
            " AND n.dismissed = 0"
        };
        // The left join gives the user's row once with no notification columns when nothing is
        // waiting, and a row per notification (each with the cursor) otherwise.
        let rows = sqlx::query(&format!(
            "SELECT u.notification_seq, n.seq, n.title, n.body, n.sender, n.urgent, n.created_at, n.delivery, n.is_read, n.dismissed, n.link \
             FROM users u LEFT JOIN notifications n ON n.user_id = u.id AND n.seq > $2{filter} \
             WHERE u.id = $1 ORDER BY n.seq LIMIT $3"
        ))
        .bind(user_id)
        .bind(after as i64)
        .bind(limit.max(1) as i64)
        .fetch_all(&self.pool)
        .await?;
        // No row: the user was removed since the token was checked, as a lookup that finds none.
        let Some(first) = rows.first() else {
            return Err(sqlx::Error::RowNotFound.into());
        };
        let cursor = first.get::<i64, _>(0) as u64;
        let mut backlog = Vec::with_capacity(rows.len());
        for row in &rows {
            if row.get::<Option<i64>, _>(1).is_some() {
                backlog.push(notification_at(row, 1)?);
            }
        }
        backlog.truncate(limit as usize);
        Ok((cursor, backlog))
    }

    /// Marks notifications read (and dismissed when asked). Returns the ones that changed;
    /// unknown numbers are ignored, so a replay changes nothing.
    pub async fn mark(
        &self,
        user_id: &str,
        seqs: &[NotificationSeq],
        dismiss: bool,
    ) -> Result<Vec<NotificationSeq>, DbError> {
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

    pub async fn mark_all_read(&self, user_id: &str) -> Result<Vec<NotificationSeq>, DbError> {
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
}

fn notification_row(r: &AnyRow) -> Result<Notification, DbError> {
    notification_at(r, 0)
}

/// The notification whose [`NOTIFICATION_COLUMNS`] start at column `at` of the row.
fn notification_at(r: &AnyRow, at: usize) -> Result<Notification, DbError> {
    let sender: Option<String> = r.get(at + 3);
    Ok(Notification {
        seq: NotificationSeq(r.get::<i64, _>(at) as u64),
        title: r.get(at + 1),
        body: r.get(at + 2),
        sender: sender
            .map(presence::UserId::parse)
            .transpose()
            .map_err(|e| DbError::corrupt("sender id", e))?,
        urgent: r.get::<i64, _>(at + 4) != 0,
        created_at: presence::Timestamp(r.get(at + 5)),
        delivery: parse(&r.get::<String, _>(at + 6), "notification delivery")?,
        read: r.get::<i64, _>(at + 7) != 0,
        dismissed: r.get::<i64, _>(at + 8) != 0,
        link: r
            .get::<Option<String>, _>(at + 9)
            .map(protocol::Link::parse)
            .transpose()
            .map_err(|e| DbError::corrupt("notification link", e))?,
    })
}
