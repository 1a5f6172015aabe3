-- Proactive outreach. Rules answer order, shipment and at-risk events with a
-- text per language; every message they cause (sent, waiting for quiet hours
-- to end, or skipped with why) is one `outreach` row, unique per rule and
-- event so a replayed event never writes twice.
CREATE TABLE outreach_rules (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    spec         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX outreach_rules_ws ON outreach_rules (workspace_id);

CREATE TABLE outreach (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    rule_id      UUID NOT NULL REFERENCES outreach_rules(id),
    event_id     BIGINT NOT NULL,
    customer_id  UUID NOT NULL REFERENCES customers(id),
    order_id     UUID REFERENCES orders(id),
    state        TEXT NOT NULL,
    reason       TEXT,
    ticket_id    UUID REFERENCES tickets(id),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, rule_id, event_id)
);
CREATE INDEX outreach_customer ON outreach (workspace_id, customer_id, updated_at);

-- Quiet hours, the daily limit per customer and the upsell switch, as JSON.
CREATE TABLE outreach_settings (
    workspace_id UUID PRIMARY KEY REFERENCES workspaces(id),
    settings     TEXT NOT NULL
);

-- A customer who asked not to be written to first; and since when one is at
-- risk (two bad experiences in a row).
ALTER TABLE customers ADD COLUMN outreach_opt_out BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE customers ADD COLUMN at_risk_since BIGINT;

-- A ticket that went badly for its customer (re-opened, an SLA target missed):
-- two in a row on a customer's newest tickets flag them at risk.
CREATE TABLE bad_experiences (
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    ticket_id    UUID NOT NULL REFERENCES tickets(id),
    customer_id  UUID NOT NULL REFERENCES customers(id),
    reason       TEXT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, ticket_id, reason)
);
CREATE INDEX bad_experiences_customer ON bad_experiences (workspace_id, customer_id);
