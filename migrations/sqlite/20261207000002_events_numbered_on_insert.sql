-- SQLite numbers events itself: `events.id` is AUTOINCREMENT, so each insert takes the next id
-- above every id ever used (pruned ones included), in insertion order, and a rolled-back
-- insert gives its ids back with the rest of its transaction. One writer at a time, so ids
-- commit in order. This trigger keeps `outbox_sequence` (what `stats` and the webhook backlog
-- read as the newest id) in step, inside the insert's own statement.
CREATE TRIGGER events_newest_id AFTER INSERT ON events
BEGIN
    UPDATE outbox_sequence SET last_id = NEW.id WHERE id = 1 AND last_id < NEW.id;
END;

-- AUTOINCREMENT continues above `sqlite_sequence`, which every insert so far moved along; the
-- sequence row is the newest id ever handed out, so the two are made to agree before the
-- first insert numbered this way.
UPDATE sqlite_sequence SET seq = (SELECT last_id FROM outbox_sequence WHERE id = 1)
 WHERE name = 'events' AND seq < (SELECT last_id FROM outbox_sequence WHERE id = 1);
INSERT INTO sqlite_sequence (name, seq)
SELECT 'events', last_id FROM outbox_sequence
 WHERE id = 1 AND last_id > 0
   AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events');
