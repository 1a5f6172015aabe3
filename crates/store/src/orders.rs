//! Orders as stores push them (one row each; items, history and shipments as
//! JSON documents of the row) and the stores' signed connections.

use crate::{Conn, Dialect, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;
use domain::order::{Order, OrderStatus};

/// An order with who it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderRecord {
    pub id: OrderId,
    pub workspace_id: WorkspaceId,
    pub customer_id: CustomerId,
    /// The store's id of the order (the upsert key).
    pub external_id: String,
    pub order: Order,
    /// Counts the pushes that changed something.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLS: &str = "id, workspace_id, customer_id, external_id, number, status, currency, total, \
                    placed_at, items, shipments, history, version, created_at, updated_at";

impl FromRow for OrderRecord {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(OrderRecord {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            customer_id: r.id(2)?,
            external_id: r.get(3)?,
            order: Order {
                number: r.get(4)?,
                status: r.parse(5, OrderStatus::parse)?,
                currency: r.get(6)?,
                total: r.get(7)?,
                placed_at: r.time(8)?,
                items: r.json(9)?,
                shipments: r.json(10)?,
                history: r.json(11)?,
            },
            version: r.get(12)?,
            created_at: r.time(13)?,
            updated_at: r.time(14)?,
        })
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Inserts an order unless the store's id is already known; `false` then.
pub async fn insert_new(tx: &mut Tx, o: &OrderRecord) -> Result<bool, StoreError> {
    let q = query(format!(
        "INSERT INTO orders ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (workspace_id, external_id) DO NOTHING"
    ))
    .bind(o.id)
    .bind(o.workspace_id)
    .bind(o.customer_id)
    .bind(&o.external_id)
    .bind(&o.order.number)
    .bind(o.order.status.as_str())
    .bind(&o.order.currency)
    .bind(&o.order.total)
    .bind(o.order.placed_at)
    .bind(json(&o.order.items)?)
    .bind(json(&o.order.shipments)?)
    .bind(json(&o.order.history)?)
    .bind(o.version)
    .bind(o.created_at)
    .bind(o.updated_at);
    Ok(tx.conn().execute(&q).await? > 0)
}

/// Writes an order's document back.
pub async fn update(tx: &mut Tx, o: &OrderRecord) -> Result<(), StoreError> {
    let q = query(
        "UPDATE orders SET number = $3, status = $4, currency = $5, total = $6, placed_at = $7, \
         items = $8, shipments = $9, history = $10, version = $11, updated_at = $12 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(o.workspace_id)
    .bind(o.id)
    .bind(&o.order.number)
    .bind(o.order.status.as_str())
    .bind(&o.order.currency)
    .bind(&o.order.total)
    .bind(o.order.placed_at)
    .bind(json(&o.order.items)?)
    .bind(json(&o.order.shipments)?)
    .bind(json(&o.order.history)?)
    .bind(o.version)
    .bind(o.updated_at);
    match tx.conn().execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// The order a store knows as `external_id`, held until the transaction ends
/// (PostgreSQL; SQLite's one writer already takes turns).
pub async fn by_external_for_update(
    tx: &mut Tx,
    ws: WorkspaceId,
    external_id: &str,
) -> Result<Option<OrderRecord>, StoreError> {
    let lock = match tx.conn().dialect() {
        Dialect::Postgres => " FOR UPDATE",
        Dialect::Sqlite => "",
    };
    tx.conn()
        .fetch_optional(
            &query(format!(
                "SELECT {COLS} FROM orders WHERE workspace_id = $1 AND external_id = $2{lock}"
            ))
            .bind(ws)
            .bind(external_id),
        )
        .await
}

pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: OrderId,
) -> Result<Option<OrderRecord>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM orders WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// Orders newest first (by id), optionally one customer's or with a number.
pub async fn list(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: Option<CustomerId>,
    number: Option<&str>,
    before: Option<OrderId>,
    limit: i64,
) -> Result<Vec<OrderRecord>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM orders WHERE workspace_id = $1 AND ($2 IS NULL OR customer_id = $2) \
             AND ($3 IS NULL OR number = $3) AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
        ))
        .bind(ws)
        .bind(customer)
        .bind(number)
        .bind(before)
        .bind(limit),
    )
    .await
}

/// Of the given numbers, the orders that are `customer`'s (a message naming
/// someone else's order number links nothing).
pub async fn owned_with_numbers(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
    numbers: &[String],
) -> Result<Vec<OrderRecord>, StoreError> {
    if numbers.is_empty() {
        return Ok(Vec::new());
    }
    let q = query(format!(
        "SELECT {COLS} FROM orders WHERE workspace_id = $1 AND customer_id = $2 AND number IN ("
    ))
    .bind(ws)
    .bind(customer);
    c.fetch_all(
        &q.bind_list(numbers.iter().map(String::as_str))
            .push(") ORDER BY id DESC"),
    )
    .await
}

/// Keeps an order's line items as rows (after a push changed them).
pub async fn replace_items(tx: &mut Tx, o: &OrderRecord) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query("DELETE FROM order_items WHERE workspace_id = $1 AND order_id = $2")
                .bind(o.workspace_id)
                .bind(o.id),
        )
        .await?;
    if o.order.items.is_empty() {
        return Ok(());
    }
    let mut q = query(
        "INSERT INTO order_items (workspace_id, order_id, position, customer_id, sku, name, quantity, placed_at) VALUES ",
    );
    for (i, it) in o.order.items.iter().enumerate() {
        let row = [
            crate::sql::Arg::from(o.workspace_id),
            o.id.into(),
            (i as i64).into(),
            o.customer_id.into(),
            it.sku.as_str().into(),
            it.name.as_str().into(),
            it.quantity.into(),
            o.order.placed_at.into(),
        ];
        q = q.bind_row(if i == 0 { "" } else { ", " }, row);
    }
    tx.conn().execute(&q).await.map(|_| ())
}

