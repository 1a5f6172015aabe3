-- Ticket numbers get a row of their own, apart from the workspace row that every
-- tenant-owned insert references by foreign key: on PostgreSQL those key-share
-- locks and the counter's updates on one hot row queued all creations behind each
-- other.
CREATE TABLE ticket_counters (
    workspace_id UUID PRIMARY KEY,
    last_number  BIGINT NOT NULL
);
INSERT INTO ticket_counters (workspace_id, last_number) SELECT id, ticket_seq FROM workspaces;
ALTER TABLE workspaces DROP COLUMN ticket_seq;
