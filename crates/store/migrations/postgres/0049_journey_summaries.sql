-- One summary per customer of their journey (domain::journey_map::Summary,
-- JSON): per stage the first and last moment, touchpoints, emotions and the
-- touchpoints met; pain points; segments. Written with each touchpoint and
-- each emotion learnt, so the journey map adds summaries up and never reads
-- touchpoints. Rebuilt from the touchpoints when they change wholesale
-- (a merge, new stage rules, an upgrade).
CREATE TABLE journey_summaries (
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    customer_id  UUID NOT NULL,
    summary      TEXT NOT NULL,
    -- The segments the summary names, for a map of one segment to read
    -- only its customers.
    first_channel TEXT,
    category     TEXT,
    country      TEXT,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, customer_id)
);
CREATE INDEX journey_summaries_first_channel ON journey_summaries (workspace_id, first_channel);
CREATE INDEX journey_summaries_category ON journey_summaries (workspace_id, category);
CREATE INDEX journey_summaries_country ON journey_summaries (workspace_id, country);
