//! Outreach rules, the messages they caused, the workspace's outreach
//! settings, and the customer flags outreach reads (opt-out, at risk).

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;
use domain::outreach::{OutreachSettings, OutreachSpec};

#[derive(Clone, Debug, PartialEq)]
pub struct OutreachRule {
    pub id: OutreachRuleId,
    pub workspace_id: WorkspaceId,
    pub spec: OutreachSpec,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl FromRow for OutreachRule {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(OutreachRule {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            spec: r.json(2)?,
            created_at: r.time(3)?,
            updated_at: r.time(4)?,
        })
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub async fn insert_rule(tx: &mut Tx, r: &OutreachRule) -> Result<(), StoreError> {
    let q = query("INSERT INTO outreach_rules (id, workspace_id, spec, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(r.id)
        .bind(r.workspace_id)
        .bind(json(&r.spec)?)
        .bind(r.created_at)
        .bind(r.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn update_rule(tx: &mut Tx, r: &OutreachRule) -> Result<(), StoreError> {
    let q = query(
        "UPDATE outreach_rules SET spec = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(r.workspace_id)
    .bind(r.id)
    .bind(json(&r.spec)?)
    .bind(r.updated_at);
    match tx.conn().execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub async fn rules(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<Vec<OutreachRule>, StoreError> {
    c.fetch_all(
        &query("SELECT id, workspace_id, spec, created_at, updated_at FROM outreach_rules WHERE workspace_id = $1 ORDER BY id LIMIT 100")
            .bind(ws),
    )
    .await
}

/// One message a rule caused.
#[derive(Clone, Debug, PartialEq)]
pub struct Outreach {
    pub id: OutreachId,
    pub workspace_id: WorkspaceId,
    pub rule_id: OutreachRuleId,
    pub event_id: i64,
    pub customer_id: CustomerId,
    pub order_id: Option<OrderId>,
    /// `queued`, `sent` or `skipped`.
    pub state: String,
    pub reason: Option<String>,
    pub ticket_id: Option<TicketId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl FromRow for Outreach {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Outreach {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            rule_id: r.id(2)?,
            event_id: r.get(3)?,
            customer_id: r.id(4)?,
            order_id: r.id_opt(5)?,
            state: r.get(6)?,
            reason: r.get(7)?,
            ticket_id: r.id_opt(8)?,
            created_at: r.time(9)?,
            updated_at: r.time(10)?,
        })
    }
}

const COLS: &str = "id, workspace_id, rule_id, event_id, customer_id, order_id, state, reason, ticket_id, created_at, updated_at";

/// Records a message a rule causes for an event; `false` when that rule
/// already answered that event.
pub async fn insert(tx: &mut Tx, o: &Outreach) -> Result<bool, StoreError> {
    let q = query(format!(
        "INSERT INTO outreach ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (workspace_id, rule_id, event_id) DO NOTHING"
    ))
    .bind(o.id)
    .bind(o.workspace_id)
    .bind(o.rule_id)
    .bind(o.event_id)
    .bind(o.customer_id)
    .bind(o.order_id)
    .bind(o.state.as_str())
    .bind(o.reason.as_deref())
    .bind(o.ticket_id)
    .bind(o.created_at)
    .bind(o.updated_at);
    Ok(tx.conn().execute(&q).await? > 0)
}

pub async fn update(tx: &mut Tx, o: &Outreach) -> Result<(), StoreError> {
    let q = query(
        "UPDATE outreach SET state = $3, reason = $4, ticket_id = $5, updated_at = $6 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(o.workspace_id)
    .bind(o.id)
    .bind(o.state.as_str())
    .bind(o.reason.as_deref())
    .bind(o.ticket_id)
    .bind(o.updated_at);
    match tx.conn().execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: OutreachId,
) -> Result<Option<Outreach>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM outreach WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// A customer's outreach, newest first.
pub async fn of_customer(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
    limit: i64,
) -> Result<Vec<Outreach>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM outreach WHERE workspace_id = $1 AND customer_id = $2 ORDER BY id DESC LIMIT $3"
        ))
        .bind(ws)
        .bind(customer)
        .bind(limit),
    )
    .await
}

/// Messages sent to a customer since `since` (the daily limit's count).
pub async fn sent_since(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
    since: Timestamp,
) -> Result<i64, StoreError> {
    c.fetch_one(
        &query("SELECT COUNT(*) FROM outreach WHERE workspace_id = $1 AND customer_id = $2 AND state = 'sent' AND updated_at >= $3")
            .bind(ws)
            .bind(customer)
            .bind(since),
    )
    .await
}

pub async fn settings(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<OutreachSettings, StoreError> {
    crate::settings::read(c, crate::settings::Table::Outreach, ws).await
}

pub async fn put_settings(
    tx: &mut Tx,
    ws: WorkspaceId,
    s: &OutreachSettings,
) -> Result<(), StoreError> {
    crate::settings::write(tx, crate::settings::Table::Outreach, ws, s).await
}

/// Marks a ticket as a bad experience for its customer; `false` when it was
/// already marked for that reason.
pub async fn mark_bad(
    tx: &mut Tx,
    ws: WorkspaceId,
    ticket: TicketId,
    customer: CustomerId,
    reason: &str,
) -> Result<bool, StoreError> {
    let q = query(
        "INSERT INTO bad_experiences (workspace_id, ticket_id, customer_id, reason, at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (workspace_id, ticket_id, reason) DO NOTHING",
    )
    .bind(ws)
    .bind(ticket)
    .bind(customer)
    .bind(reason)
    .bind(tx.now());
    Ok(tx.conn().execute(&q).await? > 0)
}

/// The bad-experience reasons of the given tickets.
pub async fn bad_reasons(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    tickets: &[TicketId],
) -> Result<Vec<(TicketId, String)>, StoreError> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    let q = query(
        "SELECT ticket_id, reason FROM bad_experiences WHERE workspace_id = $1 AND ticket_id IN (",
    )
    .bind(ws);
    let rows: Vec<(uuid::Uuid, String)> = c
        .fetch_all(
            &q.bind_list(tickets.iter().copied())
                .push(") ORDER BY reason"),
        )
        .await?;
    Ok(rows.into_iter().map(|(t, r)| (TicketId(t), r)).collect())
}