/// One thing a customer bought: when, and in which order.
#[derive(Clone, Debug, PartialEq)]
pub struct Bought {
    pub order_id: OrderId,
    pub sku: String,
    pub name: String,
    pub placed_at: Timestamp,
}

/// What a customer bought, newest first (at most 500 lines).
pub async fn bought_by(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
) -> Result<Vec<Bought>, StoreError> {
    let rows: Vec<(uuid::Uuid, String, String, i64)> = c
        .fetch_all(
            &query("SELECT order_id, sku, name, placed_at FROM order_items WHERE workspace_id = $1 AND customer_id = $2 ORDER BY placed_at DESC LIMIT 500")
                .bind(ws)
                .bind(customer),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(o, sku, name, at)| Bought {
            order_id: OrderId(o),
            sku,
            name,
            placed_at: Timestamp::from_millis(at),
        })
        .collect())
}

/// Products other customers who bought one of `skus` also bought (not among
/// `skus`): `(sku, name, the SKU of `skus` it went with, customers)`, most
/// customers first.
pub async fn bought_with(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
    skus: &[String],
    limit: i64,
) -> Result<Vec<(String, String, String, i64)>, StoreError> {
    if skus.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = query(
        "SELECT b.sku, MAX(b.name), MIN(a.sku), COUNT(DISTINCT b.customer_id) AS n FROM order_items a \
         JOIN order_items b ON b.workspace_id = a.workspace_id AND b.customer_id = a.customer_id \
         WHERE a.workspace_id = $1 AND a.customer_id <> $2 AND a.sku IN (",
    )
    .bind(ws)
    .bind(customer)
    .bind_list(skus.iter().map(String::as_str))
    .push(") AND b.sku NOT IN (");
    q = q.bind_list(skus.iter().map(String::as_str));
    let n = q.next_param();
    let q = q
        .push(&format!(") GROUP BY b.sku HAVING COUNT(DISTINCT b.customer_id) >= 2 ORDER BY n DESC, b.sku LIMIT ${n}"))
        .bind(limit);
    c.fetch_all(&q).await
}

/// Moves a merged customer's orders to the profile they joined.
pub async fn move_customer(
    tx: &mut Tx,
    ws: WorkspaceId,
    target: CustomerId,
    source: CustomerId,
) -> Result<u64, StoreError> {
    tx.conn()
        .execute(
            &query(
                "UPDATE orders SET customer_id = $3 WHERE workspace_id = $1 AND customer_id = $2",
            )
            .bind(ws)
            .bind(source)
            .bind(target),
        )
        .await
}

/// Sets (or clears) the order a ticket is about.
pub async fn link_ticket(
    tx: &mut Tx,
    ws: WorkspaceId,
    ticket: TicketId,
    order: Option<OrderId>,
) -> Result<(), StoreError> {
    let q = query("UPDATE tickets SET order_id = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(ticket)
        .bind(order);
    match tx.conn().execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// The order a ticket is about, if any.
pub async fn of_ticket(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
) -> Result<Option<OrderRecord>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {} FROM orders o WHERE o.workspace_id = $1 AND o.id = \
             (SELECT t.order_id FROM tickets t WHERE t.workspace_id = $1 AND t.id = $2)",
            COLS.split(", ")
                .map(|c| format!("o.{}", c.trim()))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .bind(ws)
        .bind(ticket),
    )
    .await
}

/// A store's signed connection for pushing orders.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreIntegration {
    pub id: StoreId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    /// Sealed with the server's key.
    pub secret: Vec<u8>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl FromRow for StoreIntegration {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(StoreIntegration {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            name: r.get(2)?,
            secret: r.get(3)?,
            active: r.get(4)?,
            created_at: r.time(5)?,
            updated_at: r.time(6)?,
        })
    }
}

const STORE_COLS: &str = "id, workspace_id, name, secret, active, created_at, updated_at";

pub async fn insert_store(tx: &mut Tx, s: &StoreIntegration) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO store_integrations ({STORE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(s.id)
    .bind(s.workspace_id)
    .bind(&s.name)
    .bind(s.secret.clone())
    .bind(s.active)
    .bind(s.created_at)
    .bind(s.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn update_store(tx: &mut Tx, s: &StoreIntegration) -> Result<(), StoreError> {
    let q = query(
        "UPDATE store_integrations SET name = $3, secret = $4, active = $5, updated_at = $6 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(s.workspace_id)
    .bind(s.id)
    .bind(&s.name)
    .bind(s.secret.clone())
    .bind(s.active)
    .bind(s.updated_at);
    match tx.conn().execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub async fn stores(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
) -> Result<Vec<StoreIntegration>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {STORE_COLS} FROM store_integrations WHERE workspace_id = $1 ORDER BY id LIMIT 100"
        ))
        .bind(ws),
    )
    .await
}

/// A store integration by id alone: the webhook names no workspace.
pub async fn store_by_id(
    c: &mut Conn<'_>,
    id: StoreId,
) -> Result<Option<StoreIntegration>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {STORE_COLS} FROM store_integrations WHERE id = $1"
        ))
        .bind(id),
    )
    .await
}
