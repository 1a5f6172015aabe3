//! KPI roll-ups: each ticket's facts and backlog changes (`domain::kpi`), and
//! the aggregations a report reads. Derived data: `forget_all` drops it and
//! the `kpis` consumer writes it again from the event log.

use crate::sql::Arg;
use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::ids::{TicketId, WorkspaceId};
use domain::kpi::{self, Derived, Dim, Fact, Histogram, Measure};

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
             agent_id, category, language, value, flag, bucket) VALUES",
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
                    f.value
                        .filter(|_| f.measure.quantiled())
                        .map(kpi::bucket)
                        .into(),
                ],
            );
        }
        tx.conn().execute(&q).await?;
    }
    // Daily counts: take back what the gone facts counted, under the old
    // breakdowns, and count the added ones under the new.
    let mut daily: std::collections::BTreeMap<(&str, &str, String, i64), [i64; 4]> =
        Default::default();
    if let Some(o) = old {
        for f in old_facts
            .iter()
            .filter(|f| !same_dims || !new.facts.contains(f))
        {
            for (dim, key) in o.dims.keys() {
                let e = daily
                    .entry((f.measure.as_str(), dim.as_str(), key, f.day))
                    .or_default();
                for (a, b) in e.iter_mut().zip(f.counts()) {
                    *a -= b;
                }
            }
        }
    }
    for f in &added {
        for (dim, key) in new.dims.keys() {
            let e = daily
                .entry((f.measure.as_str(), dim.as_str(), key, f.day))
                .or_default();
            for (a, b) in e.iter_mut().zip(f.counts()) {
                *a += b;
            }
        }
    }
    // Histograms: the same, a bucket at a time, for the quantiled measures.
    let mut values: std::collections::BTreeMap<(&str, &str, String, i64), Histogram> =
        Default::default();
    if let Some(o) = old {
        for f in old_facts
            .iter()
            .filter(|f| !same_dims || !new.facts.contains(f))
        {
            let Some(v) = f.value.filter(|_| f.measure.quantiled()) else {
                continue;
            };
            for (dim, key) in o.dims.keys() {
                values
                    .entry((f.measure.as_str(), dim.as_str(), key, f.day))
                    .or_default()
                    .put(kpi::bucket(v), -1);
            }
        }
    }
    for f in &added {
        let Some(v) = f.value.filter(|_| f.measure.quantiled()) else {
            continue;
        };
        for (dim, key) in new.dims.keys() {
            values
                .entry((f.measure.as_str(), dim.as_str(), key, f.day))
                .or_default()
                .put(kpi::bucket(v), 1);
        }
    }
    for ((measure, dim, key, day), change) in values {
        if change.is_empty() {
            continue;
        }
        let kept: Option<String> = tx
            .conn()
            .fetch_optional(
                &query(
                    "SELECT hist FROM kpi_values WHERE workspace_id = $1 AND measure = $2 AND dim = $3 \
                     AND key = $4 AND day = $5",
                )
                .bind(ws)
                .bind(measure)
                .bind(dim)
                .bind(key.as_str())
                .bind(day),
            )
            .await?;
        let mut hist = match kept {
            Some(s) => Histogram::decode(&s)
                .ok_or_else(|| StoreError::Corrupt(format!("kpi_values histogram {s:?}")))?,
            None => Histogram::default(),
        };
        hist.add(&change);
        let q = if hist.is_empty() {
            query(
                "DELETE FROM kpi_values WHERE workspace_id = $1 AND measure = $2 AND dim = $3 \
                 AND key = $4 AND day = $5",
            )
        } else {
            query(
                "INSERT INTO kpi_values (workspace_id, measure, dim, key, day, hist) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (workspace_id, measure, dim, key, day) DO UPDATE SET hist = excluded.hist",
            )
        };
        let q = q.bind(ws).bind(measure).bind(dim).bind(key).bind(day);
        let q = if hist.is_empty() {
            q
        } else {
            q.bind(hist.encode())
        };
        tx.conn().execute(&q).await?;
    }
    for ((measure, dim, key, day), [n, flagged, high, low]) in daily {
        if n == 0 && flagged == 0 && high == 0 && low == 0 {
            continue;
        }
        tx.conn()
            .execute(
                &query(
                    "INSERT INTO kpi_daily (workspace_id, measure, dim, key, day, n, flagged, high, low) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (workspace_id, measure, dim, key, day) DO UPDATE SET \
                     n = kpi_daily.n + excluded.n, flagged = kpi_daily.flagged + excluded.flagged, \
                     high = kpi_daily.high + excluded.high, low = kpi_daily.low + excluded.low",
                )
                .bind(ws)
                .bind(measure)
                .bind(dim)
                .bind(key)
                .bind(day)
                .bind(n)
                .bind(flagged)
                .bind(high)
                .bind(low),
            )
            .await?;
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
    for t in [
        "kpi_facts",
        "kpi_daily",
        "kpi_values",
        "kpi_backlog",
        "kpi_tickets",
    ] {
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
    /// The zone's offset at `at`, as SQL: numbers only, every one written by us.
    fn offset_sql(stretches: &[(i64, i64)]) -> String {
        match stretches {
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
        }
    }

    /// The key's SQL expression.
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
                let offset = Group::offset_sql(stretches);
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

/// The measure's facts on local days `from..to`, counted per group (from
/// the daily counts: a month is a few hundred rows, not every fact).
pub async fn tally(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    measure: Measure,
    (from, to): (i64, i64),
    group: &Group,
) -> Result<Vec<Tally>, StoreError> {
    let (dim, g) = match group {
        Group::All | Group::Dim(Dim::All) => (Dim::All, "CAST(NULL AS TEXT)".to_owned()),
        Group::Dim(d) => (*d, "NULLIF(key, '')".to_owned()),
        Group::Time { weeks: false, .. } => (Dim::All, "CAST(day AS TEXT)".to_owned()),
        Group::Time { weeks: true, .. } => (Dim::All, "CAST((day + 3) / 7 AS TEXT)".to_owned()),
    };
    c.fetch_all(
        &query(format!(
            "SELECT {g} AS k, CAST(SUM(n) AS BIGINT), CAST(SUM(flagged) AS BIGINT), \
             CAST(SUM(high) AS BIGINT), CAST(SUM(low) AS BIGINT) \
             FROM kpi_daily WHERE workspace_id = $1 AND measure = $2 AND dim = $3 AND day >= $4 AND day < $5 \
             GROUP BY {g}"
        ))
        .bind(ws)
        .bind(measure.as_str())
        .bind(dim.as_str())
        .bind(from)
        .bind(to),
    )
    .await
}

/// The measure's value histograms on local days `from..to`, summed per
/// group (for [`Group::Time`], keyed by the local day's or week's number).
pub async fn histograms(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    measure: Measure,
    (from, to): (i64, i64),
    group: &Group,
) -> Result<Vec<(Option<String>, Histogram)>, StoreError> {
    let dim = match group {
        Group::Dim(d) => *d,
        Group::All | Group::Time { .. } => Dim::All,
    };
    let rows: Vec<(String, i64, String)> = c
        .fetch_all(
            &query(
                "SELECT key, day, hist FROM kpi_values WHERE workspace_id = $1 AND measure = $2 \
                 AND dim = $3 AND day >= $4 AND day < $5",
            )
            .bind(ws)
            .bind(measure.as_str())
            .bind(dim.as_str())
            .bind(from)
            .bind(to),
        )
        .await?;
    let mut by: std::collections::BTreeMap<Option<String>, Histogram> = Default::default();
    for (key, day, hist) in rows {
        let k = match group {
            Group::All | Group::Dim(Dim::All) => None,
            Group::Dim(_) => (!key.is_empty()).then_some(key),
            Group::Time { weeks: false, .. } => Some(day.to_string()),
            Group::Time { weeks: true, .. } => Some(kpi::week_of(day).to_string()),
        };
        let h = Histogram::decode(&hist)
            .ok_or_else(|| StoreError::Corrupt(format!("kpi_values histogram {hist:?}")))?;
        by.entry(k).or_default().add(&h);
    }
    Ok(by.into_iter().collect())
}

/// A value of a bucket some quantile falls in, with its group.
#[derive(Clone, Debug, PartialEq)]
pub struct Valued {
    pub key: Option<String>,
    pub bucket: i64,
    pub value: i64,
}

impl FromRow for Valued {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Valued {
            key: r.get(0)?,
            bucket: r.get(1)?,
            value: r.get(2)?,
        })
    }
}

