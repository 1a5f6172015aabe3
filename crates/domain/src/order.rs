//! Orders and shipments as a store pushes them: one document per order, kept
//! whole (line items, status history, shipments with their events) so that an
//! upsert is one row. [`Order::apply`] merges a push into what is known and
//! says what changed — the events rules and the timeline act on — so a push
//! repeated as it was changes nothing.

use crate::Code;
use crate::Message;
use crate::message;
use crate::{DomainError, Timestamp, wire_enum};
use serde::{Deserialize, Serialize};

/// Most line items an order has.
pub const MAX_ITEMS: usize = 200;
/// Most shipments an order has.
pub const MAX_SHIPMENTS: usize = 20;
/// Entries kept in an order's status history and in a shipment's events (the
/// oldest go first).
pub const MAX_HISTORY: usize = 50;

wire_enum!(
    /// Where an order is.
    OrderStatus {
        Placed = "placed",
        Paid = "paid",
        Shipped = "shipped",
        Delivered = "delivered",
        Returned = "returned",
        Cancelled = "cancelled",
    }
);

wire_enum!(
    /// Where a shipment is, as carriers report it.
    ShipmentStatus {
        LabelCreated = "label_created",
        InTransit = "in_transit",
        OutForDelivery = "out_for_delivery",
        Delayed = "delayed",
        Delivered = "delivered",
        Exception = "exception",
        Returned = "returned",
    }
);

/// A money amount as a decimal string (`4990.00`): digits, an optional point
/// and up to 4 decimals; at most 15 digits before the point.
pub fn parse_amount(field: &str, raw: &str) -> Result<String, DomainError> {
    let s = raw.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 15
        || !digits(whole)
        || frac.len() > 4
        || !digits(frac)
        || (s.contains('.') && frac.is_empty())
    {
        return Err(DomainError::invalid(
            field,
            Message::new(Code::Amount).with("raw", format!("{:?}", raw)),
        ));
    }
    Ok(s.to_owned())
}

/// An ISO 4217 code: three capital letters.
pub fn parse_currency(raw: &str) -> Result<String, DomainError> {
    let s = raw.trim().to_ascii_uppercase();
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(s)
    } else {
        Err(DomainError::invalid(
            "currency",
            Message::new(Code::Currency).with("raw", format!("{:?}", raw)),
        ))
    }
}

fn line(field: &str, raw: &str, max: usize) -> Result<String, DomainError> {
    let s = crate::text::clean_line(raw);
    if s.is_empty() || s.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            Message::new(Code::OrderTextLength).with("max", max),
        ));
    }
    Ok(s)
}

/// A tracking page's address: http(s), at most 2000 characters.
pub fn parse_url(field: &str, raw: &str) -> Result<String, DomainError> {
    let s = raw.trim();
    let ok = (s.starts_with("https://") || s.starts_with("http://"))
        && s.len() <= 2000
        && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(s.to_owned())
    } else {
        Err(DomainError::invalid(field, Code::OrderUrl))
    }
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub price: String,
}

impl LineItem {
    pub fn validated(self, at: usize) -> Result<LineItem, DomainError> {
        let f = |n: &str| format!("items[{at}].{n}");
        if !(1..=100_000).contains(&self.quantity) {
            return Err(DomainError::invalid(
                f("quantity"),
                message::range(1, 100000),
            ));
        }
        Ok(LineItem {
            sku: line(&f("sku"), &self.sku, 100)?,
            name: line(&f("name"), &self.name, 300)?,
            quantity: self.quantity,
            price: parse_amount(&f("price"), &self.price)?,
        })
    }
}

/// A status an order or shipment reached, and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step<S> {
    pub status: S,
    pub at: Timestamp,
    /// What the carrier said (shipments only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A parcel of an order, known by its tracking number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    pub status: ShipmentStatus,
    pub events: Vec<Step<ShipmentStatus>>,
}

/// A shipment as a push describes it; `at` and `note` describe its status.
#[derive(Clone, Debug, PartialEq)]
pub struct ShipmentPush {
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    pub status: ShipmentStatus,
    pub at: Option<Timestamp>,
    pub note: Option<String>,
}

