-- Devices adopted from another client's files (`wasess import baileys`) that a live node is
-- to log in: each as of the row's epoch when it was adopted, so a change since (a new
-- pairing, a reset) makes the entry moot.
CREATE TABLE adopted_devices (
    user_key   TEXT PRIMARY KEY NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    epoch      BIGINT NOT NULL,
    adopted_at BIGINT NOT NULL
);
