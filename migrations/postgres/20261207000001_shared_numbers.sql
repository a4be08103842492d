-- The phone numbers held by more than one connection row (`shared_numbers`), kept by a
-- trigger in the statement that changes a row. detect-conflicts, resolve-conflicts and stats
-- read them through the partial index, in time that follows the number of duplicates instead
-- of grouping the whole table. Writers run concurrently here, so each number has a count that
-- its writers lock: two transactions giving one number to two rows at once both count, where
-- looking the other holders up would miss the one not yet committed.
CREATE TABLE number_holders (
    phone_number TEXT PRIMARY KEY,
    holders      BIGINT NOT NULL CHECK (holders > 0)
);
CREATE INDEX number_holders_shared ON number_holders (phone_number) WHERE holders > 1;

INSERT INTO number_holders (phone_number, holders)
SELECT phone_number, COUNT(*) FROM whatsapp_connections
 WHERE phone_number IS NOT NULL GROUP BY phone_number;

CREATE FUNCTION count_number_holders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.phone_number IS NOT NULL THEN
        -- The last holder's row goes with it; the others count down.
        DELETE FROM number_holders WHERE phone_number = OLD.phone_number AND holders = 1;
        UPDATE number_holders SET holders = holders - 1 WHERE phone_number = OLD.phone_number;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.phone_number IS NOT NULL THEN
        INSERT INTO number_holders (phone_number, holders) VALUES (NEW.phone_number, 1)
            ON CONFLICT (phone_number) DO UPDATE SET holders = number_holders.holders + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER number_holders_on_insert_or_delete AFTER INSERT OR DELETE ON whatsapp_connections
    FOR EACH ROW EXECUTE FUNCTION count_number_holders();
CREATE TRIGGER number_holders_on_update AFTER UPDATE OF phone_number ON whatsapp_connections
    FOR EACH ROW WHEN (OLD.phone_number IS DISTINCT FROM NEW.phone_number)
    EXECUTE FUNCTION count_number_holders();

CREATE VIEW shared_numbers AS SELECT phone_number FROM number_holders WHERE holders > 1;
