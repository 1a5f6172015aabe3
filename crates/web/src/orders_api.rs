//! Orders and shipments pushed by stores (`/api/v1/orders`, upsert on the
//! store's id), a customer's orders, the stores' signed connections
//! (`/api/v1/stores`) and their webhook (`/hooks/store/{id}`).

use crate::AppState;
use crate::api::{api_limit, created, cursor_id, customer_input, next_cursor};
use crate::dto::{CustomerIn, Page};
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathParam, Query, id};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use domain::ids::*;
use domain::order::{LineItem, OrderPush, OrderStatus, ShipmentPush, ShipmentStatus};
use engine::model::{OrderRecord, StoreIntegration};
use engine::orders::{OrderInput, Upserted, customer_ref};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

#[derive(Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct LineItemIo {
    pub sku: String,
    pub name: String,
    #[serde(deserialize_with = "domain::number::whole")]
    pub quantity: i64,
    /// A decimal amount, e.g. `4990.00`.
    pub price: String,
}

#[derive(Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct ShipmentIn {
    pub carrier: String,
    /// The shipment's key within the order: a known number is updated.
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    #[schema(value_type = String, example = "in_transit")]
    pub status: ShipmentStatus,
    /// When the carrier reported the status (default: now).
    pub at: Option<String>,
    /// What the carrier said.
    pub note: Option<String>,
}

/// An order as the store has it. The first push of an `external_id` makes the
/// order (its customer found by any identity, or created); later pushes
/// update it, and the customer of a known order is kept.
#[derive(Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct OrderIn {
    /// The store's id of the order: pushes of the same id are one order.
    pub external_id: String,
    /// What the customer calls it (default: `external_id`); messages that name
    /// it link their ticket to the order.
    pub number: Option<String>,
    pub customer: Option<CustomerIn>,
    pub customer_id: Option<Uuid>,
    #[schema(value_type = Option<String>, example = "shipped")]
    pub status: Option<OrderStatus>,
    /// When the status was reached (default: now).
    pub status_at: Option<String>,
    /// ISO 4217, e.g. `RUB`.
    pub currency: String,
    /// A decimal amount, e.g. `4990.00`.
    pub total: String,
    /// Default: when it was first pushed.
    pub placed_at: Option<String>,
    /// Replaces the order's items when given.
    pub items: Option<Vec<LineItemIo>>,
    /// Shipments to add or update (by tracking number); others are kept.
    #[serde(default)]
    pub shipments: Vec<ShipmentIn>,
}

fn time(field: &str, v: &Option<String>) -> ApiResult<Option<domain::Timestamp>> {
    v.as_deref()
        .map(|s| {
            domain::Timestamp::parse_rfc3339(s.trim()).ok_or_else(|| {
                ApiError::field(field, "an RFC 3339 time, e.g. 2026-11-20T10:00:00Z")
            })
        })
        .transpose()
}

pub(crate) fn order_input(b: OrderIn) -> ApiResult<OrderInput> {
    // Checked whole even where it is not used (a customer_id given too, or
    // a known order keeping its customer).
    let customer = match &b.customer {
        Some(c) => {
            let input = customer_input(c)?;
            if input.identities.is_empty() {
                return Err(ApiError::field(
                    "customer",
                    "name the customer by at least one identity (email, phone, …)",
                ));
            }
            engine::customers::checked_details(&input)?;
            input
        }
        None => Default::default(),
    };
    let mut shipments = Vec::new();
    for (i, s) in b.shipments.into_iter().enumerate() {
        shipments.push(ShipmentPush {
            at: time(&format!("shipments[{i}].at"), &s.at)?,
            carrier: s.carrier,
            tracking_number: s.tracking_number,
            tracking_url: s.tracking_url,
            status: s.status,
            note: s.note,
        });
    }
    Ok(OrderInput {
        external_id: b.external_id,
        customer: customer_ref(b.customer_id.map(CustomerId), customer),
        push: OrderPush {
            number: b.number,
            status: b.status,
            status_at: time("status_at", &b.status_at)?,
            currency: Some(b.currency),
            total: Some(b.total),
            placed_at: time("placed_at", &b.placed_at)?,
            items: b.items.map(|items| {
                items
                    .into_iter()
                    .map(|i| LineItem {
                        sku: i.sku,
                        name: i.name,
                        quantity: i.quantity,
                        price: i.price,
                    })
                    .collect()
            }),
            shipments,
        },
    })
}

