-- How far an identity is trusted. `verified`: a channel proved it (mail came
-- from the address, a messenger or caller id named it, a signed widget
-- identity, a trusted integration); a visitor's typed address is only claimed
-- until then. `shared`: agents marked it as used by several people (an office
-- line, a family phone), so it never links two profiles by itself.
ALTER TABLE customer_identities ADD COLUMN verified INTEGER NOT NULL DEFAULT 1;
ALTER TABLE customer_identities ADD COLUMN shared INTEGER NOT NULL DEFAULT 0;

-- Two profiles that may be one person, for an agent to merge or dismiss. The
-- pair is kept in id order (customer_a < customer_b) so it is unique either way
-- round; a dismissed pair stays, so it is not suggested again.
CREATE TABLE merge_suggestions (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    customer_a   BLOB NOT NULL REFERENCES customers(id),
    customer_b   BLOB NOT NULL REFERENCES customers(id),
    reason       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    value        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    resolved_at  INTEGER,
    resolution   TEXT,
    UNIQUE (workspace_id, customer_a, customer_b)
);
CREATE INDEX merge_suggestions_b ON merge_suggestions (workspace_id, customer_b);
