//! KPI roll-ups: each ticket's facts and backlog changes (`domain::kpi`), and
//! the aggregations a report reads. Derived data: `forget_all` drops it and
//! the `kpis` consumer writes it again from the event log.

use crate::sql::Arg;
use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::ids::{TicketId, WorkspaceId};
use domain::kpi::{Derived, Dim, Fact, Measure};

/// What a ticket contributes as last written.
pub async fn derived(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
) -> Result<Option<Derived>, StoreError> {
    let raw: Option<String> = c
        .fetch_optional(
            &query("SELECT derived FROM kpi_tickets WHERE workspace_id = $1 AND ticket_id = $2")
                .bind(ws)
                .bind(ticket),
        )
        .await?;
    raw.map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

/// Replaces what a ticket contributes (`old`, as [`derived`] read it) with
/// `new`, writing only the difference.
pub async fn save(
    tx: &mut Tx,
    ws: WorkspaceId,
    ticket: TicketId,
    old: Option<&Derived>,
    new: &Derived,
) -> Result<(), StoreError> {
    let same_dims = old.is_some_and(|o| o.dims == new.dims);
    let empty: &[Fact] = &[];
    let old_facts = old.map_or(empty, |o| o.facts.as_slice());
    // A fact kept as it was stays; with other breakdowns every fact is written again.
    let gone: Vec<&Fact> = old_facts
        .iter()
        .filter(|f| !same_dims || !new.facts.contains(f))
        .collect();
    let added: Vec<&Fact> = new
        .facts
        .iter()
        .filter(|f| !same_dims || !old_facts.contains(f))
        .collect();
    for f in gone {
        tx.conn()
            .execute(
                &query(
                    "DELETE FROM kpi_facts WHERE workspace_id = $1 AND measure = $2 AND at = $3 \
                     AND ticket_id = $4 AND part = $5",
                )
                .bind(ws)
                .bind(f.measure.as_str())
                .bind(f.at)
                .bind(ticket)
                .bind(f.part.as_str()),
            )
            .await?;
    }
    if !added.is_empty() {
        let d = &new.dims;
        let mut q = query(
            "INSERT INTO kpi_facts (workspace_id, measure, at, ticket_id, part, channel, team_id, \
             agent_id, category, language, value, flag) VALUES",
        );
        for (i, f) in added.iter().enumerate() {
            q = q.bind_row(
                if i == 0 { " " } else { ", " },
                [
                    Arg::from(ws),
                    f.measure.as_str().into(),
                    f.at.into(),
                    ticket.into(),
                    f.part.clone().into(),
                    d.channel.clone().into(),
                    d.team.clone().into(),
                    d.agent.clone().into(),
                    d.category.clone().into(),
                    d.language.clone().into(),
                    f.value.into(),
                    i64::from(f.flag).into(),
                ],
            );
        }
        tx.conn().execute(&q).await?;
    }
    // Backlog: take back what the ticket added before, add what it adds now.
    let mut net: std::collections::BTreeMap<(&str, &str, i64), i64> = Default::default();
    for (dim, key, day, n) in old.map(|o| o.backlog.as_slice()).unwrap_or_default() {
        *net.entry((dim.as_str(), key.as_str(), *day)).or_default() -= n;
    }
    for (dim, key, day, n) in &new.backlog {
        *net.entry((dim.as_str(), key.as_str(), *day)).or_default() += n;
    }
    for ((dim, key, day), n) in net {
        if n == 0 {
            continue;
        }
        tx.conn()
            .execute(
                &query(
                    "INSERT INTO kpi_backlog (workspace_id, dim, key, day, delta) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (workspace_id, dim, key, day) DO UPDATE SET delta = kpi_backlog.delta + excluded.delta",
                )
                .bind(ws)
                .bind(dim)
                .bind(key)
                .bind(day)
                .bind(n),
            )
            .await?;
    }
    let json = serde_json::to_string(new).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.conn()
        .execute(
            &query(
                "INSERT INTO kpi_tickets (workspace_id, ticket_id, derived) VALUES ($1, $2, $3) \
                 ON CONFLICT (workspace_id, ticket_id) DO UPDATE SET derived = excluded.derived",
            )
            .bind(ws)
            .bind(ticket)
            .bind(json),
        )
        .await?;
    Ok(())
}

/// Drops every roll-up of every workspace (before a rebuild).
pub async fn forget_all(tx: &mut Tx) -> Result<(), StoreError> {
    for t in ["kpi_facts", "kpi_backlog", "kpi_tickets"] {
        tx.conn()
            .execute(&query(format!("DELETE FROM {t}")))
            .await?;
    }
    Ok(())
}

/// How a report's rows are grouped.
#[derive(Clone, Debug)]
pub enum Group {
    /// One row for the whole period.
    All,
    /// By one of the ticket's breakdowns.
    Dim(Dim),
    /// By local day or week: `stretches` are the zone's offsets, each
    /// `(until, offset_ms)` in time order, the last one open-ended (its
    /// `until` ignored). The key is the local day number (days since
    /// 1970-01-01), or for weeks the number of the Monday-started week
    /// (`(day + 3) / 7`).
    Time {
        stretches: Vec<(i64, i64)>,
        weeks: bool,
    },
}

const DAY_MS: i64 = 86_400_000;

impl Group {
    /// The key's SQL expression: numbers only, every one written by us.
    fn sql(&self) -> String {
        match self {
            Group::All => "CAST(NULL AS TEXT)".to_owned(),
            Group::Dim(d) => match d {
                Dim::All => "CAST(NULL AS TEXT)",
                Dim::Channel => "channel",
                Dim::Team => "team_id",
                Dim::Agent => "agent_id",
                Dim::Category => "category",
                Dim::Language => "language",
            }
            .to_owned(),
            Group::Time { stretches, weeks } => {
                let offset = match stretches.as_slice() {
                    [] => "0".to_owned(),
                    [(_, only)] => only.to_string(),
                    [init @ .., (_, last)] => {
                        let mut s = "CASE".to_owned();
                        for (until, off) in init {
                            s.push_str(&format!(" WHEN at < {until} THEN {off}"));
                        }
                        s.push_str(&format!(" ELSE {last} END"));
                        s
                    }
                };
                let day = format!("((at + ({offset})) / {DAY_MS})");
                let key = if *weeks {
                    format!("(({day} + 3) / 7)")
                } else {
                    day
                };
                format!("CAST({key} AS TEXT)")
            }
        }
    }
}

/// Counts of one measure's facts in a group.
#[derive(Clone, Debug, PartialEq)]
pub struct Tally {
    pub key: Option<String>,
    pub n: i64,
    /// Facts with the flag set (escalated, fcr, met, contained).
    pub flagged: i64,
    /// Values at or above the `high` asked for (CSAT 4–5, NPS promoters).
    pub high: i64,
    /// Values at or below the `low` asked for (NPS detractors).
    pub low: i64,
}

impl FromRow for Tally {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Tally {
            key: r.get(0)?,
            n: r.get(1)?,
            flagged: r.get(2)?,
            high: r.get(3)?,
            low: r.get(4)?,
        })
    }
}