#[derive(Serialize, ToSchema)]
pub struct StepOut {
    pub status: String,
    pub at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ShipmentOut {
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    pub status: String,
    /// Oldest first, the last 50.
    pub events: Vec<StepOut>,
}

#[derive(Serialize, ToSchema)]
pub struct LineItemOut {
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub price: String,
}

#[derive(Serialize, ToSchema)]
pub struct OrderOut {
    pub id: Uuid,
    pub external_id: String,
    pub number: String,
    pub customer_id: Uuid,
    pub status: String,
    pub currency: String,
    pub total: String,
    pub placed_at: String,
    pub items: Vec<LineItemOut>,
    pub shipments: Vec<ShipmentOut>,
    /// The statuses the order went through, oldest first (the last 50).
    pub history: Vec<StepOut>,
    /// Counts the pushes that changed something.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<OrderRecord> for OrderOut {
    fn from(o: OrderRecord) -> Self {
        let step = |status: &str, at: domain::Timestamp, note: Option<String>| StepOut {
            status: status.to_owned(),
            at: at.to_rfc3339(),
            note,
        };
        OrderOut {
            id: o.id.0,
            external_id: o.external_id,
            number: o.order.number,
            customer_id: o.customer_id.0,
            status: o.order.status.as_str().to_owned(),
            currency: o.order.currency,
            total: o.order.total,
            placed_at: o.order.placed_at.to_rfc3339(),
            items: o
                .order
                .items
                .into_iter()
                .map(|i| LineItemOut {
                    sku: i.sku,
                    name: i.name,
                    quantity: i.quantity,
                    price: i.price,
                })
                .collect(),
            shipments: o
                .order
                .shipments
                .into_iter()
                .map(|s| ShipmentOut {
                    carrier: s.carrier,
                    tracking_number: s.tracking_number,
                    tracking_url: s.tracking_url,
                    status: s.status.as_str().to_owned(),
                    events: s
                        .events
                        .into_iter()
                        .map(|e| step(e.status.as_str(), e.at, e.note))
                        .collect(),
                })
                .collect(),
            history: o
                .order
                .history
                .into_iter()
                .map(|h| step(h.status.as_str(), h.at, None))
                .collect(),
            version: o.version,
            created_at: o.created_at.to_rfc3339(),
            updated_at: o.updated_at.to_rfc3339(),
        }
    }
}

fn answer(u: Upserted) -> Response {
    if u.created {
        created(OrderOut::from(u.order))
    } else {
        axum::Json(OrderOut::from(u.order)).into_response()
    }
}

#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = OrderIn,
    responses((status = 201, body = OrderOut, description = "A new order"),
        (status = 200, body = OrderOut, description = "A known order, updated (or unchanged: a repeated push changes nothing)"),
        (status = 403, body = Problem, description = "Light agents cannot push orders"),
        (status = 404, body = Problem, description = "`customer_id` names no customer of the workspace"),
        (status = 409, body = Problem, description = "Pushes of this order kept colliding; try again"),
        (status = 422, body = Problem, description = "A field out of its bounds")))]
pub async fn upsert_order(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<OrderIn>,
) -> ApiResult<Response> {
    let input = order_input(b)?;
    Ok(answer(app.engine.upsert_order(&p, input).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderQuery {
    /// Items per page: 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    #[param(value_type = Option<uuid::Uuid>)]
    pub cursor: Option<String>,
    /// One customer's orders.
    pub customer_id: Option<Uuid>,
    /// Orders with this number.
    pub number: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(OrderQuery),
    responses((status = 200, body = Page<OrderOut>, description = "Newest first"),
        (status = 404, body = Problem, description = "`customer_id` names no customer of the workspace")))]
pub async fn list_orders(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<OrderQuery>,
) -> ApiResult<Json<Page<OrderOut>>> {
    let limit = api_limit(q.limit)?;
    if q.number.as_ref().is_some_and(|n| n.chars().count() > 100) {
        return Err(ApiError::field("number", "at most 100 characters"));
    }
    let items = app
        .engine
        .orders(
            &p,
            q.customer_id.map(CustomerId),
            q.number.as_deref().map(str::trim),
            cursor_id::<OrderId>(q.cursor.as_deref())?,
            Some(limit),
        )
        .await?;
    let next = next_cursor(&items, limit, |o| o.id.to_string());
    Ok(Json(Page {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor: next,
    }))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = Uuid, Path)),
    responses((status = 200, body = OrderOut), (status = 404, body = Problem)))]
