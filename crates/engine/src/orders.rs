//! Orders and shipments pushed by stores: `POST /api/v1/orders` with a token,
//! `POST /hooks/store/{id}` signed by a store integration, or a CSV import.
//! Each push is an upsert on the store's id: the first makes the order (and
//! the customer, found by any identity), later ones merge into it
//! ([`domain::order::Order::apply`]), and only what changed is written and
//! told as events (`order.created`, `order.status_changed`,
//! `order.shipment_updated`) — the customer's timeline and rules act on them.
//!
//! Concurrent pushes of one new order race to insert it; the loser's
//! transaction is rolled back and the push is tried again, now as an update,
//! so any number of clients make one order.

use crate::customers::{CustomerInput, resolve};
use crate::messenger::{HookRefusal, same_secret};
use crate::tickets::CustomerRef;
use crate::webhook::signature;
use crate::{Engine, EngineError, Principal, page_limit};
use domain::Code;
use domain::event::{Actor, EventData};
use domain::ids::*;
use domain::message;
use domain::order::{Order, OrderChange, OrderPush};
use store::constraint::Unique;
use store::orders::{self, OrderRecord, StoreIntegration};
use store::{StoreError, Tx};

/// How far a store push's timestamp may be from the server's clock.
pub const MAX_SKEW_S: i64 = 300;
/// Tries of one push when concurrent pushes of the same new order collide.
const ATTEMPTS: usize = 4;

/// One order as a store describes it.
#[derive(Clone, Debug)]
pub struct OrderInput {
    pub external_id: String,
    /// Needed for a new order; ignored for a known one (an order keeps its
    /// customer; merging customers moves it).
    pub customer: Option<CustomerRef>,
    pub push: OrderPush,
}

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Something to offer a customer, with why.
#[derive(Clone, Debug, PartialEq)]
pub struct Upsell {
    pub sku: String,
    pub name: String,
    pub kind: UpsellKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum UpsellKind {
    /// They buy it again and again, and it is about due.
    Reorder {
        times: usize,
        every_days: i64,
        last_days: i64,
    },
    /// Customers who bought `with` (which they have) also bought it.
    BoughtWith { with: String, customers: i64 },
}

/// What a push did.
#[derive(Clone, Debug)]
pub struct Upserted {
    pub order: OrderRecord,
    pub created: bool,
    /// Whether anything changed (false for a repeated push).
    pub changed: bool,
}

fn events(o: &OrderRecord, changes: &[OrderChange]) -> Vec<EventData> {
    let (order_id, customer_id, number) = (o.id, o.customer_id, o.order.number.clone());
    changes
        .iter()
        .filter_map(|c| match c {
            OrderChange::Status { from: None, to } => Some(EventData::OrderCreated {
                order_id,
                customer_id,
                number: number.clone(),
                status: *to,
            }),
            OrderChange::Status { from: Some(f), to } => Some(EventData::OrderStatusChanged {
                order_id,
                customer_id,
                number: number.clone(),
                from: *f,
                to: *to,
            }),
            OrderChange::Shipment {
                tracking_number,
                from,
                to,
            } => Some(EventData::ShipmentUpdated {
                order_id,
                customer_id,
                number: number.clone(),
                tracking_number: tracking_number.clone(),
                from: *from,
                to: *to,
            }),
            OrderChange::Details => None,
        })
        .collect()
}

/// Links a ticket without an order to the order a customer's message names,
/// when the order is that customer's (someone else's number links nothing).
pub(crate) async fn link_named_order(
    tx: &mut Tx,
    ws: WorkspaceId,
    ticket: TicketId,
    customer: CustomerId,
    text: &str,
) -> Result<(), EngineError> {
    let numbers = domain::order::numbers_in(text);
    if numbers.is_empty() {
        return Ok(());
    }
    let owned = orders::owned_with_numbers(&mut tx.conn(), ws, customer, &numbers).await?;
    let Some(o) = owned.first() else {
        return Ok(());
    };
    if orders::of_ticket(&mut tx.conn(), ws, ticket)
        .await?
        .is_some()
    {
        return Ok(());
    }
    set_order(tx, ws, ticket, Some(o), None, Actor::System).await
}

/// Sets a ticket's order and tells it as a ticket change (`order`: the
/// number before and after).
async fn set_order(
    tx: &mut Tx,
    ws: WorkspaceId,
    ticket: TicketId,
    to: Option<&OrderRecord>,
    from: Option<&OrderRecord>,
    actor: Actor,
) -> Result<(), EngineError> {
    orders::link_ticket(tx, ws, ticket, to.map(|o| o.id)).await?;
    let number = |o: Option<&OrderRecord>| {
        o.map_or(serde_json::Value::Null, |o| o.order.number.clone().into())
    };
    tx.emit(
        ws,
        actor,
        EventData::TicketUpdated {
            ticket_id: ticket,
            changes: vec![domain::event::Change {
                field: "order".into(),
                from: number(from),
                to: number(to),
            }],
        },
    )
    .await?;
    Ok(())
}

impl Engine {
    /// Creates or updates an order (see the module's notes).
    pub async fn upsert_order(
        &self,
        p: &Principal,
        input: OrderInput,
    ) -> Result<Upserted, EngineError> {
        p.require_ticket_work()?;
        self.push_order(p.workspace_id, p.actor(), input).await
    }

