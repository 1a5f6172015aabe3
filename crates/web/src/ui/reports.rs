//! `/app/reports`: the KPIs over a period — figures, charts over time
//! (server-drawn SVG), the hour-of-week heat map, and tables per team, agent
//! and channel; `/app/reports/live`: queues, waits, SLA at risk and agents'
//! load as they are now. Supervisors, admins and owners.

use super::charts::{Series, chart};
use super::i18n::Tr;
use super::{Chrome, Ctx, OrPage, UiError, html};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use domain::kpi::{self, GroupBy};
use engine::kpis::{KpiReport, KpiRow};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/reports", get(page))
        .route("/app/reports/live", get(live))
        .route("/app/reports/journey", get(super::journey_map::page))
}

/// A figure: its name and value as read.
pub struct Tile {
    pub name: String,
    pub value: String,
}

/// A trend's key as a person reads it: `Слово «колонка»`.
pub fn topic(tr: &Tr, key: &str) -> String {
    let (kind, value) = key.split_once(':').unwrap_or(("term", key));
    let name = match kind {
        "tag" => "reports.topic_tag",
        "category" => "reports.topic_category",
        _ => "reports.topic_term",
    };
    format!("{} «{value}»", tr.t(name))
}

/// A spike as the screen lists it.
pub struct TrendView {
    pub when: String,
    pub topic: String,
    pub observed: i64,
    pub expected: String,
    /// Number and subject.
    pub examples: Vec<(i64, String)>,
}

/// A chart and its numbers (a table for screen readers and for copying).
pub struct ChartView {
    pub svg: String,
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// A row of a breakdown table.
pub struct RowView {
    pub name: String,
    pub cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "reports.html")]
pub struct ReportsPage {
    pub chrome: Chrome,
    pub from: String,
    /// The last day shown (the form's "to", included).
    pub to: String,
    pub weeks: bool,
    pub csv: String,
    pub tiles: Vec<Tile>,
    pub charts: Vec<ChartView>,
    pub heat_hours: Vec<i64>,
    /// Weekday name, then (count, shade 0–100) per hour.
    pub heat: Vec<(String, Vec<(i64, i64)>)>,
    pub trends: Vec<TrendView>,
    /// Title, columns and rows: teams, agents (with their quality score),
    /// channels.
    pub tables: Vec<(String, Vec<String>, Vec<RowView>)>,
}

#[derive(Deserialize, Default)]
pub struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
}

/// A period form's date, when one was filled in.
pub(crate) fn given(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A period form's "to" is the last day shown; the engine's is the day after.
pub(crate) fn day_after(to: Option<String>) -> Option<String> {
    to.map(|t| kpi::day_of(&t).map(|d| kpi::date_of(d + 1)).unwrap_or(t))
}

/// Seconds as a person reads them: 45 s, 12 min, 3.5 h, 2.1 d.
pub fn duration(tr: &Tr, secs: Option<f64>) -> String {
    let Some(s) = secs else {
        return "—".into();
    };
    let (v, unit) = if s < 60.0 {
        (s, "reports.unit_s")
    } else if s < 3_600.0 {
        (s / 60.0, "reports.unit_min")
    } else if s < 86_400.0 {
        (s / 3_600.0, "reports.unit_h")
    } else {
        (s / 86_400.0, "reports.unit_d")
    };
    let n = if v < 10.0 && unit != "reports.unit_s" {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    };
    format!("{n} {}", tr.t(unit))
}

pub fn percent(v: Option<f64>) -> String {
    v.map(|x| format!("{:.0}%", x * 100.0))
        .unwrap_or_else(|| "—".into())
}

fn nps(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.0}")).unwrap_or_else(|| "—".into())
}

fn cells(tr: &Tr, r: &KpiRow) -> Vec<String> {
    vec![
        r.created.to_string(),
        r.solved.to_string(),
        r.backlog.to_string(),
        duration(tr, r.frt_median_s),
        duration(tr, r.resolution_median_s),
        percent(r.csat),
        percent(r.fcr),
        percent(r.escalation_rate),
        percent(r.sla_compliance),
    ]
}

fn tiles(tr: &Tr, t: &KpiRow) -> Vec<Tile> {
    let tile = |k: &str, value: String| Tile {
        name: tr.t(k).to_owned(),
        value,
    };
    vec![
        tile("reports.created", t.created.to_string()),
        tile("reports.solved", t.solved.to_string()),
        tile("reports.backlog", t.backlog.to_string()),
        tile("reports.frt", duration(tr, t.frt_median_s)),
        tile("reports.frt_p90", duration(tr, t.frt_p90_s)),
        tile("reports.resolution", duration(tr, t.resolution_median_s)),
        tile("reports.csat", percent(t.csat)),
        tile("reports.nps", nps(t.nps)),
        tile("reports.fcr", percent(t.fcr)),
        tile("reports.escalation", percent(t.escalation_rate)),
        tile("reports.bot", percent(t.bot_containment)),
        tile("reports.sla", percent(t.sla_compliance)),
    ]
}

