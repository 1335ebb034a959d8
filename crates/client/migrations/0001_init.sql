-- The desktop client's local store: the missed-notification center, the outbox of changes the
-- server has not acknowledged, and small values (cursor, last team snapshot, settings).

CREATE TABLE notifications (
    seq INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    sender TEXT,
    urgent INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    -- presence::Delivery as JSON: shown, or held and why (the server's decision).
    delivery TEXT NOT NULL,
    is_read INTEGER NOT NULL,
    dismissed INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    -- 1 once a desktop notification was shown for it on this machine.
    shown INTEGER NOT NULL DEFAULT 0,
    -- 1 for held notifications not yet summarised after Do not disturb or a pause ended.
    missed INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE outbox (
    request TEXT PRIMARY KEY,
    -- The ClientMessage to send, as JSON.
    message TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
