-- Side conversations: a ticket's own threads with another team or an outside
-- email address (a supplier, a warehouse), kept on the ticket and never shown
-- to its customer. An email one leaves through account_id (a mailbox that
-- sends); answers thread back by the Message-ID of one of its messages.
CREATE TABLE side_conversations (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    ticket_id    UUID NOT NULL REFERENCES tickets(id),
    subject      TEXT NOT NULL,
    team_id      UUID REFERENCES teams(id),
    address      TEXT,
    account_id   UUID REFERENCES channel_accounts(id),
    open         BOOLEAN NOT NULL DEFAULT TRUE,
    created_by   UUID,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX side_conversations_ticket ON side_conversations (workspace_id, ticket_id, created_at);

-- delivery: NULL for a team's or an answer's message; queued, sent or failed
-- (with delivery_error, a domain::Message as JSON) for one that leaves by email.
CREATE TABLE side_messages (
    id             UUID PRIMARY KEY,
    workspace_id   UUID NOT NULL REFERENCES workspaces(id),
    side_id        UUID NOT NULL REFERENCES side_conversations(id),
    author_id      UUID,
    from_address   TEXT,
    body           TEXT NOT NULL,
    delivery       TEXT,
    delivery_error TEXT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX side_messages_side ON side_messages (workspace_id, side_id, created_at);
