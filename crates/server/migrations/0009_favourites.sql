-- Favourites: people a person pins to watch live beside their team (at most 200), and one-time
-- requests to be told when someone becomes Available. Personal: not in the audit log.
CREATE TABLE favourites (
    user_id TEXT NOT NULL REFERENCES users (id),
    person_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, person_id)
);
CREATE INDEX favourites_person ON favourites (person_id);
CREATE TABLE availability_alerts (
    user_id TEXT NOT NULL REFERENCES users (id),
    person_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, person_id)
);
CREATE INDEX availability_alerts_person ON availability_alerts (person_id);
