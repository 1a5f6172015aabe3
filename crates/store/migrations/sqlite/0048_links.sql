-- Tracked short links (domain::links): `/l/{code}` leads to `target`, an
-- address under one of the workspace's registered link targets. A link made
-- for one customer (in a message to them) counts that customer's clicks.
-- `clicks` is the count of `link_clicks` kept beside the link for lists.
CREATE TABLE links (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    id           BLOB NOT NULL,
    code         TEXT NOT NULL,
    target       TEXT NOT NULL,
    campaign     TEXT,
    name         TEXT,
    customer_id  BLOB,
    clicks       INTEGER NOT NULL,
    created_by   BLOB,
    created_at   INTEGER NOT NULL,
    disabled_at  INTEGER,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX links_code ON links (code);
CREATE INDEX links_created ON links (workspace_id, created_at, id);
CREATE INDEX links_customer ON links (workspace_id, customer_id);

-- One counted click each. A client (a hash of its address and browser) is
-- counted once per link and ten-minute slot, so a retried or prefetched
-- request is not a second click, also when it reaches another node.
-- `customer_id`: whose click it was, when the link was theirs or the
-- browser is an identified chat visitor's.
CREATE TABLE link_clicks (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    id           BLOB NOT NULL,
    link_id      BLOB NOT NULL,
    customer_id  BLOB,
    client       TEXT NOT NULL,
    slot         INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX link_clicks_once ON link_clicks (link_id, client, slot);
CREATE INDEX link_clicks_link ON link_clicks (workspace_id, link_id, customer_id);
CREATE INDEX link_clicks_customer ON link_clicks (workspace_id, customer_id);