impl ShipmentPush {
    pub fn validated(self, at: usize) -> Result<ShipmentPush, DomainError> {
        let f = |n: &str| format!("shipments[{at}].{n}");
        Ok(ShipmentPush {
            carrier: line(&f("carrier"), &self.carrier, 100)?,
            tracking_number: line(&f("tracking_number"), &self.tracking_number, 100)?,
            tracking_url: self
                .tracking_url
                .as_deref()
                .map(|u| parse_url(&f("tracking_url"), u))
                .transpose()?,
            status: self.status,
            at: self.at,
            note: self
                .note
                .as_deref()
                .map(|n| line(&f("note"), n, 500))
                .transpose()?,
        })
    }
}

/// What a store says about an order; absent fields keep what is known.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct OrderPush {
    /// What the customer calls the order (defaults to the store's id).
    pub number: Option<String>,
    pub status: Option<OrderStatus>,
    /// When the status was reached (default: now).
    pub status_at: Option<Timestamp>,
    pub currency: Option<String>,
    pub total: Option<String>,
    pub placed_at: Option<Timestamp>,
    pub items: Option<Vec<LineItem>>,
    pub shipments: Vec<ShipmentPush>,
}

impl OrderPush {
    /// Every field checked, each error naming its place.
    pub fn validated(self) -> Result<OrderPush, DomainError> {
        if self.items.as_ref().is_some_and(|i| i.len() > MAX_ITEMS) {
            return Err(DomainError::invalid("items", message::at_most(MAX_ITEMS)));
        }
        if self.shipments.len() > MAX_SHIPMENTS {
            return Err(DomainError::invalid(
                "shipments",
                message::at_most(MAX_SHIPMENTS),
            ));
        }
        Ok(OrderPush {
            number: self
                .number
                .as_deref()
                .map(|n| line("number", n, 100))
                .transpose()?,
            status: self.status,
            status_at: self.status_at,
            currency: self.currency.as_deref().map(parse_currency).transpose()?,
            total: self
                .total
                .as_deref()
                .map(|t| parse_amount("total", t))
                .transpose()?,
            placed_at: self.placed_at,
            items: self
                .items
                .map(|items| {
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(i, it)| it.validated(i))
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?,
            shipments: self
                .shipments
                .into_iter()
                .enumerate()
                .map(|(i, s)| s.validated(i))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// An order as it is known.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    pub number: String,
    pub status: OrderStatus,
    pub currency: String,
    pub total: String,
    pub placed_at: Timestamp,
    pub items: Vec<LineItem>,
    pub shipments: Vec<Shipment>,
    pub history: Vec<Step<OrderStatus>>,
}

/// What a push changed.
#[derive(Clone, Debug, PartialEq)]
pub enum OrderChange {
    Status {
        from: Option<OrderStatus>,
        to: OrderStatus,
    },
    Shipment {
        tracking_number: String,
        from: Option<ShipmentStatus>,
        to: ShipmentStatus,
    },
    /// Number, currency, total, date or items.
    Details,
}

fn keep_last<T>(v: &mut Vec<T>) {
    if v.len() > MAX_HISTORY {
        v.drain(..v.len() - MAX_HISTORY);
    }
}

impl Order {
    /// A new order from its first push (`external_id` names it when the push
    /// gives no number); a currency and total are needed.
    pub fn new(
        external_id: &str,
        push: OrderPush,
        now: Timestamp,
    ) -> Result<(Order, Vec<OrderChange>), DomainError> {
        let need = |f: &str| DomainError::invalid(f, Code::RequiredForNewOrder);
        let status = push.status.unwrap_or(OrderStatus::Placed);
        let placed_at = push.placed_at.unwrap_or(now);
        let mut o = Order {
            number: push
                .number
                .clone()
                .unwrap_or_else(|| external_id.to_owned()),
            status,
            currency: push.currency.clone().ok_or_else(|| need("currency"))?,
            total: push.total.clone().ok_or_else(|| need("total"))?,
            placed_at,
            items: push.items.clone().unwrap_or_default(),
            shipments: Vec::new(),
            history: vec![Step {
                status,
                at: push.status_at.unwrap_or(placed_at),
                note: None,
            }],
        };
        let mut changes = vec![OrderChange::Status {
            from: None,
            to: status,
        }];
        o.merge_shipments(&push.shipments, now, &mut changes);
        Ok((o, changes))
    }

    /// Merges a later push; nothing changes (and nothing is returned) when it
    /// says what is already known.
    pub fn apply(&mut self, push: OrderPush, now: Timestamp) -> Vec<OrderChange> {
        let mut changes = Vec::new();
        let before = (
            self.number.clone(),
            self.currency.clone(),
            self.total.clone(),
            self.placed_at,
            self.items.clone(),
        );
        if let Some(n) = push.number {
            self.number = n;
        }
        if let Some(c) = push.currency {
            self.currency = c;
        }
        if let Some(t) = push.total {
            self.total = t;
        }
        if let Some(p) = push.placed_at {
            self.placed_at = p;
        }
        if let Some(i) = push.items {
            self.items = i;
        }
        if before
            != (
                self.number.clone(),
                self.currency.clone(),
                self.total.clone(),
                self.placed_at,
                self.items.clone(),
            )
        {
            changes.push(OrderChange::Details);
        }
        if let Some(s) = push.status
            && s != self.status
        {
            changes.push(OrderChange::Status {
                from: Some(self.status),
                to: s,
            });
            self.status = s;
            self.history.push(Step {
                status: s,
                at: push.status_at.unwrap_or(now),
                note: None,
            });
            keep_last(&mut self.history);
        }
        self.merge_shipments(&push.shipments, now, &mut changes);
        changes
    }

    fn merge_shipments(
        &mut self,
        pushed: &[ShipmentPush],
        now: Timestamp,
        changes: &mut Vec<OrderChange>,
    ) {
        for p in pushed {
            let step = Step {
                status: p.status,
                at: p.at.unwrap_or(now),
                note: p.note.clone(),
            };
            let full = self.shipments.len() >= MAX_SHIPMENTS;
            match self
                .shipments
                .iter_mut()
                .find(|s| s.tracking_number == p.tracking_number)
            {
                Some(s) => {
                    if p.tracking_url.is_some() && s.tracking_url != p.tracking_url {
                        s.tracking_url = p.tracking_url.clone();
                        changes.push(OrderChange::Details);
                    }
                    if s.carrier != p.carrier {
                        s.carrier = p.carrier.clone();
                        changes.push(OrderChange::Details);
                    }
                    if s.status != p.status {
                        changes.push(OrderChange::Shipment {
                            tracking_number: p.tracking_number.clone(),
                            from: Some(s.status),
                            to: p.status,
                        });
                        s.status = p.status;
                        s.events.push(step);
                        keep_last(&mut s.events);
                    }
                }
                None if !full => {
                    changes.push(OrderChange::Shipment {
                        tracking_number: p.tracking_number.clone(),
                        from: None,
                        to: p.status,
                    });
                    self.shipments.push(Shipment {
                        carrier: p.carrier.clone(),
                        tracking_number: p.tracking_number.clone(),
                        tracking_url: p.tracking_url.clone(),
                        status: p.status,
                        events: vec![step],
                    });
                }
                None => {}
            }
        }
        changes.dedup();
    }

    /// The newest shipment's tracking page, for `{{order.tracking_url}}`.
    pub fn tracking_url(&self) -> Option<&str> {
        self.shipments
            .iter()
            .rev()
            .find_map(|s| s.tracking_url.as_deref())
    }
}

/// What may be order numbers in a message: words of 3 to 40 letters, digits
/// and dashes with at least 3 digits (`5531`, `A-1042`, `#5531`, `№5531`),
/// the first 20.
pub fn numbers_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_' || c == '/')) {
        let w = w.trim_matches(|c: char| c == '-' || c == '_' || c == '/');
        let digits = w.chars().filter(char::is_ascii_digit).count();
        if (3..=40).contains(&w.chars().count()) && digits >= 3 && !out.iter().any(|o| o == w) {
            out.push(w.to_owned());
            if out.len() == 20 {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push() -> OrderPush {
        OrderPush {
            status: Some(OrderStatus::Paid),
            currency: Some("rub".into()),
            total: Some("4990.00".into()),
            items: Some(vec![LineItem {
                sku: "SPK-1".into(),
                name: "Умная колонка".into(),
                quantity: 1,
                price: "4990.00".into(),
            }]),
            ..OrderPush::default()
        }
        .validated()
        .expect("valid")
    }

    fn parcel(status: ShipmentStatus) -> ShipmentPush {
        ShipmentPush {
            carrier: "CDEK".into(),
            tracking_number: "RU123456789".into(),
            tracking_url: Some("https://cdek.example/track/RU123456789".into()),
            status,
            at: None,
            note: None,
        }
    }

    #[test]
    fn order_numbers_are_found_in_words() {
        assert_eq!(
            numbers_in("Где заказ №5531? И ещё #A-1042, телефон 12, код RU-2024-0001."),
            ["5531", "A-1042", "RU-2024-0001"]
        );
        assert!(numbers_in("нет номеров, только 12 и 34").is_empty());
        assert_eq!(numbers_in(&"1234 ".repeat(100)).len(), 1);
    }

    #[test]
    fn amounts_and_currencies() {
        assert_eq!(
            parse_amount("t", " 4990.00 ").ok().as_deref(),
            Some("4990.00")
        );
        assert_eq!(parse_amount("t", "12").ok().as_deref(), Some("12"));
        for bad in ["", "-1", "1.", ".5", "1,50", "1.23456", "1e3", "１２"] {
            assert!(parse_amount("t", bad).is_err(), "{bad}");
        }
        assert_eq!(parse_currency("thb").ok().as_deref(), Some("THB"));
        assert!(parse_currency("RUBL").is_err());
    }

    #[test]
    fn a_repeated_push_changes_nothing_and_a_new_status_is_history() {
        let t0 = Timestamp::from_millis(1_000);
        let (mut o, first) = Order::new("5531", push(), t0).expect("order");
        assert_eq!(o.number, "5531");
        assert_eq!(o.currency, "RUB");
        assert_eq!(
            first,
            vec![OrderChange::Status {
                from: None,
                to: OrderStatus::Paid
            }]
        );
        assert!(o.apply(push(), Timestamp::from_millis(2_000)).is_empty());

        let mut shipped = push();
        shipped.status = Some(OrderStatus::Shipped);
        shipped.shipments = vec![parcel(ShipmentStatus::InTransit)];
        let c = o.apply(shipped.clone(), Timestamp::from_millis(3_000));
        assert_eq!(
            c,
            vec![
                OrderChange::Status {
                    from: Some(OrderStatus::Paid),
                    to: OrderStatus::Shipped
                },
                OrderChange::Shipment {
                    tracking_number: "RU123456789".into(),
                    from: None,
                    to: ShipmentStatus::InTransit
                },
            ]
        );
        assert!(o.apply(shipped, Timestamp::from_millis(4_000)).is_empty());
        let late = OrderPush {
            shipments: vec![parcel(ShipmentStatus::Delayed)],
            ..OrderPush::default()
        };
        assert_eq!(o.apply(late, Timestamp::from_millis(5_000)).len(), 1);
        assert_eq!(o.history.len(), 2);
        assert_eq!(o.shipments[0].events.len(), 2);
        assert_eq!(
            o.tracking_url(),
            Some("https://cdek.example/track/RU123456789")
        );
    }

    #[test]
    fn a_new_order_needs_money_and_pushes_are_bounded() {
        let bare = OrderPush::default();
        assert!(Order::new("1", bare, Timestamp::from_millis(0)).is_err());
        let many = OrderPush {
            shipments: vec![parcel(ShipmentStatus::InTransit); MAX_SHIPMENTS + 1],
            ..OrderPush::default()
        };
        assert!(many.validated().is_err());
        let bad_url = OrderPush {
            shipments: vec![ShipmentPush {
                tracking_url: Some("javascript:alert(1)".into()),
                ..parcel(ShipmentStatus::InTransit)
            }],
            ..OrderPush::default()
        };
        assert!(bad_url.validated().is_err());
        let mut o = Order::new("1", push(), Timestamp::from_millis(0))
            .expect("order")
            .0;
        for i in 0..(MAX_HISTORY * 2) {
            let status = if i % 2 == 0 {
                OrderStatus::Shipped
            } else {
                OrderStatus::Paid
            };
            o.apply(
                OrderPush {
                    status: Some(status),
                    ..OrderPush::default()
                },
                Timestamp::from_millis(i as i64),
            );
        }
        assert_eq!(o.history.len(), MAX_HISTORY);
    }
}
