-- Outgoing webhooks: HTTPS endpoints an organisation's administrators register for its events
-- (status changes, notifications created and read, account changes), and each delivery with
-- its attempts, kept as the endpoint's log.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs (id),
    url TEXT NOT NULL,
    -- The key deliveries are signed with (HMAC-SHA256), shown once when the endpoint is made.
    secret TEXT NOT NULL,
    -- The kinds of event it takes, comma-separated (status.changed, notification.created, ...).
    events TEXT NOT NULL,
    description TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    -- Since when its deliveries fail (none while they arrive), and why it was turned off.
    failing_since BIGINT,
    disabled_reason TEXT
);
CREATE INDEX webhooks_org ON webhooks (org_id);
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id),
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    -- pending (next_at: when to try, or until when a node holds it), delivered or failed.
    state TEXT NOT NULL,
    next_at BIGINT,
    last_at BIGINT,
    last_status BIGINT,
    last_error TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_at);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, created_at);
