//! Administrative writes and what administrators read: one-time codes (invites, password
//! resets), the audit log, devices and keys by organisation, and each organisation's revision.
//!
//! Every administrative change is one transaction: its own statements, its audit entry, and the
//! organisation's revision bumped. A node that sees the revision move reloads the organisation,
//! whichever process made the change (this node, another node, the admin CLI).

use super::{json, parse, Db, DbError};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Row};

/// A value bound to a statement.
#[derive(Debug, Clone)]
pub enum Value {
    Text(String),
    Int(i64),
    MaybeText(Option<String>),
    MaybeInt(Option<i64>),
}

/// One statement of an administrative change.
#[derive(Debug, Clone)]
pub struct Statement {
    sql: &'static str,
    binds: Vec<Value>,
    /// What to say when the statement breaks a unique constraint.
    conflict: Option<String>,
    /// What to say, after rolling everything back, when the statement changes no row.
    required: Option<String>,
}

impl Statement {
    pub fn new(sql: &'static str) -> Statement {
        Statement {
            sql,
            binds: Vec::new(),
            conflict: None,
            required: None,
        }
    }
    pub fn text(mut self, v: impl Into<String>) -> Statement {
        self.binds.push(Value::Text(v.into()));
        self
    }
    pub fn int(mut self, v: i64) -> Statement {
        self.binds.push(Value::Int(v));
        self
    }
    pub fn maybe_text(mut self, v: Option<String>) -> Statement {
        self.binds.push(Value::MaybeText(v));
        self
    }
    pub fn maybe_int(mut self, v: Option<i64>) -> Statement {
        self.binds.push(Value::MaybeInt(v));
        self
    }
    pub fn on_conflict(mut self, message: impl Into<String>) -> Statement {
        self.conflict = Some(message.into());
        self
    }

    /// The change holds only if this statement changes a row (a condition checked in the
    /// change's transaction): when it changes none, nothing is changed and the change fails
    /// with [`DbError::Unmet`] saying `message`.
    pub fn must_change(mut self, message: impl Into<String>) -> Statement {
        self.required = Some(message.into());
        self
    }

    pub(super) fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(self.sql);
        for b in &self.binds {
            q = match b {
                Value::Text(s) => q.bind(s.as_str()),
                Value::Int(i) => q.bind(*i),
                Value::MaybeText(s) => q.bind(s.as_deref()),
                Value::MaybeInt(i) => q.bind(*i),
            };
        }
        q
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub id: String,
    pub org_id: String,
    pub at: i64,
    pub actor_id: Option<String>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// A one-time code: an invite or a password reset.
#[derive(Debug, Clone)]
pub struct CodeRow {
    pub id: String,
    pub org_id: String,
    pub kind: String,
    pub email: String,
    pub name: Option<String>,
    pub user_id: Option<String>,
    pub role: String,
    pub teams: Vec<String>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The last mail that carried the code: `("sent" | "failed", error, at)`.
    pub mail: Option<(String, Option<String>, i64)>,
}

/// A device token as administrators see it (never the token).
#[derive(Debug, Clone)]
pub struct DeviceTokenRow {
    pub user_id: String,
    pub device_id: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub about: presence::DeviceAbout,
}

#[derive(Debug, Clone)]
pub struct KeyInfoRow {
    pub id: String,
    pub name: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

const CODE_COLUMNS: &str = "SELECT id, org_id, kind, email, name, user_id, role, teams, created_by, created_at, expires_at, used_at, revoked_at, mail_state, mail_error, mailed_at FROM codes";

impl Db {
    /// Runs an administrative change: `statements`, then its audit entry and the organisation's
    /// revision, all or nothing. Returns the organisation's new revision and how many rows each
    /// statement changed.
    pub async fn admin_change(
        &self,
        statements: &[Statement],
        audit: &AuditRow,
    ) -> Result<(i64, Vec<u64>), DbError> {
        self.change(&audit.org_id, statements, Some(audit)).await
    }

    /// A person's own change to what their organisation's nodes hold (their favourites):
    /// `statements` and the organisation's revision, all or nothing, with no audit entry.
    pub async fn personal_change(
        &self,
        org: &str,
        statements: &[Statement],
    ) -> Result<(i64, Vec<u64>), DbError> {
        self.change(org, statements, None).await
    }

