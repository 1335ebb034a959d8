//! The statements of administrative changes, by name: the application layer says what changes
//! (`db::revoke_key(now, id)`), never how it is written. Each returns a [`Statement`] for
//! [`Db::admin_change`](super::Db::admin_change), which runs them with their audit entry in one
//! transaction.

use super::Statement;

/// A person deactivated.
pub fn deactivate_user(user: impl Into<String>) -> Statement {
    Statement::new("UPDATE users SET active = 0 WHERE id = $1").text(user)
}

/// A person's photo at every size deleted.
pub fn delete_avatars_of(user: impl Into<String>) -> Statement {
    Statement::new("DELETE FROM avatars WHERE user_id = $1").text(user)
}

/// One size of a person's photo stored (a JPEG, base64).
pub fn insert_avatar(user: impl Into<String>, size: u32, jpeg_base64: String) -> Statement {
    Statement::new("INSERT INTO avatars (user_id, size, image) VALUES ($1, $2, $3)")
        .text(user)
        .int(size as i64)
        .text(jpeg_base64)
}

/// Which photo a person shows (none: initials), if they still exist.
pub fn set_avatar(user: impl Into<String>, version: Option<String>) -> Statement {
    Statement::new("UPDATE users SET avatar = $1 WHERE id = $2")
        .maybe_text(version)
        .text(user)
        .must_change("this person no longer exists")
}

/// A person's codes deleted.
pub fn delete_codes_of(user: impl Into<String>) -> Statement {
    Statement::new("DELETE FROM codes WHERE user_id = $1").text(user)
}

/// Everyone taken out of a team.
pub fn delete_members_of_team(team: impl Into<String>) -> Statement {
    Statement::new("DELETE FROM team_members WHERE team_id = $1").text(team)
}

/// A person taken out of every team.
pub fn delete_memberships_of(user: impl Into<String>) -> Statement {
    Statement::new("DELETE FROM team_members WHERE user_id = $1").text(user)
}

/// A person's notifications deleted.
pub fn delete_notifications_of(user: impl Into<String>) -> Statement {
    Statement::new("DELETE FROM notifications WHERE user_id = $1").text(user)
}

/// A team deleted.
pub fn delete_team(team: impl Into<String>) -> Statement {
    Statement::new("DELETE FROM teams WHERE id = $1").text(team)
}

/// A person's device tokens deleted.
pub fn delete_tokens_of(user: impl Into<String>) -> Statement {
    Statement::new("DELETE FROM device_tokens WHERE user_id = $1").text(user)
}

/// A person deleted.
pub fn delete_user(user: impl Into<String>) -> Statement {
    Statement::new("DELETE FROM users WHERE id = $1").text(user)
}

/// A new API key (its hash).
pub fn insert_key(
    hash: impl Into<String>,
    id: impl Into<String>,
    org: impl Into<String>,
    name: impl Into<String>,
    now: i64,
    created_by: Option<String>,
) -> Statement {
    Statement::new(
        "INSERT INTO api_keys (key_hash, id, org_id, name, created_at, revoked_at, created_by) VALUES ($1, $2, $3, $4, $5, NULL, $6)",
    )
    .text(hash)
    .text(id)
    .text(org)
    .text(name)
    .int(now)
    .maybe_text(created_by)
}

/// A new team.
pub fn insert_team(
    id: impl Into<String>,
    org: impl Into<String>,
    name: impl Into<String>,
    now: i64,
) -> Statement {
    Statement::new("INSERT INTO teams (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)")
        .text(id)
        .text(org)
        .text(name)
        .int(now)
}

/// A person to store with [`insert_user`].
pub struct NewUser<'a> {
    pub id: &'a str,
    pub org: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    /// Their presence state as JSON.
    pub state: String,
    pub now: i64,
}

/// A new person, active, with their initial presence state.
pub fn insert_user(u: &NewUser<'_>) -> Statement {
    Statement::new(
        "INSERT INTO users (id, org_id, email, name, password_hash, role, state, applied_requests, next_deadline, notification_seq, last_assigned, created_at, active, password_reset) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, '[]', NULL, 0, NULL, $8, 1, 0)",
    )
    .text(u.id)
    .text(u.org)
    .text(u.email)
    .text(u.name)
    .text(u.password_hash)
    .text(u.role)
    .text(u.state.clone())
    .int(u.now)
}

