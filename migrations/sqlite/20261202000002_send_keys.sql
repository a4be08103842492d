-- Idempotency keys of `send`: a key is reserved before the message goes out and completed
-- with its message id, so a retried send with the same key never sends twice.
CREATE TABLE send_keys (
    user_key    TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    message_id  TEXT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (user_key, key)
);
CREATE INDEX send_keys_by_age ON send_keys (created_at);
