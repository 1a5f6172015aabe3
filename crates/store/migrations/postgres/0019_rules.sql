-- Triggers and automations: typed JSON (`domain::rules::RuleSpec`), tried by
-- position; how often each fired.
CREATE TABLE rules (
    id            UUID PRIMARY KEY,
    workspace_id  UUID NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    position      BIGINT NOT NULL,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    spec          TEXT NOT NULL,
    fired         BIGINT NOT NULL DEFAULT 0,
    last_fired_at BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX rules_ws ON rules (workspace_id, kind, position);

-- An automation fires once per ticket until the ticket changes again: the
-- ticket's `updated_at` after its last firing.
CREATE TABLE rule_runs (
    rule_id      UUID NOT NULL,
    ticket_id    UUID NOT NULL,
    workspace_id UUID NOT NULL,
    ticket_at    BIGINT NOT NULL,
    PRIMARY KEY (rule_id, ticket_id)
);

-- One sweep of a workspace's automations is queued at a time: the row exists
-- while its job chain runs (`due_at`: when the next sweep is queued for).
CREATE TABLE automation_sweeps (
    workspace_id UUID PRIMARY KEY,
    due_at       BIGINT NOT NULL
);

-- Bumped by every change to the workspace's rules, so a node's cached,
-- compiled rules are known stale with one cheap read.
ALTER TABLE workspaces ADD COLUMN rules_version BIGINT NOT NULL DEFAULT 0;
