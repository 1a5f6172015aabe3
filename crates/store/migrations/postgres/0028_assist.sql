-- The answer bot's settings per workspace (on or off per kind of channel, the
-- confidence it answers at, where hand-offs go), as JSON.
CREATE TABLE assist_settings (
    workspace_id UUID PRIMARY KEY REFERENCES workspaces(id),
    settings     TEXT NOT NULL
);

-- What triage sorts customers' messages into: a key, a name, a description
-- and example messages it learns from, and the team and priority it suggests.
CREATE TABLE triage_categories (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    key          TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    examples     TEXT NOT NULL,
    team_id      UUID REFERENCES teams(id),
    priority     TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, key)
);

-- What triage read in one customer message, with how sure it is; an agent's
-- correction replaces the category and names who made it.
CREATE TABLE message_triage (
    message_id           UUID PRIMARY KEY REFERENCES messages(id),
    workspace_id         UUID NOT NULL REFERENCES workspaces(id),
    ticket_id            UUID NOT NULL REFERENCES tickets(id),
    lang                 TEXT,
    lang_confidence      DOUBLE PRECISION NOT NULL,
    category             TEXT,
    category_confidence  DOUBLE PRECISION NOT NULL,
    urgent               BOOLEAN NOT NULL,
    urgency_confidence   DOUBLE PRECISION NOT NULL,
    sentiment            TEXT NOT NULL,
    sentiment_confidence DOUBLE PRECISION NOT NULL,
    team_id              UUID,
    priority             TEXT NOT NULL,
    corrected_by         UUID,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX message_triage_ticket ON message_triage (workspace_id, ticket_id);

-- Messages agents sorted by hand (a correction, or a ticket's category set):
-- triage learns from them beside the categories' own examples.
CREATE TABLE triage_labels (
    message_id   UUID PRIMARY KEY REFERENCES messages(id),
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    category     TEXT NOT NULL,
    text         TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX triage_labels_ws ON triage_labels (workspace_id, created_at);
