-- Tracked short links (domain::links): `/l/{code}` leads to `target`, an
-- address under one of the workspace's registered link targets. A link made
-- for one customer (in a message to them) counts that customer's clicks.
-- `clicks` is the count of `link_clicks` kept beside the link for lists.
CREATE TABLE links (
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    id           UUID NOT NULL,
    code         TEXT NOT NULL,
    target       TEXT NOT NULL,
    campaign     TEXT,
    name         TEXT,
    customer_id  UUID,
    clicks       BIGINT NOT NULL,
    created_by   UUID,
    created_at   BIGINT NOT NULL,
    disabled_at  BIGINT,
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
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    id           UUID NOT NULL,
    link_id      UUID NOT NULL,
    customer_id  UUID,
    client       TEXT NOT NULL,
    slot         BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX link_clicks_once ON link_clicks (link_id, client, slot);
CREATE INDEX link_clicks_link ON link_clicks (workspace_id, link_id, customer_id);
CREATE INDEX link_clicks_customer ON link_clicks (workspace_id, customer_id);
