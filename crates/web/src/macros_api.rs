//! Macros (`/api/v1/macros`) and applying one to a ticket
//! (`/api/v1/tickets/{id}/apply-macro`).

use crate::AppState;
use crate::dto::TicketOut;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathParam, id};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::macros::MacroSpec;
use domain::rules::Action;
use domain::ticket::Visibility;
use engine::macros::{Macro, MacroInput};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MacroIn {
    pub name: String,
    /// Shared with the workspace (owners, admins and supervisors) or the
    /// author's own (default).
    pub shared: Option<bool>,
    /// The composer's text, with `{{placeholders}}`.
    pub body: Option<String>,
    /// The text per language (`ru`, `th`), for customers who speak it.
    pub translations: Option<BTreeMap<String, String>>,
    /// `public` (a reply, default) or `internal` (a note).
    pub visibility: Option<String>,
    /// Changes to the ticket, as rules' actions: `set_status`, `set_priority`,
    /// `set_team`, `set_tier`, `set_category`, `add_tags`, `remove_tags`,
    /// `set_field`, `assign`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub actions: Option<Vec<Value>>,
}

/// Any field may be given. What the macro says and does — `body`,
/// `translations`, `visibility`, `actions` — is given whole: when one of them
/// is, the ones left out are empty (visibility: public).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchMacroIn {
    pub name: Option<String>,
    pub shared: Option<bool>,
    pub body: Option<String>,
    pub translations: Option<BTreeMap<String, String>>,
    pub visibility: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub actions: Option<Vec<Value>>,
}

