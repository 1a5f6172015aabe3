-- Swarming: experts invited onto a ticket beside its assignee.
CREATE TABLE ticket_collaborators (
    ticket_id    UUID NOT NULL REFERENCES tickets(id),
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    user_id      UUID NOT NULL REFERENCES users(id),
    added_by     UUID,
    added_at     BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);
CREATE INDEX ticket_collaborators_user ON ticket_collaborators (workspace_id, user_id);

-- Notes (or replies) marked as a ticket's solution, offered on similar tickets.
CREATE TABLE solution_notes (
    message_id   UUID PRIMARY KEY REFERENCES messages(id),
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    ticket_id    UUID NOT NULL REFERENCES tickets(id),
    marked_by    UUID,
    marked_at    BIGINT NOT NULL
);
CREATE INDEX solution_notes_ticket ON solution_notes (workspace_id, ticket_id);
