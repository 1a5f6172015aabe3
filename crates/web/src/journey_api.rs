//! The customer journey over HTTP: a shop's pushed touchpoints
//! (`POST /api/v1/touchpoints`), a customer's touchpoints, and the
//! workspace's tracking switch and stage rules (`/api/v1/journey/settings`).

use crate::AppState;
use crate::api::{PageQuery, api_limit, cursor_id, customer_input, next_cursor};
use crate::dto::{CustomerIn, Page};
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathParam, Query, id};
use axum::extract::State;
use domain::ids::*;
use domain::journey::{Kind, Settings, Stage, StageRule};
use domain::journey_map::SegmentBy;
use engine::journey::TouchpointRow;
use engine::journey::{MAX_PUSH, PushOutcome, Pushed};
use engine::orders::customer_ref;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

/// One thing a customer did on the shop's side.
#[derive(Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct TouchpointIn {
    /// The shop's id of it (1–100 characters): pushed again, it is the same
    /// touchpoint and is not counted twice.
    #[schema(min_length = 1, max_length = 100, example = "pv-20261201-0042")]
    pub id: String,
    /// `page_view`, `cart`, `checkout`, `review` or `custom`.
    #[schema(value_type = String, example = "page_view")]
    pub kind: Kind,
    /// Who: an existing customer's id, or `customer` with at least one
    /// identity (found, or made).
    pub customer_id: Option<Uuid>,
    pub customer: Option<CustomerIn>,
    /// When it happened, RFC 3339 (default: now); at most 5 minutes ahead and
    /// two years back.
    pub at: Option<String>,
    /// What it was: a page's title, the product put in the cart (≤ 200 characters).
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// The page's address (http or https, ≤ 2,000 characters).
    #[schema(max_length = 2000)]
    pub url: Option<String>,
    /// Up to 20 `key: value` pairs (keys 1–64 of a-z, 0-9 and _; values ≤
    /// 200 characters) the stage rules can match, e.g. `page_type: pricing`.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// A review's stars, 1–5 (only on `review`): the touchpoint's emotion.
    #[schema(minimum = 1, maximum = 5)]
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub rating: Option<i64>,
}

/// Touchpoints a shop pushes at once.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TouchpointPush {
    /// 1–500 touchpoints, written together or not at all.
    #[schema(min_items = 1, max_items = 500)]
    pub touchpoints: Vec<TouchpointIn>,
}

/// What a push did.
#[derive(Serialize, ToSchema)]
pub struct PushOut {
    /// Touchpoints written.
    pub recorded: usize,
    /// Touchpoints whose `id` was already there (a retried push): not counted again.
    pub repeated: usize,
}

impl From<PushOutcome> for PushOut {
    fn from(o: PushOutcome) -> Self {
        PushOut {
            recorded: o.recorded,
            repeated: o.repeated,
        }
    }
}

fn time(field: &str, v: &Option<String>) -> ApiResult<Option<domain::Timestamp>> {
    v.as_deref()
        .map(|s| {
            domain::Timestamp::parse_rfc3339(s).ok_or_else(|| {
                ApiError::field(field, "an RFC 3339 time, e.g. 2026-11-20T10:00:00Z")
            })
        })
        .transpose()
}

#[utoipa::path(post, path = "/api/v1/touchpoints", tag = "journey", request_body = TouchpointPush,
    responses((status = 200, body = PushOut),
        (status = 403, body = Problem, description = "Light agents cannot push touchpoints"),
        (status = 404, body = Problem, description = "A `customer_id` names no customer of the workspace"),
        (status = 409, body = Problem, description = "The workspace does not track visitors (`tracking` in `/api/v1/journey/settings`), or pushes naming one new customer collided; try again"),
        (status = 422, body = Problem, description = "A field out of its bounds: the field is named by its place, `touchpoints[3].url`")))]
pub async fn push(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<TouchpointPush>,
) -> ApiResult<Json<PushOut>> {
    if b.touchpoints.is_empty() || b.touchpoints.len() > MAX_PUSH {
        return Err(ApiError::field("touchpoints", "1 to 500 touchpoints"));
    }
    let mut items = Vec::with_capacity(b.touchpoints.len());
    for (i, t) in b.touchpoints.into_iter().enumerate() {
        let input = match &t.customer {
            Some(c) => customer_input(c)?,
            None => Default::default(),
        };
        let customer = customer_ref(t.customer_id.map(CustomerId), input);
        items.push(Pushed {
            id: t.id,
            customer,
            kind: t.kind,
            at: time(&format!("touchpoints[{i}].at"), &t.at)?,
            name: t.name,
            url: t.url,
            attributes: t.attributes,
            rating: t.rating,
        });
    }
    Ok(Json(app.engine.push_touchpoints(&p, items).await?.into()))
}

