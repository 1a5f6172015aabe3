//! `/app/organizations`: the companies customers belong to — a searchable
//! list with a form to add one, and each organisation's page (name, email
//! domains that link customers, notes, fields, its customers).

use super::{Chrome, Ctx, Form, OrPage, UiError, done, html};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use domain::fields::FieldTarget;
use domain::ids::*;
use engine::organizations::OrganizationInput;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/organizations", get(list).post(create))
        .route("/app/organizations/{id}", get(page).post(save))
        .route("/app/organizations/{id}/delete", post(delete))
}

pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub domains: String,
    pub customers: i64,
}

#[derive(Template)]
#[template(path = "orgs.html")]
pub struct OrgsPage {
    pub chrome: Chrome,
    pub q: String,
    pub rows: Vec<OrgRow>,
    /// The next page's cursor, when there is one.
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "org.html")]
pub struct OrgPage {
    pub chrome: Chrome,
    pub id: String,
    pub name: String,
    /// One per line, as the form edits them.
    pub domains: String,
    pub notes: String,
    pub fields: Vec<super::field_form::FieldView>,
    /// Id, name, contacts.
    pub members: Vec<(String, String, String)>,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    after: Option<String>,
}

const PAGE: i64 = 50;

async fn list(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> Result<Response, UiError> {
    let tr = ctx.tr;
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let after = q.after.as_deref().filter(|a| a.chars().count() <= 800);
    let found = app
        .engine
        .organizations(&ctx.p, search, after, Some(PAGE))
        .await
        .or_page(tr)?;
    let next = (found.len() as i64 == PAGE)
        .then(|| {
            found
                .last()
                .map(|(o, _)| engine::model::organization_name_key(&o.name))
        })
        .flatten();
    html(&OrgsPage {
        chrome: ctx.chrome(tr.t("org.title")),
        q: search.unwrap_or_default().to_owned(),
        rows: found
            .into_iter()
            .map(|(o, n)| OrgRow {
                id: o.id.to_string(),
                name: o.name,
                domains: o.domains.join(", "),
                customers: n,
            })
            .collect(),
        next,
    })
}

fn org_id(raw: &str, ctx: &Ctx) -> Result<OrganizationId, UiError> {
    raw.parse()
        .map_err(|_| UiError::Status(StatusCode::NOT_FOUND, ctx.tr, "error.not_found"))
}

fn domains(f: &Form) -> Option<Vec<String>> {
    f.get("domains").map(|d| {
        d.split([',', ' ', '\n', '\r', ';'])
            .map(|d| d.trim().trim_start_matches('@'))
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

async fn create(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let (o, _) = app
        .engine
        .create_organization(
            &ctx.p,
            OrganizationInput {
                name: f.get("name").map(str::to_owned),
                domains: domains(&f),
                ..OrganizationInput::default()
            },
        )
        .await
        .or_page(ctx.tr)?;
    Ok(done(&format!("/app/organizations/{}", o.id), "flash.saved"))
}

async fn page(
    State(app): State<AppState>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, UiError> {
    let tr = ctx.tr;
    let id = org_id(&id, &ctx)?;
    let o = app.engine.organization(&ctx.p, id).await.or_page(tr)?;
    let members = app
        .engine
        .organization_members(&ctx.p, id, Some(200))
        .await
        .or_page(tr)?;
    let defs = app.engine.fields(&ctx.p).await.or_page(tr)?;
    html(&OrgPage {
        chrome: ctx.chrome(o.name.clone()),
        id: o.id.to_string(),
        fields: super::field_form::views(defs, FieldTarget::Organization, &o.custom_fields),
        name: o.name,
        domains: o.domains.join("\n"),
        notes: o.notes,
        members: members
            .into_iter()
            .map(|c| {
                let contacts = c
                    .identities
                    .iter()
                    .map(|i| i.value.clone())
                    .collect::<Vec<_>>()
                    .join(", ");
                (c.id.to_string(), c.name, contacts)
            })
            .collect(),
    })
}

async fn save(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let tr = ctx.tr;
    let id = org_id(&id, ctx)?;
    let defs = app.engine.fields(&ctx.p).await.or_page(tr)?;
    let fields = super::field_form::values(&f, defs, FieldTarget::Organization).map_err(|l| {
        UiError::Message(
            StatusCode::UNPROCESSABLE_ENTITY,
            tr,
            format!("{l}: {}", tr.t("error.invalid")),
        )
    })?;
    app.engine
        .update_organization(
            &ctx.p,
            id,
            OrganizationInput {
                name: f.get("name").map(str::to_owned),
                notes: f.get("notes").map(str::to_owned),
                domains: domains(&f),
                custom_fields: (!fields.is_empty()).then_some(fields),
            },
        )
        .await
        .or_page(tr)?;
    Ok(done(&format!("/app/organizations/{id}"), "flash.saved"))
}

async fn delete(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let id = org_id(&id, ctx)?;
    app.engine
        .delete_organization(&ctx.p, id)
        .await
        .or_page(ctx.tr)?;
    Ok(done("/app/organizations", "flash.deleted"))
}
