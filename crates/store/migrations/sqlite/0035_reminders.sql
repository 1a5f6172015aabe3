-- A person's reminder about a ticket: at due_at they are told (with their
-- note); done_at is set then, or when they cancel it.
CREATE TABLE reminders (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    ticket_id    BLOB NOT NULL REFERENCES tickets(id),
    user_id      BLOB NOT NULL REFERENCES users(id),
    due_at       INTEGER NOT NULL,
    note         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    done_at      INTEGER
);
CREATE INDEX reminders_user ON reminders (workspace_id, user_id, done_at, due_at);
