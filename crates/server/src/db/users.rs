//! People: who they are, their role, and their stored presence state.

use super::{json, parse, Db, DbError};
use presence::Person;
use sqlx::any::AnyRow;
use sqlx::Row;

/// How many people one statement of [`Db::save_states`] stores (five parameters each).
pub const STATES_PER_STATEMENT: usize = 200;

/// One person's state for [`Db::save_states`].
#[derive(Debug, Clone, Copy)]
pub struct StateWrite<'a> {
    pub user: &'a str,
    pub state: &'a Person,
    pub applied_requests: &'a [String],
    pub next_deadline: Option<i64>,
    /// The version it was read at: stored only if it is still that.
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub state: Person,
    pub applied_requests: Vec<String>,
    pub notification_seq: u64,
    pub last_assigned: Option<i64>,
    /// False once deactivated: cannot sign in, shown Offline, history kept.
    pub active: bool,
    /// An administrator reset the password: the old one no longer signs in.
    pub password_reset: bool,
    /// The stored state's version (see [`Db::save_state`]).
    pub version: i64,
    /// When the stored state next needs looking at (see [`Db::claim_due`]).
    pub next_deadline: Option<i64>,
    /// The current photo's version (see [`crate::faces::Face::version`]); none: initials.
    pub avatar: Option<String>,
}

pub use protocol::rest::Role;

pub fn role_str(role: Role) -> &'static str {
    match role {
        Role::Member => "member",
        Role::Admin => "admin",
    }
}

const USER_COLUMNS: &str = "SELECT id, org_id, email, name, password_hash, role, state, applied_requests, notification_seq, last_assigned, active, password_reset, version, next_deadline, avatar FROM users";