/// The measure's facts with a moment in `from..to`, counted per group.
pub async fn tally(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    measure: Measure,
    (from, to): (i64, i64),
    group: &Group,
    (high, low): (i64, i64),
) -> Result<Vec<Tally>, StoreError> {
    let g = group.sql();
    c.fetch_all(
        &query(format!(
            "SELECT {g} AS k, COUNT(*), CAST(COALESCE(SUM(flag), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN value >= $5 THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN value <= $6 THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM kpi_facts WHERE workspace_id = $1 AND measure = $2 AND at >= $3 AND at < $4 \
             GROUP BY {g}"
        ))
        .bind(ws)
        .bind(measure.as_str())
        .bind(from)
        .bind(to)
        .bind(high)
        .bind(low),
    )
    .await
}

/// One value a quantile reads: its group, rank (1-based, by value) and the
/// group's size.
#[derive(Clone, Debug, PartialEq)]
pub struct Ranked {
    pub key: Option<String>,
    pub value: i64,
    pub rank: i64,
    pub n: i64,
}

impl FromRow for Ranked {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Ranked {
            key: r.get(0)?,
            value: r.get(1)?,
            rank: r.get(2)?,
            n: r.get(3)?,
        })
    }
}

/// The values at the ranks a median and the 90th percentile read
/// (`domain::kpi::ranks`), per group: a few rows, not every value.
pub async fn quantile_values(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    measure: Measure,
    (from, to): (i64, i64),
    group: &Group,
) -> Result<Vec<Ranked>, StoreError> {
    let g = group.sql();
    c.fetch_all(
        &query(format!(
            "SELECT k, value, rn, n FROM (\
               SELECT {g} AS k, value, \
                 ROW_NUMBER() OVER (PARTITION BY {g} ORDER BY value) AS rn, \
                 COUNT(*) OVER (PARTITION BY {g}) AS n \
               FROM kpi_facts WHERE workspace_id = $1 AND measure = $2 AND at >= $3 AND at < $4 \
                 AND value IS NOT NULL\
             ) q WHERE rn = (n + 1) / 2 OR rn = n / 2 + 1 OR rn = (9 * n + 9) / 10"
        ))
        .bind(ws)
        .bind(measure.as_str())
        .bind(from)
        .bind(to),
    )
    .await
}

/// Tickets unsolved at the start of local day `before`, per key of `dim`
/// (`""`: none).
pub async fn backlog(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    dim: Dim,
    before: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    c.fetch_all(
        &query(
            "SELECT key, CAST(SUM(delta) AS BIGINT) FROM kpi_backlog WHERE workspace_id = $1 AND dim = $2 AND day < $3 \
             GROUP BY key",
        )
        .bind(ws)
        .bind(dim.as_str())
        .bind(before),
    )
    .await
}

/// The whole workspace's backlog changes per local day before `before`.
pub async fn backlog_days(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    before: i64,
) -> Result<Vec<(i64, i64)>, StoreError> {
    c.fetch_all(
        &query(
            "SELECT day, CAST(SUM(delta) AS BIGINT) FROM kpi_backlog WHERE workspace_id = $1 AND dim = 'all' AND key = '' \
             AND day < $2 GROUP BY day ORDER BY day",
        )
        .bind(ws)
        .bind(before),
    )
    .await
}
