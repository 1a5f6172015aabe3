-- Mail accepted from the sending server but without any sender address to
-- answer: held for an admin to ticket (naming the customer) or discard, instead
-- of being dropped. Not an ingest record: a later copy of the same message that
-- does name its sender is ticketed normally (and clears this row).
CREATE TABLE held_messages (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    account_id   BLOB NOT NULL REFERENCES channel_accounts(id),
    external_id  TEXT NOT NULL,
    subject      TEXT NOT NULL,
    reason       TEXT NOT NULL,
    raw_sha256   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (account_id, external_id)
);
CREATE INDEX held_messages_ws ON held_messages (workspace_id, account_id, created_at);
