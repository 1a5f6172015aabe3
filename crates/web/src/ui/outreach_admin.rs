//! `/app/admin/outreach`: the workspace's outreach rules (what to write when
//! an order ships, a parcel is late, an order is delivered, a customer is at
//! risk — a text per language) and its bounds (quiet hours, the daily limit
//! per customer, suggestions after a solve). Plain forms, no script needed.

use super::admin::admin_only;
use super::views::Opt;
use super::{Chrome, Ctx, Form, OrPage, UiError, done, html};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use domain::ids::OutreachRuleId;
use domain::outreach::{OutreachOn, OutreachSettings, OutreachSpec, QuietHours};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The languages the form offers a text for.
const LANGS: [&str; 3] = ["en", "ru", "th"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/admin/outreach", get(page))
        .route("/app/admin/outreach/rules", post(save_rule))
        .route("/app/admin/outreach/settings", post(save_settings))
}

pub struct RuleRow {
    pub id: String,
    pub name: String,
    pub on: String,
    pub statuses: String,
    pub languages: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "admin_outreach.html")]
pub struct OutreachPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub rules: Vec<RuleRow>,
    /// The rule in the form (empty id: a new one).
    pub edit_id: String,
    pub edit_name: String,
    pub edit_on: Vec<Opt>,
    pub edit_statuses: String,
    /// `(language, text)` for each offered language.
    pub edit_texts: Vec<(&'static str, String)>,
    pub edit_active: bool,
    pub quiet: bool,
    pub quiet_from: String,
    pub quiet_to: String,
    pub daily_limit: u16,
    pub upsell: bool,
    /// The statuses each event takes, for the form's hint.
    pub status_hint: String,
}

#[derive(Deserialize, Default)]
struct PageQuery {
    edit: Option<String>,
}

fn hhmm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn minutes(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

async fn page(
    State(app): State<AppState>,
    uri: axum::http::Uri,
    ctx: Ctx,
) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let tr = ctx.tr;
    let q: PageQuery = Query::try_from_uri(&uri).map(|q| q.0).unwrap_or_default();
    let rules = app.engine.outreach_rules(&ctx.p).await.or_page(tr)?;
    let settings = app.engine.outreach_settings(&ctx.p).await.or_page(tr)?;
    let editing = q
        .edit
        .as_deref()
        .and_then(|e| e.parse::<OutreachRuleId>().ok())
        .and_then(|id| rules.iter().find(|r| r.id == id));
    let on = editing.map_or(OutreachOn::OrderStatus, |r| r.spec.on);
    let status_hint = [
        (
            OutreachOn::OrderStatus,
            domain::order::OrderStatus::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
        ),
        (
            OutreachOn::Shipment,
            domain::order::ShipmentStatus::ALL
                .iter()
                .map(|s| s.as_str())
                .collect(),
        ),
    ]
    .iter()
    .map(|(on, all)| {
        format!(
            "{}: {}",
            tr.label("outreach_on", &on.as_str().replace('.', "_")),
            all.join(", ")
        )
    })
    .collect::<Vec<_>>()
    .join(" · ");
    let page = OutreachPage {
        chrome: ctx.chrome(tr.t("admin.outreach")),
        section: "outreach",
        rules: rules
            .iter()
            .map(|r| RuleRow {
                id: r.id.to_string(),
                name: r.spec.name.clone(),
                on: tr.label("outreach_on", &r.spec.on.as_str().replace('.', "_")),
                statuses: r.spec.statuses.join(", "),
                languages: r.spec.texts.keys().cloned().collect::<Vec<_>>().join(", "),
                active: r.spec.active,
            })
            .collect(),
        edit_id: editing.map(|r| r.id.to_string()).unwrap_or_default(),
        edit_name: editing.map(|r| r.spec.name.clone()).unwrap_or_default(),
        edit_on: OutreachOn::ALL
            .iter()
            .map(|o| Opt {
                value: o.as_str().into(),
                label: tr.label("outreach_on", &o.as_str().replace('.', "_")),
                selected: *o == on,
            })
            .collect(),
        edit_statuses: editing
            .map(|r| r.spec.statuses.join(", "))
            .unwrap_or_default(),
        edit_texts: LANGS
            .iter()
            .map(|l| {
                (
                    *l,
                    editing
                        .and_then(|r| r.spec.texts.get(*l).cloned())
                        .unwrap_or_default(),
                )
            })
            .collect(),
        edit_active: editing.is_none_or(|r| r.spec.active),
        quiet: settings.quiet_hours.is_some(),
        quiet_from: hhmm(settings.quiet_hours.map_or(21 * 60, |q| q.from)),
        quiet_to: hhmm(settings.quiet_hours.map_or(9 * 60, |q| q.to)),
        daily_limit: settings.daily_limit,
        upsell: settings.upsell,
        status_hint,
    };
    html(&page)
}

/// `POST /app/admin/outreach/rules`: creates a rule, or (with `id`) replaces it.
async fn save_rule(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let tr = ctx.tr;
    let invalid = || UiError::Status(StatusCode::UNPROCESSABLE_ENTITY, tr, "error.invalid");
    let id = match f.text("id") {
        Some(i) => Some(i.parse::<OutreachRuleId>().map_err(|_| invalid())?),
        None => None,
    };
    let on = OutreachOn::parse(f.get("on").unwrap_or_default()).map_err(|_| invalid())?;
    let statuses = f
        .get("statuses")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let texts: BTreeMap<String, String> = LANGS
        .iter()
        .filter_map(|l| {
            f.text(&format!("text_{l}"))
                .map(|t| ((*l).to_owned(), t.to_owned()))
        })
        .collect();
    let spec = OutreachSpec {
        name: f.get("name").unwrap_or_default().to_owned(),
        on,
        statuses,
        texts,
        active: f.checked("active"),
    };
    app.engine
        .save_outreach_rule(&ctx.p, id, spec)
        .await
        .or_page(tr)?;
    Ok(done("/app/admin/outreach", "flash.saved"))
}

/// `POST /app/admin/outreach/settings`.
async fn save_settings(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let tr = ctx.tr;
    let invalid = || UiError::Status(StatusCode::UNPROCESSABLE_ENTITY, tr, "error.invalid");
    let quiet_hours = if f.checked("quiet") {
        Some(QuietHours {
            from: minutes(f.get("quiet_from").unwrap_or_default()).ok_or_else(invalid)?,
            to: minutes(f.get("quiet_to").unwrap_or_default()).ok_or_else(invalid)?,
        })
    } else {
        None
    };
    let daily_limit = f
        .get("daily_limit")
        .unwrap_or_default()
        .trim()
        .parse::<u16>()
        .map_err(|_| invalid())?;
    app.engine
        .save_outreach_settings(
            &ctx.p,
            OutreachSettings {
                quiet_hours,
                daily_limit,
                upsell: f.checked("upsell"),
            },
        )
        .await
        .or_page(tr)?;
    Ok(done("/app/admin/outreach", "flash.saved"))
}