impl Db {
    pub async fn create_user(&self, user: &UserRow, now: i64) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO users (id, org_id, email, name, password_hash, role, state, applied_requests, next_deadline, notification_seq, last_assigned, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, 0, NULL, $9)",
        )
        .bind(&user.id)
        .bind(&user.org_id)
        .bind(&user.email)
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(role_str(user.role))
        .bind(json(&user.state))
        .bind(json(&user.applied_requests))
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => DbError::Conflict(format!(
                "a user with the email {} already exists",
                user.email
            )),
            _ => e.into(),
        })?;
        Ok(())
    }

    pub async fn users(&self) -> Result<Vec<UserRow>, DbError> {
        let rows = sqlx::query(&format!("{USER_COLUMNS} ORDER BY created_at, id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_row).collect()
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, DbError> {
        let row = sqlx::query(&format!("{USER_COLUMNS} WHERE lower(email) = lower($1)"))
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_row).transpose()
    }

    /// Stores a person's presence state, with the request that changed it (if any) recorded
    /// as applied, in one write — if the stored version is still `version`. Returns the new
    /// version, or `None` when another write came first (read the person again and retry).
    pub async fn save_state(
        &self,
        user_id: &str,
        state: &Person,
        applied_requests: &[String],
        next_deadline: Option<i64>,
        version: i64,
    ) -> Result<Option<i64>, DbError> {
        let done = sqlx::query(
            "UPDATE users SET state = $1, applied_requests = $2, next_deadline = $3, version = version + 1, due_claimed_until = NULL \
             WHERE id = $4 AND version = $5",
        )
        .bind(json(state))
        .bind(json(&applied_requests))
        .bind(next_deadline)
        .bind(user_id)
        .bind(version)
        .execute(&self.pool)
        .await?;
        Ok((done.rows_affected() == 1).then_some(version + 1))
    }

    /// Stores several people's states at once, each onto the version it names, as
    /// [`Db::save_state`] does for one: one statement per [`STATES_PER_STATEMENT`] people (so
    /// one commit, and on SQLite one trip to its thread, for all of them). Returns the people
    /// stored, with their new version; one whose version moved on meanwhile is left out.
    pub async fn save_states(
        &self,
        writes: &[StateWrite<'_>],
    ) -> Result<Vec<(String, i64)>, DbError> {
        let mut stored = Vec::with_capacity(writes.len());
        for chunk in writes.chunks(STATES_PER_STATEMENT) {
            // The same text for both databases: a CTE of the rows, UPDATE … FROM, RETURNING.
            let mut sql = String::from("WITH v (uid, st, ap, dl, ver) AS (VALUES ");
            for i in 0..chunk.len() {
                let b = i * 5;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, CAST(${} AS BIGINT), CAST(${} AS BIGINT))",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                ));
            }
            sql.push_str(
                ") UPDATE users SET state = v.st, applied_requests = v.ap, next_deadline = v.dl, \
                 version = version + 1, due_claimed_until = NULL \
                 FROM v WHERE users.id = v.uid AND users.version = v.ver RETURNING id, version",
            );
            let mut query = sqlx::query(&sql);
            for w in chunk {
                query = query
                    .bind(w.user)
                    .bind(json(w.state))
                    .bind(json(&w.applied_requests))
                    .bind(w.next_deadline)
                    .bind(w.version);
            }
            for row in query.fetch_all(&self.pool).await? {
                stored.push((row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?));
            }
        }
        Ok(stored)
    }

    /// Claims up to `limit` people whose stored deadline is at or before `now` and whom no
    /// other node holds, until `until`; returns them with their stored version. Two nodes
    /// claiming at once get different people (`FOR UPDATE SKIP LOCKED`): a due person is
    /// settled by one node. Storing the person ([`Db::save_state`]) or [`Db::release_due`]
    /// ends the claim; a node that dies holding one loses it at `until`. PostgreSQL only (one
    /// node on SQLite keeps its deadlines in memory).
    pub async fn claim_due(
        &self,
        now: i64,
        until: i64,
        limit: i64,
    ) -> Result<Vec<(String, i64)>, DbError> {
        let rows = sqlx::query(
            "UPDATE users SET due_claimed_until = $2 WHERE id IN ( \
               SELECT id FROM users WHERE next_deadline <= $1 \
               AND (due_claimed_until IS NULL OR due_claimed_until <= $1) \
               ORDER BY next_deadline LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id, version",
        )
        .bind(now)
        .bind(until)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Ends a claim on a settled person whose state did not change, storing when they next need
    /// looking at — if nobody stored them since (`version`; a store ends the claim itself).
    pub async fn release_due(
        &self,
        user_id: &str,
        next_deadline: Option<i64>,
        version: i64,
    ) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE users SET next_deadline = $1, due_claimed_until = NULL WHERE id = $2 AND version = $3",
        )
        .bind(next_deadline)
        .bind(user_id)
        .bind(version)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every person's stored version.
    pub async fn versions(&self) -> Result<Vec<(String, i64)>, DbError> {
        let rows = sqlx::query("SELECT id, version FROM users")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// A person's stored presence state, applied requests, version and next deadline.
    pub async fn user_state(
        &self,
        user_id: &str,
    ) -> Result<Option<(Person, Vec<String>, i64, Option<i64>)>, DbError> {
        let row = sqlx::query(
            "SELECT state, applied_requests, version, next_deadline FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok((
                parse(&r.get::<String, _>(0), "presence state")?,
                parse(&r.get::<String, _>(1), "applied requests")?,
                r.get(2),
                r.get(3),
            ))
        })
        .transpose()
    }

    pub async fn set_last_assigned(&self, user_id: &str, at: i64) -> Result<(), DbError> {
        sqlx::query("UPDATE users SET last_assigned = $1 WHERE id = $2")
            .bind(at)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl Db {
    /// One size of a person's photo, with the version it belongs to; none when they have
    /// no photo.
    pub async fn avatar(
        &self,
        user_id: &str,
        size: u32,
    ) -> Result<Option<(String, Vec<u8>)>, DbError> {
        use base64::Engine as _;
        let row = sqlx::query(
            "SELECT u.avatar, a.image FROM users u JOIN avatars a ON a.user_id = u.id \
             WHERE u.id = $1 AND a.size = $2 AND u.avatar IS NOT NULL",
        )
        .bind(user_id)
        .bind(size as i64)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let image = base64::engine::general_purpose::STANDARD
            .decode(row.get::<String, _>(1))
            .map_err(|e| DbError::corrupt("photo", e))?;
        Ok(Some((row.get(0), image)))
    }
}

fn user_row(r: &AnyRow) -> Result<UserRow, DbError> {
    let role: String = r.get(5);
    Ok(UserRow {
        id: r.get(0),
        org_id: r.get(1),
        email: r.get(2),
        name: r.get(3),
        password_hash: r.get(4),
        role: if role == "admin" {
            Role::Admin
        } else {
            Role::Member
        },
        state: parse(&r.get::<String, _>(6), "presence state")?,
        applied_requests: parse(&r.get::<String, _>(7), "applied requests")?,
        notification_seq: r.get::<i64, _>(8) as u64,
        last_assigned: r.get(9),
        active: r.get::<i64, _>(10) != 0,
        password_reset: r.get::<i64, _>(11) != 0,
        version: r.get(12),
        next_deadline: r.get(13),
        avatar: r.get(14),
    })
}
