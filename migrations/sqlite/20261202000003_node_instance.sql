-- Which process holds a node id: random per daemon start, so two daemons that share a host name
-- and a pid (containers) still tell each other apart.
ALTER TABLE nodes ADD COLUMN instance TEXT NOT NULL DEFAULT '';
