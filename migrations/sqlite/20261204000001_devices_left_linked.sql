-- Devices wasess let go of without WhatsApp confirming the unlink: the phone may still list
-- them under Linked devices, where each takes one of its few slots. `wasess doctor` names
-- them; the cleanup forgets them with the events of their time (event_retention).
CREATE TABLE devices_left_linked (
    user_key     TEXT NOT NULL,
    phone_number TEXT,
    at           BIGINT NOT NULL,
    error        TEXT NOT NULL,
    PRIMARY KEY (user_key, at)
);
CREATE INDEX devices_left_linked_by_time ON devices_left_linked (at);
