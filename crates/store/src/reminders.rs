//! Reminders: a person asks to be told about a ticket at a moment.

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;

#[derive(Clone, Debug, PartialEq)]
pub struct Reminder {
    pub id: ReminderId,
    pub workspace_id: WorkspaceId,
    pub ticket_id: TicketId,
    pub user_id: UserId,
    pub due_at: Timestamp,
    pub note: String,
    pub created_at: Timestamp,
    /// Told, or cancelled.
    pub done_at: Option<Timestamp>,
}

const COLS: &str = "id, workspace_id, ticket_id, user_id, due_at, note, created_at, done_at";

impl FromRow for Reminder {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Reminder {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            ticket_id: r.id(2)?,
            user_id: r.id(3)?,
            due_at: r.time(4)?,
            note: r.get(5)?,
            created_at: r.time(6)?,
            done_at: r.time_opt(7)?,
        })
    }
}

pub async fn insert(tx: &mut Tx, r: &Reminder) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO reminders ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(r.id)
    .bind(r.workspace_id)
    .bind(r.ticket_id)
    .bind(r.user_id)
    .bind(r.due_at)
    .bind(&r.note)
    .bind(r.created_at)
    .bind(r.done_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: ReminderId,
) -> Result<Option<Reminder>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM reminders WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// A person's reminders still to come, soonest first.
pub async fn pending_of(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    user: UserId,
    limit: i64,
) -> Result<Vec<Reminder>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM reminders WHERE workspace_id = $1 AND user_id = $2 AND done_at IS NULL \
             ORDER BY due_at, id LIMIT $3"
        ))
        .bind(ws)
        .bind(user)
        .bind(limit),
    )
    .await
}

/// Marks a reminder done; `false` when it already was.
pub async fn finish(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: ReminderId,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let n = tx
        .conn()
        .execute(
            &query("UPDATE reminders SET done_at = $3 WHERE workspace_id = $1 AND id = $2 AND done_at IS NULL")
                .bind(ws)
                .bind(id)
                .bind(at),
        )
        .await?;
    Ok(n > 0)
}
