-- SLA policies, tried in position order; the first whose conditions (JSON) a
-- ticket matches applies. Targets in milliseconds of counted time (business
-- hours when a calendar is named, else calendar time); the warning share per mille.
CREATE TABLE sla_policies (
    id                BLOB PRIMARY KEY,
    workspace_id      BLOB NOT NULL REFERENCES workspaces(id),
    name              TEXT NOT NULL,
    position          INTEGER NOT NULL,
    conditions        TEXT NOT NULL,
    business_hours_id BLOB REFERENCES business_hours(id),
    first_reply_ms    INTEGER,
    next_reply_ms     INTEGER,
    resolution_ms     INTEGER,
    warn_per_mille    INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX sla_policies_ws ON sla_policies (workspace_id, position);

-- A ticket's SLA clocks: derived from its events by the `sla` consumer and the
-- timer jobs, rebuilt whenever the ticket changes. `due_at` and `warn_at` are the
-- earliest of the clocks still counting (the inbox's time left and the at-risk
-- and breached views); `notified` lists the warnings and breaches already
-- written to the event log; `timer_at` is when the pending timer job runs.
CREATE TABLE ticket_sla (
    ticket_id    BLOB PRIMARY KEY REFERENCES tickets(id),
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    policy_id    BLOB NOT NULL,
    clocks       TEXT NOT NULL,
    notified     TEXT NOT NULL,
    due_at       INTEGER,
    warn_at      INTEGER,
    timer_at     INTEGER,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX ticket_sla_due ON ticket_sla (workspace_id, due_at);
