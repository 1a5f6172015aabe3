-- Macros (canned responses): shared ones have no owner. `spec` is
-- `domain::macros::MacroSpec` as JSON (text, translations, visibility,
-- actions).
CREATE TABLE macros (
    id            BLOB PRIMARY KEY,
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id),
    owner_id      BLOB REFERENCES users(id),
    name          TEXT NOT NULL,
    spec          TEXT NOT NULL,
    usage_count   INTEGER NOT NULL DEFAULT 0,
    last_used_at  INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX macros_ws ON macros (workspace_id, usage_count);