#[derive(Serialize, ToSchema)]
pub struct MacroOut {
    pub id: Uuid,
    pub name: String,
    pub shared: bool,
    /// The author of a personal macro.
    pub owner_id: Option<Uuid>,
    pub body: String,
    pub translations: BTreeMap<String, String>,
    pub visibility: String,
    #[schema(value_type = Vec<Object>)]
    pub actions: Vec<Value>,
    /// Times applied.
    pub usage_count: i64,
    pub last_used_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct MacroList {
    pub items: Vec<MacroOut>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MacroQuery {
    /// Words that must all appear in the name or the text (case-insensitive).
    pub q: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyMacroIn {
    pub macro_id: Uuid,
}

/// The ticket after the macro's changes, and its text for the composer.
#[derive(Serialize, ToSchema)]
pub struct AppliedMacroOut {
    pub ticket: TicketOut,
    /// In the customer's language when the macro has it, placeholders filled
    /// (the agent is the one who applied it); empty when the macro has no text.
    pub body: String,
    pub visibility: String,
}

fn out(m: Macro) -> MacroOut {
    MacroOut {
        id: m.id.0,
        name: m.name,
        shared: m.owner_id.is_none(),
        owner_id: m.owner_id.map(|o| o.0),
        body: m.spec.body,
        translations: m.spec.translations,
        visibility: m.spec.visibility.as_str().into(),
        actions: m
            .spec
            .actions
            .iter()
            .filter_map(|a| serde_json::to_value(a).ok())
            .collect(),
        usage_count: m.usage_count,
        last_used_at: m.last_used_at.map(|t| t.to_rfc3339()),
        created_at: m.created_at.to_rfc3339(),
        updated_at: m.updated_at.to_rfc3339(),
    }
}

fn visibility(v: &str) -> ApiResult<Visibility> {
    Visibility::parse(v).map_err(|_| ApiError::field("visibility", "public or internal"))
}

fn actions(v: Vec<Value>) -> ApiResult<Vec<Action>> {
    v.into_iter()
        .enumerate()
        .map(|(i, a)| {
            serde_json::from_value(a)
                .map_err(|e| ApiError::field(&format!("actions[{i}]"), e.to_string()))
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/macros", tag = "macros", params(MacroQuery),
    responses((status = 200, body = MacroList, description = "Shared macros and the caller's own, most used first (at most 500)"),
        (status = 422, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<MacroQuery>,
) -> ApiResult<Json<MacroList>> {
    let items = app
        .engine
        .macros(&p, q.q.as_deref())
        .await?
        .into_iter()
        .map(out)
        .collect();
    Ok(Json(MacroList { items }))
}

#[utoipa::path(post, path = "/api/v1/macros", tag = "macros", request_body = MacroIn,
    responses((status = 201, body = MacroOut),
        (status = 403, body = Problem, description = "Shared macros are kept by owners, admins and supervisors"),
        (status = 404, body = Problem, description = "A team or agent it names is not in this workspace"),
        (status = 409, body = Problem, description = "The workspace already has 2,000 macros"),
        (status = 422, body = Problem, description = "An unknown placeholder, an action a macro cannot take, neither text nor action")))]
pub async fn create(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<MacroIn>,
) -> ApiResult<Response> {
    let spec = MacroSpec {
        body: b.body.unwrap_or_default(),
        translations: b.translations.unwrap_or_default(),
        visibility: b
            .visibility
            .as_deref()
            .map(visibility)
            .transpose()?
            .unwrap_or(Visibility::Public),
        actions: actions(b.actions.unwrap_or_default())?,
    };
    let m = app
        .engine
        .create_macro(
            &p,
            MacroInput {
                name: Some(b.name),
                shared: b.shared,
                spec: Some(spec),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(out(m))).into_response())
}

#[utoipa::path(get, path = "/api/v1/macros/{id}", tag = "macros", params(("id" = Uuid, Path)),
    responses((status = 200, body = MacroOut), (status = 404, body = Problem, description = "Absent, another agent's own, or in another workspace")))]
pub async fn get(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(mid): PathParam,
) -> ApiResult<Json<MacroOut>> {
    Ok(Json(out(app.engine.macro_(&p, id(&mid)?).await?)))
}

#[utoipa::path(patch, path = "/api/v1/macros/{id}", tag = "macros", params(("id" = Uuid, Path)), request_body = PatchMacroIn,
    responses((status = 200, body = MacroOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn patch(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(mid): PathParam,
    Json(b): Json<PatchMacroIn>,
) -> ApiResult<Json<MacroOut>> {
    let macro_id = id(&mid)?;
    let spec = if b.body.is_some()
        || b.translations.is_some()
        || b.visibility.is_some()
        || b.actions.is_some()
    {
        Some(MacroSpec {
            body: b.body.unwrap_or_default(),
            translations: b.translations.unwrap_or_default(),
            visibility: b
                .visibility
                .as_deref()
                .map(visibility)
                .transpose()?
                .unwrap_or(Visibility::Public),
            actions: actions(b.actions.unwrap_or_default())?,
        })
    } else {
        None
    };
    let m = app
        .engine
        .update_macro(
            &p,
            macro_id,
            MacroInput {
                name: b.name,
                shared: b.shared,
                spec,
            },
        )
        .await?;
    Ok(Json(out(m)))
}

#[utoipa::path(delete, path = "/api/v1/macros/{id}", tag = "macros", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(mid): PathParam,
) -> ApiResult<StatusCode> {
    app.engine.delete_macro(&p, id(&mid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/apply-macro", tag = "macros", params(("id" = String, Path, description = "The ticket's id or number")),
    request_body = ApplyMacroIn,
    responses((status = 200, body = AppliedMacroOut),
        (status = 403, body = Problem, description = "Light agents apply only note macros without changes"),
        (status = 404, body = Problem, description = "No such ticket or macro (or another agent's own)"),
        (status = 409, body = Problem, description = "A change the ticket cannot take (a closed ticket, a status it cannot move to)"),
        (status = 422, body = Problem, description = "A field the macro sets is not valid for this ticket")))]
pub async fn apply(
    State(app): State<AppState>,
    Auth(p): Auth,
    Path(tid): Path<String>,
    Json(b): Json<ApplyMacroIn>,
) -> ApiResult<Json<AppliedMacroOut>> {
    let r = crate::api::ticket_ref(&tid)?;
    let a = app
        .engine
        .apply_macro(&p, r, domain::ids::MacroId(b.macro_id))
        .await?;
    let ticket = crate::api::with_sla(&app, &p, vec![a.ticket])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::from(engine::EngineError::NotFound))?;
    Ok(Json(AppliedMacroOut {
        ticket,
        body: a.body,
        visibility: a.visibility.as_str().into(),
    }))
}
