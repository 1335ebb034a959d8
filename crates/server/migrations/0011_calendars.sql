-- A person's calendar, followed by the server: an ICS address (the "secret address" Google and
-- Microsoft 365 give) or a CalDAV calendar. The address and any password are sealed with the
-- server's secrets key (they are credentials); what the last read came to is kept beside them.
CREATE TABLE calendars (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    kind TEXT NOT NULL,
    -- ChaCha20-Poly1305 with the secrets key, base64: the address, and user/password if any.
    sealed TEXT NOT NULL,
    -- Which key sealed it (rotation: an earlier key still opens it until it is sealed again).
    key_id TEXT NOT NULL,
    -- A shown form of the address (scheme and host), never the secret part.
    shown TEXT NOT NULL,
    etag TEXT,
    created_at BIGINT NOT NULL,
    -- When to read it next, or until when a node holds it while it reads.
    next_at BIGINT NOT NULL,
    last_ok BIGINT,
    last_full BIGINT,
    failing_since BIGINT,
    last_error TEXT,
    failures BIGINT NOT NULL
);
CREATE INDEX calendars_due ON calendars (next_at);
