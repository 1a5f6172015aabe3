//! Side conversations: a ticket's own threads with another team or an outside
//! email address, and their messages. Never part of the customer's thread.

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;

#[derive(Clone, Debug, PartialEq)]
pub struct Side {
    pub id: SideId,
    pub workspace_id: WorkspaceId,
    pub ticket_id: TicketId,
    pub subject: String,
    /// With a team of the workspace…
    pub team_id: Option<TeamId>,
    /// …or with an outside address, written to through `account_id`.
    pub address: Option<String>,
    pub account_id: Option<AccountId>,
    pub open: bool,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SideMessage {
    pub id: SideMessageId,
    pub workspace_id: WorkspaceId,
    pub side_id: SideId,
    /// The agent who wrote it; none for an answer from outside.
    pub author_id: Option<UserId>,
    /// Who answered from outside.
    pub from_address: Option<String>,
    pub body: String,
    /// `queued`, `sent` or `failed` for a message that leaves by email.
    pub delivery: Option<String>,
    /// Why it failed: a `domain::Message` as JSON.
    pub delivery_error: Option<String>,
    pub created_at: Timestamp,
}

const COLS: &str = "id, workspace_id, ticket_id, subject, team_id, address, account_id, open, created_by, created_at, updated_at";
const MSG_COLS: &str = "id, workspace_id, side_id, author_id, from_address, body, delivery, delivery_error, created_at";

impl FromRow for Side {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Side {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            ticket_id: r.id(2)?,
            subject: r.get(3)?,
            team_id: r.id_opt(4)?,
            address: r.get(5)?,
            account_id: r.id_opt(6)?,
            open: r.get(7)?,
            created_by: r.id_opt(8)?,
            created_at: r.time(9)?,
            updated_at: r.time(10)?,
        })
    }
}

impl FromRow for SideMessage {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(SideMessage {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            side_id: r.id(2)?,
            author_id: r.id_opt(3)?,
            from_address: r.get(4)?,
            body: r.get(5)?,
            delivery: r.get(6)?,
            delivery_error: r.get(7)?,
            created_at: r.time(8)?,
        })
    }
}

pub async fn insert(tx: &mut Tx, s: &Side) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO side_conversations ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(s.id)
    .bind(s.workspace_id)
    .bind(s.ticket_id)
    .bind(&s.subject)
    .bind(s.team_id)
    .bind(s.address.as_deref())
    .bind(s.account_id)
    .bind(s.open)
    .bind(s.created_by)
    .bind(s.created_at)
    .bind(s.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn insert_message(tx: &mut Tx, m: &SideMessage) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO side_messages ({MSG_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(m.id)
    .bind(m.workspace_id)
    .bind(m.side_id)
    .bind(m.author_id)
    .bind(m.from_address.as_deref())
    .bind(&m.body)
    .bind(m.delivery.as_deref())
    .bind(m.delivery_error.as_deref())
    .bind(m.created_at);
    tx.conn().execute(&q).await?;
    tx.conn()
        .execute(
            &query(
                "UPDATE side_conversations SET updated_at = $3 WHERE workspace_id = $1 AND id = $2",
            )
            .bind(m.workspace_id)
            .bind(m.side_id)
            .bind(m.created_at),
        )
        .await
        .map(|_| ())
}

/// Opens or closes a side conversation; `false` when it already was so.
pub async fn set_open(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: SideId,
    open: bool,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let n = tx
        .conn()
        .execute(
            &query(
                "UPDATE side_conversations SET open = $3, updated_at = $4 \
                 WHERE workspace_id = $1 AND id = $2 AND open <> $3",
            )
            .bind(ws)
            .bind(id)
            .bind(open)
            .bind(at),
        )
        .await?;
    Ok(n > 0)
}

pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: SideId,
) -> Result<Option<Side>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM side_conversations WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// A ticket's side conversations, oldest first.
pub async fn of_ticket(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
    limit: i64,
) -> Result<Vec<Side>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM side_conversations WHERE workspace_id = $1 AND ticket_id = $2 \
             ORDER BY created_at, id LIMIT $3"
        ))
        .bind(ws)
        .bind(ticket)
        .bind(limit),
    )
    .await
}

pub async fn count_of_ticket(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
) -> Result<i64, StoreError> {
    c.fetch_one(
        &query(
            "SELECT COUNT(*) FROM side_conversations WHERE workspace_id = $1 AND ticket_id = $2",
        )
        .bind(ws)
        .bind(ticket),
    )
    .await
}

/// A side conversation's messages, oldest first.
pub async fn messages(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    side: SideId,
    limit: i64,
) -> Result<Vec<SideMessage>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {MSG_COLS} FROM side_messages WHERE workspace_id = $1 AND side_id = $2 \
             ORDER BY created_at, id LIMIT $3"
        ))
        .bind(ws)
        .bind(side)
        .bind(limit),
    )
    .await
}

/// The messages of all a ticket's side conversations in one read, oldest
/// first within each.
pub async fn messages_of_ticket(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
    limit: i64,
) -> Result<Vec<SideMessage>, StoreError> {
    let cols = MSG_COLS
        .split(", ")
        .map(|c| format!("m.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    c.fetch_all(
        &query(format!(
            "SELECT {cols} FROM side_messages m JOIN side_conversations s \
             ON s.id = m.side_id AND s.workspace_id = m.workspace_id \
             WHERE m.workspace_id = $1 AND s.ticket_id = $2 \
             ORDER BY m.side_id, m.created_at, m.id LIMIT $3"
        ))
        .bind(ws)
        .bind(ticket)
        .bind(limit),
    )
    .await
}

pub async fn message_count(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    side: SideId,
) -> Result<i64, StoreError> {
    c.fetch_one(
        &query("SELECT COUNT(*) FROM side_messages WHERE workspace_id = $1 AND side_id = $2")
            .bind(ws)
            .bind(side),
    )
    .await
}

/// One message, looked up without its workspace: an answer by email names it
/// in its headers, and the caller checks the workspace it belongs to.
pub async fn message_anywhere(
    c: &mut Conn<'_>,
    id: SideMessageId,
) -> Result<Option<SideMessage>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {MSG_COLS} FROM side_messages WHERE id = $1"
        ))
        .bind(id),
    )
    .await
}

pub async fn message(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: SideMessageId,
) -> Result<Option<SideMessage>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {MSG_COLS} FROM side_messages WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// Records what became of a message sent by email; only a queued one moves.
pub async fn set_delivery(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: SideMessageId,
    state: &str,
    error: Option<String>,
) -> Result<bool, StoreError> {
    let n = tx
        .conn()
        .execute(
            &query(
                "UPDATE side_messages SET delivery = $3, delivery_error = $4 \
                 WHERE workspace_id = $1 AND id = $2 AND delivery = 'queued'",
            )
            .bind(ws)
            .bind(id)
            .bind(state)
            .bind(error),
        )
        .await?;
    Ok(n > 0)
}

/// A merge: the side conversations of `from` belong to `to` now.
pub async fn move_to(
    tx: &mut Tx,
    ws: WorkspaceId,
    from: TicketId,
    to: TicketId,
) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query("UPDATE side_conversations SET ticket_id = $3 WHERE workspace_id = $1 AND ticket_id = $2")
                .bind(ws)
                .bind(from)
                .bind(to),
        )
        .await
        .map(|_| ())
}
