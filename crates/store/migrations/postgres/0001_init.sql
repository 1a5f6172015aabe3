-- Otklik schema, PostgreSQL dialect. Kept column-for-column equal to the SQLite
-- migration of the same number: ids are UUIDv7 (UUID here, BLOB there), times are
-- Unix milliseconds (BIGINT / BIGINT), JSON is TEXT in both.
-- Every tenant-owned table carries workspace_id; it leads every index so that every
-- query is scoped by it.

CREATE TABLE workspaces (
    id               UUID PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    display_name     TEXT NOT NULL,
    default_language TEXT NOT NULL,
    time_zone        TEXT NOT NULL,
    ticket_seq       BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL
);

CREATE TABLE users (
    id            UUID PRIMARY KEY,
    workspace_id  UUID NOT NULL REFERENCES workspaces(id),
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    tier          BIGINT NOT NULL DEFAULT 1,
    languages     TEXT NOT NULL DEFAULT '[]',
    skills        TEXT NOT NULL DEFAULT '[]',
    capacity      BIGINT NOT NULL DEFAULT 10,
    presence      TEXT NOT NULL DEFAULT 'offline',
    password_hash TEXT,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (workspace_id, email)
);

CREATE TABLE teams (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    tier         BIGINT NOT NULL DEFAULT 1,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE team_members (
    workspace_id UUID NOT NULL,
    team_id      UUID NOT NULL REFERENCES teams(id),
    user_id      UUID NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (workspace_id, user_id);

-- Bearer tokens: only a SHA-256 of the secret is kept.
CREATE TABLE api_tokens (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    user_id      UUID NOT NULL REFERENCES users(id),
    name         TEXT NOT NULL,
    token_hash   BYTEA NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_tokens_ws ON api_tokens (workspace_id, user_id);

-- Browser sessions: the cookie holds a secret whose SHA-256 is the key here.
CREATE TABLE sessions (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    user_id      UUID NOT NULL REFERENCES users(id),
    token_hash   BYTEA NOT NULL UNIQUE,
    csrf_token   TEXT NOT NULL,
    remember     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

CREATE TABLE customers (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    language     TEXT,
    notes        TEXT NOT NULL DEFAULT '',
    merged_into  UUID,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX customers_ws ON customers (workspace_id, id);

-- An identity (kind, value) names exactly one customer in a workspace.
CREATE TABLE customer_identities (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    customer_id  UUID NOT NULL REFERENCES customers(id),
    kind         TEXT NOT NULL,
    value        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, kind, value)
);
CREATE INDEX customer_identities_customer ON customer_identities (workspace_id, customer_id);

CREATE TABLE custom_fields (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    key          TEXT NOT NULL,
    label        TEXT NOT NULL,
    field_type   TEXT NOT NULL,
    options      TEXT NOT NULL DEFAULT '[]',
    required     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, key)
);

CREATE TABLE tickets (
    id            UUID PRIMARY KEY,
    workspace_id  UUID NOT NULL REFERENCES workspaces(id),
    number        BIGINT NOT NULL,
    subject       TEXT NOT NULL,
    status        TEXT NOT NULL,
    priority      TEXT NOT NULL,
    channel       TEXT NOT NULL,
    customer_id   UUID NOT NULL REFERENCES customers(id),
    assignee_id   UUID REFERENCES users(id),
    team_id       UUID REFERENCES teams(id),
    tier          BIGINT NOT NULL DEFAULT 1,
    category      TEXT,
    tags          TEXT NOT NULL DEFAULT '[]',
    custom_fields TEXT NOT NULL DEFAULT '{}',
    follow_up_of  UUID,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    solved_at     BIGINT,
    closed_at     BIGINT,
    UNIQUE (workspace_id, number)
);
CREATE INDEX tickets_ws_id ON tickets (workspace_id, id);
CREATE INDEX tickets_ws_status ON tickets (workspace_id, status, id);
CREATE INDEX tickets_ws_customer ON tickets (workspace_id, customer_id, id);
CREATE INDEX tickets_ws_assignee ON tickets (workspace_id, assignee_id, id);
CREATE INDEX tickets_ws_team ON tickets (workspace_id, team_id, id);

-- Tags again, one row each, so that filtering by tag uses an index.
CREATE TABLE ticket_tags (
    workspace_id UUID NOT NULL,
    ticket_id    UUID NOT NULL REFERENCES tickets(id),
    tag          TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX ticket_tags_ws_tag ON ticket_tags (workspace_id, tag, ticket_id);

CREATE TABLE messages (
    id                 UUID PRIMARY KEY,
    workspace_id       UUID NOT NULL REFERENCES workspaces(id),
    ticket_id          UUID NOT NULL REFERENCES tickets(id),
    visibility         TEXT NOT NULL,
    author_kind        TEXT NOT NULL,
    author_user_id     UUID REFERENCES users(id),
    author_customer_id UUID REFERENCES customers(id),
    channel            TEXT NOT NULL,
    body_text          TEXT NOT NULL,
    body_html          TEXT,
    external_id        TEXT,
    delivery_state     TEXT,
    delivery_error     TEXT,
    created_at         BIGINT NOT NULL
);
CREATE INDEX messages_ticket ON messages (workspace_id, ticket_id, id);
CREATE INDEX messages_customer ON messages (workspace_id, author_customer_id);
-- Ingest is idempotent on (channel, external id).
CREATE UNIQUE INDEX messages_external ON messages (workspace_id, channel, external_id) WHERE external_id IS NOT NULL;

-- Attachment metadata; the bytes live in the blob store under their SHA-256.
CREATE TABLE attachments (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    message_id   UUID REFERENCES messages(id),
    sha256       TEXT NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    uploaded_by  UUID,
    created_at   BIGINT NOT NULL
);
CREATE INDEX attachments_message ON attachments (workspace_id, message_id);

-- The event log: the audit trail, the outbox and the source of analytics.
-- Identity values are not in commit order here, so readers order by (tx_id, id)
-- and read only below the oldest running transaction (see store::events).
CREATE TABLE events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id UUID NOT NULL,
    kind         TEXT NOT NULL,
    ticket_id    UUID,
    customer_id  UUID,
    actor_kind   TEXT NOT NULL,
    actor_id     UUID,
    data         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    tx_id        xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX events_ws ON events (workspace_id, tx_id, id);
CREATE INDEX events_all ON events (tx_id, id);
CREATE INDEX events_ticket ON events (workspace_id, ticket_id, id);
CREATE INDEX events_customer ON events (workspace_id, customer_id, id);

-- Durable delayed work. state: queued, running, done, dead.
CREATE TABLE jobs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id UUID,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'queued',
    run_at       BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 8,
    locked_until BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);

-- Responses to creating requests that carried an Idempotency-Key.
CREATE TABLE idempotency_keys (
    workspace_id UUID NOT NULL,
    key          TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    status       BIGINT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, key)
);
