-- Durable consumers of the event log. One row per consumer: the last event it
-- handled (its position) and a lease that lets one node at a time run it. The
-- position moves in the same transaction as the consumer's own writes, and only
-- from the position the handler read (compare and set), so an event is handled
-- once per consumer even when two nodes race.
CREATE TABLE consumers (
    name        TEXT PRIMARY KEY,
    position_tx INTEGER NOT NULL DEFAULT 0,
    position_id INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER,
    handled     INTEGER NOT NULL DEFAULT 0,
    failures    INTEGER NOT NULL DEFAULT 0,
    retry_at    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    updated_at  INTEGER NOT NULL
);

-- The `activity` consumer's roll-up: events per workspace, UTC day and kind.
-- Derived data: it can be rebuilt by resetting the consumer's position.
CREATE TABLE activity_daily (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    day          INTEGER NOT NULL, -- days since 1970-01-01, UTC
    kind         TEXT NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, day, kind)
);