/// One touchpoint on a customer's journey.
#[derive(Serialize, ToSchema)]
pub struct TouchpointOut {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub at: String,
    /// What kind of contact: `message`, `call`, `bot`, `order`, `shipment`,
    /// `survey`, `outreach`, `reopen`, `sla_breach`, `link_click`,
    /// `article_view`, `search`, or one a shop pushed.
    pub kind: String,
    /// `awareness`, `consideration`, `decision`, `post_purchase` or `service`.
    pub stage: String,
    /// −100 (angry, let down) to 100 (delighted); absent where nothing tells.
    pub emotion: Option<i64>,
    pub channel: Option<String>,
    pub ticket_id: Option<Uuid>,
    /// What it is about: an order's number, an article, a survey's kind.
    pub reference: Option<String>,
    pub name: Option<String>,
    pub url: Option<String>,
    pub attributes: BTreeMap<String, String>,
}

impl From<TouchpointRow> for TouchpointOut {
    fn from(t: TouchpointRow) -> Self {
        TouchpointOut {
            id: t.id.0,
            customer_id: t.customer_id.0,
            at: t.at.to_rfc3339(),
            kind: t.kind.as_str().into(),
            stage: t.stage.as_str().into(),
            emotion: t.emotion,
            channel: t.channel.map(|c| c.as_str().into()),
            ticket_id: t.ticket_id.map(|t| t.0),
            reference: t.reference,
            name: t.name,
            url: t.url,
            attributes: t.attributes,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/touchpoints", tag = "journey",
    params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Page<TouchpointOut>, description = "Newest first"),
        (status = 400, body = Problem, description = "A cursor that is not one"),
        (status = 404, body = Problem, description = "No such customer, or a cursor naming no touchpoint")))]
pub async fn customer_touchpoints(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<TouchpointOut>>> {
    let limit = api_limit(q.limit)?;
    let items = app
        .engine
        .customer_touchpoints(
            &p,
            id(&cid)?,
            cursor_id::<TouchpointId>(q.cursor.as_deref())?,
            limit,
        )
        .await?;
    let next = next_cursor(&items, limit, |t| t.id.to_string());
    Ok(Json(Page {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor: next,
    }))
}

/// A stage rule: touchpoints matching every condition given fall in `stage`.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageRuleIo {
    #[schema(value_type = Option<String>, example = "page_view")]
    pub kind: Option<Kind>,
    /// For messages and calls: `email`, `chat`, `telegram` …
    #[schema(max_length = 200)]
    pub channel: Option<String>,
    /// An attribute the touchpoint must carry …
    #[schema(max_length = 200)]
    pub attribute: Option<String>,
    /// … with this value (without one, any value).
    #[schema(max_length = 200)]
    pub value: Option<String>,
    #[schema(value_type = String, example = "consideration")]
    pub stage: Stage,
}

/// Whether visitors are tracked, and how touchpoints find their stage.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JourneySettingsIo {
    /// Record identified visitors' activity on the web: a shop's pushed page
    /// views, cart and checkout, help-center reading, link clicks. Off until
    /// turned on; conversations, orders and surveys are on the journey either way.
    pub tracking: bool,
    /// At most 50; the first that matches a touchpoint decides its stage,
    /// and a touchpoint none matches takes its kind's usual stage.
    #[schema(max_items = 50)]
    pub rules: Vec<StageRuleIo>,
    /// Where tracked links (`/api/v1/links`) may lead: at most 50 http(s)
    /// address prefixes, e.g. `https://shop.example/`. A prefix covers its
    /// host and the paths under its path (`https://a.example/sale` covers
    /// `/sale/shoes`, not `/sales`). Absent: none, so no link can be made.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub link_targets: Vec<String>,
}

