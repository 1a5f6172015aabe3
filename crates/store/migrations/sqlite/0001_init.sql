-- Otklik schema, SQLite dialect. Kept column-for-column equal to the PostgreSQL
-- migration of the same number: ids are UUIDv7 (BLOB here, UUID there), times are
-- Unix milliseconds (INTEGER / BIGINT), JSON is TEXT in both.
-- Every tenant-owned table carries workspace_id; it leads every index so that every
-- query is scoped by it.

CREATE TABLE workspaces (
    id               BLOB PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    display_name     TEXT NOT NULL,
    default_language TEXT NOT NULL,
    time_zone        TEXT NOT NULL,
    ticket_seq       INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL
);

CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id),
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    tier          INTEGER NOT NULL DEFAULT 1,
    languages     TEXT NOT NULL DEFAULT '[]',
    skills        TEXT NOT NULL DEFAULT '[]',
    capacity      INTEGER NOT NULL DEFAULT 10,
    presence      TEXT NOT NULL DEFAULT 'offline',
    password_hash TEXT,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (workspace_id, email)
);

CREATE TABLE teams (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    tier         INTEGER NOT NULL DEFAULT 1,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE team_members (
    workspace_id BLOB NOT NULL,
    team_id      BLOB NOT NULL REFERENCES teams(id),
    user_id      BLOB NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (workspace_id, user_id);

-- Bearer tokens: only a SHA-256 of the secret is kept.
CREATE TABLE api_tokens (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    user_id      BLOB NOT NULL REFERENCES users(id),
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_ws ON api_tokens (workspace_id, user_id);

-- Browser sessions: the cookie holds a secret whose SHA-256 is the key here.
CREATE TABLE sessions (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    user_id      BLOB NOT NULL REFERENCES users(id),
    token_hash   BLOB NOT NULL UNIQUE,
    csrf_token   TEXT NOT NULL,
    remember     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);

CREATE TABLE customers (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    language     TEXT,
    notes        TEXT NOT NULL DEFAULT '',
    merged_into  BLOB,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX customers_ws ON customers (workspace_id, id);

-- An identity (kind, value) names exactly one customer in a workspace.
CREATE TABLE customer_identities (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    customer_id  BLOB NOT NULL REFERENCES customers(id),
    kind         TEXT NOT NULL,
    value        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, kind, value)
);
CREATE INDEX customer_identities_customer ON customer_identities (workspace_id, customer_id);

CREATE TABLE custom_fields (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    key          TEXT NOT NULL,
    label        TEXT NOT NULL,
    field_type   TEXT NOT NULL,
    options      TEXT NOT NULL DEFAULT '[]',
    required     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, key)
);

CREATE TABLE tickets (
    id            BLOB PRIMARY KEY,
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id),
    number        INTEGER NOT NULL,
    subject       TEXT NOT NULL,
    status        TEXT NOT NULL,
    priority      TEXT NOT NULL,
    channel       TEXT NOT NULL,
    customer_id   BLOB NOT NULL REFERENCES customers(id),
    assignee_id   BLOB REFERENCES users(id),
    team_id       BLOB REFERENCES teams(id),
    tier          INTEGER NOT NULL DEFAULT 1,
    category      TEXT,
    tags          TEXT NOT NULL DEFAULT '[]',
    custom_fields TEXT NOT NULL DEFAULT '{}',
    follow_up_of  BLOB,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    solved_at     INTEGER,
    closed_at     INTEGER,
    UNIQUE (workspace_id, number)
);
CREATE INDEX tickets_ws_id ON tickets (workspace_id, id);
CREATE INDEX tickets_ws_status ON tickets (workspace_id, status, id);
CREATE INDEX tickets_ws_customer ON tickets (workspace_id, customer_id, id);
CREATE INDEX tickets_ws_assignee ON tickets (workspace_id, assignee_id, id);
CREATE INDEX tickets_ws_team ON tickets (workspace_id, team_id, id);

-- Tags again, one row each, so that filtering by tag uses an index.
CREATE TABLE ticket_tags (
    workspace_id BLOB NOT NULL,
    ticket_id    BLOB NOT NULL REFERENCES tickets(id),
    tag          TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX ticket_tags_ws_tag ON ticket_tags (workspace_id, tag, ticket_id);

CREATE TABLE messages (
    id                 BLOB PRIMARY KEY,
    workspace_id       BLOB NOT NULL REFERENCES workspaces(id),
    ticket_id          BLOB NOT NULL REFERENCES tickets(id),
    visibility         TEXT NOT NULL,
    author_kind        TEXT NOT NULL,
    author_user_id     BLOB REFERENCES users(id),
    author_customer_id BLOB REFERENCES customers(id),
    channel            TEXT NOT NULL,
    body_text          TEXT NOT NULL,
    body_html          TEXT,
    external_id        TEXT,
    delivery_state     TEXT,
    delivery_error     TEXT,
    created_at         INTEGER NOT NULL
);
CREATE INDEX messages_ticket ON messages (workspace_id, ticket_id, id);
CREATE INDEX messages_customer ON messages (workspace_id, author_customer_id);
-- Ingest is idempotent on (channel, external id).
CREATE UNIQUE INDEX messages_external ON messages (workspace_id, channel, external_id) WHERE external_id IS NOT NULL;

-- Attachment metadata; the bytes live in the blob store under their SHA-256.
CREATE TABLE attachments (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    message_id   BLOB REFERENCES messages(id),
    sha256       TEXT NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    uploaded_by  BLOB,
    created_at   INTEGER NOT NULL
);
CREATE INDEX attachments_message ON attachments (workspace_id, message_id);

-- The event log: the audit trail, the outbox and the source of analytics.
-- Ids increase in commit order here because every write goes through one writer.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BLOB NOT NULL,
    kind         TEXT NOT NULL,
    ticket_id    BLOB,
    customer_id  BLOB,
    actor_kind   TEXT NOT NULL,
    actor_id     BLOB,
    data         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    tx_id        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_ws ON events (workspace_id, id);
CREATE INDEX events_ticket ON events (workspace_id, ticket_id, id);
CREATE INDEX events_customer ON events (workspace_id, customer_id, id);

-- Durable delayed work. state: queued, running, done, dead.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BLOB,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'queued',
    run_at       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 8,
    locked_until INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);

-- Responses to creating requests that carried an Idempotency-Key.
CREATE TABLE idempotency_keys (
    workspace_id BLOB NOT NULL,
    key          TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, key)
);
