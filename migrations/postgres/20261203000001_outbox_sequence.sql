-- Event ids in commit order without a global write lock. A transaction takes the ids of its
-- events from this one row as its last statement and holds the row until it commits, so ids
-- are handed out in the order their transactions commit (src/registry/events.rs explains why
-- that is what consumers need).
CREATE TABLE outbox_sequence (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    last_id BIGINT NOT NULL
);
-- Start above every id ever handed out, pruned ones included.
INSERT INTO outbox_sequence (id, last_id)
SELECT 1, GREATEST(
    (SELECT COALESCE(MAX(id), 0) FROM events),
    (SELECT through FROM outbox_pruned WHERE id = 1),
    (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_id_seq));
-- Ids come only from outbox_sequence from now on: a writer that still used the old sequence
-- (a daemon of an older version) fails loudly instead of writing an id out of order.
ALTER TABLE events ALTER COLUMN id DROP DEFAULT;
DROP SEQUENCE events_id_seq;