/// The three charts over time: volume and backlog, times, rates.
fn charts(tr: &Tr, r: &KpiReport) -> Vec<ChartView> {
    // `2026-11-02` → `02.11`: short, and the table beside has the full date.
    let labels: Vec<String> = r
        .items
        .iter()
        .map(|i| {
            let k = i.key.clone().unwrap_or_default();
            match (k.get(5..7), k.get(8..10)) {
                (Some(m), Some(d)) => format!("{d}.{m}"),
                _ => k,
            }
        })
        .collect();
    let col = |f: &dyn Fn(&KpiRow) -> Option<f64>| r.items.iter().map(f).collect::<Vec<_>>();
    let table =
        |names: &[&str], series: &[Vec<Option<f64>>], fmt: &dyn Fn(Option<f64>) -> String| {
            let mut head = vec![tr.t("reports.date").to_owned()];
            head.extend(names.iter().map(|n| n.to_string()));
            let rows = r
                .items
                .iter()
                .enumerate()
                .map(|(i, it)| {
                    let mut row = vec![it.key.clone().unwrap_or_default()];
                    row.extend(series.iter().map(|s| fmt(s[i])));
                    row
                })
                .collect();
            (head, rows)
        };

    let (created, solved, backlog) = (
        tr.t("reports.created"),
        tr.t("reports.solved"),
        tr.t("reports.backlog"),
    );
    let vol = [
        col(&|i| Some(i.created as f64)),
        col(&|i| Some(i.solved as f64)),
        col(&|i| Some(i.backlog as f64)),
    ];
    let count = |v: f64| format!("{v:.0}");
    let svg = chart(
        "volume",
        tr.t("reports.volume"),
        &labels,
        &[
            Series {
                name: created,
                values: vol[0].clone(),
            },
            Series {
                name: solved,
                values: vol[1].clone(),
            },
        ],
        &[Series {
            name: backlog,
            values: vol[2].clone(),
        }],
        None,
        &count,
    );
    let (head, rows) = table(&[created, solved, backlog], &vol, &|v| {
        v.map(count).unwrap_or_default()
    });
    let mut out = vec![ChartView { svg, head, rows }];

    let (frt, res) = (tr.t("reports.frt"), tr.t("reports.resolution"));
    let times = [col(&|i| i.frt_median_s), col(&|i| i.resolution_median_s)];
    let secs = |v: f64| duration(tr, Some(v));
    let svg = chart(
        "times",
        tr.t("reports.times"),
        &labels,
        &[],
        &[
            Series {
                name: frt,
                values: times[0].clone(),
            },
            Series {
                name: res,
                values: times[1].clone(),
            },
        ],
        None,
        &secs,
    );
    let (head, rows) = table(&[frt, res], &times, &|v| duration(tr, v));
    out.push(ChartView { svg, head, rows });

    let (csat, fcr, sla) = (
        tr.t("reports.csat"),
        tr.t("reports.fcr"),
        tr.t("reports.sla"),
    );
    let rates = [
        col(&|i| i.csat),
        col(&|i| i.fcr),
        col(&|i| i.sla_compliance),
    ];
    let pct = |v: f64| format!("{:.0}%", v * 100.0);
    let svg = chart(
        "rates",
        tr.t("reports.rates"),
        &labels,
        &[],
        &[
            Series {
                name: csat,
                values: rates[0].clone(),
            },
            Series {
                name: fcr,
                values: rates[1].clone(),
            },
            Series {
                name: sla,
                values: rates[2].clone(),
            },
        ],
        Some(1.0),
        &pct,
    );
    let (head, rows) = table(&[csat, fcr, sla], &rates, &percent);
    out.push(ChartView { svg, head, rows });
    out
}

fn rows(tr: &Tr, r: &KpiReport, none: &str, name: &dyn Fn(&KpiRow) -> String) -> Vec<RowView> {
    r.items
        .iter()
        .map(|i| RowView {
            name: if i.key.is_none() {
                tr.t(none).to_owned()
            } else {
                name(i)
            },
            cells: cells(tr, i),
        })
        .collect()
}

