-- While an unlink is owed the device's credentials are kept, so that it can be logged in again
-- and unlinked should the session that owed it fail or be gone. `node_id` is the node that
-- works on it (a node may take it over only once that node's lease ran out, as with sessions),
-- `retry_at` when it may next be tried (a claim moves it forward), `attempts` the tries so far.
ALTER TABLE devices_left_linked ADD COLUMN node_id TEXT;
ALTER TABLE devices_left_linked ADD COLUMN retry_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices_left_linked ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
-- Unlinks owed before this version kept no credentials: nothing can log those devices in
-- again, so they are left for the operator to remove on the phone, as before.
UPDATE devices_left_linked SET pending = 0,
       error = error || '; its credentials were not kept, so it cannot be retried'
 WHERE pending = 1
   AND NOT EXISTS (SELECT 1 FROM wa_device d WHERE d.user_key = devices_left_linked.user_key);