impl From<Settings> for JourneySettingsIo {
    fn from(s: Settings) -> Self {
        JourneySettingsIo {
            tracking: s.tracking,
            rules: s
                .rules
                .into_iter()
                .map(|r| StageRuleIo {
                    kind: r.kind,
                    channel: r.channel,
                    attribute: r.attribute,
                    value: r.value,
                    stage: r.stage,
                })
                .collect(),
            link_targets: s.link_targets,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/journey/settings", tag = "journey",
    responses((status = 200, body = JourneySettingsIo)))]
pub async fn get_settings(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<JourneySettingsIo>> {
    Ok(Json(app.engine.journey_settings(&p).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/journey/settings", tag = "journey", request_body = JourneySettingsIo,
    responses((status = 200, body = JourneySettingsIo),
        (status = 403, body = Problem, description = "Owners and admins only"),
        (status = 409, body = Problem, description = "A rule the schema cannot refuse: an empty name, or a value without its attribute"),
        (status = 422, body = Problem, description = "More than 50 rules, or a name longer than 200 characters")))]
pub async fn put_settings(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<JourneySettingsIo>,
) -> ApiResult<Json<JourneySettingsIo>> {
    let s = Settings {
        tracking: b.tracking,
        rules: b
            .rules
            .into_iter()
            .map(|r| StageRule {
                kind: r.kind,
                channel: r.channel,
                attribute: r.attribute,
                value: r.value,
                stage: r.stage,
            })
            .collect(),
        link_targets: b.link_targets,
    };
    Ok(Json(app.engine.save_journey_settings(&p, s).await?.into()))
}

/// What a journey map is broken down by.
#[derive(Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SegmentByIo {
    /// The channel of the customer's first conversation.
    FirstChannel,
    /// The `category` attribute of the customer's first touchpoint carrying one.
    Category,
    /// The `country` attribute of the customer's first touchpoint carrying one.
    Country,
    /// The customer's tags.
    Tag,
}

impl From<SegmentByIo> for SegmentBy {
    fn from(s: SegmentByIo) -> Self {
        match s {
            SegmentByIo::FirstChannel => SegmentBy::FirstChannel,
            SegmentByIo::Category => SegmentBy::Category,
            SegmentByIo::Country => SegmentBy::Country,
            SegmentByIo::Tag => SegmentBy::Tag,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MapQuery {
    /// Absent: every customer, and no segments listed.
    pub segment_by: Option<SegmentByIo>,
    /// One segment's value (a channel, a category, a country, a tag);
    /// absent: every customer. Needs `segment_by`.
    #[param(max_length = 200)]
    pub segment: Option<String>,
}

/// A touchpoint met in a stage, by the customers who met it.
#[derive(Serialize, ToSchema)]
pub struct MapTouchpoint {
    /// The kind and what tells it apart: `message:telegram`,
    /// `page_view:Pricing`, `order:delivered`.
    pub key: String,
    pub customers: i64,
}

/// One stage's column of the map.
#[derive(Serialize, ToSchema)]
pub struct MapStage {
    /// `awareness`, `consideration`, `decision`, `post_purchase` or `service`.
    pub stage: String,
    /// Customers with at least one touchpoint there.
    pub customers: i64,
    pub touchpoints: i64,
    /// In the funnel (the first four stages), the share (0–1) of the previous
    /// stage's customers who came here too; for `service`, the share of all
    /// the segment's customers who needed it. `null` for the first stage or
    /// when no one was in the previous one.
    pub conversion: Option<f64>,
    /// The median (the lower middle) of the time customers spent there, in
    /// seconds: from their first touchpoint in it to their first in a later
    /// funnel stage, or to their last in it.
    pub median_seconds: Option<i64>,
    /// The average emotion there, −100 to 100; `null` where none is known.
    pub emotion: Option<f64>,
    /// The five most common touchpoints there.
    pub top: Vec<MapTouchpoint>,
}

/// A touchpoint that loses customers.
#[derive(Serialize, ToSchema)]
pub struct MapPain {
    pub key: String,
    /// Times it was followed by a complaint (a message or call felt badly,
    /// a re-open, a missed target).
    pub complaints: i64,
    /// Times it was followed by a low CSAT, NPS or review score.
    pub low_scores: i64,
    /// Customers whose last touchpoint it was, 90 days ago or more.
    pub churned: i64,
    pub total: i64,
}

/// A segment to choose.
#[derive(Serialize, ToSchema)]
pub struct MapSegment {
    pub value: String,
    pub customers: i64,
}

/// The journey map of a segment.
#[derive(Serialize, ToSchema)]
pub struct JourneyMapOut {
    pub segment_by: Option<SegmentByIo>,
    pub segment: Option<String>,
    /// The segments there are, most customers first (at most 50).
    pub segments: Vec<MapSegment>,
    /// Customers in the map.
    pub customers: i64,
    /// Five columns, in stage order.
    pub stages: Vec<MapStage>,
    /// At most ten, most pain first.
    pub pain_points: Vec<MapPain>,
}

pub(crate) fn map_out(q: &MapQuery, m: engine::journey::JourneyMap) -> JourneyMapOut {
    JourneyMapOut {
        segment_by: q.segment_by,
        segment: m.segment,
        segments: m
            .segments
            .into_iter()
            .map(|(value, customers)| MapSegment { value, customers })
            .collect(),
        customers: m.customers,
        stages: m
            .columns
            .into_iter()
            .map(|c| MapStage {
                stage: c.stage.map(|s| s.as_str()).unwrap_or_default().to_owned(),
                customers: c.customers,
                touchpoints: c.touchpoints,
                conversion: c.conversion.map(|v| (v * 1000.0).round() / 1000.0),
                median_seconds: c.median_ms.map(|v| v / 1000),
                emotion: c.emotion.map(|v| (v * 10.0).round() / 10.0),
                top: c
                    .top
                    .into_iter()
                    .map(|(key, customers)| MapTouchpoint { key, customers })
                    .collect(),
            })
            .collect(),
        pain_points: m
            .pains
            .into_iter()
            .map(|p| MapPain {
                total: p.total(),
                key: p.key,
                complaints: p.complaints,
                low_scores: p.low_scores,
                churned: p.churned,
            })
            .collect(),
    }
}

pub(crate) async fn journey_map(
    app: &AppState,
    p: &engine::Principal,
    q: &MapQuery,
) -> ApiResult<JourneyMapOut> {
    if q.segment.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(ApiError::bad_request("segment: at most 200 characters"));
    }
    let m = app
        .engine
        .journey_map(p, q.segment_by.map(Into::into), q.segment.as_deref())
        .await?;
    Ok(map_out(q, m))
}

#[utoipa::path(get, path = "/api/v1/reports/journey", tag = "reports", params(MapQuery),
    responses((status = 200, body = JourneyMapOut),
        (status = 400, body = Problem, description = "An unknown `segment_by`, or a segment longer than 200 characters"),
        (status = 403, body = Problem, description = "Owners, admins and supervisors only"),
        (status = 409, body = Problem, description = "A `segment` without `segment_by`")))]
pub async fn map(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<MapQuery>,
) -> ApiResult<Json<JourneyMapOut>> {
    Ok(Json(journey_map(&app, &p, &q).await?))
}

/// The map as CSV: a row per stage, then a row per pain point.
pub fn map_csv(m: &JourneyMapOut) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "row",
        "key",
        "customers",
        "touchpoints",
        "conversion",
        "median_seconds",
        "emotion",
        "top_touchpoints",
        "complaints",
        "low_scores",
        "churned",
    ])?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    for s in &m.stages {
        let top = s
            .top
            .iter()
            .map(|t| format!("{} ({})", t.key, t.customers))
            .collect::<Vec<_>>()
            .join("; ");
        w.write_record([
            "stage".to_owned(),
            s.stage.clone(),
            s.customers.to_string(),
            s.touchpoints.to_string(),
            opt(s.conversion.map(|v| v.to_string())),
            opt(s.median_seconds.map(|v| v.to_string())),
            opt(s.emotion.map(|v| v.to_string())),
            top,
            String::new(),
            String::new(),
            String::new(),
        ])?;
    }
    for p in &m.pain_points {
        w.write_record([
            "pain_point".to_owned(),
            p.key.clone(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            p.complaints.to_string(),
            p.low_scores.to_string(),
            p.churned.to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[utoipa::path(get, path = "/api/v1/reports/journey.csv", tag = "reports", params(MapQuery),
    responses((status = 200, content_type = "text/csv", body = String,
            description = "Columns `row` (`stage` or `pain_point`), `key`, then the figures of the JSON map; a stage's top touchpoints as `key (customers)` joined by `; `"),
        (status = 400, body = Problem, description = "An unknown `segment_by`, or a segment longer than 200 characters"),
        (status = 403, body = Problem, description = "Owners, admins and supervisors only"),
        (status = 409, body = Problem, description = "A `segment` without `segment_by`")))]
pub async fn map_csv_file(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<MapQuery>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let m = journey_map(&app, &p, &q).await?;
    let body = map_csv(&m).map_err(|e| {
        tracing::error!(error = %e, "writing the journey map as CSV failed");
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the map could not be written as CSV",
        )
    })?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"journey-map.csv\"".to_owned(),
            ),
        ],
        body,
    )
        .into_response())
}
