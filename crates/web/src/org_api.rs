//! Organisations (`/api/v1/organizations`): the companies customers belong
//! to, their domains (which link customers by email address), notes and
//! fields, and their customers.

use crate::AppState;
use crate::api::{api_limit, created, next_cursor};
use crate::dto::{CustomerOut, Page};
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathParam, Query, id};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use engine::model::{Organization, organization_name_key};
use engine::organizations::OrganizationInput;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

#[derive(Serialize, ToSchema)]
pub struct OrganizationOut {
    pub id: Uuid,
    pub name: String,
    /// Email domains: a customer with a verified address at one joins
    /// when they belong to no organisation.
    pub domains: Vec<String>,
    pub notes: String,
    /// Values of the workspace's organisation fields, by key.
    pub custom_fields: Map<String, Value>,
    /// Customers who belong to it (in lists; 0 elsewhere).
    pub customers: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl OrganizationOut {
    fn of(o: Organization, customers: i64) -> Self {
        OrganizationOut {
            id: o.id.0,
            name: o.name,
            domains: o.domains,
            notes: o.notes,
            custom_fields: o.custom_fields,
            customers,
            created_at: o.created_at.to_rfc3339(),
            updated_at: o.updated_at.to_rfc3339(),
        }
    }
}

/// The organisation after a change, with how many customers its new
/// domains brought in.
#[derive(Serialize, ToSchema)]
pub struct OrganizationSaved {
    pub organization: OrganizationOut,
    pub linked_customers: u64,
}

/// A new organisation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganizationIn {
    /// 1–200 characters; unique in the workspace (ignoring case).
    pub name: String,
    /// At most 10,000 characters.
    pub notes: Option<String>,
    /// At most 20, such as `example.com` (an internationalised domain in
    /// its `xn--` form). A domain names one organisation in the workspace:
    /// 409 when another has it.
    pub domains: Option<Vec<String>>,
    /// Its fields (the workspace's `organization` fields), by key.
    pub custom_fields: Option<Map<String, Value>>,
}

/// Changes to an organisation; what is left out stays.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationIn {
    /// 1–200 characters; unique in the workspace (ignoring case).
    pub name: Option<String>,
    /// At most 10,000 characters.
    pub notes: Option<String>,
    /// Replaces every domain (at most 20, such as `example.com`). A domain
    /// names one organisation in the workspace: 409 when another has it.
    pub domains: Option<Vec<String>>,
    /// Merged into its fields (the workspace's `organization` fields); a
    /// `null` value removes one.
    pub custom_fields: Option<Map<String, Value>>,
}

impl From<OrganizationIn> for OrganizationInput {
    fn from(b: OrganizationIn) -> Self {
        OrganizationInput {
            name: b.name,
            notes: b.notes,
            domains: b.domains,
            custom_fields: b.custom_fields,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrganizationQuery {
    /// Part of a name or domain.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Items per page: 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    #[param(max_length = 800)]
    pub cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MembersQuery {
    /// Items per page: 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/organizations", tag = "customers", params(OrganizationQuery),
    responses((status = 200, body = Page<OrganizationOut>, description = "By name"),
        (status = 422, body = Problem)))]
pub async fn list_organizations(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<OrganizationQuery>,
) -> ApiResult<Json<Page<OrganizationOut>>> {
    let limit = api_limit(q.limit)?;
    if q.cursor.as_ref().is_some_and(|c| c.chars().count() > 800) {
        return Err(ApiError::field("cursor", "at most 800 characters"));
    }
    let items = app
        .engine
        .organizations(&p, q.q.as_deref(), q.cursor.as_deref(), Some(limit))
        .await?;
    let next = next_cursor(&items, limit, |(o, _)| organization_name_key(&o.name));
    Ok(Json(Page {
        items: items
            .into_iter()
            .map(|(o, n)| OrganizationOut::of(o, n))
            .collect(),
        next_cursor: next,
    }))
}

#[utoipa::path(post, path = "/api/v1/organizations", tag = "customers", request_body = NewOrganizationIn,
    responses((status = 201, body = OrganizationSaved),
        (status = 404, body = Problem, description = "A custom field key names no organisation field"),
        (status = 409, body = Problem, description = "The name or a domain is taken"),
        (status = 422, body = Problem)))]
pub async fn create_organization(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<NewOrganizationIn>,
) -> ApiResult<Response> {
    let input = OrganizationInput {
        name: Some(b.name),
        notes: b.notes,
        domains: b.domains,
        custom_fields: b.custom_fields,
    };
    let (o, linked) = app.engine.create_organization(&p, input).await?;
    Ok(created(OrganizationSaved {
        organization: OrganizationOut::of(o, 0),
        linked_customers: linked,
    }))
}

#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "customers", params(("id" = Uuid, Path)),
    responses((status = 200, body = OrganizationOut), (status = 404, body = Problem)))]
pub async fn get_organization(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(oid): PathParam,
) -> ApiResult<Json<OrganizationOut>> {
    Ok(Json(OrganizationOut::of(
        app.engine.organization(&p, id(&oid)?).await?,
        0,
    )))
}

#[utoipa::path(patch, path = "/api/v1/organizations/{id}", tag = "customers", params(("id" = Uuid, Path)), request_body = OrganizationIn,
    responses((status = 200, body = OrganizationSaved),
        (status = 404, body = Problem, description = "No such organisation, or a custom field key names no organisation field"),
        (status = 409, body = Problem, description = "The name or a domain is taken"),
        (status = 422, body = Problem)))]
pub async fn patch_organization(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(oid): PathParam,
    Json(b): Json<OrganizationIn>,
) -> ApiResult<Json<OrganizationSaved>> {
    let (o, linked) = app
        .engine
        .update_organization(&p, id(&oid)?, b.into())
        .await?;
    Ok(Json(OrganizationSaved {
        organization: OrganizationOut::of(o, 0),
        linked_customers: linked,
    }))
}

#[utoipa::path(delete, path = "/api/v1/organizations/{id}", tag = "customers", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted; its customers belong to none"),
        (status = 403, body = Problem, description = "Admins only"),
        (status = 404, body = Problem)))]
pub async fn delete_organization(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(oid): PathParam,
) -> ApiResult<StatusCode> {
    app.engine.delete_organization(&p, id(&oid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/organizations/{id}/customers", tag = "customers", params(("id" = Uuid, Path), MembersQuery),
    responses((status = 200, body = Page<CustomerOut>, description = "Newest first"),
        (status = 404, body = Problem)))]
pub async fn organization_customers(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(oid): PathParam,
    Query(q): Query<MembersQuery>,
) -> ApiResult<Json<Page<CustomerOut>>> {
    let limit = api_limit(q.limit)?;
    let items = app
        .engine
        .organization_members(&p, id(&oid)?, Some(limit))
        .await?;
    Ok(Json(Page {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}