pub async fn get_order(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(oid): PathParam,
) -> ApiResult<Json<OrderOut>> {
    Ok(Json(app.engine.order(&p, id(&oid)?).await?.into()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomerOrdersQuery {
    /// Items per page: 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    #[param(value_type = Option<uuid::Uuid>)]
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/orders", tag = "orders", params(("id" = Uuid, Path), CustomerOrdersQuery),
    responses((status = 200, body = Page<OrderOut>, description = "Newest first"),
        (status = 404, body = Problem)))]
pub async fn customer_orders(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
    Query(q): Query<CustomerOrdersQuery>,
) -> ApiResult<Json<Page<OrderOut>>> {
    let limit = api_limit(q.limit)?;
    let items = app
        .engine
        .orders(
            &p,
            Some(id(&cid)?),
            None,
            cursor_id::<OrderId>(q.cursor.as_deref())?,
            Some(limit),
        )
        .await?;
    let next = next_cursor(&items, limit, |o| o.id.to_string());
    Ok(Json(Page {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor: next,
    }))
}

/// The order a ticket is about.
#[derive(Serialize, ToSchema)]
pub struct TicketOrder {
    pub order: Option<OrderOut>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketOrderIn {
    /// One of the ticket's customer's orders; null unlinks.
    pub order_id: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/order", tag = "orders", params(("id" = String, Path, description = "Id or number")),
    responses((status = 200, body = TicketOrder, description = "Linked by an agent, or when a customer's message named one of their orders"),
        (status = 404, body = Problem)))]
pub async fn ticket_order(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
) -> ApiResult<Json<TicketOrder>> {
    let o = app
        .engine
        .ticket_order(&p, crate::api::ticket_ref(&t)?)
        .await?;
    Ok(Json(TicketOrder {
        order: o.map(Into::into),
    }))
}

#[utoipa::path(put, path = "/api/v1/tickets/{id}/order", tag = "orders", params(("id" = String, Path, description = "Id or number")),
    request_body = TicketOrderIn,
    responses((status = 200, body = TicketOrder),
        (status = 403, body = Problem, description = "Light agents cannot link orders"),
        (status = 404, body = Problem, description = "No such ticket or order"),
        (status = 409, body = Problem, description = "The order is another customer's")))]
pub async fn link_ticket_order(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
    Json(b): Json<TicketOrderIn>,
) -> ApiResult<Json<TicketOrder>> {
    let o = app
        .engine
        .link_order(&p, crate::api::ticket_ref(&t)?, b.order_id.map(OrderId))
        .await?;
    Ok(Json(TicketOrder {
        order: o.map(Into::into),
    }))
}

/// Something to offer the customer, with why.
#[derive(Serialize, ToSchema)]
pub struct UpsellOut {
    pub sku: String,
    pub name: String,
    /// `reorder`: they buy it again and again and it is about due;
    /// `bought_with`: customers who bought something they have also bought it.
    pub kind: String,
    /// The reason in words (English; the agent's page says it in their language).
    pub reason: String,
    /// `reorder`: orders it was in, the usual days between, days since the last.
    pub times: Option<usize>,
    pub every_days: Option<i64>,
    pub last_days: Option<i64>,
    /// `bought_with`: what they have that it goes with, and how many customers bought both.
    pub with: Option<String>,
    pub customers: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct UpsellList {
    /// Whether the workspace shows suggestions (outreach settings, `upsell`).
    pub enabled: bool,
    /// Empty until the ticket is solved.
    pub items: Vec<UpsellOut>,
}

impl From<engine::orders::Upsell> for UpsellOut {
    fn from(u: engine::orders::Upsell) -> Self {
        use engine::orders::UpsellKind;
        let mut out = UpsellOut {
            sku: u.sku,
            name: u.name,
            kind: String::new(),
            reason: String::new(),
            times: None,
            every_days: None,
            last_days: None,
            with: None,
            customers: None,
        };
        match u.kind {
            UpsellKind::Reorder {
                times,
                every_days,
                last_days,
            } => {
                out.kind = "reorder".into();
                out.reason = format!(
                    "bought {times} times, about every {every_days} days; the last {last_days} days ago"
                );
                (out.times, out.every_days, out.last_days) =
                    (Some(times), Some(every_days), Some(last_days));
            }
            UpsellKind::BoughtWith { with, customers } => {
                out.kind = "bought_with".into();
                out.reason = format!("{customers} customers who bought {with} also bought it");
                (out.with, out.customers) = (Some(with), Some(customers));
            }
        }
        out
    }
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/upsell", tag = "orders", params(("id" = String, Path, description = "Id or number")),
    responses((status = 200, body = UpsellList), (status = 404, body = Problem)))]
pub async fn ticket_upsell(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
) -> ApiResult<Json<UpsellList>> {
    let (enabled, items) = app.engine.upsell(&p, crate::api::ticket_ref(&t)?).await?;
    Ok(Json(UpsellList {
        enabled,
        items: items.into_iter().map(Into::into).collect(),
    }))
}