    async fn change(
        &self,
        org: &str,
        statements: &[Statement],
        audit: Option<&AuditRow>,
    ) -> Result<(i64, Vec<u64>), DbError> {
        let mut tx = self.pool.begin().await?;
        let mut affected = Vec::with_capacity(statements.len());
        for s in statements {
            match s.query().execute(&mut *tx).await {
                Ok(done) if done.rows_affected() == 0 && s.required.is_some() => {
                    // Dropping the transaction rolls back what ran before.
                    return Err(DbError::Unmet(s.required.clone().unwrap_or_default()));
                }
                Ok(done) => affected.push(done.rows_affected()),
                Err(sqlx::Error::Database(d))
                    if d.is_unique_violation() && s.conflict.is_some() =>
                {
                    return Err(DbError::Conflict(s.conflict.clone().unwrap_or_default()));
                }
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(audit) = audit {
            sqlx::query(
                "INSERT INTO audit_log (id, org_id, at, actor_id, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&audit.id)
            .bind(&audit.org_id)
            .bind(audit.at)
            .bind(audit.actor_id.as_deref())
            .bind(&audit.actor)
            .bind(&audit.action)
            .bind(&audit.target)
            .bind(&audit.detail)
            .execute(&mut *tx)
            .await?;
        }
        let revision: i64 =
            sqlx::query("UPDATE orgs SET revision = revision + 1 WHERE id = $1 RETURNING revision")
                .bind(org)
                .fetch_one(&mut *tx)
                .await?
                .get(0);
        tx.commit().await?;
        Ok((revision, affected))
    }

    /// Every organisation's revision.
    pub async fn revisions(&self) -> Result<Vec<(String, i64)>, DbError> {
        let rows = sqlx::query("SELECT id, revision FROM orgs")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// An organisation's audit log, newest first, before `before` (milliseconds) if given.
    pub async fn audit(
        &self,
        org_id: &str,
        before: Option<(i64, Option<&str>)>,
        limit: u32,
    ) -> Result<Vec<AuditRow>, DbError> {
        // Paged by (at, id), newest first: entries that share a millisecond are neither
        // skipped nor repeated across pages.
        let (at, id) = before.unwrap_or((i64::MAX, None));
        let rows = sqlx::query(
            "SELECT id, org_id, at, actor_id, actor, action, target, detail FROM audit_log \
             WHERE org_id = $1 AND (at < $2 OR (at = $2 AND $3 IS NOT NULL AND id < $3)) \
             ORDER BY at DESC, id DESC LIMIT $4",
        )
        .bind(org_id)
        .bind(at)
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| AuditRow {
                id: r.get(0),
                org_id: r.get(1),
                at: r.get(2),
                actor_id: r.get(3),
                actor: r.get(4),
                action: r.get(5),
                target: r.get(6),
                detail: r.get(7),
            })
            .collect())
    }

    /// One statement on its own, with no audit entry and no revision: a record of something
    /// that happened, such as what became of a mail.
    pub async fn run(&self, statement: &Statement) -> Result<u64, DbError> {
        Ok(statement.query().execute(&self.pool).await?.rows_affected())
    }

    pub async fn code(&self, hash: &str) -> Result<Option<CodeRow>, DbError> {
        let row = sqlx::query(&format!("{CODE_COLUMNS} WHERE code_hash = $1"))
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(code_row).transpose()
    }

    pub async fn codes(&self, org_id: &str, kind: &str) -> Result<Vec<CodeRow>, DbError> {
        let rows = sqlx::query(&format!(
            "{CODE_COLUMNS} WHERE org_id = $1 AND kind = $2 ORDER BY created_at DESC, id"
        ))
        .bind(org_id)
        .bind(kind)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(code_row).collect()
    }

    /// Every device token of an organisation's people, newest first.
    pub async fn device_tokens(&self, org_id: &str) -> Result<Vec<DeviceTokenRow>, DbError> {
        let rows = sqlx::query(
            "SELECT t.user_id, t.device_id, t.created_at, t.revoked_at, t.device_name, t.platform FROM device_tokens t \
             JOIN users u ON u.id = t.user_id WHERE u.org_id = $1 ORDER BY t.created_at DESC",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| DeviceTokenRow {
                user_id: r.get(0),
                device_id: r.get(1),
                created_at: r.get(2),
                revoked_at: r.get(3),
                about: super::credentials::about_from(r.get(4), r.get(5)),
            })
            .collect())
    }

    /// Every (person, device) that has device tokens, and whether one of them still works.
    pub async fn signed_in_devices(&self) -> Result<Vec<(String, String, bool)>, DbError> {
        let rows = sqlx::query(
            "SELECT user_id, device_id, MAX(CASE WHEN revoked_at IS NULL THEN 1 ELSE 0 END) \
             FROM device_tokens GROUP BY user_id, device_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get::<i64, _>(2) != 0))
            .collect())
    }

    /// The people of an organisation whose password an administrator reset, not yet set again.
    pub async fn pending_resets(&self, org_id: &str) -> Result<Vec<String>, DbError> {
        let rows = sqlx::query("SELECT id FROM users WHERE org_id = $1 AND password_reset = 1")
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub async fn keys(&self, org_id: &str) -> Result<Vec<KeyInfoRow>, DbError> {
        let rows = sqlx::query(
            "SELECT id, name, created_by, created_at, revoked_at FROM api_keys WHERE org_id = $1 ORDER BY created_at DESC, id",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| KeyInfoRow {
                id: r.get(0),
                name: r.get(1),
                created_by: r.get(2),
                created_at: r.get(3),
                revoked_at: r.get(4),
            })
            .collect())
    }
}

fn code_row(r: &sqlx::any::AnyRow) -> Result<CodeRow, DbError> {
    Ok(CodeRow {
        id: r.get(0),
        org_id: r.get(1),
        kind: r.get(2),
        email: r.get(3),
        name: r.get(4),
        user_id: r.get(5),
        role: r.get(6),
        teams: parse(&r.get::<String, _>(7), "invite teams")?,
        created_by: r.get(8),
        created_at: r.get(9),
        expires_at: r.get(10),
        used_at: r.get(11),
        revoked_at: r.get(12),
        mail: match (r.get::<Option<String>, _>(13), r.get::<Option<i64>, _>(15)) {
            (Some(state), Some(at)) => Some((state, r.get(14), at)),
            _ => None,
        },
    })
}

/// The JSON stored for a list of team ids.
pub fn teams_json(teams: &[String]) -> String {
    json(&teams)
}

/// A person joins a team.
pub fn add_member(team: &str, user: &str) -> Statement {
    Statement::new("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)")
        .text(team)
        .text(user)
}

/// Every device token of a person revoked at `now`.
pub fn revoke_tokens(user: &str, now: i64) -> Statement {
    Statement::new(
        "UPDATE device_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .int(now)
    .text(user)
}

/// A person's unused codes withdrawn at `now`.
pub fn revoke_codes_of(user: &str, now: i64) -> Statement {
    Statement::new(
        "UPDATE codes SET revoked_at = $1 WHERE user_id = $2 AND used_at IS NULL AND revoked_at IS NULL",
    )
    .int(now)
    .text(user)
}

/// What became of the mail that carried code `id`.
pub fn record_mail(id: &str, state: &str, error: Option<String>, at: i64) -> Statement {
    Statement::new(
        "UPDATE codes SET mail_state = $1, mail_error = $2, mailed_at = $3 WHERE id = $4",
    )
    .text(state)
    .maybe_text(error)
    .int(at)
    .text(id)
}

/// A code given a new secret (sent again): the old one stops working; unused codes only.
pub fn replace_code(id: &str, code_hash: &str, expires_at: i64, now: i64) -> Statement {
    Statement::new(
        "UPDATE codes SET code_hash = $1, expires_at = $2, mail_state = NULL, mail_error = NULL, mailed_at = NULL \
         WHERE id = $3 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $4",
    )
    .text(code_hash)
    .int(expires_at)
    .text(id)
    .int(now)
}

/// A new one-time code (its hash).
pub fn insert_code(row: &CodeRow, code_hash: &str) -> Statement {
    Statement::new(
        "INSERT INTO codes (code_hash, id, org_id, kind, email, name, user_id, role, teams, created_by, created_at, expires_at, used_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL)",
    )
    .text(code_hash)
    .text(row.id.clone())
    .text(row.org_id.clone())
    .text(row.kind.clone())
    .text(row.email.clone())
    .maybe_text(row.name.clone())
    .maybe_text(row.user_id.clone())
    .text(row.role.clone())
    .text(teams_json(&row.teams))
    .maybe_text(row.created_by.clone())
    .int(row.created_at)
    .int(row.expires_at)
}