    pub(crate) async fn push_order(
        &self,
        ws: WorkspaceId,
        actor: Actor,
        input: OrderInput,
    ) -> Result<Upserted, EngineError> {
        let external_id = domain::text::clean_line(&input.external_id);
        if external_id.is_empty() || external_id.chars().count() > 100 {
            return Err(EngineError::invalid("external_id", message::chars(1, 100)));
        }
        let push = input.push.validated()?;
        // The customer is checked whole even when the order is known and
        // keeps its own.
        if let Some(CustomerRef::Input(c)) = &input.customer {
            crate::customers::checked_details(c)?;
        }
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let (ext, push, customer) = (external_id.clone(), push.clone(), input.customer.clone());
            let r = self
                .store
                .write(move |tx| {
                    Box::pin(async move {
                        let now = tx.now();
                        if let Some(mut o) = orders::by_external_for_update(tx, ws, &ext).await? {
                            let changes = o.order.apply(push, now);
                            if !changes.is_empty() {
                                o.version += 1;
                                o.updated_at = now;
                                orders::update(tx, &o).await?;
                                if changes.contains(&OrderChange::Details) {
                                    orders::replace_items(tx, &o).await?;
                                }
                                for e in events(&o, &changes) {
                                    tx.emit(ws, actor, e).await?;
                                }
                            }
                            let changed = !changes.is_empty();
                            return Ok::<_, EngineError>(Upserted {
                                order: o,
                                created: false,
                                changed,
                            });
                        }
                        let customer_id = match customer {
                            Some(CustomerRef::Id(id)) => {
                                crate::customers::live_id(tx, ws, id).await?
                            }
                            Some(CustomerRef::Input(c)) => resolve(tx, ws, actor, &c).await?.0,
                            None => {
                                return Err(EngineError::invalid(
                                    "customer",
                                    Code::OrderCustomerNeeded,
                                ));
                            }
                        };
                        let (order, changes) = Order::new(&ext, push, now)?;
                        let o = OrderRecord {
                            id: OrderId::new(),
                            workspace_id: ws,
                            customer_id,
                            external_id: ext,
                            order,
                            version: 1,
                            created_at: now,
                            updated_at: now,
                        };
                        if !orders::insert_new(tx, &o).await? {
                            // Another push made it first (between our look and
                            // our insert): start again, as an update.
                            return Err(EngineError::Duplicate(Unique::OrderExternalId));
                        }
                        orders::replace_items(tx, &o).await?;
                        for e in events(&o, &changes) {
                            tx.emit(ws, actor, e).await?;
                        }
                        Ok(Upserted {
                            order: o,
                            created: true,
                            changed: true,
                        })
                    })
                })
                .await;
            match r {
                // Lost a race to make the order or its customer: the winner's
                // rows are visible to the next try.
                Err(EngineError::Duplicate(
                    u @ (Unique::OrderExternalId | Unique::CustomerIdentity),
                )) => last = Some(EngineError::Duplicate(u)),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| EngineError::Internal("order push".into())))
    }