// ---------------------------------------------------------------- stores

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreIn {
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchStoreIn {
    pub name: Option<String>,
    pub active: Option<bool>,
    /// Issues a new signing secret (shown once); the old one stops at once.
    #[serde(default)]
    pub rotate_secret: bool,
}

#[derive(Serialize, ToSchema)]
pub struct StoreOut {
    pub id: Uuid,
    pub name: String,
    pub active: bool,
    /// Where the store posts orders: `{public_url}/hooks/store/{id}`, each
    /// body an order as `POST /api/v1/orders` takes it, signed.
    pub webhook_url: Option<String>,
    /// Shown when created or rotated, never again.
    pub signing_secret: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn store_out(app: &AppState, s: StoreIntegration, secret: Option<String>) -> StoreOut {
    StoreOut {
        id: s.id.0,
        name: s.name,
        active: s.active,
        webhook_url: app
            .engine
            .public_url
            .as_ref()
            .map(|u| format!("{u}/hooks/store/{}", s.id)),
        signing_secret: secret,
        created_at: s.created_at.to_rfc3339(),
        updated_at: s.updated_at.to_rfc3339(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct StoreList {
    pub items: Vec<StoreOut>,
}

#[utoipa::path(get, path = "/api/v1/stores", tag = "orders",
    responses((status = 200, body = StoreList), (status = 403, body = Problem, description = "Admins only")))]
pub async fn list_stores(State(app): State<AppState>, Auth(p): Auth) -> ApiResult<Json<StoreList>> {
    let items = app.engine.stores(&p).await?;
    Ok(Json(StoreList {
        items: items
            .into_iter()
            .map(|s| store_out(&app, s, None))
            .collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/stores", tag = "orders", request_body = StoreIn,
    responses((status = 201, body = StoreOut, description = "With its signing secret, shown once"),
        (status = 403, body = Problem, description = "Admins only"),
        (status = 422, body = Problem)))]
pub async fn create_store(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<StoreIn>,
) -> ApiResult<Response> {
    let (s, secret) = app.engine.create_store(&p, &b.name).await?;
    Ok(created(store_out(&app, s, Some(secret))))
}

#[utoipa::path(get, path = "/api/v1/stores/{id}", tag = "orders", params(("id" = Uuid, Path)),
    responses((status = 200, body = StoreOut), (status = 403, body = Problem, description = "Admins only"), (status = 404, body = Problem)))]
pub async fn get_store(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(sid): PathParam,
) -> ApiResult<Json<StoreOut>> {
    let s = app.engine.store_integration(&p, id(&sid)?).await?;
    Ok(Json(store_out(&app, s, None)))
}

#[utoipa::path(patch, path = "/api/v1/stores/{id}", tag = "orders", params(("id" = Uuid, Path)), request_body = PatchStoreIn,
    responses((status = 200, body = StoreOut, description = "With the new secret when rotated"),
        (status = 403, body = Problem, description = "Admins only"), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_store(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(sid): PathParam,
    Json(b): Json<PatchStoreIn>,
) -> ApiResult<Json<StoreOut>> {
    let (s, secret) = app
        .engine
        .update_store(&p, id(&sid)?, b.name.as_deref(), b.active, b.rotate_secret)
        .await?;
    Ok(Json(store_out(&app, s, secret)))
}

#[utoipa::path(post, path = "/hooks/store/{id}", tag = "hooks", params(("id" = Uuid, Path, description = "The store integration"),
        ("X-Otklik-Timestamp" = String, Header, description = "Unix seconds, within 5 minutes of the server's clock")),
    request_body = OrderIn,
    security(("store" = [])),
    responses((status = 201, body = OrderOut, description = "A new order"),
        (status = 200, body = OrderOut, description = "A known order, updated or unchanged"),
        (status = 400, body = Problem, description = "The body is not JSON"),
        (status = 401, body = Problem, description = "No timestamp or signature: nothing is stored"),
        (status = 403, body = Problem, description = "A wrong signature or a stale timestamp: nothing is stored"),
        (status = 404, body = Problem, description = "No such store integration, or it is switched off"),
        (status = 409, body = Problem, description = "Pushes of this order kept colliding; try again"),
        (status = 413, body = Problem, description = "Larger than 1 MB"),
        (status = 422, body = Problem, description = "Not an order")))]
pub async fn store_hook(
    State(app): State<AppState>,
    PathParam(sid): PathParam,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let header = |n: &str| headers.get(n).map(|v| v.to_str().unwrap_or_default());
    let ws = app
        .engine
        .store_hook(
            id(&sid)?,
            header("x-otklik-timestamp"),
            header("x-otklik-signature"),
            &body,
        )
        .await
        .map_err(|r| crate::messenger_api::refusal(r, "signature"))?;
    let b: OrderIn = crate::messenger_api::signed_json(&body, "an order")?;
    let input = order_input(b)?;
    Ok(answer(app.engine.store_push(ws, input).await?))
}
