//! Device tokens and integrations' API keys, stored as hashes only.

use super::{Db, DbError, Statement};
use presence::{DeviceAbout, DeviceName, Platform};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub user_id: String,
    pub device_id: String,
    pub revoked: bool,
    /// The name and platform its device signed in with.
    pub about: DeviceAbout,
}

/// A stored device name and platform, read back. A name that no longer passes the checks
/// (none should) is dropped rather than refusing the token.
pub fn about_from(name: Option<String>, platform: Option<String>) -> DeviceAbout {
    DeviceAbout {
        name: name.and_then(|n| DeviceName::parse(n).ok()),
        platform: platform
            .as_deref()
            .map(Platform::from_stored)
            .unwrap_or_default(),
    }
}

/// What became of a sign-in's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenIssued {
    Stored,
    /// The account's credentials changed since they were checked: nothing stored.
    CredentialsChanged,
    /// The person is signed in on this many other devices already: nothing stored.
    TooManyDevices(i64),
}

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub id: String,
    pub org_id: String,
    pub revoked: bool,
}

/// A device token to store: its hash, whose and which device's it is, and when.
#[derive(Debug, Clone, Copy)]
pub struct NewToken<'a> {
    pub hash: &'a str,
    pub user_id: &'a str,
    pub device_id: &'a str,
    pub about: &'a DeviceAbout,
    pub now: i64,
}

/// Stores a device token (its hash): a statement, to run in a change's transaction.
pub fn insert_token(t: &NewToken<'_>) -> Statement {
    let NewToken {
        hash,
        user_id,
        device_id,
        about,
        now,
    } = *t;
    Statement::new(
        "INSERT INTO device_tokens (token_hash, user_id, device_id, created_at, revoked_at, device_name, platform) VALUES ($1, $2, $3, $4, NULL, $5, $6)",
    )
    .text(hash)
    .text(user_id)
    .text(device_id)
    .int(now)
    .maybe_text(about.name.as_ref().map(|n| n.as_str().to_string()))
    .text(about.platform.as_str())
}

impl Db {
    pub async fn insert_token(&self, token: &NewToken<'_>) -> Result<(), DbError> {
        insert_token(token).query().execute(&self.pool).await?;
        Ok(())
    }

    /// Stores a device token for a person who just proved `password_hash`'s password, only if
    /// their credentials are still the ones checked: active, no reset pending, the same
    /// password. Checked in the insert's transaction, on the person's row first (which waits
    /// for an administrator's change to it in flight, and makes theirs wait for this), so a
    /// sign-in that raced a reset, a password change or a deactivation gets no token. Nor does
    /// a new device of a person signed in on `max_devices` others already.
    pub async fn insert_token_if_unchanged(
        &self,
        token: &NewToken<'_>,
        password_hash: &str,
        max_devices: i64,
    ) -> Result<TokenIssued, DbError> {
        let mut tx = self.pool.begin().await?;
        let unchanged = sqlx::query(
            "UPDATE users SET password_hash = password_hash WHERE id = $1 AND password_hash = $2 AND active = 1 AND password_reset = 0",
        )
        .bind(token.user_id)
        .bind(password_hash)
        .execute(&mut *tx)
        .await?;
        if unchanged.rows_affected() != 1 {
            return Ok(TokenIssued::CredentialsChanged);
        }
        let others: i64 = sqlx::query(
            "SELECT COUNT(DISTINCT device_id) FROM device_tokens WHERE user_id = $1 AND device_id <> $2 AND revoked_at IS NULL",
        )
        .bind(token.user_id)
        .bind(token.device_id)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
        if others >= max_devices {
            return Ok(TokenIssued::TooManyDevices(others));
        }
        insert_token(token).query().execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(TokenIssued::Stored)
    }

    pub async fn token(&self, hash: &str) -> Result<Option<TokenRow>, DbError> {
        let row = sqlx::query(
            "SELECT user_id, device_id, revoked_at, device_name, platform FROM device_tokens WHERE token_hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| TokenRow {
            user_id: r.get(0),
            device_id: r.get(1),
            revoked: r.get::<Option<i64>, _>(2).is_some(),
            about: about_from(r.get(3), r.get(4)),
        }))
    }

    pub async fn revoke_token(&self, hash: &str, now: i64) -> Result<(), DbError> {
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
    ) -> Result<(), DbError> {
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

    pub async fn key(&self, hash: &str) -> Result<Option<KeyRow>, DbError> {
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

    pub async fn revoke_key(&self, id: &str, now: i64) -> Result<bool, DbError> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }
}
