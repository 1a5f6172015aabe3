-- Outbound webhook subscriptions: event kinds (a JSON list; ["*"] for all)
-- POSTed to `url`, signed with the sealed secret. `failures` counts the
-- deliveries in a row that failed for good; at the limit the subscription
-- is switched off with the reason.
CREATE TABLE webhooks (
    id              BLOB PRIMARY KEY,
    workspace_id    BLOB NOT NULL REFERENCES workspaces(id),
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,
    secret          BLOB NOT NULL,
    active          INTEGER NOT NULL,
    failures        INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX webhooks_ws ON webhooks (workspace_id, active);

-- Every delivery of an event to a subscription: its state, attempts and the
-- receiver's last answer (status and the start of the body).
CREATE TABLE webhook_deliveries (
    id              BLOB PRIMARY KEY,
    workspace_id    BLOB NOT NULL REFERENCES workspaces(id),
    webhook_id      BLOB NOT NULL REFERENCES webhooks(id),
    event_id        INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    response_status INTEGER,
    response_body   TEXT,
    error           TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (webhook_id, event_id);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (workspace_id, webhook_id, id);