/// A reset pending: the password no longer signs in.
pub fn mark_password_reset(user: impl Into<String>) -> Statement {
    Statement::new("UPDATE users SET password_reset = 1 WHERE id = $1").text(user)
}

/// A person reactivated.
pub fn reactivate_user(user: impl Into<String>) -> Statement {
    Statement::new("UPDATE users SET active = 1 WHERE id = $1").text(user)
}

/// A person taken out of a team.
pub fn remove_member(team: impl Into<String>, user: impl Into<String>) -> Statement {
    Statement::new("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
        .text(team)
        .text(user)
}

/// A team's name.
pub fn rename_team(name: impl Into<String>, team: impl Into<String>) -> Statement {
    Statement::new("UPDATE teams SET name = $1 WHERE id = $2")
        .text(name)
        .text(team)
}

/// A person's name.
pub fn rename_user(name: impl Into<String>, user: impl Into<String>) -> Statement {
    Statement::new("UPDATE users SET name = $1 WHERE id = $2")
        .text(name)
        .text(user)
}

/// Every token of one device of a person revoked.
pub fn revoke_device_tokens(
    now: i64,
    user: impl Into<String>,
    device: impl Into<String>,
) -> Statement {
    Statement::new(
        "UPDATE device_tokens SET revoked_at = $1 WHERE user_id = $2 AND device_id = $3 AND revoked_at IS NULL",
    )
    .int(now)
    .text(user)
    .text(device)
}

/// An API key revoked.
pub fn revoke_key(now: i64, id: impl Into<String>) -> Statement {
    Statement::new("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .int(now)
        .text(id)
}

/// Every token of a person revoked but one.
pub fn revoke_tokens_except(
    now: i64,
    user: impl Into<String>,
    kept_token_hash: impl Into<String>,
) -> Statement {
    Statement::new(
        "UPDATE device_tokens SET revoked_at = $1 WHERE user_id = $2 AND token_hash <> $3 AND revoked_at IS NULL",
    )
    .int(now)
    .text(user)
    .text(kept_token_hash)
}

/// An organisation's policy, catalog and default schedules.
pub fn set_org_rules(
    policy: impl Into<String>,
    catalog: impl Into<String>,
    quiet_hours: impl Into<String>,
    dnd_schedule: impl Into<String>,
    org: impl Into<String>,
) -> Statement {
    Statement::new(
        "UPDATE orgs SET policy = $1, catalog = $2, quiet_hours = $3, dnd_schedule = $4 WHERE id = $5",
    )
    .text(policy)
    .text(catalog)
    .text(quiet_hours)
    .text(dnd_schedule)
    .text(org)
}

/// A new password, ending a pending reset.
pub fn set_password(hash: impl Into<String>, user: impl Into<String>) -> Statement {
    Statement::new("UPDATE users SET password_hash = $1, password_reset = 0 WHERE id = $2")
        .text(hash)
        .text(user)
}

/// A new password for an active account, ending a pending reset.
pub fn set_password_if_active(hash: impl Into<String>, user: impl Into<String>) -> Statement {
    Statement::new(
        "UPDATE users SET password_hash = $1, password_reset = 0 WHERE id = $2 AND active = 1",
    )
    .text(hash)
    .text(user)
}

/// A person's role.
pub fn set_role(role: impl Into<String>, user: impl Into<String>) -> Statement {
    Statement::new("UPDATE users SET role = $1 WHERE id = $2")
        .text(role)
        .text(user)
}

/// A code used: only if unused, not withdrawn and not expired (the caller requires the row).
pub fn use_code(now: i64, id: impl Into<String>) -> Statement {
    Statement::new(
        "UPDATE codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
    )
    .int(now)
    .text(id)
    .int(now)
}

/// A code withdrawn.
pub fn withdraw_code(now: i64, id: impl Into<String>) -> Statement {
    Statement::new("UPDATE codes SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .int(now)
        .text(id)
}

/// Pending invites of an organisation to an email (in any case) withdrawn.
pub fn withdraw_invites_for(
    now: i64,
    org: impl Into<String>,
    email: impl Into<String>,
) -> Statement {
    Statement::new(
        "UPDATE codes SET revoked_at = $1 WHERE org_id = $2 AND kind = 'invite' AND lower(email) = lower($3) AND used_at IS NULL AND revoked_at IS NULL",
    )
    .int(now)
    .text(org)
    .text(email)
}
