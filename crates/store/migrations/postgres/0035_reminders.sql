-- A person's reminder about a ticket: at due_at they are told (with their
-- note); done_at is set then, or when they cancel it.
CREATE TABLE reminders (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    ticket_id    UUID NOT NULL REFERENCES tickets(id),
    user_id      UUID NOT NULL REFERENCES users(id),
    due_at       BIGINT NOT NULL,
    note         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    done_at      BIGINT
);
CREATE INDEX reminders_user ON reminders (workspace_id, user_id, done_at, due_at);
