//! Orders as the ticket's sidebar and the customer page show them: number,
//! status, total, items, and each shipment's carrier, tracking (a link to the
//! carrier's page) and status; and the form that links a ticket to one.

use super::i18n::Tr;
use super::{Form, OrPage, UiError, done};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use domain::ids::OrderId;
use engine::model::OrderRecord;

/// Orders a page lists.
pub const SHOWN: i64 = 5;

pub struct ShipmentView {
    pub carrier: String,
    pub tracking: String,
    /// An http(s) address (checked when pushed).
    pub url: Option<String>,
    pub status: &'static str,
    pub status_label: String,
}

pub struct OrderView {
    pub id: String,
    pub number: String,
    pub status: &'static str,
    pub status_label: String,
    pub total: String,
    pub placed: String,
    pub items: String,
    pub shipments: Vec<ShipmentView>,
    /// The ticket on the page is about this order.
    pub linked: bool,
}

pub fn view(tr: Tr, o: &OrderRecord, linked: Option<OrderId>) -> OrderView {
    let items: Vec<String> = o
        .order
        .items
        .iter()
        .take(5)
        .map(|i| format!("{} × {}", i.quantity, i.name))
        .collect();
    let more = o.order.items.len().saturating_sub(5);
    OrderView {
        id: o.id.to_string(),
        number: o.order.number.clone(),
        status: o.order.status.as_str(),
        status_label: tr.label("order_status", o.order.status.as_str()),
        total: format!("{} {}", o.order.total, o.order.currency),
        placed: tr.date(o.order.placed_at),
        items: if more > 0 {
            format!("{} +{more}", items.join(", "))
        } else {
            items.join(", ")
        },
        shipments: o
            .order
            .shipments
            .iter()
            .map(|s| ShipmentView {
                carrier: s.carrier.clone(),
                tracking: s.tracking_number.clone(),
                url: s.tracking_url.clone(),
                status: s.status.as_str(),
                status_label: tr.label("shipment", s.status.as_str()),
            })
            .collect(),
        linked: Some(o.id) == linked,
    }
}

/// A suggestion's name and its reason in the reader's language.
pub fn upsell(tr: Tr, u: engine::orders::Upsell) -> (String, String) {
    use engine::orders::UpsellKind;
    let why = match u.kind {
        UpsellKind::Reorder {
            times,
            every_days,
            last_days,
        } => tr
            .t("order.reorder")
            .replace("{times}", &times.to_string())
            .replace("{every}", &every_days.to_string())
            .replace("{last}", &last_days.to_string()),
        UpsellKind::BoughtWith { with, customers } => tr
            .t("order.bought_with")
            .replace("{customers}", &customers.to_string())
            .replace("{with}", &with),
    };
    (u.name, why)
}

/// `POST /app/t/{number}/order` (`order`: an order id, or empty to unlink).
pub async fn link(
    State(app): State<AppState>,
    Path(number): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let r = super::ticket::number_of(&number, tr)?;
    let order =
        match f.text("order") {
            Some(o) => Some(o.parse::<OrderId>().map_err(|_| {
                UiError::Status(StatusCode::UNPROCESSABLE_ENTITY, tr, "error.invalid")
            })?),
            None => None,
        };
    app.engine
        .link_order(&f.ctx.p, r, order)
        .await
        .or_page(tr)?;
    Ok(done(&format!("/app/t/{number}#orders"), "flash.saved"))
}
