-- Quantiles from histograms (domain::kpi::Histogram): a report finds the
-- bucket each rank falls in from the daily histograms, then reads only the
-- facts of that bucket, not every fact of the period.
--
-- The roll-ups are derived data: they are emptied here and the `kpis`
-- consumer writes them again from the start of the log, with the buckets.
DELETE FROM kpi_facts;
DELETE FROM kpi_daily;
DELETE FROM kpi_backlog;
DELETE FROM kpi_tickets;
UPDATE consumers SET position_tx = 0, position_id = 0, handled = 0, failures = 0, last_error = NULL
WHERE name = 'kpis';

-- domain::kpi::bucket(value); NULL where the measure keeps no quantiles.
ALTER TABLE kpi_facts ADD COLUMN bucket INTEGER;
CREATE INDEX kpi_facts_bucket ON kpi_facts (workspace_id, measure, bucket, at)
    WHERE bucket IS NOT NULL;

-- The values of a quantiled measure per breakdown, key ('' for none) and
-- local day, as a histogram's text (`bucket:count,…`).
CREATE TABLE kpi_values (
    workspace_id BLOB NOT NULL,
    measure      TEXT NOT NULL,
    dim          TEXT NOT NULL,
    key          TEXT NOT NULL,
    day          INTEGER NOT NULL,
    hist         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, measure, dim, key, day)
) WITHOUT ROWID;
