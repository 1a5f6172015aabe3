//! Triggers and automations (`/api/v1/rules`): typed rules, refused when they
//! cannot run, with a dry run that lists the tickets a rule would act on now.

use crate::AppState;
use crate::dto::TicketOut;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathParam, id};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::rules::{Action, Condition, On, RuleKind, RuleSpec};
use engine::rules::{Rule, RuleInput};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

/// A condition: `{"field": "status", "op": "in", "value": ["new", "open"]}`.
/// Which operators and values a field takes is in the schema of each field.
pub type ConditionIo = Value;
/// An action: `{"type": "set_priority", "priority": "high"}`.
pub type ActionIo = Value;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleIn {
    pub name: String,
    /// `trigger`: acts on events; `automation`: acts on time, every 10 minutes.
    pub kind: String,
    /// Lower is tried first; later rules see what earlier ones changed.
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub position: Option<i64>,
    /// Default true.
    pub active: Option<bool>,
    /// Triggers: the events they listen to.
    pub on: Option<Vec<String>>,
    /// Every one must hold.
    #[schema(value_type = Option<Vec<Object>>)]
    pub all: Option<Vec<ConditionIo>>,
    /// At least one must hold, when any are given.
    #[schema(value_type = Option<Vec<Object>>)]
    pub any: Option<Vec<ConditionIo>>,
    /// Run in order; each succeeds or fails on its own.
    #[schema(value_type = Vec<Object>)]
    pub actions: Vec<ActionIo>,
}

/// Any field may be given. What the rule is — `kind`, `on`, `all`, `any`,
/// `actions` — is given whole, with `kind`, and checked again.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchRuleIn {
    pub name: Option<String>,
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub position: Option<i64>,
    pub active: Option<bool>,
    pub on: Option<Vec<String>>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub all: Option<Vec<ConditionIo>>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub any: Option<Vec<ConditionIo>>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub actions: Option<Vec<ActionIo>>,
}

/// A rule to try without saving it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunIn {
    pub kind: String,
    pub on: Option<Vec<String>>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub all: Option<Vec<ConditionIo>>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub any: Option<Vec<ConditionIo>>,
    #[schema(value_type = Vec<Object>)]
    pub actions: Vec<ActionIo>,
}

