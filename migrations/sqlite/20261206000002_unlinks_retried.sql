-- While an unlink is owed the device's credentials are kept, so that it can be logged in again
-- and unlinked should the session that owed it fail or be gone. `node_id` is the node that
-- works on it (a node may take it over only once that node's lease ran out, as with sessions),
-- `retry_at` when it may next be tried (a claim moves it forward), `attempts` the tries so far.
ALTER TABLE devices_left_linked ADD COLUMN node_id TEXT;
ALTER TABLE devices_left_linked ADD COLUMN retry_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices_left_linked ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
