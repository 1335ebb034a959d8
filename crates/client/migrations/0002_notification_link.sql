-- Where a notification's "Open" goes: an http(s) address checked by the protocol's Link, or NULL.
ALTER TABLE notifications ADD COLUMN link TEXT;
