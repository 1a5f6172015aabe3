-- Macros (canned responses): shared ones have no owner. `spec` is
-- `domain::macros::MacroSpec` as JSON (text, translations, visibility,
-- actions).
CREATE TABLE macros (
    id            UUID PRIMARY KEY,
    workspace_id  UUID NOT NULL REFERENCES workspaces(id),
    owner_id      UUID REFERENCES users(id),
    name          TEXT NOT NULL,
    spec          TEXT NOT NULL,
    usage_count   BIGINT NOT NULL DEFAULT 0,
    last_used_at  BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX macros_ws ON macros (workspace_id, usage_count);
