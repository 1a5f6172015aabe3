-- Trends (domain::trend): which tickets were about which key
-- (`category:…`, `tag:…`, `term:…`) and when, kept by the `trends`
-- consumer; and the spikes it raised. Derived from the event log.
CREATE TABLE trend_hits (
    workspace_id BLOB NOT NULL,
    key          TEXT NOT NULL,
    at           INTEGER NOT NULL,
    ticket_id    BLOB NOT NULL,
    PRIMARY KEY (workspace_id, key, at, ticket_id)
) WITHOUT ROWID;

CREATE TABLE trend_alerts (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL,
    key          TEXT NOT NULL,
    observed     INTEGER NOT NULL,
    expected     REAL NOT NULL,
    p_value      REAL NOT NULL,
    window_from  INTEGER NOT NULL,
    window_to    INTEGER NOT NULL,
    ticket_ids   TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX trend_alerts_ws ON trend_alerts (workspace_id, created_at);
CREATE INDEX trend_alerts_key ON trend_alerts (workspace_id, key, created_at);
