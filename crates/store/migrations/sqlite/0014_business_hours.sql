-- Business-hours calendars: a weekly schedule (JSON: day → [[start, end], …],
-- `HH:MM`) in an IANA time zone, with holidays (JSON: ["YYYY-MM-DD", …]).
CREATE TABLE business_hours (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    time_zone    TEXT NOT NULL,
    week         TEXT NOT NULL,
    holidays     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX business_hours_ws ON business_hours (workspace_id, id);
