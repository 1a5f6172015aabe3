-- Trends (domain::trend): which tickets were about which key
-- (`category:…`, `tag:…`, `term:…`) and when, kept by the `trends`
-- consumer; and the spikes it raised. Derived from the event log.
CREATE TABLE trend_hits (
    workspace_id UUID NOT NULL,
    key          TEXT NOT NULL,
    at           BIGINT NOT NULL,
    ticket_id    UUID NOT NULL,
    PRIMARY KEY (workspace_id, key, at, ticket_id)
);

CREATE TABLE trend_alerts (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL,
    key          TEXT NOT NULL,
    observed     BIGINT NOT NULL,
    expected     DOUBLE PRECISION NOT NULL,
    p_value      DOUBLE PRECISION NOT NULL,
    window_from  BIGINT NOT NULL,
    window_to    BIGINT NOT NULL,
    ticket_ids   TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX trend_alerts_ws ON trend_alerts (workspace_id, created_at);
CREATE INDEX trend_alerts_key ON trend_alerts (workspace_id, key, created_at);
