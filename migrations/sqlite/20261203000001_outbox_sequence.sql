-- Event ids come from one counter row, taken as the last statement of the writing transaction
-- (src/registry/events.rs). SQLite serialises writers anyway; one mechanism for both databases.
CREATE TABLE outbox_sequence (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    last_id INTEGER NOT NULL
);
-- Start above every id ever handed out, pruned ones included.
INSERT INTO outbox_sequence (id, last_id)
SELECT 1, MAX(
    (SELECT COALESCE(MAX(id), 0) FROM events),
    (SELECT through FROM outbox_pruned WHERE id = 1),
    COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0));
