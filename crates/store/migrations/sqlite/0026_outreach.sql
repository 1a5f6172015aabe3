-- Proactive outreach. Rules answer order, shipment and at-risk events with a
-- text per language; every message they cause (sent, waiting for quiet hours
-- to end, or skipped with why) is one `outreach` row, unique per rule and
-- event so a replayed event never writes twice.
CREATE TABLE outreach_rules (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    spec         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX outreach_rules_ws ON outreach_rules (workspace_id);

CREATE TABLE outreach (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    rule_id      BLOB NOT NULL REFERENCES outreach_rules(id),
    event_id     INTEGER NOT NULL,
    customer_id  BLOB NOT NULL REFERENCES customers(id),
    order_id     BLOB REFERENCES orders(id),
    state        TEXT NOT NULL,
    reason       TEXT,
    ticket_id    BLOB REFERENCES tickets(id),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, rule_id, event_id)
);
CREATE INDEX outreach_customer ON outreach (workspace_id, customer_id, updated_at);

-- Quiet hours, the daily limit per customer and the upsell switch, as JSON.
CREATE TABLE outreach_settings (
    workspace_id BLOB PRIMARY KEY REFERENCES workspaces(id),
    settings     TEXT NOT NULL
);

-- A customer who asked not to be written to first; and since when one is at
-- risk (two bad experiences in a row).
ALTER TABLE customers ADD COLUMN outreach_opt_out INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN at_risk_since INTEGER;

-- A ticket that went badly for its customer (re-opened, an SLA target missed):
-- two in a row on a customer's newest tickets flag them at risk.
CREATE TABLE bad_experiences (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    ticket_id    BLOB NOT NULL REFERENCES tickets(id),
    customer_id  BLOB NOT NULL REFERENCES customers(id),
    reason       TEXT NOT NULL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, ticket_id, reason)
);
CREATE INDEX bad_experiences_customer ON bad_experiences (workspace_id, customer_id);
