-- Single sign-on: an organisation's OpenID Connect provider, and the sign-ins under way through
-- it (any node may take the provider's answer, so they are stored, not held in memory).
CREATE TABLE sso_providers (
    org_id TEXT PRIMARY KEY REFERENCES orgs (id),
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    -- The client secret, sealed with the secrets key (ChaCha20-Poly1305, base64).
    sealed_secret TEXT NOT NULL,
    key_id TEXT NOT NULL,
    label TEXT NOT NULL,
    -- A JSON list of lower-case email domains sent to this provider.
    domains TEXT NOT NULL,
    create_accounts BIGINT NOT NULL,
    default_team TEXT,
    -- 0: members may not sign in with a password (administrators still may).
    passwords BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE sso_logins (
    -- SHA-256 of the `state` sent to the provider.
    state_hash TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    -- The PKCE verifier this server sends the provider with the code.
    verifier TEXT NOT NULL,
    -- Where the browser goes back to: the app's or CLI's loopback address, or the console.
    return_to TEXT NOT NULL,
    -- The client's own `state`, echoed back to it.
    client_state TEXT NOT NULL,
    -- The client's PKCE challenge (S256): only who holds its verifier gets the token.
    client_challenge TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- When the provider's answer was taken (once only).
    answered_at BIGINT,
    -- Then: SHA-256 of the one-time code handed to the client, and whom it signs in.
    code_hash TEXT UNIQUE,
    user_id TEXT,
    -- When the client exchanged the code for a token (once only).
    used_at BIGINT
);
CREATE INDEX sso_logins_expiry ON sso_logins (expires_at);
