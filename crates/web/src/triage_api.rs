//! Triage over HTTP: the workspace's categories (`/api/v1/triage/categories`),
//! what triage read in a ticket's customer messages
//! (`/api/v1/tickets/{id}/triage`), and an agent's correction
//! (`PUT /api/v1/tickets/{id}/messages/{message_id}/triage`).

use crate::AppState;
use crate::api::{created, ticket_ref};
use crate::dto::priority_schema;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathParam, id};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::assist::CategorySpec;
use domain::ids::{MessageId, TeamId};
use domain::ticket::Priority;
use engine::model::{Triage, TriageCategory as Category};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

/// A category triage sorts messages into.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryIn {
    /// What tickets carry as their category: lower case, no spaces or commas.
    pub key: String,
    pub name: String,
    /// What the category is about, in words (triage learns from it).
    #[serde(default)]
    pub description: String,
    /// Messages customers write about it (triage learns from them).
    #[serde(default)]
    pub examples: Vec<String>,
    /// The team triage suggests for messages about it.
    #[serde(default)]
    pub team_id: Option<Uuid>,
    /// The priority triage suggests (raised for urgent or angry customers).
    #[serde(default)]
    #[schema(schema_with = priority_schema)]
    pub priority: Option<Priority>,
}

#[derive(Serialize, ToSchema)]
pub struct CategoryOut {
    pub id: Uuid,
    pub key: String,
    pub name: String,
    pub description: String,
    pub examples: Vec<String>,
    pub team_id: Option<Uuid>,
    #[schema(schema_with = priority_schema)]
    pub priority: Option<Priority>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Category> for CategoryOut {
    fn from(c: Category) -> Self {
        CategoryOut {
            id: c.id.0,
            key: c.spec.key,
            name: c.spec.name,
            description: c.spec.description,
            examples: c.spec.examples,
            team_id: c.spec.team_id.map(|t| t.0),
            priority: c.spec.priority,
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CategoryList {
    pub items: Vec<CategoryOut>,
}

fn spec(b: CategoryIn) -> CategorySpec {
    CategorySpec {
        key: b.key,
        name: b.name,
        description: b.description,
        examples: b.examples,
        team_id: b.team_id.map(TeamId::from),
        priority: b.priority,
    }
}

#[utoipa::path(get, path = "/api/v1/triage/categories", tag = "triage",
    responses((status = 200, body = CategoryList)))]
pub async fn list_categories(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<CategoryList>> {
    let items = app.engine.triage_categories(&p).await?;
    Ok(Json(CategoryList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/triage/categories", tag = "triage", request_body = CategoryIn,
    responses((status = 201, body = CategoryOut), (status = 403, body = Problem, description = "Admins only"),
        (status = 404, body = Problem, description = "No such team"),
        (status = 409, body = Problem, description = "The key is taken, or the workspace has 200 categories"),
        (status = 422, body = Problem)))]
pub async fn create_category(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<CategoryIn>,
) -> ApiResult<Response> {
    let c = app.engine.save_triage_category(&p, None, spec(b)).await?;
    Ok(created(CategoryOut::from(c)))
}

#[utoipa::path(put, path = "/api/v1/triage/categories/{id}", tag = "triage", params(("id" = Uuid, Path)), request_body = CategoryIn,
    responses((status = 200, body = CategoryOut, description = "Replaced whole"), (status = 403, body = Problem, description = "Admins only"),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "The key is taken"), (status = 422, body = Problem)))]
pub async fn put_category(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
    Json(b): Json<CategoryIn>,
) -> ApiResult<Json<CategoryOut>> {
    let c = app
        .engine
        .save_triage_category(&p, Some(id(&cid)?), spec(b))
        .await?;
    Ok(Json(c.into()))
}

#[utoipa::path(delete, path = "/api/v1/triage/categories/{id}", tag = "triage", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem, description = "Admins only"), (status = 404, body = Problem)))]
pub async fn delete_category(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
) -> ApiResult<StatusCode> {
    app.engine.delete_triage_category(&p, id(&cid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What triage read in one customer message; each figure with the chance it
/// is right (0–1).
#[derive(Serialize, ToSchema)]
pub struct TriageOut {
    pub message_id: Uuid,
    /// ISO 639-1 where one exists (`ru`, `en`, `th`), else ISO 639-3; null
    /// when the text has no letters.
    pub lang: Option<String>,
    pub lang_confidence: f64,
    /// A category's key; null when no category was likely enough.
    pub category: Option<String>,
    pub category_confidence: f64,
    pub urgent: bool,
    pub urgency_confidence: f64,
    /// `negative`, `neutral` or `positive`.
    pub sentiment: String,
    pub sentiment_confidence: f64,
    pub suggested_team_id: Option<Uuid>,
    #[schema(schema_with = priority_schema)]
    pub suggested_priority: Priority,
    /// The agent who set the category, when one did.
    pub corrected_by: Option<Uuid>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Triage> for TriageOut {
    fn from(t: Triage) -> Self {
        TriageOut {
            message_id: t.message_id.0,
            lang: t.lang,
            lang_confidence: t.lang_confidence,
            category: t.category,
            category_confidence: t.category_confidence,
            urgent: t.urgent,
            urgency_confidence: t.urgency_confidence,
            sentiment: t.sentiment,
            sentiment_confidence: t.sentiment_confidence,
            suggested_team_id: t.team_id.map(|t| t.0),
            suggested_priority: t.priority,
            corrected_by: t.corrected_by.map(|u| u.0),
            created_at: t.created_at.to_rfc3339(),
            updated_at: t.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TriageList {
    pub items: Vec<TriageOut>,
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/triage", tag = "triage", params(("id" = String, Path, description = "Id or number")),
    responses((status = 200, body = TriageList, description = "The ticket's customer messages that were triaged, oldest first"), (status = 404, body = Problem)))]
pub async fn ticket_triage(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
) -> ApiResult<Json<TriageList>> {
    let items = app.engine.ticket_triage(&p, ticket_ref(&t)?).await?;
    Ok(Json(TriageList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// An agent's word on what a message is about.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionIn {
    /// A category's key.
    pub category: String,
}

#[utoipa::path(put, path = "/api/v1/tickets/{id}/messages/{message_id}/triage", tag = "triage",
    params(("id" = String, Path, description = "Id or number"), ("message_id" = Uuid, Path)), request_body = CorrectionIn,
    responses((status = 200, body = TriageOut), (status = 403, body = Problem, description = "Light agents cannot"),
        (status = 404, body = Problem, description = "No such ticket, or no such message on it"),
        (status = 409, body = Problem, description = "No such category, or the message was not triaged (not a customer's, or not yet)"),
        (status = 422, body = Problem)))]
pub async fn correct(
    State(app): State<AppState>,
    Auth(p): Auth,
    axum::extract::Path((t, m)): axum::extract::Path<(String, String)>,
    Json(b): Json<CorrectionIn>,
) -> ApiResult<Json<TriageOut>> {
    let m: MessageId = m.parse().map_err(|_| ApiError::not_found())?;
    let t = app
        .engine
        .correct_triage(&p, ticket_ref(&t)?, m, &b.category)
        .await?;
    Ok(Json(t.into()))
}