/// The values in `buckets` ([`domain::kpi::bucket`]) of the measure's facts
/// with a moment in `from..to`, each with its group: the few facts a
/// quantile's rank can fall on, found by the bucket's index.
pub async fn bucket_values(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    measure: Measure,
    (from, to): (i64, i64),
    group: &Group,
    buckets: &[i64],
) -> Result<Vec<Valued>, StoreError> {
    if buckets.is_empty() {
        return Ok(Vec::new());
    }
    let g = group.sql();
    // Without statistics SQLite takes the primary key's range of moments —
    // every fact of the period — over the bucket index's few; named here.
    let index = match c.dialect() {
        crate::Dialect::Sqlite => " INDEXED BY kpi_facts_bucket",
        crate::Dialect::Postgres => "",
    };
    let q = query(format!(
        "SELECT {g}, bucket, value FROM kpi_facts{index} WHERE workspace_id = $1 AND measure = $2 \
         AND at >= $3 AND at < $4 AND value IS NOT NULL AND bucket IN ("
    ))
    .bind(ws)
    .bind(measure.as_str())
    .bind(from)
    .bind(to)
    .bind_list(buckets.iter().copied())
    .push(")");
    c.fetch_all(&q).await
}

/// Every value of the measure's facts with a moment in `from..to`, with its
/// group: the whole period, for checking the quantiles `bucket_values` finds
/// against (`otklik bench reports`), not for reports.
pub async fn all_values(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    measure: Measure,
    (from, to): (i64, i64),
    group: &Group,
) -> Result<Vec<(Option<String>, i64)>, StoreError> {
    let g = group.sql();
    c.fetch_all(
        &query(format!(
            "SELECT {g}, value FROM kpi_facts WHERE workspace_id = $1 AND measure = $2 \
             AND at >= $3 AND at < $4 AND value IS NOT NULL"
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

/// Tickets created in `from..to` per local hour of the week (0 = Monday
/// 00:00–01:00), `stretches` as in [`Group::Time`].
pub async fn hour_of_week(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    (from, to): (i64, i64),
    stretches: &[(i64, i64)],
) -> Result<Vec<(i64, i64)>, StoreError> {
    let offset = Group::offset_sql(stretches);
    // 1970-01-01 began a Thursday: hour 72 of its Monday-started week.
    c.fetch_all(
        &query(format!(
            "SELECT ((at + ({offset})) / 3600000 + 72) % 168 AS h, COUNT(*) FROM kpi_facts \
             WHERE workspace_id = $1 AND measure = 'created' AND at >= $2 AND at < $3 GROUP BY h"
        ))
        .bind(ws)
        .bind(from)
        .bind(to),
    )
    .await
}

/// A team's queue now (`team` `None`: tickets of no team).
#[derive(Clone, Debug, PartialEq)]
pub struct Queue {
    pub team: Option<uuid::Uuid>,
    /// New and open tickets.
    pub open: i64,
    pub unassigned: i64,
    /// The oldest new ticket (no one has answered): how long the longest wait is.
    pub oldest_new: Option<i64>,
    /// Open tickets whose SLA warning fell, and whose target passed.
    pub at_risk: i64,
    pub breached: i64,
}

impl FromRow for Queue {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Queue {
            team: r.get(0)?,
            open: r.get(1)?,
            unassigned: r.get(2)?,
            oldest_new: r.get(3)?,
            at_risk: r.get(4)?,
            breached: r.get(5)?,
        })
    }
}

/// Every team's queue at `now`.
pub async fn queues(c: &mut Conn<'_>, ws: WorkspaceId, now: i64) -> Result<Vec<Queue>, StoreError> {
    c.fetch_all(
        &query(
            "SELECT t.team_id, COUNT(*), \
               CAST(COALESCE(SUM(CASE WHEN t.assignee_id IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
               MIN(CASE WHEN t.status = 'new' THEN t.created_at END), \
               CAST(COALESCE(SUM(CASE WHEN s.warn_at <= $2 AND (s.due_at IS NULL OR s.due_at > $2) THEN 1 ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN s.due_at <= $2 THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM tickets t LEFT JOIN ticket_sla s ON s.ticket_id = t.id AND s.workspace_id = t.workspace_id \
             WHERE t.workspace_id = $1 AND t.status IN ('new', 'open') \
             GROUP BY t.team_id",
        )
        .bind(ws)
        .bind(now),
    )
    .await
}

/// Each agent's new and open tickets now.
pub async fn loads(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
) -> Result<Vec<(uuid::Uuid, i64)>, StoreError> {
    c.fetch_all(
        &query(
            "SELECT assignee_id, COUNT(*) FROM tickets WHERE workspace_id = $1 AND assignee_id IS NOT NULL \
             AND status IN ('new', 'open') GROUP BY assignee_id",
        )
        .bind(ws),
    )
    .await
}
