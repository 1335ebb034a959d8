-- Each stored presence state has a version: a write names the version it read, and one that
-- finds another has been stored since (by another node) reads the person again and applies its
-- change to that. No update is lost and none is applied twice, whichever node writes.
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
