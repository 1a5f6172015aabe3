-- Swarming: experts invited onto a ticket beside its assignee.
CREATE TABLE ticket_collaborators (
    ticket_id    BLOB NOT NULL REFERENCES tickets(id),
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    user_id      BLOB NOT NULL REFERENCES users(id),
    added_by     BLOB,
    added_at     INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);
CREATE INDEX ticket_collaborators_user ON ticket_collaborators (workspace_id, user_id);

-- Notes (or replies) marked as a ticket's solution, offered on similar tickets.
CREATE TABLE solution_notes (
    message_id   BLOB PRIMARY KEY REFERENCES messages(id),
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    ticket_id    BLOB NOT NULL REFERENCES tickets(id),
    marked_by    BLOB,
    marked_at    INTEGER NOT NULL
);
CREATE INDEX solution_notes_ticket ON solution_notes (workspace_id, ticket_id);
