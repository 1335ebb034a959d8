-- Account lifecycle: deactivation, administrator password resets, invites, the audit log, and
-- a revision per organisation that every administrative change bumps (a running server sees a
-- change made by the admin CLI, or by another node, when the revision moves).

-- 1 while the person may sign in; 0 once deactivated (their history is kept).
ALTER TABLE users ADD COLUMN active BIGINT NOT NULL DEFAULT 1;
-- 1 after an administrator reset the password: the old one no longer signs in, the reset code
-- sets a new one.
ALTER TABLE users ADD COLUMN password_reset BIGINT NOT NULL DEFAULT 0;

ALTER TABLE orgs ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
-- Vec<presence::WeeklyWindow> as JSON: default Do not disturb windows for members who kept them.
ALTER TABLE orgs ADD COLUMN dnd_schedule TEXT NOT NULL DEFAULT '[]';

-- Who made an API key (a user id, or NULL for the command line).
ALTER TABLE api_keys ADD COLUMN created_by TEXT;

-- One-time codes, stored as SHA-256 hashes: an invite (makes the account on first use) or an
-- administrator's password reset (sets a new password).
CREATE TABLE codes (
    code_hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL REFERENCES orgs (id),
    -- 'invite' or 'reset'
    kind TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT,
    -- A reset's person.
    user_id TEXT,
    role TEXT NOT NULL,
    -- A JSON list of team ids the invited person joins.
    teams TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT
);

CREATE INDEX codes_org ON codes (org_id, kind);

-- Every administrative action: who, what, when. Never changed, never deleted with a person.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    -- The administrator's user id, or NULL for the command line.
    actor_id TEXT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);

CREATE INDEX audit_log_org_at ON audit_log (org_id, at);
