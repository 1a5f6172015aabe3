-- The answer bot's settings per workspace (on or off per kind of channel, the
-- confidence it answers at, where hand-offs go), as JSON.
CREATE TABLE assist_settings (
    workspace_id BLOB PRIMARY KEY REFERENCES workspaces(id),
    settings     TEXT NOT NULL
);

-- What triage sorts customers' messages into: a key, a name, a description
-- and example messages it learns from, and the team and priority it suggests.
CREATE TABLE triage_categories (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    key          TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    examples     TEXT NOT NULL,
    team_id      BLOB REFERENCES teams(id),
    priority     TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, key)
);

-- What triage read in one customer message, with how sure it is; an agent's
-- correction replaces the category and names who made it.
CREATE TABLE message_triage (
    message_id           BLOB PRIMARY KEY REFERENCES messages(id),
    workspace_id         BLOB NOT NULL REFERENCES workspaces(id),
    ticket_id            BLOB NOT NULL REFERENCES tickets(id),
    lang                 TEXT,
    lang_confidence      REAL NOT NULL,
    category             TEXT,
    category_confidence  REAL NOT NULL,
    urgent               INTEGER NOT NULL,
    urgency_confidence   REAL NOT NULL,
    sentiment            TEXT NOT NULL,
    sentiment_confidence REAL NOT NULL,
    team_id              BLOB,
    priority             TEXT NOT NULL,
    corrected_by         BLOB,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX message_triage_ticket ON message_triage (workspace_id, ticket_id);

-- Messages agents sorted by hand (a correction, or a ticket's category set):
-- triage learns from them beside the categories' own examples.
CREATE TABLE triage_labels (
    message_id   BLOB PRIMARY KEY REFERENCES messages(id),
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    category     TEXT NOT NULL,
    text         TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX triage_labels_ws ON triage_labels (workspace_id, created_at);
