-- The answer bot's settings per workspace (on or off per kind of channel, the
-- confidence it answers at, where hand-offs go), as JSON.
CREATE TABLE assist_settings (
    workspace_id UUID PRIMARY KEY REFERENCES workspaces(id),
    settings     TEXT NOT NULL
);
