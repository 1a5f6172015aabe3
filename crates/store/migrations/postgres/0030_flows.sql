-- Guided flows the bot leads (order status, a return, …), as data per
-- workspace: the key, name, whether it runs, and the flow itself as JSON
-- (phrases that start it, steps).
CREATE TABLE bot_flows (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    key          TEXT NOT NULL,
    spec         TEXT NOT NULL,
    active       BOOLEAN NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, key)
);

-- Where a conversation is in a flow (step, answers so far), as JSON.
ALTER TABLE bot_conversations ADD COLUMN flow TEXT;
