-- The phone numbers held by more than one connection row, kept by triggers in the statement
-- that changes a row. detect-conflicts, resolve-conflicts and stats read them here, in time
-- that follows the number of duplicates instead of grouping the whole table. Each trigger
-- looks at most two holders up in the phone index; SQLite has one writer at a time, so what
-- it counts is what the rows hold.
CREATE TABLE shared_numbers (
    phone_number TEXT PRIMARY KEY NOT NULL
) WITHOUT ROWID;

INSERT INTO shared_numbers (phone_number)
SELECT phone_number FROM whatsapp_connections
 WHERE phone_number IS NOT NULL GROUP BY phone_number HAVING COUNT(*) > 1;

CREATE TRIGGER shared_numbers_on_insert AFTER INSERT ON whatsapp_connections
WHEN NEW.phone_number IS NOT NULL
BEGIN
    INSERT INTO shared_numbers (phone_number)
    SELECT NEW.phone_number
     WHERE (SELECT COUNT(*) FROM (SELECT 1 FROM whatsapp_connections
                                   WHERE phone_number = NEW.phone_number LIMIT 2)) > 1
    ON CONFLICT (phone_number) DO NOTHING;
END;

CREATE TRIGGER shared_numbers_on_delete AFTER DELETE ON whatsapp_connections
WHEN OLD.phone_number IS NOT NULL
BEGIN
    DELETE FROM shared_numbers
     WHERE phone_number = OLD.phone_number
       AND (SELECT COUNT(*) FROM (SELECT 1 FROM whatsapp_connections
                                   WHERE phone_number = OLD.phone_number LIMIT 2)) < 2;
END;

CREATE TRIGGER shared_numbers_on_update AFTER UPDATE OF phone_number ON whatsapp_connections
WHEN OLD.phone_number IS NOT NEW.phone_number
BEGIN
    DELETE FROM shared_numbers
     WHERE phone_number = OLD.phone_number
       AND (SELECT COUNT(*) FROM (SELECT 1 FROM whatsapp_connections
                                   WHERE phone_number = OLD.phone_number LIMIT 2)) < 2;
    INSERT INTO shared_numbers (phone_number)
    SELECT NEW.phone_number
     WHERE NEW.phone_number IS NOT NULL
       AND (SELECT COUNT(*) FROM (SELECT 1 FROM whatsapp_connections
                                   WHERE phone_number = NEW.phone_number LIMIT 2)) > 1
    ON CONFLICT (phone_number) DO NOTHING;
END;
