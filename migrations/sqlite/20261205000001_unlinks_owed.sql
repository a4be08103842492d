-- A device whose number wasess released (newest wins, a resolved conflict) is unlinked in the
-- background, after the change commits. Its record is written with the change, `pending`, and
-- deleted once WhatsApp confirms the unlink: if the daemon stops first, the record stays and
-- `wasess doctor` names the device instead of losing it.
ALTER TABLE devices_left_linked ADD COLUMN pending BIGINT NOT NULL DEFAULT 0;
