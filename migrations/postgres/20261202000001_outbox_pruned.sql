-- How far the outbox was pruned: a consumer resuming from an id below it missed events.
CREATE TABLE outbox_pruned (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    through BIGINT NOT NULL
);
INSERT INTO outbox_pruned (id, through) VALUES (1, 0);
