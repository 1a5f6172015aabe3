//! Business-hours calendars, SLA policies and tickets' SLA clocks.

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;
use domain::sla::{Clocks, Conditions, Targets};

/// A calendar as stored: the engine turns it into a `domain::calendar::Calendar`.
#[derive(Clone, Debug, PartialEq)]
pub struct BusinessHours {
    pub id: CalendarId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub time_zone: String,
    /// Monday first: (start, end) as `HH:MM`.
    pub week: [Vec<(String, String)>; 7],
    pub holidays: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLS: &str = "id, workspace_id, name, time_zone, week, holidays, created_at, updated_at";

impl FromRow for BusinessHours {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(BusinessHours {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            name: r.get(2)?,
            time_zone: r.get(3)?,
            week: r.json(4)?,
            holidays: r.json(5)?,
            created_at: r.time(6)?,
            updated_at: r.time(7)?,
        })
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub async fn insert_hours(tx: &mut Tx, b: &BusinessHours) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO business_hours ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(b.id)
    .bind(b.workspace_id)
    .bind(b.name.clone())
    .bind(b.time_zone.clone())
    .bind(json(&b.week)?)
    .bind(json(&b.holidays)?)
    .bind(b.created_at)
    .bind(b.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn update_hours(tx: &mut Tx, b: &BusinessHours) -> Result<(), StoreError> {
    let q = query(
        "UPDATE business_hours SET name = $3, time_zone = $4, week = $5, holidays = $6, updated_at = $7 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(b.workspace_id)
    .bind(b.id)
    .bind(b.name.clone())
    .bind(b.time_zone.clone())
    .bind(json(&b.week)?)
    .bind(json(&b.holidays)?)
    .bind(b.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn hours(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: CalendarId,
) -> Result<Option<BusinessHours>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM business_hours WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// The workspace's calendars (at most 200), oldest first.
pub async fn all_hours(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
) -> Result<Vec<BusinessHours>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM business_hours WHERE workspace_id = $1 ORDER BY id LIMIT 200"
        ))
        .bind(ws),
    )
    .await
}

/// An SLA policy as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub id: SlaPolicyId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub position: i64,
    pub conditions: Conditions,
    pub business_hours_id: Option<CalendarId>,
    pub targets: Targets,
    pub warn_per_mille: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const POLICY_COLS: &str = "id, workspace_id, name, position, conditions, business_hours_id, first_reply_ms, next_reply_ms, \
                           resolution_ms, warn_per_mille, created_at, updated_at";

impl FromRow for Policy {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Policy {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            name: r.get(2)?,
            position: r.get(3)?,
            conditions: r.json(4)?,
            business_hours_id: r.id_opt(5)?,
            targets: Targets {
                first_reply_ms: r.get(6)?,
                next_reply_ms: r.get(7)?,
                resolution_ms: r.get(8)?,
            },
            warn_per_mille: r.get(9)?,
            created_at: r.time(10)?,
            updated_at: r.time(11)?,
        })
    }
}

pub async fn insert_policy(tx: &mut Tx, p: &Policy) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO sla_policies ({POLICY_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(p.id)
    .bind(p.workspace_id)
    .bind(p.name.clone())
    .bind(p.position)
    .bind(json(&p.conditions)?)
    .bind(p.business_hours_id)
    .bind(p.targets.first_reply_ms)
    .bind(p.targets.next_reply_ms)
    .bind(p.targets.resolution_ms)
    .bind(p.warn_per_mille)
    .bind(p.created_at)
    .bind(p.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn update_policy(tx: &mut Tx, p: &Policy) -> Result<(), StoreError> {
    let q = query(
        "UPDATE sla_policies SET name = $3, position = $4, conditions = $5, business_hours_id = $6, first_reply_ms = $7, \
         next_reply_ms = $8, resolution_ms = $9, warn_per_mille = $10, updated_at = $11 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(p.workspace_id)
    .bind(p.id)
    .bind(p.name.clone())
    .bind(p.position)
    .bind(json(&p.conditions)?)
    .bind(p.business_hours_id)
    .bind(p.targets.first_reply_ms)
    .bind(p.targets.next_reply_ms)
    .bind(p.targets.resolution_ms)
    .bind(p.warn_per_mille)
    .bind(p.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

/// Deletes a policy; `false` when there was none.
pub async fn delete_policy(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: SlaPolicyId,
) -> Result<bool, StoreError> {
    let n = tx
        .conn()
        .execute(
            &query("DELETE FROM sla_policies WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(id),
        )
        .await?;
    Ok(n > 0)
}

pub async fn policy(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: SlaPolicyId,
) -> Result<Option<Policy>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {POLICY_COLS} FROM sla_policies WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// The workspace's policies in the order they are tried.
pub async fn policies(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<Vec<Policy>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {POLICY_COLS} FROM sla_policies WHERE workspace_id = $1 ORDER BY position, id LIMIT 200"
        ))
        .bind(ws),
    )
    .await
}

/// Whether a policy counts in the calendar.
pub async fn hours_in_use(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: CalendarId,
) -> Result<bool, StoreError> {
    let n: i64 = c
        .fetch_one(
            &query("SELECT COUNT(*) FROM sla_policies WHERE workspace_id = $1 AND business_hours_id = $2")
                .bind(ws)
                .bind(id),
        )
        .await?;
    Ok(n > 0)
}

/// A ticket's SLA clocks as last derived.
#[derive(Clone, Debug, PartialEq)]
pub struct TicketSla {
    pub ticket_id: TicketId,
    pub workspace_id: WorkspaceId,
    pub policy_id: SlaPolicyId,
    pub clocks: Clocks,
    /// `metric/cycle/warning|breached` for each one already in the event log.
    pub notified: Vec<String>,
    pub due_at: Option<Timestamp>,
    pub warn_at: Option<Timestamp>,
    pub timer_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

const SLA_COLS: &str =
    "ticket_id, workspace_id, policy_id, clocks, notified, due_at, warn_at, timer_at, updated_at";

impl FromRow for TicketSla {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(TicketSla {
            ticket_id: r.id(0)?,
            workspace_id: r.id(1)?,
            policy_id: r.id(2)?,
            clocks: r.json(3)?,
            notified: r.json(4)?,
            due_at: r.time_opt(5)?,
            warn_at: r.time_opt(6)?,
            timer_at: r.time_opt(7)?,
            updated_at: r.time(8)?,
        })
    }
}

pub async fn ticket_sla(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
) -> Result<Option<TicketSla>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {SLA_COLS} FROM ticket_sla WHERE workspace_id = $1 AND ticket_id = $2"
        ))
        .bind(ws)
        .bind(ticket),
    )
    .await
}

