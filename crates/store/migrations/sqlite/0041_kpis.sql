-- KPI roll-ups (domain::kpi): derived from the event log by the `kpis`
-- consumer, dropped and rebuilt at will (`otklik rebuild-reports`).
--
-- A ticket's facts, each at the moment a report's period takes it by, with
-- the ticket's breakdowns. Clustered by (workspace, measure, moment): a
-- report reads one contiguous range per measure.
CREATE TABLE kpi_facts (
    workspace_id BLOB NOT NULL,
    measure      TEXT NOT NULL,
    at           INTEGER NOT NULL,
    ticket_id    BLOB NOT NULL,
    part         TEXT NOT NULL,
    channel      TEXT NOT NULL,
    team_id      TEXT,
    agent_id     TEXT,
    category     TEXT,
    language     TEXT,
    value        INTEGER,
    flag         INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, measure, at, ticket_id, part)
) WITHOUT ROWID;

-- The facts counted per breakdown, key ('' for none) and local day: what a
-- report's counts and rates read (the facts table is for the quantiles).
CREATE TABLE kpi_daily (
    workspace_id BLOB NOT NULL,
    measure      TEXT NOT NULL,
    dim          TEXT NOT NULL,
    key          TEXT NOT NULL,
    day          INTEGER NOT NULL,
    n            INTEGER NOT NULL,
    flagged      INTEGER NOT NULL,
    high         INTEGER NOT NULL,
    low          INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, measure, dim, key, day)
) WITHOUT ROWID;

-- Net backlog changes per breakdown, key ('' for none) and local day.
CREATE TABLE kpi_backlog (
    workspace_id BLOB NOT NULL,
    dim          TEXT NOT NULL,
    key          TEXT NOT NULL,
    day          INTEGER NOT NULL,
    delta        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, dim, key, day)
) WITHOUT ROWID;

-- What each ticket contributes now (domain::kpi::Derived as JSON): the next
-- fold writes only the difference.
CREATE TABLE kpi_tickets (
    workspace_id BLOB NOT NULL,
    ticket_id    BLOB NOT NULL,
    derived      TEXT NOT NULL,
    PRIMARY KEY (workspace_id, ticket_id)
) WITHOUT ROWID;
