//! `/app/quality`: quality review for supervisors — the review queue and
//! drawing a random sample into it, each agent's quality score over a
//! period, and (admins) the scorecards and their criteria. A conversation is
//! reviewed on its ticket page (`/app/t/{number}/review`).

use super::reports::{day_after, given};
use super::{Chrome, Ctx, Form, OrPage, UiError, done, html};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use domain::ids::*;
use domain::kpi;
use domain::quality::{Criterion, MAX_CRITERIA, ScorecardSpec};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/quality", get(page))
        .route("/app/quality/sample", post(sample))
        .route("/app/quality/scorecards", post(save_card))
        .route("/app/quality/scorecards/{id}", get(card_page))
}

/// A row of the queue.
pub struct QueueRow {
    pub number: i64,
    pub subject: String,
    pub agent: String,
    pub drawn: String,
}

/// A row of the agents' table.
pub struct AgentRow {
    pub name: String,
    pub reviews: i64,
    pub score: String,
}

/// A scorecard as listed.
pub struct CardRow {
    pub id: String,
    pub name: String,
    pub criteria: usize,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "quality.html")]
pub struct QualityPage {
    pub chrome: Chrome,
    pub from: String,
    pub to: String,
    pub queue: Vec<QueueRow>,
    pub agents: Vec<AgentRow>,
    pub cards: Vec<CardRow>,
    pub admin: bool,
}

/// A criterion's row in the editor: key (kept), label, weight, scale.
pub struct CriterionRow {
    pub key: String,
    pub label: String,
    pub weight: i64,
    pub scale: i64,
}

#[derive(Template)]
#[template(path = "quality_card.html")]
pub struct CardPage {
    pub chrome: Chrome,
    /// Empty for a new scorecard.
    pub id: String,
    pub name: String,
    pub active: bool,
    pub rows: Vec<CriterionRow>,
}

#[derive(Deserialize, Default)]
pub struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

async fn page(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, UiError> {
    let tr = ctx.tr;
    let from = given(&q.from);
    let to = day_after(given(&q.to));
    let agents = app
        .engine
        .quality_by_agent(&ctx.p, from.as_deref(), to.as_deref())
        .await
        .or_page(tr)?;
    let queue = app.engine.review_queue(&ctx.p).await.or_page(tr)?;
    let cards = app.engine.scorecards(&ctx.p).await.or_page(tr)?;
    let chrome = ctx.chrome(tr.t("quality.title"));
    let tz = chrome.tz().to_owned();
    // The period the engine settled on, for the form.
    let now = domain::time::local::format(&tz, app.engine.now()).unwrap_or_default();
    let today = kpi::day_of(now.get(..10).unwrap_or_default());
    let to_day = to.as_deref().and_then(kpi::day_of).or(today.map(|d| d + 1));
    let from_day = from
        .as_deref()
        .and_then(kpi::day_of)
        .or(to_day.map(|d| d - 30));
    html(&QualityPage {
        from: from_day.map(kpi::date_of).unwrap_or_default(),
        to: to_day.map(|d| kpi::date_of(d - 1)).unwrap_or_default(),
        queue: queue
            .into_iter()
            .map(|s| QueueRow {
                number: s.number,
                subject: s.subject,
                agent: s.agent_name,
                drawn: domain::time::local::format(&tz, s.drawn_at)
                    .unwrap_or_default()
                    .replace('T', " "),
            })
            .collect(),
        agents: agents
            .into_iter()
            .map(|a| AgentRow {
                name: a.name,
                reviews: a.reviews,
                score: a
                    .score
                    .map(|s| format!("{s:.0}"))
                    .unwrap_or_else(|| "—".into()),
            })
            .collect(),
        cards: cards
            .into_iter()
            .map(|c| CardRow {
                id: c.id.to_string(),
                name: c.spec.name,
                criteria: c.spec.criteria.len(),
                active: c.active,
            })
            .collect(),
        admin: ctx.p.role.can_administer(),
        chrome,
    })
}

async fn sample(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let per_agent = f
        .text("per_agent")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(3);
    let from = f.text("from").map(str::to_owned).filter(|s| !s.is_empty());
    let to = day_after(f.text("to").map(str::to_owned).filter(|s| !s.is_empty()));
    app.engine
        .draw_sample(&ctx.p, per_agent, from.as_deref(), to.as_deref())
        .await
        .or_page(ctx.tr)?;
    Ok(done("/app/quality", "flash.sample_drawn"))
}

/// Blank rows a scorecard's editor offers below its criteria.
const BLANK_ROWS: usize = 4;

async fn card_page(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let tr = ctx.tr;
    ctx.p.require_admin().or_page(tr)?;
    let card = if id == "new" {
        None
    } else {
        let id: ScorecardId = id.parse().map_err(|_| {
            UiError::Status(axum::http::StatusCode::NOT_FOUND, tr, "error.not_found")
        })?;
        Some(app.engine.scorecard(&ctx.p, id).await.or_page(tr)?)
    };
    let mut rows: Vec<CriterionRow> = card
        .as_ref()
        .map(|c| {
            c.spec
                .criteria
                .iter()
                .map(|c| CriterionRow {
                    key: c.key.clone(),
                    label: c.label.clone(),
                    weight: c.weight,
                    scale: c.scale,
                })
                .collect()
        })
        .unwrap_or_default();
    let free = MAX_CRITERIA.saturating_sub(rows.len()).min(BLANK_ROWS);
    rows.extend((0..free).map(|_| CriterionRow {
        key: String::new(),
        label: String::new(),
        weight: 1,
        scale: 5,
    }));
    html(&CardPage {
        chrome: ctx.chrome(tr.t("quality.scorecard")),
        id: card.as_ref().map(|c| c.id.to_string()).unwrap_or_default(),
        name: card
            .as_ref()
            .map(|c| c.spec.name.clone())
            .unwrap_or_default(),
        active: card.as_ref().is_none_or(|c| c.active),
        rows,
    })
}

/// Saves a scorecard from the editor: rows without a label are left out; a
/// new row's key is made from its position, unused by the others.
async fn save_card(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let id = f.text("id").and_then(|v| v.parse::<ScorecardId>().ok());
    let mut criteria: Vec<Criterion> = Vec::new();
    for i in 0..MAX_CRITERIA {
        let label = f
            .get(&format!("label_{i}"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        if label.is_empty() {
            continue;
        }
        let num = |k: &str, d: i64| {
            f.text(&format!("{k}_{i}"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(d)
        };
        criteria.push(Criterion {
            key: f.text(&format!("key_{i}")).unwrap_or_default().to_owned(),
            label,
            weight: num("weight", 1),
            scale: num("scale", 5),
        });
    }
    let used: Vec<String> = criteria.iter().map(|c| c.key.clone()).collect();
    let mut n = 0;
    for c in criteria.iter_mut().filter(|c| c.key.is_empty()) {
        loop {
            n += 1;
            let k = format!("c{n}");
            if !used.contains(&k) {
                c.key = k;
                break;
            }
        }
    }
    let spec = ScorecardSpec {
        name: f.get("name").unwrap_or_default().to_owned(),
        criteria,
    };
    app.engine
        .save_scorecard(&ctx.p, id, spec, f.checked("active"))
        .await
        .or_page(ctx.tr)?;
    Ok(done("/app/quality", "flash.saved"))
}
