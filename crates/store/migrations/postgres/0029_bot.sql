-- The answer bot's part in a conversation: where it is (answering, waiting to
-- hear whether its answer helped, handed off, resolved), the last customer
-- message it took its turn on (so a turn is taken once), and its last answer.
CREATE TABLE bot_conversations (
    ticket_id       UUID PRIMARY KEY REFERENCES tickets(id),
    workspace_id    UUID NOT NULL REFERENCES workspaces(id),
    state           TEXT NOT NULL,
    last_message_id UUID,
    answer_key      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX bot_conversations_ws ON bot_conversations (workspace_id, state);
