-- Triggers and automations: typed JSON (`domain::rules::RuleSpec`), tried by
-- position; how often each fired.
CREATE TABLE rules (
    id            BLOB PRIMARY KEY,
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    position      INTEGER NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    spec          TEXT NOT NULL,
    fired         INTEGER NOT NULL DEFAULT 0,
    last_fired_at INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX rules_ws ON rules (workspace_id, kind, position);

-- An automation fires once per ticket until the ticket changes again: the
-- ticket's `updated_at` after its last firing.
CREATE TABLE rule_runs (
    rule_id      BLOB NOT NULL,
    ticket_id    BLOB NOT NULL,
    workspace_id BLOB NOT NULL,
    ticket_at    INTEGER NOT NULL,
    PRIMARY KEY (rule_id, ticket_id)
);

-- One sweep of a workspace's automations is queued at a time: the row exists
-- while its job chain runs (`due_at`: when the next sweep is queued for).
CREATE TABLE automation_sweeps (
    workspace_id BLOB PRIMARY KEY,
    due_at       INTEGER NOT NULL
);

-- Bumped by every change to the workspace's rules, so a node's cached,
-- compiled rules are known stale with one cheap read.
ALTER TABLE workspaces ADD COLUMN rules_version INTEGER NOT NULL DEFAULT 0;