async fn page(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ReportQuery>,
) -> Result<Response, UiError> {
    let tr = ctx.tr;
    let from = given(&q.from);
    let to = day_after(given(&q.to));
    let weeks = q.by.as_deref() == Some("week");
    let by = if weeks { GroupBy::Week } else { GroupBy::Day };
    let report = |g: GroupBy| {
        app.engine
            .kpi_report(&ctx.p, from.as_deref(), to.as_deref(), Some(g))
    };
    let time = report(by).await.or_page(tr)?;
    let teams = report(GroupBy::Team).await.or_page(tr)?;
    let agents = report(GroupBy::Agent).await.or_page(tr)?;
    let channels = report(GroupBy::Channel).await.or_page(tr)?;
    let grid = app
        .engine
        .volume_by_hour(&ctx.p, Some(&time.from), Some(&time.to))
        .await
        .or_page(tr)?;
    let top = grid.iter().flatten().copied().max().unwrap_or(0).max(1);
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let heat = grid
        .iter()
        .zip(days)
        .map(|(row, d)| {
            (
                tr.t(&format!("reports.{d}")).to_owned(),
                row.iter().map(|&n| (n, n * 100 / top)).collect(),
            )
        })
        .collect();
    let chrome = ctx.chrome(tr.t("reports.title"));
    let tz = chrome.tz().to_owned();
    let trends = app
        .engine
        .trend_alerts(&ctx.p, 30)
        .await
        .or_page(tr)?
        .into_iter()
        .map(|t| TrendView {
            when: domain::time::local::format(&tz, t.alert.window_to)
                .unwrap_or_default()
                .replace('T', " "),
            topic: topic(&tr, &t.alert.key),
            observed: t.alert.observed,
            expected: format!("{:.1}", t.alert.expected),
            examples: t.examples,
        })
        .collect();
    let last = kpi::day_of(&time.to)
        .map(|d| kpi::date_of(d - 1))
        .unwrap_or_default();
    let label = |i: &KpiRow| {
        i.label
            .clone()
            .or_else(|| i.key.clone())
            .unwrap_or_default()
    };
    let columns: Vec<String> = [
        "reports.created",
        "reports.solved",
        "reports.backlog",
        "reports.frt",
        "reports.resolution",
        "reports.csat",
        "reports.fcr",
        "reports.escalation",
        "reports.sla",
    ]
    .iter()
    .map(|k| tr.t(k).to_owned())
    .collect();
    // Beside each agent's KPIs, their quality score (reviews made in the
    // period): `87 (4)`.
    let quality = app
        .engine
        .quality_by_agent(&ctx.p, Some(&time.from), Some(&time.to))
        .await
        .or_page(tr)?;
    let mut agent_rows = rows(&tr, &agents, "reports.unassigned", &label);
    for (row, kpis) in agent_rows.iter_mut().zip(&agents.items) {
        let q = quality
            .iter()
            .find(|q| Some(q.agent_id.to_string()) == kpis.key);
        row.cells.push(match q {
            Some(q) => format!(
                "{} ({})",
                q.score
                    .map(|s| format!("{s:.0}"))
                    .unwrap_or_else(|| "—".into()),
                q.reviews
            ),
            None => "—".into(),
        });
    }
    let mut agent_columns = columns.clone();
    agent_columns.push(tr.t("quality.column").to_owned());
    let tables = vec![
        (
            tr.t("reports.teams").to_owned(),
            columns.clone(),
            rows(&tr, &teams, "reports.no_team", &label),
        ),
        (tr.t("reports.agents").to_owned(), agent_columns, agent_rows),
        (
            tr.t("reports.channels").to_owned(),
            columns,
            rows(&tr, &channels, "reports.none", &|i| {
                tr.label("channel", i.key.as_deref().unwrap_or_default())
            }),
        ),
    ];
    html(&ReportsPage {
        chrome,
        csv: format!(
            "/api/v1/reports/kpis.csv?from={}&to={}&group_by={}",
            time.from,
            time.to,
            by.as_str()
        ),
        tiles: tiles(&tr, &time.total),
        charts: charts(&tr, &time),
        heat_hours: (0..24).collect(),
        heat,
        trends,
        tables,
        from: time.from,
        to: last,
        weeks,
    })
}

/// A queue as the live view shows it.
pub struct QueueView {
    pub name: String,
    pub open: i64,
    pub unassigned: i64,
    pub wait: String,
    pub at_risk: i64,
    pub breached: i64,
}

/// An agent as the live view shows them.
pub struct AgentView {
    pub name: String,
    pub presence: String,
    pub presence_label: String,
    pub load: i64,
    pub capacity: i64,
}

#[derive(Template)]
#[template(path = "reports_live.html")]
pub struct LivePage {
    pub chrome: Chrome,
    pub queues: Vec<QueueView>,
    pub agents: Vec<AgentView>,
}

async fn live(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    let tr = ctx.tr;
    let b = app.engine.supervisor_board(&ctx.p).await.or_page(tr)?;
    html(&LivePage {
        chrome: ctx.chrome(tr.t("reports.live")),
        queues: b
            .queues
            .into_iter()
            .map(|q| QueueView {
                name: q.team.unwrap_or_else(|| tr.t("reports.no_team").to_owned()),
                open: q.open,
                unassigned: q.unassigned,
                wait: duration(&tr, q.longest_wait_s.map(|s| s as f64)),
                at_risk: q.at_risk,
                breached: q.breached,
            })
            .collect(),
        agents: b
            .agents
            .into_iter()
            .map(|a| AgentView {
                presence_label: tr.label("presence", &a.presence),
                name: a.name,
                presence: a.presence,
                load: a.load,
                capacity: a.capacity,
            })
            .collect(),
    })
}
