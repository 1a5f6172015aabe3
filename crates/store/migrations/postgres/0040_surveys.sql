-- Satisfaction surveys (domain::survey). A CSAT survey belongs to a solved
-- ticket, one per ticket (a second answer replaces the first); NPS ones to a
-- customer. The link a customer follows is signed (engine::surveys::token),
-- so nothing secret is stored here.
CREATE TABLE surveys (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    ticket_id    UUID REFERENCES tickets(id),
    customer_id  UUID NOT NULL REFERENCES customers(id),
    kind         TEXT NOT NULL,
    language     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    sent_at      BIGINT,
    score        BIGINT,
    comment      TEXT,
    answered_at  BIGINT
);
CREATE UNIQUE INDEX surveys_csat_ticket ON surveys (ticket_id) WHERE kind = 'csat';
CREATE INDEX surveys_answered ON surveys (workspace_id, answered_at);

-- What a workspace asks and when (domain::survey::SurveySettings as JSON).
CREATE TABLE survey_settings (
    workspace_id UUID PRIMARY KEY REFERENCES workspaces(id),
    settings     TEXT NOT NULL
);
