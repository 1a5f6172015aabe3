//! Quality review (`/api/v1/quality/…`, `/api/v1/tickets/{id}/reviews`):
//! scorecards, reviews of conversations, per-agent scores and the review
//! queue of random samples.

use crate::AppState;
use crate::api::{api_limit, cursor_id, ticket_ref};
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathParam, Query, id};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::ids::*;
use domain::quality::{Criterion, ScorecardSpec};
use engine::quality::{AgentQuality, Review, Sampled, Scorecard};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

/// One criterion a reviewer rates.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CriterionIo {
    /// A short stable name scores refer to: `a-z`, `0-9`, `_`, 1–40.
    #[schema(pattern = "^[a-z0-9_]{1,40}$")]
    pub key: String,
    #[schema(min_length = 1, max_length = 120)]
    pub label: String,
    #[schema(minimum = 1, maximum = 10)]
    #[serde(deserialize_with = "domain::number::whole")]
    pub weight: i64,
    /// 2 (no / yes), 3 or 5 points (4 is refused: 409).
    #[schema(minimum = 2, maximum = 5)]
    #[serde(deserialize_with = "domain::number::whole")]
    pub scale: i64,
}

/// A scorecard: 1–20 criteria with distinct keys. A review's score is the
/// weighted share of the points reached over the criteria rated (0–100).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScorecardIn {
    #[schema(min_length = 1, max_length = 120)]
    pub name: String,
    #[schema(min_items = 1, max_items = 20)]
    pub criteria: Vec<CriterionIo>,
    /// Absent: true. An inactive scorecard takes no new reviews.
    pub active: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct ScorecardOut {
    pub id: Uuid,
    pub name: String,
    pub criteria: Vec<CriterionIo>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ScorecardList {
    pub items: Vec<ScorecardOut>,
}

fn card_out(c: Scorecard) -> ScorecardOut {
    ScorecardOut {
        id: c.id.0,
        name: c.spec.name,
        criteria: c
            .spec
            .criteria
            .into_iter()
            .map(|c| CriterionIo {
                key: c.key,
                label: c.label,
                weight: c.weight,
                scale: c.scale,
            })
            .collect(),
        active: c.active,
        created_at: c.created_at.to_rfc3339(),
        updated_at: c.updated_at.to_rfc3339(),
    }
}

fn spec(b: ScorecardIn) -> (ScorecardSpec, bool) {
    (
        ScorecardSpec {
            name: b.name,
            criteria: b
                .criteria
                .into_iter()
                .map(|c| Criterion {
                    key: c.key,
                    label: c.label,
                    weight: c.weight,
                    scale: c.scale,
                })
                .collect(),
        },
        b.active.unwrap_or(true),
    )
}

#[utoipa::path(get, path = "/api/v1/quality/scorecards", tag = "quality",
    responses((status = 200, body = ScorecardList, description = "Oldest first (at most 50)"),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Owners, admins and supervisors only")))]
pub async fn list_scorecards(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<ScorecardList>> {
    let items = app.engine.scorecards(&p).await?;
    Ok(Json(ScorecardList {
        items: items.into_iter().map(card_out).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/quality/scorecards", tag = "quality", request_body = ScorecardIn,
    responses((status = 201, body = ScorecardOut),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Owners and admins only"),
        (status = 409, body = Problem, description = "The workspace already has 50 scorecards; a key twice, a scale of 4, a name or label of spaces"),
        (status = 422, body = Problem, description = "A key not `a-z0-9_`, a weight outside 1–10, a scale outside 2–5, a name or label of 0 or over 120 characters, no criteria or over 20")))]
pub async fn create_scorecard(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<ScorecardIn>,
) -> ApiResult<Response> {
    let (s, active) = spec(b);
    let c = app.engine.save_scorecard(&p, None, s, active).await?;
    Ok((StatusCode::CREATED, Json(card_out(c))).into_response())
}

#[utoipa::path(put, path = "/api/v1/quality/scorecards/{id}", tag = "quality", params(("id" = Uuid, Path)), request_body = ScorecardIn,
    responses((status = 200, body = ScorecardOut, description = "Replaced; reviews already made keep their scores"),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Owners and admins only"),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "A key twice, a scale of 4, a name or label of spaces"),
        (status = 422, body = Problem)))]
pub async fn put_scorecard(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(sid): PathParam,
    Json(b): Json<ScorecardIn>,
) -> ApiResult<Json<ScorecardOut>> {
    let (s, active) = spec(b);
    let c = app
        .engine
        .save_scorecard(&p, Some(id(&sid)?), s, active)
        .await?;
    Ok(Json(card_out(c)))
}

/// A review of a conversation on a scorecard.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewIn {
    pub scorecard_id: Uuid,
    /// A value per criterion key, 1 to the criterion's scale; a criterion
    /// left out is not applicable. At least one.
    #[serde(deserialize_with = "domain::number::whole_map")]
    pub scores: BTreeMap<String, i64>,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub comment: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReviewOut {
    pub id: Uuid,
    pub ticket_id: Uuid,
    /// The agent reviewed (the ticket's assignee when reviewed).
    pub agent_id: Uuid,
    pub reviewer_id: Uuid,
    pub scorecard_id: Uuid,
    pub scores: BTreeMap<String, i64>,
    /// 0–100.
    pub score: f64,
    pub comment: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReviewList {
    pub items: Vec<ReviewOut>,
    pub next_cursor: Option<String>,
}

fn review_out(r: Review) -> ReviewOut {
    ReviewOut {
        id: r.id.0,
        ticket_id: r.ticket_id.0,
        agent_id: r.agent_id.0,
        reviewer_id: r.reviewer_id.0,
        scorecard_id: r.scorecard_id.0,
        scores: r.scores,
        score: r.score,
        comment: r.comment,
        created_at: r.created_at.to_rfc3339(),
        updated_at: r.updated_at.to_rfc3339(),
    }
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/reviews", tag = "quality",
    params(("id" = String, Path, description = "The ticket's id or number")), request_body = ReviewIn,
    responses((status = 200, body = ReviewOut, description = "Saved; the reviewer's earlier review of it on this scorecard is replaced"),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Owners, admins and supervisors only"),
        (status = 404, body = Problem, description = "No such ticket or scorecard"),
        (status = 409, body = Problem, description = "The scorecard is inactive, the ticket has no assignee, it is the reviewer's own; a criterion the scorecard lacks, a value off its scale, nothing rated"),
        (status = 422, body = Problem, description = "A comment over 4,000 characters")))]
pub async fn review(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(tid): Path<String>,
    Json(b): Json<ReviewIn>,
) -> ApiResult<Json<ReviewOut>> {
    let r = app
        .engine
        .review_ticket(
            &p,
            ticket_ref(&tid)?,
            ScorecardId(b.scorecard_id),
            b.scores,
            &b.comment,
        )
        .await?;
    Ok(Json(review_out(r)))
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/reviews", tag = "quality",
    params(("id" = String, Path, description = "The ticket's id or number")),
    responses((status = 200, body = ReviewList, description = "Oldest first; an agent sees the reviews of their own work"),
        (status = 401, body = Problem),
        (status = 404, body = Problem, description = "No such ticket, or one the caller may not see")))]
pub async fn ticket_reviews(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(tid): Path<String>,
) -> ApiResult<Json<ReviewList>> {
    let items = app.engine.ticket_reviews(&p, ticket_ref(&tid)?).await?;
    Ok(Json(ReviewList {
        items: items.into_iter().map(review_out).collect(),
        next_cursor: None,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// First day of the period (the workspace's time zone). Absent: 30 days
    /// before `to`.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// The day after the period. Absent: tomorrow. At most 731 days after
    /// `from`.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    /// Only this agent's reviews.
    pub agent_id: Option<Uuid>,
    /// Items per page: 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    #[param(value_type = Option<uuid::Uuid>)]
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/quality/reviews", tag = "quality", params(ReviewQuery),
    responses((status = 200, body = ReviewList, description = "Reviews made in the period, newest first"),
        (status = 400, body = Problem, description = "A bad cursor or query parameter"),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Owners, admins and supervisors only"),
        (status = 409, body = Problem, description = "`to` is not after `from`, or the period is longer than 731 days"),
        (status = 422, body = Problem, description = "`from` or `to` is not a date, or a `limit` outside 1–200")))]
pub async fn reviews(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<ReviewQuery>,
) -> ApiResult<Json<ReviewList>> {
    let limit = api_limit(q.limit)?;
    let items = app
        .engine
        .reviews(
            &p,
            q.agent_id.map(UserId),
            (q.from.as_deref(), q.to.as_deref()),
            cursor_id::<ReviewId>(q.cursor.as_deref())?,
            limit,
        )
        .await?;
    let next = (items.len() as i64 == limit)
        .then(|| items.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(Json(ReviewList {
        items: items.into_iter().map(review_out).collect(),
        next_cursor: next,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day of the period (the workspace's time zone). Absent: 30 days
    /// before `to`.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// The day after the period. Absent: tomorrow. At most 731 days after
    /// `from`.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
}

/// An agent's quality: the mean score of the reviews of their work made in
/// the period.
#[derive(Serialize, ToSchema)]
pub struct AgentQualityOut {
    pub agent_id: Uuid,
    pub name: String,
    pub reviews: i64,
    /// 0–100.
    pub score: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct AgentQualityList {
    pub items: Vec<AgentQualityOut>,
}

fn agent_out(a: AgentQuality) -> AgentQualityOut {
    AgentQualityOut {
        agent_id: a.agent_id.0,
        name: a.name,
        reviews: a.reviews,
        score: a.score,
    }
}

#[utoipa::path(get, path = "/api/v1/quality/agents", tag = "quality", params(PeriodQuery),
    responses((status = 200, body = AgentQualityList, description = "Agents reviewed in the period, by name"),
        (status = 400, body = Problem, description = "A bad query parameter"),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Owners, admins and supervisors only"),
        (status = 409, body = Problem, description = "`to` is not after `from`, or the period is longer than 731 days"),
        (status = 422, body = Problem, description = "`from` or `to` is not a date")))]
pub async fn agents(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Json<AgentQualityList>> {
    let items = app
        .engine
        .quality_by_agent(&p, q.from.as_deref(), q.to.as_deref())
        .await?;
    Ok(Json(AgentQualityList {
        items: items.into_iter().map(agent_out).collect(),
    }))
}

/// Draw a random sample of each agent's conversations into the review queue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleIn {
    /// Conversations per agent: 1–20.
    #[schema(minimum = 1, maximum = 20)]
    #[serde(deserialize_with = "domain::number::whole")]
    pub per_agent: i64,
    /// Solved from this local date; absent: 30 days before `to`.
    #[schema(format = Date)]
    pub from: Option<String>,
    /// Solved before this local date; absent: tomorrow.
    #[schema(format = Date)]
    pub to: Option<String>,
}

/// A conversation in the review queue.
#[derive(Serialize, ToSchema)]
pub struct SampledOut {
    pub ticket_id: Uuid,
    pub number: i64,
    pub subject: String,
    pub agent_id: Uuid,
    pub agent_name: String,
    pub drawn_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct SampleList {
    pub items: Vec<SampledOut>,
}

fn sampled_out(s: Sampled) -> SampledOut {
    SampledOut {
        ticket_id: s.ticket_id.0,
        number: s.number,
        subject: s.subject,
        agent_id: s.agent_id.0,
        agent_name: s.agent_name,
        drawn_at: s.drawn_at.to_rfc3339(),
    }
}

#[utoipa::path(post, path = "/api/v1/quality/samples", tag = "quality", request_body = SampleIn,
    responses((status = 201, body = SampleList, description = "The queue after the draw: each agent's conversations solved in the period, not reviewed or drawn before, picked at random"),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Owners, admins and supervisors only"),
        (status = 409, body = Problem, description = "`to` is not after `from`, or the period is longer than 731 days"),
        (status = 422, body = Problem, description = "`per_agent` outside 1–20, or a date that is not one")))]
pub async fn draw(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<SampleIn>,
) -> ApiResult<Response> {
    app.engine
        .draw_sample(&p, b.per_agent, b.from.as_deref(), b.to.as_deref())
        .await?;
    let items = app.engine.review_queue(&p).await?;
    Ok((
        StatusCode::CREATED,
        Json(SampleList {
            items: items.into_iter().map(sampled_out).collect(),
        }),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/quality/samples", tag = "quality",
    responses((status = 200, body = SampleList, description = "The review queue: drawn conversations nobody has reviewed yet, oldest draw first (at most 500)"),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Owners, admins and supervisors only")))]
pub async fn queue(State(app): State<AppState>, Auth(p): Auth) -> ApiResult<Json<SampleList>> {
    let items = app.engine.review_queue(&p).await?;
    Ok(Json(SampleList {
        items: items.into_iter().map(sampled_out).collect(),
    }))
}
