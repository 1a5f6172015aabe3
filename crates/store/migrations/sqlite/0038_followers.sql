-- Agents who follow a ticket: told when the customer writes or its status
-- changes, without working on it (experts are ticket_collaborators).
CREATE TABLE ticket_followers (
    ticket_id    BLOB NOT NULL REFERENCES tickets(id),
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    user_id      BLOB NOT NULL REFERENCES users(id),
    added_by     BLOB,
    added_at     INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);
CREATE INDEX ticket_followers_user ON ticket_followers (workspace_id, user_id, ticket_id);