#[derive(Serialize, ToSchema)]
pub struct RuleOut {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub position: i64,
    pub active: bool,
    pub on: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    pub all: Vec<ConditionIo>,
    #[schema(value_type = Vec<Object>)]
    pub any: Vec<ConditionIo>,
    #[schema(value_type = Vec<Object>)]
    pub actions: Vec<ActionIo>,
    /// How many times it fired.
    pub fired: i64,
    pub last_fired_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct RuleList {
    pub items: Vec<RuleOut>,
}

#[derive(Serialize, ToSchema)]
pub struct DryRunOut {
    /// The tickets the rule would act on now (at most 100).
    pub items: Vec<TicketOut>,
    /// Unclosed tickets looked at: the 2,000 most recently changed.
    pub scanned: usize,
    /// More matched than are listed.
    pub truncated: bool,
}

/// The key rules' webhooks are signed with: `X-Otklik-Signature: v1=<hex>`
/// is the HMAC-SHA256 of `<X-Otklik-Timestamp>.<body>` under it.
#[derive(Serialize, ToSchema)]
pub struct WebhookKeyOut {
    pub key: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RuleQuery {
    /// Only rules of this kind.
    pub kind: Option<String>,
}

fn kind_of(s: &str) -> ApiResult<RuleKind> {
    RuleKind::parse(s).map_err(|_| ApiError::field("kind", "trigger or automation"))
}

fn typed<T: serde::de::DeserializeOwned>(field: &str, v: Value) -> ApiResult<T> {
    serde_json::from_value(v).map_err(|e| ApiError::field(field, e.to_string()))
}

fn items<T: serde::de::DeserializeOwned>(field: &str, v: Vec<Value>) -> ApiResult<Vec<T>> {
    v.into_iter()
        .enumerate()
        .map(|(i, x)| typed(&format!("{field}[{i}]"), x))
        .collect()
}

fn ons(v: Vec<String>) -> ApiResult<Vec<On>> {
    v.iter()
        .enumerate()
        .map(|(i, s)| {
            On::parse(s).map_err(|_| {
                ApiError::field(
                    &format!("on[{i}]"),
                    format!(
                        "one of: {}",
                        On::ALL
                            .iter()
                            .map(|o| o.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
        })
        .collect()
}

fn spec_of(
    kind: &str,
    on: Option<Vec<String>>,
    all: Option<Vec<Value>>,
    any: Option<Vec<Value>>,
    actions: Vec<Value>,
) -> ApiResult<RuleSpec> {
    Ok(RuleSpec {
        kind: kind_of(kind)?,
        on: ons(on.unwrap_or_default())?,
        all: items::<Condition>("all", all.unwrap_or_default())?,
        any: items::<Condition>("any", any.unwrap_or_default())?,
        actions: items::<Action>("actions", actions)?,
    })
}

fn json_of<T: Serialize>(v: &[T]) -> Vec<Value> {
    v.iter()
        .filter_map(|x| serde_json::to_value(x).ok())
        .collect()
}

fn out(r: Rule) -> RuleOut {
    RuleOut {
        id: r.id.0,
        name: r.name,
        kind: r.spec.kind.as_str().into(),
        position: r.position,
        active: r.active,
        on: r.spec.on.iter().map(|o| o.as_str().to_owned()).collect(),
        all: json_of(&r.spec.all),
        any: json_of(&r.spec.any),
        actions: json_of(&r.spec.actions),
        fired: r.fired,
        last_fired_at: r.last_fired_at.map(|t| t.to_rfc3339()),
        created_at: r.created_at.to_rfc3339(),
        updated_at: r.updated_at.to_rfc3339(),
    }
}

#[utoipa::path(get, path = "/api/v1/rules", tag = "rules", params(RuleQuery),
    responses((status = 200, body = RuleList, description = "In the order they are tried"),
        (status = 403, body = Problem, description = "Owners and admins only"),
        (status = 422, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<RuleQuery>,
) -> ApiResult<Json<RuleList>> {
    let kind = q.kind.as_deref().map(kind_of).transpose()?;
    let items = app
        .engine
        .rules(&p, kind)
        .await?
        .into_iter()
        .map(out)
        .collect();
    Ok(Json(RuleList { items }))
}

#[utoipa::path(post, path = "/api/v1/rules", tag = "rules", request_body = RuleIn,
    responses((status = 201, body = RuleOut),
        (status = 403, body = Problem, description = "Owners and admins only"),
        (status = 404, body = Problem, description = "A team, agent or calendar it names is not in this workspace"),
        (status = 409, body = Problem, description = "The workspace already has 500 rules"),
        (status = 422, body = Problem, description = "A rule that cannot run: the error names the condition or action")))]
pub async fn create(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<RuleIn>,
) -> ApiResult<Response> {
    let spec = spec_of(&b.kind, b.on, b.all, b.any, b.actions)?;
    let input = RuleInput {
        name: Some(b.name),
        position: b.position,
        active: b.active,
        spec: Some(spec),
    };
    let r = app.engine.create_rule(&p, input).await?;
    Ok((StatusCode::CREATED, Json(out(r))).into_response())
}

#[utoipa::path(get, path = "/api/v1/rules/{id}", tag = "rules", params(("id" = Uuid, Path)),
    responses((status = 200, body = RuleOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(rid): PathParam,
) -> ApiResult<Json<RuleOut>> {
    Ok(Json(out(app.engine.rule(&p, id(&rid)?).await?)))
}

#[utoipa::path(patch, path = "/api/v1/rules/{id}", tag = "rules", params(("id" = Uuid, Path)), request_body = PatchRuleIn,
    responses((status = 200, body = RuleOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn patch(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(rid): PathParam,
    Json(b): Json<PatchRuleIn>,
) -> ApiResult<Json<RuleOut>> {
    let rule_id = id(&rid)?;
    let spec = match b.kind {
        Some(kind) => Some(spec_of(
            &kind,
            b.on,
            b.all,
            b.any,
            b.actions
                .ok_or_else(|| ApiError::field("actions", "required with kind"))?,
        )?),
        None if b.on.is_some() || b.all.is_some() || b.any.is_some() || b.actions.is_some() => {
            return Err(ApiError::field(
                "kind",
                "required with on, all, any or actions: they are given whole",
            ));
        }
        None => None,
    };
    let input = RuleInput {
        name: b.name,
        position: b.position,
        active: b.active,
        spec,
    };
    Ok(Json(out(app
        .engine
        .update_rule(&p, rule_id, input)
        .await?)))
}

#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "rules", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(rid): PathParam,
) -> ApiResult<StatusCode> {
    app.engine.delete_rule(&p, id(&rid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/rules/dry-run", tag = "rules", request_body = DryRunIn,
    responses((status = 200, body = DryRunOut),
        (status = 403, body = Problem, description = "Owners and admins only"),
        (status = 422, body = Problem, description = "A rule that cannot run")))]
pub async fn dry_run(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<DryRunIn>,
) -> ApiResult<Json<DryRunOut>> {
    let spec = spec_of(&b.kind, b.on, b.all, b.any, b.actions)?;
    let found = app.engine.dry_run(&p, spec).await?;
    Ok(Json(DryRunOut {
        items: crate::api::with_sla(&app, &p, found.tickets).await?,
        scanned: found.scanned,
        truncated: found.truncated,
    }))
}

#[utoipa::path(get, path = "/api/v1/rules/webhook-key", tag = "rules",
    responses((status = 200, body = WebhookKeyOut), (status = 403, body = Problem, description = "Owners and admins only")))]
pub async fn webhook_key(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<WebhookKeyOut>> {
    p.require_admin()?;
    Ok(Json(WebhookKeyOut {
        key: app.engine.webhook_key(p.workspace_id),
    }))
}
