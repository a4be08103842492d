-- The registry: users, their connection rows, connect locks, nodes and the event outbox.
-- Times are integer milliseconds since the Unix epoch (UTC).

CREATE TABLE users (
    user_key   TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

-- One row per user (the primary key is the user).
CREATE TABLE whatsapp_connections (
    user_key           TEXT PRIMARY KEY REFERENCES users (user_key) ON DELETE CASCADE,
    status             TEXT NOT NULL DEFAULT 'DISCONNECTED' CHECK (status IN
                           ('DISCONNECTED', 'PENDING_QR', 'CONNECTED', 'CONFLICT', 'LOGGED_OUT', 'PAUSED')),
    phone_number       TEXT CHECK (phone_number IS NULL OR length(phone_number) BETWEEN 8 AND 15),
    qr_issued_at       BIGINT,
    qr_expires_at      BIGINT,
    last_connected_at  BIGINT,
    reconnect_attempts BIGINT NOT NULL DEFAULT 0,
    node_id            TEXT,
    reason             TEXT NOT NULL DEFAULT '',
    paused_until       BIGINT,
    updated_at         BIGINT NOT NULL,
    CHECK (status <> 'CONNECTED' OR phone_number IS NOT NULL),
    CHECK (status <> 'PENDING_QR' OR qr_expires_at IS NOT NULL)
);

-- At most one CONNECTED row per phone number.
CREATE UNIQUE INDEX whatsapp_connections_one_connected_per_phone
    ON whatsapp_connections (phone_number) WHERE status = 'CONNECTED';
-- detect-conflicts and the pairing conflict check walk this index, never the table.
CREATE INDEX whatsapp_connections_by_phone
    ON whatsapp_connections (phone_number) WHERE phone_number IS NOT NULL;
CREATE INDEX whatsapp_connections_by_status ON whatsapp_connections (status);
CREATE INDEX whatsapp_connections_pending_qr
    ON whatsapp_connections (qr_expires_at) WHERE status = 'PENDING_QR';
CREATE INDEX whatsapp_connections_paused
    ON whatsapp_connections (paused_until) WHERE status = 'PAUSED';
CREATE INDEX whatsapp_connections_by_node ON whatsapp_connections (node_id, status);

-- A lease on a user while one connect attempt pairs.
CREATE TABLE connect_locks (
    user_key    TEXT PRIMARY KEY REFERENCES users (user_key) ON DELETE CASCADE,
    owner       TEXT NOT NULL,
    node_id     TEXT NOT NULL,
    acquired_at BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX connect_locks_by_expiry ON connect_locks (expires_at);
CREATE INDEX connect_locks_by_node ON connect_locks (node_id);

CREATE TABLE nodes (
    node_id    TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    version    TEXT NOT NULL DEFAULT ''
);

-- The audit trail and the event outbox in one: written in the same transaction as the change
-- it reports. No foreign key to users: history outlives the user.
CREATE TABLE events (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    user_key    TEXT,
    from_status TEXT,
    to_status   TEXT,
    reason      TEXT NOT NULL DEFAULT '',
    node_id     TEXT,
    data        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_user ON events (user_key, id);
CREATE INDEX events_by_time ON events (at);
