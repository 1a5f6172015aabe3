//! `/app/macros`: the macros an agent may use — shared ones (kept by owners,
//! admins and supervisors) and their own — with their text in up to three
//! languages and the ticket changes they make. One plain form per macro.

use super::rules_admin::Names;
use super::views::Opt;
use super::{Chrome, Ctx, Form, OrPage, UiError, describe, done, html};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use domain::ids::*;
use domain::macros::MacroSpec;
use domain::rules::Action;
use domain::ticket::{Priority, Status, Visibility};
use engine::EngineError;
use engine::macros::{Macro, MacroInput};
use serde_json::Value;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/macros", get(list).post(create))
        .route("/app/macros/{id}", post(save))
        .route("/app/macros/{id}/delete", post(delete))
}

/// One macro's form.
pub struct MacroForm {
    /// Empty for the "new macro" form.
    pub id: String,
    pub name: String,
    pub shared: bool,
    pub internal: bool,
    pub body: String,
    pub ru: String,
    pub th: String,
    pub statuses: Vec<Opt>,
    pub priorities: Vec<Opt>,
    pub tiers: Vec<Opt>,
    pub team: String,
    pub assign: String,
    pub category: String,
    pub add_tags: String,
    pub remove_tags: String,
    /// `key=value`, one per line.
    pub fields: String,
    pub usage: i64,
    /// Whether this person may change it.
    pub editable: bool,
}

#[derive(Template)]
#[template(path = "macros.html")]
pub struct MacrosPage {
    pub chrome: Chrome,
    pub macros: Vec<MacroForm>,
    pub new: MacroForm,
    pub can_share: bool,
    pub suggestions: Vec<String>,
    pub error: Option<String>,
}

fn choice<T: Copy + PartialEq>(
    all: &[T],
    selected: Option<T>,
    value: impl Fn(T) -> String,
    label: impl Fn(T) -> String,
    keep: &str,
) -> Vec<Opt> {
    std::iter::once(Opt {
        value: String::new(),
        label: keep.to_owned(),
        selected: selected.is_none(),
    })
    .chain(all.iter().map(|v| Opt {
        value: value(*v),
        label: label(*v),
        selected: Some(*v) == selected,
    }))
    .collect()
}

fn form_of(ctx: &Ctx, names: &Names, m: Option<&Macro>) -> MacroForm {
    let tr = &ctx.tr;
    let spec = m.map(|m| m.spec.clone()).unwrap_or(MacroSpec {
        body: String::new(),
        translations: Default::default(),
        visibility: Visibility::Public,
        actions: vec![],
    });
    let (mut status, mut priority, mut tier) = (None, None, None);
    let (mut team, mut assign, mut category) = (String::new(), String::new(), String::new());
    let (mut add, mut remove, mut fields) = (Vec::new(), Vec::new(), Vec::new());
    for a in &spec.actions {
        match a {
            Action::SetStatus { status: s } => status = Some(*s),
            Action::SetPriority { priority: p } => priority = Some(*p),
            Action::SetTier { tier: t } => tier = Some(*t),
            Action::SetTeam { team_id } => {
                team = team_id
                    .and_then(|id| names.teams.iter().find(|(i, _)| *i == id))
                    .map(|(_, n)| n.clone())
                    .unwrap_or_else(|| "—".into())
            }
            Action::Assign { user_id } => {
                assign = user_id
                    .and_then(|id| names.agents.iter().find(|(i, _)| *i == id))
                    .map(|(_, n)| n.clone())
                    .unwrap_or_else(|| "—".into())
            }
            Action::SetCategory { category: c } => category = c.clone().unwrap_or_default(),
            Action::AddTags { tags } => add.extend(tags.iter().cloned()),
            Action::RemoveTags { tags } => remove.extend(tags.iter().cloned()),
            Action::SetField { key, value } => fields.push(format!(
                "{key}={}",
                value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned)
            )),
            _ => {}
        }
    }
    let keep = tr.t("macro.keep");
    MacroForm {
        id: m.map(|m| m.id.to_string()).unwrap_or_default(),
        name: m.map(|m| m.name.clone()).unwrap_or_default(),
        shared: m.is_some_and(|m| m.owner_id.is_none()),
        internal: spec.visibility == Visibility::Internal,
        ru: spec.translations.get("ru").cloned().unwrap_or_default(),
        th: spec.translations.get("th").cloned().unwrap_or_default(),
        body: spec.body,
        statuses: choice(
            Status::ALL,
            status,
            |s| s.as_str().into(),
            |s| tr.label("status", s.as_str()),
            keep,
        ),
        priorities: choice(
            Priority::ALL,
            priority,
            |p| p.as_str().into(),
            |p| tr.label("priority", p.as_str()),
            keep,
        ),
        tiers: choice(&[1, 2, 3], tier, |t| t.to_string(), |t| t.to_string(), keep),
        team,
        assign,
        category,
        add_tags: add.join(", "),
        remove_tags: remove.join(", "),
        fields: fields.join("\n"),
        usage: m.map(|m| m.usage_count).unwrap_or(0),
        editable: m.is_none_or(|m| m.owner_id.is_some() || ctx.p.role.can_supervise()),
    }
}

