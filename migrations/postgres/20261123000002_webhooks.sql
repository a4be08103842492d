-- Webhook delivery state: how far each endpoint has read the event outbox, and the events
-- waiting for a retry (or dead-lettered) per endpoint.

CREATE TABLE webhook_cursors (
    endpoint    TEXT PRIMARY KEY,
    last_id     BIGINT NOT NULL,
    owner_node  TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE webhook_queue (
    endpoint        TEXT NOT NULL,
    event_id        BIGINT NOT NULL,
    user_key        TEXT NOT NULL DEFAULT '',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    dead            BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (endpoint, event_id)
);
CREATE INDEX webhook_queue_due ON webhook_queue (endpoint, dead, next_attempt_at);
CREATE INDEX webhook_queue_by_user ON webhook_queue (endpoint, user_key, event_id);
