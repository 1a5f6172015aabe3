-- SLA policies, tried in position order; the first whose conditions (JSON) a
-- ticket matches applies. Targets in milliseconds of counted time (business
-- hours when a calendar is named, else calendar time); the warning share per mille.
CREATE TABLE sla_policies (
    id                UUID PRIMARY KEY,
    workspace_id      UUID NOT NULL REFERENCES workspaces(id),
    name              TEXT NOT NULL,
    position          BIGINT NOT NULL,
    conditions        TEXT NOT NULL,
    business_hours_id UUID REFERENCES business_hours(id),
    first_reply_ms    BIGINT,
    next_reply_ms     BIGINT,
    resolution_ms     BIGINT,
    warn_per_mille    BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX sla_policies_ws ON sla_policies (workspace_id, position);

-- A ticket's SLA clocks: derived from its events by the `sla` consumer and the
-- timer jobs, rebuilt whenever the ticket changes. `due_at` and `warn_at` are the
-- earliest of the clocks still counting (the inbox's time left and the at-risk
-- and breached views); `notified` lists the warnings and breaches already
-- written to the event log; `timer_at` is when the pending timer job runs.
CREATE TABLE ticket_sla (
    ticket_id    UUID PRIMARY KEY REFERENCES tickets(id),
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    policy_id    UUID NOT NULL,
    clocks       TEXT NOT NULL,
    notified     TEXT NOT NULL,
    due_at       BIGINT,
    warn_at      BIGINT,
    timer_at     BIGINT,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX ticket_sla_due ON ticket_sla (workspace_id, due_at);
