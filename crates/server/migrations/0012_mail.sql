-- Invites and password resets sent by mail: what became of the last mail that carried the code
-- ('sent' or 'failed', with why), shown to administrators. NULL: not mailed (no relay).
ALTER TABLE codes ADD COLUMN mail_state TEXT;
ALTER TABLE codes ADD COLUMN mail_error TEXT;
ALTER TABLE codes ADD COLUMN mailed_at BIGINT;