/// The SLA clocks of the listed tickets (those that have any).
pub async fn ticket_slas(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    tickets: &[TicketId],
) -> Result<Vec<TicketSla>, StoreError> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    let q = query(format!(
        "SELECT {SLA_COLS} FROM ticket_sla WHERE workspace_id = $1 AND ticket_id IN ("
    ))
    .bind(ws)
    .bind_list(tickets.iter().copied())
    .push(")");
    c.fetch_all(&q).await
}

pub async fn save_ticket_sla(tx: &mut Tx, s: &TicketSla) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO ticket_sla ({SLA_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (ticket_id) DO UPDATE SET policy_id = excluded.policy_id, clocks = excluded.clocks, \
         notified = excluded.notified, due_at = excluded.due_at, warn_at = excluded.warn_at, \
         timer_at = excluded.timer_at, updated_at = excluded.updated_at"
    ))
    .bind(s.ticket_id)
    .bind(s.workspace_id)
    .bind(s.policy_id)
    .bind(json(&s.clocks)?)
    .bind(json(&s.notified)?)
    .bind(s.due_at)
    .bind(s.warn_at)
    .bind(s.timer_at)
    .bind(s.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

/// Holds the ticket's row until the transaction ends, so that two nodes
/// deriving its clocks at once take turns: the second sees what the first
/// announced. SQLite's one writer already takes turns.
pub async fn lock_ticket(tx: &mut Tx, ws: WorkspaceId, ticket: TicketId) -> Result<(), StoreError> {
    if tx.conn().dialect() == crate::Dialect::Postgres {
        tx.conn()
            .fetch_optional::<uuid::Uuid>(
                &query("SELECT id FROM tickets WHERE workspace_id = $1 AND id = $2 FOR UPDATE")
                    .bind(ws)
                    .bind(ticket),
            )
            .await?;
    }
    Ok(())
}

/// Forgets a ticket's clocks (no policy covers it any more).
pub async fn clear_ticket_sla(
    tx: &mut Tx,
    ws: WorkspaceId,
    ticket: TicketId,
) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query("DELETE FROM ticket_sla WHERE workspace_id = $1 AND ticket_id = $2")
                .bind(ws)
                .bind(ticket),
        )
        .await
        .map(|_| ())
}

/// Ids of the workspace's unsolved tickets after `after`, oldest first (a
/// changed policy applies to them).
pub async fn open_ticket_ids(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    after: Option<TicketId>,
    limit: i64,
) -> Result<Vec<TicketId>, StoreError> {
    let ids: Vec<uuid::Uuid> = c
        .fetch_all(
            &query(
                "SELECT id FROM tickets WHERE workspace_id = $1 AND status IN ('new', 'open', 'pending', 'on_hold') \
                 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3",
            )
            .bind(ws)
            .bind(after)
            .bind(limit),
        )
        .await?;
    Ok(ids.into_iter().map(TicketId).collect())
}

/// A customer's unsolved tickets (their policy may follow the customer's
/// language and tags).
pub async fn open_tickets_of_customer(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
    limit: i64,
) -> Result<Vec<TicketId>, StoreError> {
    let ids: Vec<uuid::Uuid> = c
        .fetch_all(
            &query(
                "SELECT id FROM tickets WHERE workspace_id = $1 AND customer_id = $2 \
                 AND status IN ('new', 'open', 'pending', 'on_hold') ORDER BY id LIMIT $3",
            )
            .bind(ws)
            .bind(customer)
            .bind(limit),
        )
        .await?;
    Ok(ids.into_iter().map(TicketId).collect())
}
