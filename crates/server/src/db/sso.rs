//! Single sign-on: each organisation's provider, and the sign-ins under way through it.

use super::{Db, DbError, Statement};
use sqlx::Row;

/// An organisation's provider as stored.
#[derive(Debug, Clone)]
pub struct SsoRow {
    pub org_id: String,
    pub issuer: String,
    pub client_id: String,
    pub sealed_secret: String,
    pub key_id: String,
    pub label: String,
    pub domains: Vec<String>,
    pub create_accounts: bool,
    pub default_team: Option<String>,
    pub passwords: bool,
    pub updated_at: i64,
}

const COLUMNS: &str = "org_id, issuer, client_id, sealed_secret, key_id, label, domains, \
     create_accounts, default_team, passwords, updated_at";

fn provider(r: &sqlx::any::AnyRow) -> Result<SsoRow, DbError> {
    Ok(SsoRow {
        org_id: r.get(0),
        issuer: r.get(1),
        client_id: r.get(2),
        sealed_secret: r.get(3),
        key_id: r.get(4),
        label: r.get(5),
        domains: super::parse(&r.get::<String, _>(6), "single sign-on domains")?,
        create_accounts: r.get::<i64, _>(7) != 0,
        default_team: r.get(8),
        passwords: r.get::<i64, _>(9) != 0,
        updated_at: r.get(10),
    })
}

/// A provider set (or replaced) for its organisation.
pub fn put_sso(row: &SsoRow) -> Statement {
    Statement::new(
        "INSERT INTO sso_providers (org_id, issuer, client_id, sealed_secret, key_id, label, domains, create_accounts, default_team, passwords, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (org_id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id, \
         sealed_secret = excluded.sealed_secret, key_id = excluded.key_id, label = excluded.label, \
         domains = excluded.domains, create_accounts = excluded.create_accounts, \
         default_team = excluded.default_team, passwords = excluded.passwords, updated_at = excluded.updated_at",
    )
    .text(row.org_id.clone())
    .text(row.issuer.clone())
    .text(row.client_id.clone())
    .text(row.sealed_secret.clone())
    .text(row.key_id.clone())
    .text(row.label.clone())
    .text(super::json(&row.domains))
    .int(i64::from(row.create_accounts))
    .maybe_text(row.default_team.clone())
    .int(i64::from(row.passwords))
    .int(row.updated_at)
}

/// An organisation's provider removed.
pub fn delete_sso(org: &str) -> Statement {
    Statement::new("DELETE FROM sso_providers WHERE org_id = $1").text(org)
}

/// A sign-in under way, as stored.
#[derive(Debug, Clone)]
pub struct SsoLoginRow {
    pub state_hash: String,
    pub org_id: String,
    pub nonce: String,
    pub verifier: String,
    pub return_to: String,
    pub client_state: String,
    pub client_challenge: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub answered_at: Option<i64>,
    pub user_id: Option<String>,
    pub used_at: Option<i64>,
}

const LOGIN_COLUMNS: &str = "state_hash, org_id, nonce, verifier, return_to, client_state, \
     client_challenge, created_at, expires_at, answered_at, user_id, used_at";

fn login(r: &sqlx::any::AnyRow) -> SsoLoginRow {
    SsoLoginRow {
        state_hash: r.get(0),
        org_id: r.get(1),
        nonce: r.get(2),
        verifier: r.get(3),
        return_to: r.get(4),
        client_state: r.get(5),
        client_challenge: r.get(6),
        created_at: r.get(7),
        expires_at: r.get(8),
        answered_at: r.get(9),
        user_id: r.get(10),
        used_at: r.get(11),
    }
}

impl Db {
    pub async fn sso(&self, org: &str) -> Result<Option<SsoRow>, DbError> {
        let r = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM sso_providers WHERE org_id = $1"
        ))
        .bind(org)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(provider).transpose()
    }

    /// Every organisation's provider (few: one per organisation at most).
    pub async fn sso_all(&self) -> Result<Vec<SsoRow>, DbError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM sso_providers"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(provider).collect()
    }

    /// A sign-in started; sign-ins expired an hour ago are forgotten on the way.
    pub async fn insert_sso_login(&self, row: &SsoLoginRow) -> Result<(), DbError> {
        sqlx::query("DELETE FROM sso_logins WHERE expires_at < $1")
            .bind(row.created_at - 3_600_000)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sso_logins (state_hash, org_id, nonce, verifier, return_to, client_state, client_challenge, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&row.state_hash)
        .bind(&row.org_id)
        .bind(&row.nonce)
        .bind(&row.verifier)
        .bind(&row.return_to)
        .bind(&row.client_state)
        .bind(&row.client_challenge)
        .bind(row.created_at)
        .bind(row.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn sso_login(&self, state_hash: &str) -> Result<Option<SsoLoginRow>, DbError> {
        let r = sqlx::query(&format!(
            "SELECT {LOGIN_COLUMNS} FROM sso_logins WHERE state_hash = $1"
        ))
        .bind(state_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.as_ref().map(login))
    }

    /// Takes the provider's answer for a sign-in, once: false when it was taken already.
    pub async fn answer_sso_login(&self, state_hash: &str, now: i64) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE sso_logins SET answered_at = $1 WHERE state_hash = $2 AND answered_at IS NULL",
        )
        .bind(now)
        .bind(state_hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The one-time code that ends a sign-in, for `user`, valid until `expires_at`.
    pub async fn finish_sso_login(
        &self,
        state_hash: &str,
        code_hash: &str,
        user: &str,
        expires_at: i64,
    ) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE sso_logins SET code_hash = $1, user_id = $2, expires_at = $3 WHERE state_hash = $4",
        )
        .bind(code_hash)
        .bind(user)
        .bind(expires_at)
        .bind(state_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn sso_login_by_code(&self, code_hash: &str) -> Result<Option<SsoLoginRow>, DbError> {
        let r = sqlx::query(&format!(
            "SELECT {LOGIN_COLUMNS} FROM sso_logins WHERE code_hash = $1"
        ))
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.as_ref().map(login))
    }

    /// Uses a sign-in's code, once: false when it was used already or has expired.
    pub async fn use_sso_code(&self, code_hash: &str, now: i64) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE sso_logins SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(code_hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
