//! Proactive outreach: rules (`/api/v1/outreach/rules`), the workspace's
//! bounds (`/api/v1/outreach/settings`) and what was written to a customer
//! (`/api/v1/customers/{id}/outreach`).

use crate::AppState;
use crate::api::created;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathParam, id};
use axum::extract::State;
use axum::response::Response;
use domain::outreach::{OutreachOn, OutreachSettings, OutreachSpec, QuietHours};
use engine::model::{Outreach, OutreachRule};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

/// A rule: on an event (`order.status_changed`, `order.shipment_updated`,
/// `customer.at_risk`), for some statuses (empty: any; none for at-risk),
/// write `texts[language]` (placeholders as in macros, `{{order.number}}`,
/// `{{order.tracking_url}}` …) to the customer in their language.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutreachRuleIn {
    pub name: String,
    #[schema(value_type = String, example = "order.status_changed")]
    pub on: OutreachOn,
    #[serde(default)]
    pub statuses: Vec<String>,
    pub texts: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Serialize, ToSchema)]
pub struct OutreachRuleOut {
    pub id: Uuid,
    pub name: String,
    pub on: String,
    pub statuses: Vec<String>,
    pub texts: BTreeMap<String, String>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<OutreachRule> for OutreachRuleOut {
    fn from(r: OutreachRule) -> Self {
        OutreachRuleOut {
            id: r.id.0,
            name: r.spec.name,
            on: r.spec.on.as_str().to_owned(),
            statuses: r.spec.statuses,
            texts: r.spec.texts,
            active: r.spec.active,
            created_at: r.created_at.to_rfc3339(),
            updated_at: r.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OutreachRuleList {
    pub items: Vec<OutreachRuleOut>,
}

fn spec(b: OutreachRuleIn) -> OutreachSpec {
    OutreachSpec {
        name: b.name,
        on: b.on,
        statuses: b.statuses,
        texts: b.texts,
        active: b.active,
    }
}

#[utoipa::path(get, path = "/api/v1/outreach/rules", tag = "outreach",
    responses((status = 200, body = OutreachRuleList), (status = 403, body = Problem, description = "Admins only")))]
pub async fn list_rules(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<OutreachRuleList>> {
    Ok(Json(OutreachRuleList {
        items: app
            .engine
            .outreach_rules(&p)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/outreach/rules", tag = "outreach", request_body = OutreachRuleIn,
    responses((status = 201, body = OutreachRuleOut), (status = 403, body = Problem, description = "Admins only"),
        (status = 409, body = Problem, description = "The workspace has 50 rules"), (status = 422, body = Problem)))]
pub async fn create_rule(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<OutreachRuleIn>,
) -> ApiResult<Response> {
    let r = app.engine.save_outreach_rule(&p, None, spec(b)).await?;
    Ok(created(OutreachRuleOut::from(r)))
}

#[utoipa::path(get, path = "/api/v1/outreach/rules/{id}", tag = "outreach", params(("id" = Uuid, Path)),
    responses((status = 200, body = OutreachRuleOut), (status = 403, body = Problem, description = "Admins only"), (status = 404, body = Problem)))]
pub async fn get_rule(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(rid): PathParam,
) -> ApiResult<Json<OutreachRuleOut>> {
    Ok(Json(app.engine.outreach_rule(&p, id(&rid)?).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/outreach/rules/{id}", tag = "outreach", params(("id" = Uuid, Path)), request_body = OutreachRuleIn,
    responses((status = 200, body = OutreachRuleOut, description = "Replaced whole"), (status = 403, body = Problem, description = "Admins only"),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn put_rule(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(rid): PathParam,
    Json(b): Json<OutreachRuleIn>,
) -> ApiResult<Json<OutreachRuleOut>> {
    Ok(Json(
        app.engine
            .save_outreach_rule(&p, Some(id(&rid)?), spec(b))
            .await?
            .into(),
    ))
}

/// Quiet hours as local times of the workspace's zone.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHoursIo {
    /// `HH:MM`, e.g. `21:00`.
    pub from: String,
    /// `HH:MM`, e.g. `09:00`; before `from` means the next morning.
    pub to: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutreachSettingsIo {
    /// When nobody is written to (null: any time); a message waits for the end.
    pub quiet_hours: Option<QuietHoursIo>,
    /// Outreach messages one customer gets in any 24 hours, at most (0–20).
    #[serde(deserialize_with = "domain::number::whole")]
    pub daily_limit: u16,
    /// Agents see suggestions from a customer's order history after a solve.
    pub upsell: bool,
}

fn hhmm(field: &str, s: &str) -> ApiResult<u16> {
    let bad = || ApiError::field(field, "a time like 21:00");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn settings_out(s: OutreachSettings) -> OutreachSettingsIo {
    let t = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
    OutreachSettingsIo {
        quiet_hours: s.quiet_hours.map(|q| QuietHoursIo {
            from: t(q.from),
            to: t(q.to),
        }),
        daily_limit: s.daily_limit,
        upsell: s.upsell,
    }
}

#[utoipa::path(get, path = "/api/v1/outreach/settings", tag = "outreach",
    responses((status = 200, body = OutreachSettingsIo)))]
pub async fn get_settings(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<OutreachSettingsIo>> {
    Ok(Json(settings_out(app.engine.outreach_settings(&p).await?)))
}

#[utoipa::path(put, path = "/api/v1/outreach/settings", tag = "outreach", request_body = OutreachSettingsIo,
    responses((status = 200, body = OutreachSettingsIo), (status = 403, body = Problem, description = "Admins only"), (status = 422, body = Problem)))]
pub async fn put_settings(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<OutreachSettingsIo>,
) -> ApiResult<Json<OutreachSettingsIo>> {
    let quiet_hours = match &b.quiet_hours {
        Some(q) => Some(QuietHours {
            from: hhmm("quiet_hours.from", &q.from)?,
            to: hhmm("quiet_hours.to", &q.to)?,
        }),
        None => None,
    };
    let s = app
        .engine
        .save_outreach_settings(
            &p,
            OutreachSettings {
                quiet_hours,
                daily_limit: b.daily_limit,
                upsell: b.upsell,
            },
        )
        .await?;
    Ok(Json(settings_out(s)))
}

#[derive(Serialize, ToSchema)]
pub struct OutreachOut {
    pub id: Uuid,
    pub rule_id: Uuid,
    pub order_id: Option<Uuid>,
    /// `queued` (waiting, e.g. for quiet hours to end), `sent` or `skipped`.
    pub state: String,
    /// Why it was skipped: `opted_out`, `daily_limit`, `no_channel`, `rule_off`, `gone`.
    pub reason: Option<String>,
    /// Where the message is (and the customer's answer goes).
    pub ticket_id: Option<Uuid>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct OutreachList {
    pub items: Vec<OutreachOut>,
}

impl From<Outreach> for OutreachOut {
    fn from(o: Outreach) -> Self {
        OutreachOut {
            id: o.id.0,
            rule_id: o.rule_id.0,
            order_id: o.order_id.map(|i| i.0),
            state: o.state,
            reason: o.reason,
            ticket_id: o.ticket_id.map(|t| t.0),
            created_at: o.created_at.to_rfc3339(),
            updated_at: o.updated_at.to_rfc3339(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/outreach", tag = "outreach", params(("id" = Uuid, Path)),
    responses((status = 200, body = OutreachList, description = "Newest first, the last 100"), (status = 404, body = Problem)))]
pub async fn customer_outreach(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
) -> ApiResult<Json<OutreachList>> {
    Ok(Json(OutreachList {
        items: app
            .engine
            .customer_outreach(&p, id(&cid)?)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    }))
}
