-- Several nodes on one registry (see README, "Several nodes").
--
-- Ownership: each connection row names its owner node and an epoch that grows whenever a
-- session starts, ends or changes owner. Every write a session makes checks (node, epoch) in the
-- same transaction, so a node that lost a session can no longer touch it.
ALTER TABLE whatsapp_connections ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;

-- Liveness: a lease renewed by the heartbeat and timed by the database's own clock.
-- state: live, draining (handing its sessions over) or stopped (left cleanly).
ALTER TABLE nodes ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN state TEXT NOT NULL DEFAULT 'live';
ALTER TABLE nodes ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN pid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN fenced BIGINT NOT NULL DEFAULT 0;

-- WhatsApp credentials, one set per user: whatsapp-rust's store tables, keyed by the user
-- instead of a device number. One registry is then the whole backup, and any node can resume
-- any session.

-- The device itself (keys, identity, account), serialised as whatsapp-rust serialises it.
CREATE TABLE wa_device (
    user_key   TEXT PRIMARY KEY NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    data       BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE wa_identities (
    user_key TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    address  TEXT NOT NULL,
    key      BYTEA NOT NULL,
    PRIMARY KEY (user_key, address)
);
CREATE TABLE wa_sessions (
    user_key TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    address  TEXT NOT NULL,
    record   BYTEA NOT NULL,
    PRIMARY KEY (user_key, address)
);
CREATE TABLE wa_prekeys (
    user_key TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    id       BIGINT NOT NULL,
    key      BYTEA NOT NULL,
    uploaded BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_key, id)
);
CREATE TABLE wa_signed_prekeys (
    user_key TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    id       BIGINT NOT NULL,
    record   BYTEA NOT NULL,
    PRIMARY KEY (user_key, id)
);
CREATE TABLE wa_sender_keys (
    user_key TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    address  TEXT NOT NULL,
    record   BYTEA NOT NULL,
    PRIMARY KEY (user_key, address)
);
CREATE TABLE wa_app_state_keys (
    user_key TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    key_id   BYTEA NOT NULL,
    key_data BYTEA NOT NULL,
    seq      BIGINT NOT NULL,
    PRIMARY KEY (user_key, key_id)
);
CREATE TABLE wa_app_state_versions (
    user_key   TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    state_data BYTEA NOT NULL,
    PRIMARY KEY (user_key, name)
);
CREATE TABLE wa_app_state_mutation_macs (
    user_key  TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    index_mac BYTEA NOT NULL,
    version   BIGINT NOT NULL,
    value_mac BYTEA NOT NULL,
    PRIMARY KEY (user_key, name, index_mac)
);
CREATE TABLE wa_base_keys (
    user_key   TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    address    TEXT NOT NULL,
    message_id TEXT NOT NULL,
    base_key   BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_key, address, message_id)
);
CREATE TABLE wa_device_registry (
    user_key     TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    user_id      TEXT NOT NULL,
    devices_json TEXT NOT NULL,
    timestamp    BIGINT NOT NULL,
    phash        TEXT,
    raw_id       BIGINT,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (user_key, user_id)
);
CREATE TABLE wa_group_metadata (
    user_key   TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    group_jid  TEXT NOT NULL,
    info       BYTEA NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_key, group_jid)
);
CREATE TABLE wa_lid_pn_mapping (
    user_key        TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    lid             TEXT NOT NULL,
    phone_number    TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    learning_source TEXT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (user_key, lid)
);
CREATE INDEX wa_lid_pn_mapping_by_phone ON wa_lid_pn_mapping (user_key, phone_number, updated_at);
CREATE TABLE wa_sender_key_devices (
    user_key   TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    group_jid  TEXT NOT NULL,
    device_jid TEXT NOT NULL,
    has_key    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_key, group_jid, device_jid)
);
CREATE TABLE wa_tc_tokens (
    user_key         TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    jid              TEXT NOT NULL,
    token            BYTEA NOT NULL,
    token_timestamp  BIGINT NOT NULL,
    sender_timestamp BIGINT,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (user_key, jid)
);
CREATE TABLE wa_sent_messages (
    user_key   TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    chat_jid   TEXT NOT NULL,
    message_id TEXT NOT NULL,
    payload    BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_key, chat_jid, message_id)
);
CREATE TABLE wa_pending_inbound (
    user_key    TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    chat        TEXT NOT NULL,
    sender      TEXT NOT NULL,
    id          TEXT NOT NULL,
    message     BYTEA NOT NULL,
    inserted_at BIGINT NOT NULL,
    PRIMARY KEY (user_key, chat, sender, id)
);
CREATE TABLE wa_msg_secrets (
    user_key   TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    chat       TEXT NOT NULL,
    sender     TEXT NOT NULL,
    msg_id     TEXT NOT NULL,
    secret     BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    message_ts BIGINT NOT NULL,
    PRIMARY KEY (user_key, chat, sender, msg_id)
);
