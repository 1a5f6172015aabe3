//! Guided flows over HTTP (`/api/v1/assist/flows`): admins keep them; anyone
//! who works tickets reads them.

use crate::AppState;
use crate::api::created;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathParam, id};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::flow::FlowSpec;
use engine::model::Flow;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

fn yes() -> bool {
    true
}

/// A flow as written: the phrases that start it and its steps (`ask`,
/// `find_order`, `say`, `file_ticket`, `handoff`; see the schema of each).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowIn {
    /// Unique in the workspace; lower case, no spaces or commas.
    pub key: String,
    pub name: String,
    /// Whether the bot starts it (default true).
    #[serde(default = "yes")]
    pub active: bool,
    /// What customers say to start it (the bot learns them beside the FAQ).
    pub phrases: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    pub steps: Vec<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct FlowOut {
    pub id: Uuid,
    pub key: String,
    pub name: String,
    pub active: bool,
    pub phrases: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    pub steps: Vec<Value>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct FlowList {
    pub items: Vec<FlowOut>,
}

impl From<Flow> for FlowOut {
    fn from(f: Flow) -> Self {
        let steps = f
            .spec
            .steps
            .iter()
            .filter_map(|s| serde_json::to_value(s).ok())
            .collect();
        FlowOut {
            id: f.id.0,
            key: f.spec.key,
            name: f.spec.name,
            active: f.spec.active,
            phrases: f.spec.phrases,
            steps,
            created_at: f.created_at.to_rfc3339(),
            updated_at: f.updated_at.to_rfc3339(),
        }
    }
}

fn spec(b: FlowIn) -> ApiResult<FlowSpec> {
    serde_json::from_value(json!({
        "key": b.key, "name": b.name, "active": b.active, "phrases": b.phrases, "steps": b.steps,
    }))
    .map_err(|e| ApiError::field("steps", e.to_string()))
}

#[utoipa::path(get, path = "/api/v1/assist/flows", tag = "assist",
    responses((status = 200, body = FlowList, description = "The workspace's flows by key")))]
pub async fn list(State(app): State<AppState>, Auth(p): Auth) -> ApiResult<Json<FlowList>> {
    let items = app.engine.flows(&p).await?;
    Ok(Json(FlowList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/assist/flows", tag = "assist", request_body = FlowIn,
    responses((status = 201, body = FlowOut), (status = 403, body = Problem, description = "Admins only"),
        (status = 404, body = Problem, description = "No such team"),
        (status = 409, body = Problem, description = "The key is taken, the workspace has 50 flows, or the steps do not hang together (an answer used before it is asked, an order's field before a lookup)"),
        (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<FlowIn>,
) -> ApiResult<Response> {
    let f = app.engine.save_flow(&p, None, spec(b)?).await?;
    Ok(created(FlowOut::from(f)))
}

#[utoipa::path(get, path = "/api/v1/assist/flows/{id}", tag = "assist", params(("id" = Uuid, Path)),
    responses((status = 200, body = FlowOut), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(fid): PathParam,
) -> ApiResult<Json<FlowOut>> {
    Ok(Json(app.engine.flow(&p, id(&fid)?).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/assist/flows/{id}", tag = "assist", params(("id" = Uuid, Path)), request_body = FlowIn,
    responses((status = 200, body = FlowOut, description = "Replaced whole"), (status = 403, body = Problem, description = "Admins only"),
        (status = 404, body = Problem, description = "No such flow or team"),
        (status = 409, body = Problem, description = "The key is taken, or the steps do not hang together"),
        (status = 422, body = Problem)))]
pub async fn put(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(fid): PathParam,
    Json(b): Json<FlowIn>,
) -> ApiResult<Json<FlowOut>> {
    let f = app.engine.save_flow(&p, Some(id(&fid)?), spec(b)?).await?;
    Ok(Json(f.into()))
}

#[utoipa::path(delete, path = "/api/v1/assist/flows/{id}", tag = "assist", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted; conversations in it go to people at their next reply"),
        (status = 403, body = Problem, description = "Admins only"), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(fid): PathParam,
) -> ApiResult<StatusCode> {
    app.engine.delete_flow(&p, id(&fid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