    pub async fn order(&self, p: &Principal, id: OrderId) -> Result<OrderRecord, EngineError> {
        let mut c = self.store.read().await?;
        orders::get(&mut c.conn(), p.workspace_id, id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// Orders newest first, optionally one customer's (with the profiles
    /// merged into it) or with one number.
    pub async fn orders(
        &self,
        p: &Principal,
        customer: Option<CustomerId>,
        number: Option<&str>,
        before: Option<OrderId>,
        limit: Option<i64>,
    ) -> Result<Vec<OrderRecord>, EngineError> {
        if let Some(c) = customer {
            self.customer(p, c).await?;
        }
        let mut c = self.store.read().await?;
        Ok(orders::list(
            &mut c.conn(),
            p.workspace_id,
            customer,
            number,
            before,
            page_limit(limit),
        )
        .await?)
    }

    /// The order a ticket is about, if any.
    pub async fn ticket_order(
        &self,
        p: &Principal,
        ticket: crate::tickets::TicketRef,
    ) -> Result<Option<OrderRecord>, EngineError> {
        let t = self.ticket(p, ticket).await?;
        let mut c = self.store.read().await?;
        Ok(orders::of_ticket(&mut c.conn(), p.workspace_id, t.id).await?)
    }

    /// Links a ticket to one of its customer's orders, or unlinks it.
    pub async fn link_order(
        &self,
        p: &Principal,
        ticket: crate::tickets::TicketRef,
        order: Option<OrderId>,
    ) -> Result<Option<OrderRecord>, EngineError> {
        p.require_ticket_work()?;
        let t = self.ticket(p, ticket).await?;
        let to = match order {
            Some(id) => {
                let o = self.order(p, id).await.map_err(|_| {
                    EngineError::Unknown("order_id".into(), message::no_such("order"))
                })?;
                if o.customer_id != t.customer_id {
                    return Err(EngineError::Rule(Code::OrderOfAnother.into()));
                }
                Some(o)
            }
            None => None,
        };
        let (ws, actor, tid) = (p.workspace_id, p.actor(), t.id);
        let to2 = to.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let from = orders::of_ticket(&mut tx.conn(), ws, tid).await?;
                    if from.as_ref().map(|o| o.id) != to2.as_ref().map(|o| o.id) {
                        set_order(tx, ws, tid, to2.as_ref(), from.as_ref(), actor).await?;
                    }
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(to)
    }

    /// What to offer a customer after their ticket is solved, from what they
    /// and others bought: a reorder of what they buy again and again, when it
    /// is about due; what customers who bought the same also bought. Empty
    /// unless the workspace enables it and the ticket is solved or closed.
    pub async fn upsell(
        &self,
        p: &Principal,
        ticket: crate::tickets::TicketRef,
    ) -> Result<(bool, Vec<Upsell>), EngineError> {
        let t = self.ticket(p, ticket).await?;
        let settings = self.outreach_settings(p).await?;
        if !settings.upsell {
            return Ok((false, Vec::new()));
        }
        if !matches!(
            t.status,
            domain::ticket::Status::Solved | domain::ticket::Status::Closed
        ) {
            return Ok((true, Vec::new()));
        }
        let ws = p.workspace_id;
        let now = self.store.now();
        let mut c = self.store.read().await?;
        let bought = orders::bought_by(&mut c.conn(), ws, t.customer_id).await?;
        let mut out = Vec::new();
        // Reorders: bought in 2+ orders; due once 80% of the usual gap passed.
        let mut skus: Vec<String> = bought.iter().map(|b| b.sku.clone()).collect();
        skus.sort();
        skus.dedup();
        for sku in &skus {
            let mut times: Vec<i64> = bought
                .iter()
                .filter(|b| &b.sku == sku)
                .map(|b| b.placed_at.millis())
                .collect();
            times.sort_unstable();
            times.dedup();
            if times.len() < 2 {
                continue;
            }
            let mut gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
            gaps.sort_unstable();
            let gap = gaps[gaps.len() / 2];
            let Some(last) = times.last().copied() else {
                continue;
            };
            let since = now.millis() - last;
            if gap >= DAY_MS && since * 5 >= gap * 4 {
                let name = bought
                    .iter()
                    .find(|b| &b.sku == sku)
                    .map(|b| b.name.clone())
                    .unwrap_or_default();
                out.push(Upsell {
                    sku: sku.clone(),
                    name,
                    kind: UpsellKind::Reorder {
                        times: times.len(),
                        every_days: gap / DAY_MS,
                        last_days: since / DAY_MS,
                    },
                });
            }
        }
        out.truncate(3);
        for (sku, name, with, customers) in
            orders::bought_with(&mut c.conn(), ws, t.customer_id, &skus, 3).await?
        {
            let with_name = bought
                .iter()
                .find(|b| b.sku == with)
                .map_or(with.clone(), |b| b.name.clone());
            out.push(Upsell {
                sku,
                name,
                kind: UpsellKind::BoughtWith {
                    with: with_name,
                    customers,
                },
            });
        }
        Ok((true, out))
    }

    // ---- store integrations ----

    /// Connects a store; returns it with its signing secret, shown once.
    pub async fn create_store(
        &self,
        p: &Principal,
        name: &str,
    ) -> Result<(StoreIntegration, String), EngineError> {
        p.require_admin()?;
        let name = crate::chat::required_line(Some(name.to_owned()), "name", 100)?;
        let secret = crate::auth::new_secret("");
        let now = self.store.now();
        let s = StoreIntegration {
            id: StoreId::new(),
            workspace_id: p.workspace_id,
            name,
            secret: self.secret.seal(secret.as_bytes()),
            active: true,
            created_at: now,
            updated_at: now,
        };
        let s2 = s.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    orders::insert_store(tx, &s2).await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok((s, secret))
    }

    pub async fn stores(&self, p: &Principal) -> Result<Vec<StoreIntegration>, EngineError> {
        p.require_admin()?;
        let mut c = self.store.read().await?;
        Ok(orders::stores(&mut c.conn(), p.workspace_id).await?)
    }

    pub async fn store_integration(
        &self,
        p: &Principal,
        id: StoreId,
    ) -> Result<StoreIntegration, EngineError> {
        self.stores(p)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or(EngineError::NotFound)
    }

    /// Renames, switches on or off, or (with `rotate`) gives a new secret,
    /// returned once.
    pub async fn update_store(
        &self,
        p: &Principal,
        id: StoreId,
        name: Option<&str>,
        active: Option<bool>,
        rotate: bool,
    ) -> Result<(StoreIntegration, Option<String>), EngineError> {
        let mut s = self.store_integration(p, id).await?;
        if let Some(n) = name {
            s.name = crate::chat::required_line(Some(n.to_owned()), "name", 100)?;
        }
        if let Some(a) = active {
            s.active = a;
        }
        let secret = rotate.then(|| crate::auth::new_secret(""));
        if let Some(sec) = &secret {
            s.secret = self.secret.seal(sec.as_bytes());
        }
        s.updated_at = self.store.now();
        let s2 = s.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    orders::update_store(tx, &s2).await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok((s, secret))
    }

    /// Checks a store push's timestamp and signature (the scheme of Otklik's
    /// own webhooks) against the integration the path names; the workspace
    /// it pushes to.
    pub async fn store_hook(
        &self,
        id: StoreId,
        timestamp: Option<&str>,
        signature_header: Option<&str>,
        body: &[u8],
    ) -> Result<WorkspaceId, HookRefusal> {
        let s = {
            let mut c = self.store.read().await.map_err(|_| HookRefusal::Unknown)?;
            orders::store_by_id(&mut c.conn(), id)
                .await
                .map_err(|_| HookRefusal::Unknown)?
                .filter(|s| s.active)
                .ok_or(HookRefusal::Unknown)?
        };
        let (Some(ts), Some(sig)) = (timestamp, signature_header) else {
            return Err(HookRefusal::Unsigned);
        };
        let secret = self
            .secret
            .open(&s.secret)
            .ok()
            .and_then(|v| String::from_utf8(v).ok())
            .ok_or(HookRefusal::Unknown)?;
        let Some(ts) = ts
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|t| (t - self.store.now().millis() / 1000).abs() <= MAX_SKEW_S)
        else {
            return Err(HookRefusal::BadSecret);
        };
        if !same_secret(sig.trim(), &signature(&secret, ts, body)) {
            return Err(HookRefusal::BadSecret);
        }
        Ok(s.workspace_id)
    }

    /// Pushes orders a verified store hook carried.
    pub async fn store_push(
        &self,
        ws: WorkspaceId,
        input: OrderInput,
    ) -> Result<Upserted, EngineError> {
        self.push_order(ws, Actor::System, input).await
    }
}

/// A customer as a store names one: an id, or identities to find or create.
pub fn customer_ref(id: Option<CustomerId>, input: CustomerInput) -> Option<CustomerRef> {
    match id {
        Some(id) => Some(CustomerRef::Id(id)),
        None if input.identities.is_empty() => None,
        None => Some(CustomerRef::Input(input)),
    }
}

impl From<StoreError> for HookRefusal {
    fn from(_: StoreError) -> Self {
        HookRefusal::Unknown
    }
}
