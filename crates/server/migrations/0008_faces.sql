-- A person's photo: `users.avatar` names the current one (a hash, also its ETag; NULL for none,
-- when clients show initials), and `avatars` holds it re-encoded as JPEG at each size the
-- clients use, base64 in TEXT so that SQLite and PostgreSQL read it the same way.
ALTER TABLE users ADD COLUMN avatar TEXT;
CREATE TABLE avatars (
    user_id TEXT NOT NULL REFERENCES users (id),
    size BIGINT NOT NULL,
    image TEXT NOT NULL,
    PRIMARY KEY (user_id, size)
);
