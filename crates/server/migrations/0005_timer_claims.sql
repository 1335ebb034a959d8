-- Timers in a cluster: the stored `next_deadline` is the one queue every node reads. A node
-- claims the rows that are due (on PostgreSQL with FOR UPDATE SKIP LOCKED, so two nodes never
-- take the same one) until `due_claimed_until`; storing the person releases the claim. A node
-- that dies holding a claim loses it when that instant passes, and another node takes the row.
ALTER TABLE users ADD COLUMN due_claimed_until BIGINT;
CREATE INDEX users_next_deadline ON users (next_deadline);
