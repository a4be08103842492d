-- Events are numbered by their transaction's COMMIT, on the server, instead of by a statement
-- the client sends before it: the one row of outbox_sequence is then held only while the
-- server commits, never across a network round trip, and never by a client that froze or
-- lost its link between two statements (src/registry/events.rs tells the whole story).
--
-- A writer inserts all its transaction's events as one JSON array here. The deferred trigger
-- below runs at COMMIT: it takes the block of ids, writes the events and removes the staged
-- row, so a committed transaction leaves nothing here and an aborted one never numbered
-- anything. Unlogged: a staged row never outlives its transaction, so it needs no WAL.
CREATE UNLOGGED TABLE event_stage (
    id     BIGSERIAL PRIMARY KEY,
    events TEXT NOT NULL
);

CREATE FUNCTION number_staged_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    taken BIGINT := json_array_length(NEW.events::json);
    last  BIGINT;
BEGIN
    UPDATE outbox_sequence SET last_id = last_id + taken WHERE id = 1 RETURNING last_id INTO last;
    INSERT INTO events (id, at, kind, user_key, from_status, to_status, reason, node_id, data)
    SELECT last - taken + 1 + e.position, e.at, e.kind, e.user_key, e.from_status,
           e.to_status, e.reason, e.node_id, e.data
      FROM json_to_recordset(NEW.events::json) AS e(position BIGINT, at BIGINT, kind TEXT,
           user_key TEXT, from_status TEXT, to_status TEXT, reason TEXT, node_id TEXT, data TEXT);
    DELETE FROM event_stage WHERE id = NEW.id;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER number_staged_events AFTER INSERT ON event_stage
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION number_staged_events();
