-- The email channel. Kept column-for-column equal to the PostgreSQL migration.

-- One support address. An address belongs to one mailbox on the whole server, so
-- the built-in SMTP receiver can route by recipient alone. Passwords live only in
-- `secrets`, sealed with the server's key; the JSON settings never hold them.
CREATE TABLE mailboxes (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    address      TEXT NOT NULL UNIQUE,
    inbound_kind TEXT NOT NULL,
    inbound      TEXT NOT NULL,
    outbound     TEXT,
    secrets      BLOB,
    settings     TEXT NOT NULL DEFAULT '{}',
    imap_state   TEXT NOT NULL DEFAULT '{}',
    active       INTEGER NOT NULL DEFAULT 1,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX mailboxes_ws ON mailboxes (workspace_id, id);

-- Every email seen or sent, keyed by Message-ID (or a digest of the raw bytes)
-- per mailbox: the exactly-once record for ingest and the index for threading.
-- outcome: ticket (opened one), reply (added to one), duplicate (same id through
-- another mailbox), bounce, ignored, sent (our own reply).
CREATE TABLE email_messages (
    workspace_id BLOB NOT NULL,
    mailbox_id   BLOB NOT NULL REFERENCES mailboxes(id),
    header_id    TEXT NOT NULL,
    message_id   BLOB,
    ticket_id    BLOB,
    direction    TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    address      TEXT,
    raw_sha256   TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, header_id)
);
CREATE INDEX email_messages_header ON email_messages (workspace_id, header_id);
CREATE INDEX email_messages_ticket ON email_messages (workspace_id, ticket_id, created_at);

-- Automatic mail sent to an address, for the per-sender rate limit.
CREATE TABLE email_autoreplies (
    workspace_id BLOB NOT NULL,
    address      TEXT NOT NULL,
    sent_at      INTEGER NOT NULL
);
CREATE INDEX email_autoreplies_addr ON email_autoreplies (workspace_id, address, sent_at);
