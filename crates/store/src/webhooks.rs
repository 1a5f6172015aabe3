//! Outbound webhook subscriptions and their delivery log.

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;

/// A subscription: event kinds POSTed to an address, signed.
#[derive(Clone, Debug, PartialEq)]
pub struct Webhook {
    pub id: WebhookId,
    pub workspace_id: WorkspaceId,
    pub url: String,
    /// Event kinds (`ticket.created` …), or `*` for every one.
    pub events: Vec<String>,
    /// Sealed.
    pub secret: Vec<u8>,
    pub active: bool,
    /// Deliveries in a row that failed for good.
    pub failures: i64,
    pub disabled_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLS: &str = "id, workspace_id, url, events, secret, active, failures, disabled_reason, created_at, updated_at";

impl FromRow for Webhook {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let events: String = r.get(3)?;
        Ok(Webhook {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            url: r.get(2)?,
            events: serde_json::from_str(&events)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            secret: r.get(4)?,
            active: r.get(5)?,
            failures: r.get(6)?,
            disabled_reason: r.get(7)?,
            created_at: r.time(8)?,
            updated_at: r.time(9)?,
        })
    }
}

pub async fn insert(tx: &mut Tx, w: &Webhook) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO webhooks ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(w.id)
    .bind(w.workspace_id)
    .bind(&w.url)
    .bind(serde_json::json!(w.events).to_string())
    .bind(w.secret.clone())
    .bind(w.active)
    .bind(w.failures)
    .bind(w.disabled_reason.clone())
    .bind(w.created_at)
    .bind(w.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn update(tx: &mut Tx, w: &Webhook) -> Result<(), StoreError> {
    let q = query(
        "UPDATE webhooks SET url = $3, events = $4, secret = $5, active = $6, failures = $7, \
         disabled_reason = $8, updated_at = $9 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(w.workspace_id)
    .bind(w.id)
    .bind(&w.url)
    .bind(serde_json::json!(w.events).to_string())
    .bind(w.secret.clone())
    .bind(w.active)
    .bind(w.failures)
    .bind(w.disabled_reason.clone())
    .bind(w.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

/// Deletes a subscription with its delivery log.
pub async fn delete(tx: &mut Tx, ws: WorkspaceId, id: WebhookId) -> Result<bool, StoreError> {
    tx.conn()
        .execute(
            &query("DELETE FROM webhook_deliveries WHERE workspace_id = $1 AND webhook_id = $2")
                .bind(ws)
                .bind(id),
        )
        .await?;
    let n = tx
        .conn()
        .execute(
            &query("DELETE FROM webhooks WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(id),
        )
        .await?;
    Ok(n > 0)
}

pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: WebhookId,
) -> Result<Option<Webhook>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM webhooks WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// The workspace's subscriptions, oldest first (`active_only`: those on).
pub async fn list(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    active_only: bool,
) -> Result<Vec<Webhook>, StoreError> {
    let q = if active_only {
        query(format!(
            "SELECT {COLS} FROM webhooks WHERE workspace_id = $1 AND active = $2 ORDER BY id"
        ))
        .bind(ws)
        .bind(true)
    } else {
        query(format!(
            "SELECT {COLS} FROM webhooks WHERE workspace_id = $1 ORDER BY id"
        ))
        .bind(ws)
    };
    c.fetch_all(&q).await
}

pub async fn count(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<i64, StoreError> {
    c.fetch_one(&query("SELECT COUNT(*) FROM webhooks WHERE workspace_id = $1").bind(ws))
        .await
}

/// One delivery of an event to a subscription.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub workspace_id: WorkspaceId,
    pub webhook_id: WebhookId,
    pub event_id: i64,
    pub kind: String,
    /// `pending`, `delivered`, `failed`.
    pub state: String,
    pub attempts: i64,
    pub response_status: Option<i64>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const DCOLS: &str = "id, workspace_id, webhook_id, event_id, kind, state, attempts, response_status, \
                     response_body, error, created_at, updated_at";

impl FromRow for Delivery {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Delivery {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            webhook_id: r.id(2)?,
            event_id: r.get(3)?,
            kind: r.get(4)?,
            state: r.get(5)?,
            attempts: r.get(6)?,
            response_status: r.get(7)?,
            response_body: r.get(8)?,
            error: r.get(9)?,
            created_at: r.time(10)?,
            updated_at: r.time(11)?,
        })
    }
}

/// Records a delivery to make; false when this event was already given to
/// this subscription.
pub async fn insert_delivery(tx: &mut Tx, d: &Delivery) -> Result<bool, StoreError> {
    let q = query(format!(
        "INSERT INTO webhook_deliveries ({DCOLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (webhook_id, event_id) DO NOTHING"
    ))
    .bind(d.id)
    .bind(d.workspace_id)
    .bind(d.webhook_id)
    .bind(d.event_id)
    .bind(&d.kind)
    .bind(&d.state)
    .bind(d.attempts)
    .bind(d.response_status)
    .bind(d.response_body.clone())
    .bind(d.error.clone())
    .bind(d.created_at)
    .bind(d.updated_at);
    Ok(tx.conn().execute(&q).await? > 0)
}

pub async fn update_delivery(tx: &mut Tx, d: &Delivery) -> Result<(), StoreError> {
    let q = query(
        "UPDATE webhook_deliveries SET state = $3, attempts = $4, response_status = $5, \
         response_body = $6, error = $7, updated_at = $8 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(d.workspace_id)
    .bind(d.id)
    .bind(&d.state)
    .bind(d.attempts)
    .bind(d.response_status)
    .bind(d.response_body.clone())
    .bind(d.error.clone())
    .bind(d.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn delivery(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: DeliveryId,
) -> Result<Option<Delivery>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {DCOLS} FROM webhook_deliveries WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// A subscription's deliveries, newest first, before `before`.
pub async fn deliveries(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    webhook: WebhookId,
    before: Option<DeliveryId>,
    limit: i64,
) -> Result<Vec<Delivery>, StoreError> {
    let q = match before {
        Some(b) => query(format!(
            "SELECT {DCOLS} FROM webhook_deliveries WHERE workspace_id = $1 AND webhook_id = $2 AND id < $3 \
             ORDER BY id DESC LIMIT $4"
        ))
        .bind(ws)
        .bind(webhook)
        .bind(b)
        .bind(limit),
        None => query(format!(
            "SELECT {DCOLS} FROM webhook_deliveries WHERE workspace_id = $1 AND webhook_id = $2 \
             ORDER BY id DESC LIMIT $3"
        ))
        .bind(ws)
        .bind(webhook)
        .bind(limit),
    };
    c.fetch_all(&q).await
}
