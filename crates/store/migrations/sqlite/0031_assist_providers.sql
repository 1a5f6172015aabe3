-- A workspace's optional model providers (OpenAI-compatible embeddings and
-- chat endpoints) as JSON, with their API keys sealed with the server's key.
CREATE TABLE assist_providers (
    workspace_id BLOB PRIMARY KEY REFERENCES workspaces(id),
    settings     TEXT NOT NULL,
    secrets      BLOB,
    updated_at   INTEGER NOT NULL
);
