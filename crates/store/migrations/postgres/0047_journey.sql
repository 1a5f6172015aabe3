-- The customer journey (domain::journey): every contact as a touchpoint with
-- its stage and, where something tells it, an emotion (−100 to 100).
-- Touchpoints the system sees are written by the `journey` consumer from
-- the event log; a shop's pushes (page views, cart, checkout, reviews) are
-- written as they come. `source` names each one in its workspace
-- (`message:{id}`, `order:{id}`, `push:{the shop's id}`), so a repeat
-- adds nothing.
CREATE TABLE touchpoints (
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    id           UUID NOT NULL,
    customer_id  UUID NOT NULL,
    at           BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    stage        TEXT NOT NULL,
    emotion      BIGINT,
    channel      TEXT,
    ticket_id    UUID,
    reference    TEXT,
    name         TEXT,
    url          TEXT,
    attributes   TEXT NOT NULL,
    source       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX touchpoints_source ON touchpoints (workspace_id, source);
CREATE INDEX touchpoints_customer ON touchpoints (workspace_id, customer_id, at);

-- Tracking switch and stage rules (domain::journey::Settings) as one JSON
-- document per workspace (store::settings).
CREATE TABLE journey_settings (
    workspace_id UUID PRIMARY KEY REFERENCES workspaces(id),
    settings     TEXT NOT NULL
);
