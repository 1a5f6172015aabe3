-- CSAT in conversations: the message that asked, so the chat widget and the
-- messengers can put score buttons under it.
ALTER TABLE surveys ADD COLUMN message_id UUID;
CREATE INDEX surveys_message ON surveys (message_id) WHERE message_id IS NOT NULL;
-- NPS: when each customer last was asked.
CREATE INDEX surveys_customer ON surveys (workspace_id, customer_id, kind, created_at);

-- Customers who asked not to get surveys (the link in every survey email).
CREATE TABLE survey_opt_outs (
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    customer_id  UUID NOT NULL REFERENCES customers(id),
    at           BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, customer_id)
);

-- The next NPS survey each customer is due (one row per customer; the job that
-- sends it removes it, a later solve schedules the next).
CREATE TABLE nps_due (
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    customer_id  UUID NOT NULL REFERENCES customers(id),
    due_at       BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, customer_id)
);

-- Weekly and monthly report emails to supervisors and admins: what the
-- workspace wants (domain::report::DigestSettings as JSON) and each digest
-- sent (one row per period start, written by the job that sends it, so a
-- second chain never sends the same digest twice).
CREATE TABLE report_settings (
    workspace_id UUID PRIMARY KEY REFERENCES workspaces(id),
    settings     TEXT NOT NULL
);
CREATE TABLE report_digests (
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    period       TEXT NOT NULL,
    start_day    TEXT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, period, start_day)
);
