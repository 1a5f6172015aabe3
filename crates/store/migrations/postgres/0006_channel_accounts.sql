-- One table for every way a workspace is reached: a mailbox is one kind of
-- channel account, a messenger bot, a chat widget or a phone line are others.
-- Kept column-for-column equal to the SQLite migration.
--
-- kind: the channel (email, telegram, whatsapp …). address: how the outside
-- world names the account (an email address, a bot's username, a phone number);
-- unique per kind on the whole server, so a receiver routes by address alone.
-- inbound/outbound/settings are JSON owned by the engine; secrets are sealed
-- with the server's key; state is the transport's own position (an IMAP UID, an
-- update offset).
CREATE TABLE channel_accounts (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    address      TEXT NOT NULL,
    inbound_kind TEXT NOT NULL,
    inbound      TEXT NOT NULL,
    outbound     TEXT,
    secrets      BYTEA,
    settings     TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL DEFAULT '{}',
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (kind, address)
);
CREATE INDEX channel_accounts_ws ON channel_accounts (workspace_id, id);

INSERT INTO channel_accounts (id, workspace_id, kind, name, address, inbound_kind, inbound,
    outbound, secrets, settings, state, active, created_at, updated_at)
SELECT id, workspace_id, 'email', name, address, inbound_kind, inbound,
    outbound, secrets, settings, imap_state, active, created_at, updated_at
FROM mailboxes;

-- Every message seen or sent through an account, by the channel's own id for it
-- (an email's Message-ID, a messenger's message id): the exactly-once record of
-- ingest (one row per account and external id), the index threading looks
-- references up in, and where delivery reports find our message.
-- outcome: ticket (opened one), reply (added to one), duplicate (same id through
-- another account), bounce, ignored reasons, sent, auto_ack. sent_at: when the
-- sender says it was sent (an email's Date); created_at: when it was recorded.
CREATE TABLE channel_messages (
    workspace_id UUID NOT NULL,
    account_id   UUID NOT NULL REFERENCES channel_accounts(id),
    external_id  TEXT NOT NULL,
    message_id   UUID,
    ticket_id    UUID,
    direction    TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    address      TEXT,
    raw_sha256   TEXT,
    sent_at      BIGINT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (account_id, external_id)
);
INSERT INTO channel_messages (workspace_id, account_id, external_id, message_id, ticket_id,
    direction, outcome, address, raw_sha256, created_at)
SELECT workspace_id, mailbox_id, header_id, message_id, ticket_id,
    direction, outcome, address, raw_sha256, created_at
FROM email_messages;
CREATE INDEX channel_messages_external ON channel_messages (workspace_id, external_id);
CREATE INDEX channel_messages_ticket ON channel_messages (workspace_id, ticket_id, created_at);
CREATE INDEX channel_messages_message ON channel_messages (workspace_id, message_id);

DROP TABLE email_messages;
DROP TABLE mailboxes;

-- The account a ticket came in through (replies leave by it) and the account each
-- message came in or left by. Empty for tickets and notes made in the app or API.
ALTER TABLE tickets ADD COLUMN account_id UUID REFERENCES channel_accounts(id);
ALTER TABLE messages ADD COLUMN account_id UUID REFERENCES channel_accounts(id);

-- External ids are unique per account for messages of an account (messenger
-- ids repeat across bots), per channel for the rest (API input).
DROP INDEX messages_external;
CREATE UNIQUE INDEX messages_external ON messages (workspace_id, channel, external_id)
    WHERE external_id IS NOT NULL AND account_id IS NULL;
CREATE UNIQUE INDEX messages_account_external ON messages (account_id, external_id)
    WHERE external_id IS NOT NULL AND account_id IS NOT NULL;

UPDATE messages SET account_id = (
    SELECT cm.account_id FROM channel_messages cm
    WHERE cm.workspace_id = messages.workspace_id AND cm.message_id = messages.id
    ORDER BY cm.created_at LIMIT 1)
WHERE channel = 'email';
UPDATE tickets SET account_id = (
    SELECT cm.account_id FROM channel_messages cm
    WHERE cm.workspace_id = tickets.workspace_id AND cm.ticket_id = tickets.id
    ORDER BY cm.created_at LIMIT 1)
WHERE channel = 'email';
