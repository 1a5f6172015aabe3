//! Reports: KPIs as PRODUCT.md defines them, as JSON and CSV
//! (`/api/v1/reports/kpis…`).

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, Query};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::kpi::GroupBy;
use engine::kpis::{KpiReport, KpiRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

type ApiResult<T> = Result<T, ApiError>;

/// What a report's rows are: one per channel, team, agent (assignee),
/// category, customer language, local day or week (Monday to Sunday).
#[derive(Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupByIo {
    Channel,
    Team,
    Agent,
    Category,
    Language,
    Day,
    Week,
}

impl From<GroupByIo> for GroupBy {
    fn from(g: GroupByIo) -> Self {
        match g {
            GroupByIo::Channel => GroupBy::Channel,
            GroupByIo::Team => GroupBy::Team,
            GroupByIo::Agent => GroupBy::Agent,
            GroupByIo::Category => GroupBy::Category,
            GroupByIo::Language => GroupBy::Language,
            GroupByIo::Day => GroupBy::Day,
            GroupByIo::Week => GroupBy::Week,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KpiQuery {
    /// First day of the period (the workspace's time zone). Absent: 30 days
    /// before `to`.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// The day after the period (not included). Absent: tomorrow, so the
    /// period ends with today. At most 731 days after `from`.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    /// Absent: only the total.
    pub group_by: Option<GroupByIo>,
}

/// One group's figures (definitions in PRODUCT.md). Durations in seconds
/// (in business hours where the ticket's SLA policy has a calendar), rates
/// 0–1, NPS −100 to 100; `null` where nothing was measured.
#[derive(Serialize, ToSchema)]
pub struct KpiRowOut {
    /// The channel, team id, agent id, category, language code, the day
    /// (`YYYY-MM-DD`) or the week's Monday; `null` for tickets without one
    /// (no team, unassigned …) and in the total.
    pub key: Option<String>,
    /// The team's or agent's name.
    pub label: Option<String>,
    /// Tickets created in the period.
    pub created: i64,
    /// Tickets whose last solve fell in the period and that are still solved
    /// or closed (merged ones are not counted).
    pub solved: i64,
    /// Tickets unsolved at the end of the period (per day or week: at its end).
    pub backlog: i64,
    /// First response time, for first responses in the period: median and
    /// 90th percentile (nearest rank).
    pub frt_median_s: Option<f64>,
    pub frt_p90_s: Option<f64>,
    /// Resolution time (creation to last solve) of the tickets solved.
    pub resolution_median_s: Option<f64>,
    /// Share of CSAT answers of 4 or 5 given in the period.
    pub csat: Option<f64>,
    /// % promoters (9–10) − % detractors (0–6) of NPS answers given in the period.
    pub nps: Option<f64>,
    /// Share of the solved tickets solved with one agent reply and never re-opened.
    pub fcr: Option<f64>,
    /// Share of the created tickets that moved to a higher tier.
    pub escalation_rate: Option<f64>,
    /// Share of the bot conversations that ended in the period without a person.
    pub bot_containment: Option<f64>,
    /// Share of the SLA targets settled in the period that were met.
    pub sla_compliance: Option<f64>,
    pub csat_answers: i64,
    pub nps_answers: i64,
    pub bot_conversations: i64,
    pub sla_targets: i64,
}

impl From<KpiRow> for KpiRowOut {
    fn from(r: KpiRow) -> Self {
        KpiRowOut {
            key: r.key,
            label: r.label,
            created: r.created,
            solved: r.solved,
            backlog: r.backlog,
            frt_median_s: r.frt_median_s,
            frt_p90_s: r.frt_p90_s,
            resolution_median_s: r.resolution_median_s,
            csat: r.csat,
            nps: r.nps,
            fcr: r.fcr,
            escalation_rate: r.escalation_rate,
            bot_containment: r.bot_containment,
            sla_compliance: r.sla_compliance,
            csat_answers: r.csat_answers,
            nps_answers: r.nps_answers,
            bot_conversations: r.bot_conversations,
            sla_targets: r.sla_targets,
        }
    }
}

/// KPIs for a period: a row per group (every day or week of the period when
/// grouped by time) and the total.
#[derive(Serialize, ToSchema)]
pub struct KpiReportOut {
    /// The period as used: `from` included, `to` not.
    #[schema(format = Date)]
    pub from: String,
    #[schema(format = Date)]
    pub to: String,
    pub group_by: Option<GroupByIo>,
    pub items: Vec<KpiRowOut>,
    pub total: KpiRowOut,
}

async fn report(app: &AppState, p: &engine::Principal, q: &KpiQuery) -> ApiResult<KpiReport> {
    Ok(app
        .engine
        .kpi_report(
            p,
            q.from.as_deref(),
            q.to.as_deref(),
            q.group_by.map(Into::into),
        )
        .await?)
}

#[utoipa::path(get, path = "/api/v1/reports/kpis", tag = "reports", params(KpiQuery),
    responses((status = 200, body = KpiReportOut),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Owners, admins and supervisors only"),
        (status = 409, body = Problem, description = "`to` is not after `from`, or the period is longer than 731 days"),
        (status = 400, body = Problem, description = "An unknown `group_by`"),
        (status = 422, body = Problem, description = "`from` or `to` is not a date")))]
pub async fn kpis(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<KpiQuery>,
) -> ApiResult<Json<KpiReportOut>> {
    let r = report(&app, &p, &q).await?;
    Ok(Json(KpiReportOut {
        from: r.from,
        to: r.to,
        group_by: q.group_by,
        items: r.items.into_iter().map(Into::into).collect(),
        total: r.total.into(),
    }))
}

/// A cell a spreadsheet will not run as a formula.
fn cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

fn number(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// The report as CSV: a header, a `group` row per item, then the `total` row.
pub fn to_csv(r: &KpiReport) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "row",
        "key",
        "label",
        "created",
        "solved",
        "backlog",
        "frt_median_s",
        "frt_p90_s",
        "resolution_median_s",
        "csat",
        "nps",
        "fcr",
        "escalation_rate",
        "bot_containment",
        "sla_compliance",
        "csat_answers",
        "nps_answers",
        "bot_conversations",
        "sla_targets",
    ])?;
    let rows = r
        .items
        .iter()
        .map(|i| ("group", i))
        .chain(std::iter::once(("total", &r.total)));
    for (kind, i) in rows {
        w.write_record([
            kind.to_owned(),
            cell(i.key.as_deref().unwrap_or_default()),
            cell(i.label.as_deref().unwrap_or_default()),
            i.created.to_string(),
            i.solved.to_string(),
            i.backlog.to_string(),
            number(i.frt_median_s),
            number(i.frt_p90_s),
            number(i.resolution_median_s),
            number(i.csat),
            number(i.nps),
            number(i.fcr),
            number(i.escalation_rate),
            number(i.bot_containment),
            number(i.sla_compliance),
            i.csat_answers.to_string(),
            i.nps_answers.to_string(),
            i.bot_conversations.to_string(),
            i.sla_targets.to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[utoipa::path(get, path = "/api/v1/reports/kpis.csv", tag = "reports", params(KpiQuery),
    responses((status = 200, content_type = "text/csv", body = String,
            description = "Columns `row` (`group` or `total`), `key`, `label` and the figures of the JSON report, in its order; empty where the JSON has null"),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Owners, admins and supervisors only"),
        (status = 409, body = Problem, description = "`to` is not after `from`, or the period is longer than 731 days"),
        (status = 400, body = Problem, description = "An unknown `group_by`"),
        (status = 422, body = Problem, description = "`from` or `to` is not a date")))]
pub async fn kpis_csv(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<KpiQuery>,
) -> ApiResult<Response> {
    let r = report(&app, &p, &q).await?;
    let body = to_csv(&r).map_err(|e| {
        tracing::error!(error = %e, "writing the KPI report as CSV failed");
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the report could not be written as CSV",
        )
    })?;
    let name = format!("kpis-{}-{}.csv", r.from, r.to);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// Which report digests the workspace mails to its supervisors, admins and
/// owners (each in their language; a person turns theirs off in their
/// preferences, `notify.reports`). The weekly one covers Monday to Sunday
/// and goes out on Monday at 07:00 in the workspace's zone; the monthly one
/// on the first of the next month at 07:00. Both need a mailbox that sends.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DigestSettingsIo {
    #[serde(default)]
    pub weekly: bool,
    #[serde(default)]
    pub monthly: bool,
}

impl From<domain::digest::DigestSettings> for DigestSettingsIo {
    fn from(s: domain::digest::DigestSettings) -> Self {
        DigestSettingsIo {
            weekly: s.weekly,
            monthly: s.monthly,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/reports/digests", tag = "reports",
    responses((status = 200, body = DigestSettingsIo),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Owners, admins and supervisors only")))]
pub async fn get_digests(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<DigestSettingsIo>> {
    Ok(Json(app.engine.digest_settings(&p).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/reports/digests", tag = "reports", request_body = DigestSettingsIo,
    responses((status = 200, body = DigestSettingsIo),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Owners and admins only"),
        (status = 422, body = Problem)))]
pub async fn put_digests(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<DigestSettingsIo>,
) -> ApiResult<Json<DigestSettingsIo>> {
    let s = domain::digest::DigestSettings {
        weekly: b.weekly,
        monthly: b.monthly,
    };
    Ok(Json(app.engine.save_digest_settings(&p, s).await?.into()))
}
