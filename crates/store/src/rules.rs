//! Triggers and automations as stored, their firings, and the automation
//! sweep's bookkeeping.

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;
use domain::rules::{RuleKind, RuleSpec};

#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub id: RuleId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub position: i64,
    pub active: bool,
    pub spec: RuleSpec,
    pub fired: i64,
    pub last_fired_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLS: &str = "id, workspace_id, name, position, active, spec, fired, last_fired_at, created_at, updated_at, kind";

impl FromRow for Rule {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Rule {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            name: r.get(2)?,
            position: r.get(3)?,
            active: r.get(4)?,
            spec: r.json(5)?,
            fired: r.get(6)?,
            last_fired_at: r.time_opt(7)?,
            created_at: r.time(8)?,
            updated_at: r.time(9)?,
        })
    }
}

fn spec_json(s: &RuleSpec) -> Result<String, StoreError> {
    serde_json::to_string(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub async fn insert(tx: &mut Tx, r: &Rule) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO rules ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(r.id)
    .bind(r.workspace_id)
    .bind(r.name.clone())
    .bind(r.position)
    .bind(r.active)
    .bind(spec_json(&r.spec)?)
    .bind(r.fired)
    .bind(r.last_fired_at)
    .bind(r.created_at)
    .bind(r.updated_at)
    .bind(r.spec.kind.as_str());
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn update(tx: &mut Tx, r: &Rule) -> Result<(), StoreError> {
    let q = query(
        "UPDATE rules SET name = $3, position = $4, active = $5, spec = $6, kind = $7, updated_at = $8 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(r.workspace_id)
    .bind(r.id)
    .bind(r.name.clone())
    .bind(r.position)
    .bind(r.active)
    .bind(spec_json(&r.spec)?)
    .bind(r.spec.kind.as_str())
    .bind(r.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn delete(tx: &mut Tx, ws: WorkspaceId, id: RuleId) -> Result<bool, StoreError> {
    let n = tx
        .conn()
        .execute(
            &query("DELETE FROM rules WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(id),
        )
        .await?;
    Ok(n > 0)
}

pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: RuleId,
) -> Result<Option<Rule>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM rules WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// The workspace's rules in the order they are tried (of one kind, when given).
pub async fn list(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    kind: Option<RuleKind>,
    active_only: bool,
) -> Result<Vec<Rule>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM rules WHERE workspace_id = $1 AND ($2 IS NULL OR kind = $2) \
             AND ($3 = FALSE OR active = TRUE) ORDER BY position, id LIMIT 1000"
        ))
        .bind(ws)
        .bind(kind.map(RuleKind::as_str))
        .bind(active_only),
    )
    .await
}

/// Counts a firing.
pub async fn fired(tx: &mut Tx, ws: WorkspaceId, id: RuleId) -> Result<(), StoreError> {
    let now = tx.now();
    tx.conn()
        .execute(
            &query("UPDATE rules SET fired = fired + 1, last_fired_at = $3 WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(id)
                .bind(now),
        )
        .await
        .map(|_| ())
}

/// How many rules of the workspace there are.
pub async fn count(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<i64, StoreError> {
    c.fetch_one(&query("SELECT COUNT(*) FROM rules WHERE workspace_id = $1").bind(ws))
        .await
}

/// The ticket's `updated_at` when the automation last fired on it.
pub async fn last_run(
    c: &mut Conn<'_>,
    rule: RuleId,
    ticket: TicketId,
) -> Result<Option<Timestamp>, StoreError> {
    let at: Option<i64> = c
        .fetch_optional(
            &query("SELECT ticket_at FROM rule_runs WHERE rule_id = $1 AND ticket_id = $2")
                .bind(rule)
                .bind(ticket),
        )
        .await?;
    Ok(at.map(Timestamp::from_millis))
}

/// Remembers that the automation fired on the ticket as it is at `ticket_at`.
pub async fn save_run(
    tx: &mut Tx,
    ws: WorkspaceId,
    rule: RuleId,
    ticket: TicketId,
    ticket_at: Timestamp,
) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query(
                "INSERT INTO rule_runs (rule_id, ticket_id, workspace_id, ticket_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (rule_id, ticket_id) DO UPDATE SET ticket_at = $4",
            )
            .bind(rule)
            .bind(ticket)
            .bind(ws)
            .bind(ticket_at),
        )
        .await
        .map(|_| ())
}

/// Claims the workspace's sweep chain: `true` when none was running, so the
/// caller queues its first job (due at `due_at`).
pub async fn claim_sweep(
    tx: &mut Tx,
    ws: WorkspaceId,
    due_at: Timestamp,
) -> Result<bool, StoreError> {
    let n = tx
        .conn()
        .execute(
            &query(
                "INSERT INTO automation_sweeps (workspace_id, due_at) VALUES ($1, $2) \
                 ON CONFLICT (workspace_id) DO NOTHING",
            )
            .bind(ws)
            .bind(due_at),
        )
        .await?;
    Ok(n > 0)
}

/// When the workspace's next sweep is due, if a chain runs.
pub async fn sweep_due(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<Option<Timestamp>, StoreError> {
    let at: Option<i64> = c
        .fetch_optional(
            &query("SELECT due_at FROM automation_sweeps WHERE workspace_id = $1").bind(ws),
        )
        .await?;
    Ok(at.map(Timestamp::from_millis))
}

/// Moves the chain's next sweep to `due_at`.
pub async fn set_sweep_due(
    tx: &mut Tx,
    ws: WorkspaceId,
    due_at: Timestamp,
) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query("UPDATE automation_sweeps SET due_at = $2 WHERE workspace_id = $1")
                .bind(ws)
                .bind(due_at),
        )
        .await
        .map(|_| ())
}

/// Ends the chain (no automation is active any more).
pub async fn end_sweep(tx: &mut Tx, ws: WorkspaceId) -> Result<(), StoreError> {
    tx.conn()
        .execute(&query("DELETE FROM automation_sweeps WHERE workspace_id = $1").bind(ws))
        .await
        .map(|_| ())
}

/// Unsolved and solved tickets after `after` (by id), for an automation sweep.
pub async fn sweep_tickets(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    after: Option<TicketId>,
    limit: i64,
) -> Result<Vec<TicketId>, StoreError> {
    let ids: Vec<uuid::Uuid> = c
        .fetch_all(
            &query(
                "SELECT id FROM tickets WHERE workspace_id = $1 AND status <> 'closed' \
                 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3",
            )
            .bind(ws)
            .bind(after)
            .bind(limit),
        )
        .await?;
    Ok(ids.into_iter().map(TicketId).collect())
}

/// Marks the workspace's rules as changed.
pub async fn bump_version(tx: &mut Tx, ws: WorkspaceId) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query("UPDATE workspaces SET rules_version = rules_version + 1 WHERE id = $1")
                .bind(ws),
        )
        .await
        .map(|_| ())
}

/// The workspace's rules version (see [`bump_version`]).
pub async fn version(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<i64, StoreError> {
    c.fetch_one(&query("SELECT rules_version FROM workspaces WHERE id = $1").bind(ws))
        .await
}
