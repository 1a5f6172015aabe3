-- KPI roll-ups (domain::kpi): derived from the event log by the `kpis`
-- consumer, dropped and rebuilt at will (`otklik rebuild-reports`).
--
-- A ticket's facts, each at the moment a report's period takes it by, with
-- the ticket's breakdowns. A report reads one range of the primary key per
-- measure (SQLite keeps the rows themselves in that order).
CREATE TABLE kpi_facts (
    workspace_id UUID NOT NULL,
    measure      TEXT NOT NULL,
    at           BIGINT NOT NULL,
    ticket_id    UUID NOT NULL,
    part         TEXT NOT NULL,
    channel      TEXT NOT NULL,
    team_id      TEXT,
    agent_id     TEXT,
    category     TEXT,
    language     TEXT,
    value        BIGINT,
    flag         BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, measure, at, ticket_id, part)
);

-- The facts counted per breakdown, key ('' for none) and local day: what a
-- report's counts and rates read (the facts table is for the quantiles).
CREATE TABLE kpi_daily (
    workspace_id UUID NOT NULL,
    measure      TEXT NOT NULL,
    dim          TEXT NOT NULL,
    key          TEXT NOT NULL,
    day          BIGINT NOT NULL,
    n            BIGINT NOT NULL,
    flagged      BIGINT NOT NULL,
    high         BIGINT NOT NULL,
    low          BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, measure, dim, key, day)
);

-- Net backlog changes per breakdown, key ('' for none) and local day.
CREATE TABLE kpi_backlog (
    workspace_id UUID NOT NULL,
    dim          TEXT NOT NULL,
    key          TEXT NOT NULL,
    day          BIGINT NOT NULL,
    delta        BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, dim, key, day)
);

-- What each ticket contributes now (domain::kpi::Derived as JSON): the next
-- fold writes only the difference.
CREATE TABLE kpi_tickets (
    workspace_id UUID NOT NULL,
    ticket_id    UUID NOT NULL,
    derived      TEXT NOT NULL,
    PRIMARY KEY (workspace_id, ticket_id)
);
