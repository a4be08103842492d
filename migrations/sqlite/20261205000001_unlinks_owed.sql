-- A device whose number wasess released (newest wins, a resolved conflict) is unlinked in the
-- background, after the change commits. Its record is written with the change, `pending`, and
-- deleted once WhatsApp confirms the unlink: if the daemon stops first, the record stays and
-- `wasess doctor` names the device instead of losing it.
ALTER TABLE devices_left_linked ADD COLUMN pending BIGINT NOT NULL DEFAULT 0;
-- While an unlink is owed the device's credentials are kept, so that any node can log the device
-- in and unlink it should the session that owed it be gone. `retry_at` is when a node may next
-- try (a claim moves it forward), `attempts` how many tries were made.
ALTER TABLE devices_left_linked ADD COLUMN retry_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices_left_linked ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