fn list_of(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// What the form describes; an error names the field that is wrong.
fn spec_of(f: &Form, names: &Names) -> Result<MacroSpec, String> {
    let mut actions = Vec::new();
    if let Some(s) = f.text("status") {
        actions.push(Action::SetStatus {
            status: Status::parse(s).map_err(|e| e.to_string())?,
        });
    }
    if let Some(p) = f.text("priority") {
        actions.push(Action::SetPriority {
            priority: Priority::parse(p).map_err(|e| e.to_string())?,
        });
    }
    if let Some(t) = f.text("tier") {
        actions.push(Action::SetTier {
            tier: t.parse().map_err(|_| "tier: 1, 2 or 3".to_owned())?,
        });
    }
    if let Some(t) = f.text("team") {
        let team_id = if t == "—" {
            None
        } else {
            Some(
                names
                    .teams
                    .iter()
                    .find(|(_, n)| n.to_lowercase() == t.to_lowercase())
                    .map(|(i, _)| *i)
                    .ok_or_else(|| format!("team: no team {t:?}"))?,
            )
        };
        actions.push(Action::SetTeam { team_id });
    }
    if let Some(a) = f.text("assign") {
        let user_id = if a == "—" {
            None
        } else {
            Some(
                names
                    .agents
                    .iter()
                    .find(|(_, e)| e.eq_ignore_ascii_case(a))
                    .map(|(i, _)| *i)
                    .ok_or_else(|| format!("assign: no agent {a:?}"))?,
            )
        };
        actions.push(Action::Assign { user_id });
    }
    if let Some(c) = f.text("category") {
        actions.push(Action::SetCategory {
            category: Some(c.to_owned()),
        });
    }
    let add = list_of(f.get("add_tags").unwrap_or_default());
    if !add.is_empty() {
        actions.push(Action::AddTags { tags: add });
    }
    let remove = list_of(f.get("remove_tags").unwrap_or_default());
    if !remove.is_empty() {
        actions.push(Action::RemoveTags { tags: remove });
    }
    for line in f.get("fields").unwrap_or_default().lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("fields: {line:?} is not key=value"))?;
        actions.push(Action::SetField {
            key: k.trim().to_owned(),
            value: Value::String(v.trim().to_owned()),
        });
    }
    let mut translations = std::collections::BTreeMap::new();
    for lang in ["ru", "th"] {
        if let Some(t) = f.text(lang) {
            translations.insert(lang.to_owned(), t.to_owned());
        }
    }
    Ok(MacroSpec {
        body: f.get("body").unwrap_or_default().trim().to_owned(),
        translations,
        visibility: if f.get("visibility") == Some("internal") {
            Visibility::Internal
        } else {
            Visibility::Public
        },
        actions,
    })
}

async fn page(app: &AppState, ctx: &Ctx, error: Option<String>) -> Result<MacrosPage, UiError> {
    let names = Names::load(app, ctx).await?;
    let all = app.engine.macros(&ctx.p, None).await.or_page(ctx.tr)?;
    let mut suggestions: Vec<String> = names.teams.iter().map(|(_, n)| n.clone()).collect();
    suggestions.extend(names.agents.iter().map(|(_, e)| e.clone()));
    Ok(MacrosPage {
        chrome: ctx.chrome(ctx.tr.t("macro.title")),
        macros: all.iter().map(|m| form_of(ctx, &names, Some(m))).collect(),
        new: form_of(ctx, &names, None),
        can_share: ctx.p.role.can_supervise(),
        suggestions,
        error,
    })
}

async fn list(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    html(&page(&app, &ctx, None).await?)
}

async fn store_macro(app: &AppState, f: &Form, id: Option<MacroId>) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let names = Names::load(app, ctx).await?;
    let again = |e: String| async move {
        let mut p = page(app, ctx, Some(e)).await?;
        p.chrome.flash = None;
        html(&p)
    };
    let spec = match spec_of(f, &names) {
        Ok(s) => s,
        Err(e) => return again(e).await,
    };
    let input = MacroInput {
        name: Some(f.get("name").unwrap_or_default().to_owned()),
        shared: Some(f.checked("shared")),
        spec: Some(spec),
    };
    let saved = match id {
        Some(id) => app.engine.update_macro(&ctx.p, id, input).await,
        None => app.engine.create_macro(&ctx.p, input).await,
    };
    match saved {
        Ok(_) => Ok(done("/app/macros", "flash.saved")),
        Err(
            e @ (EngineError::Invalid(_)
            | EngineError::Unknown(..)
            | EngineError::Conflict(_)
            | EngineError::Forbidden(_)),
        ) => again(describe(&e, &ctx.tr).unwrap_or_else(|| e.to_string())).await,
        Err(e) => Err(UiError::engine(e, ctx.tr)),
    }
}

fn macro_id(ctx: &Ctx, raw: &str) -> Result<MacroId, UiError> {
    raw.parse()
        .map_err(|_| UiError::Status(StatusCode::NOT_FOUND, ctx.tr, "error.not_found"))
}

async fn create(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    store_macro(&app, &f, None).await
}

async fn save(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let id = macro_id(&f.ctx, &id)?;
    store_macro(&app, &f, Some(id)).await
}

async fn delete(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let id = macro_id(ctx, &id)?;
    app.engine.delete_macro(&ctx.p, id).await.or_page(ctx.tr)?;
    Ok(done("/app/macros", "flash.deleted"))
}
