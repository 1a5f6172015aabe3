//! Swarming: a ticket's invited experts and its followers, and the notes
//! marked as solutions.

use crate::{Conn, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;
use uuid::Uuid;

/// The people who stand by a ticket without being its assignee: experts
/// invited to work on it, and followers who are kept informed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Circle {
    Experts,
    Followers,
}

impl Circle {
    fn table(self) -> &'static str {
        match self {
            Circle::Experts => "ticket_collaborators",
            Circle::Followers => "ticket_followers",
        }
    }
    pub const ALL: [Circle; 2] = [Circle::Experts, Circle::Followers];
}

/// Adds `user` to the ticket's circle; `false` when they already were in it.
pub async fn join(
    tx: &mut Tx,
    circle: Circle,
    ws: WorkspaceId,
    ticket: TicketId,
    user: UserId,
    by: Option<UserId>,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let n = tx
        .conn()
        .execute(
            &query(format!(
                "INSERT INTO {} (ticket_id, workspace_id, user_id, added_by, added_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ticket_id, user_id) DO NOTHING",
                circle.table()
            ))
            .bind(ticket)
            .bind(ws)
            .bind(user)
            .bind(by)
            .bind(at),
        )
        .await?;
    Ok(n > 0)
}

/// `false` when they were not in the circle.
pub async fn leave(
    tx: &mut Tx,
    circle: Circle,
    ws: WorkspaceId,
    ticket: TicketId,
    user: UserId,
) -> Result<bool, StoreError> {
    let n = tx
        .conn()
        .execute(
            &query(format!(
                "DELETE FROM {} WHERE workspace_id = $1 AND ticket_id = $2 AND user_id = $3",
                circle.table()
            ))
            .bind(ws)
            .bind(ticket)
            .bind(user),
        )
        .await?;
    Ok(n > 0)
}

/// The circle's members, in the order they joined.
pub async fn members(
    c: &mut Conn<'_>,
    circle: Circle,
    ws: WorkspaceId,
    ticket: TicketId,
) -> Result<Vec<UserId>, StoreError> {
    let ids: Vec<Uuid> = c
        .fetch_all(
            &query(format!(
                "SELECT user_id FROM {} WHERE workspace_id = $1 AND ticket_id = $2 \
                 ORDER BY added_at, user_id LIMIT 100",
                circle.table()
            ))
            .bind(ws)
            .bind(ticket),
        )
        .await?;
    Ok(ids.into_iter().map(UserId).collect())
}

pub async fn member_count(
    c: &mut Conn<'_>,
    circle: Circle,
    ws: WorkspaceId,
    ticket: TicketId,
) -> Result<i64, StoreError> {
    c.fetch_one(
        &query(format!(
            "SELECT COUNT(*) FROM {} WHERE workspace_id = $1 AND ticket_id = $2",
            circle.table()
        ))
        .bind(ws)
        .bind(ticket),
    )
    .await
}

/// Whether `user` is in the ticket's circle.
pub async fn is_member(
    c: &mut Conn<'_>,
    circle: Circle,
    ws: WorkspaceId,
    ticket: TicketId,
    user: UserId,
) -> Result<bool, StoreError> {
    let n: i64 = c
        .fetch_one(
            &query(format!(
                "SELECT COUNT(*) FROM {} WHERE workspace_id = $1 AND ticket_id = $2 AND user_id = $3",
                circle.table()
            ))
            .bind(ws)
            .bind(ticket)
            .bind(user),
        )
        .await?;
    Ok(n > 0)
}

/// Marks or unmarks a message as its ticket's solution; `false` when nothing
/// changed.
pub async fn set_solution(
    tx: &mut Tx,
    ws: WorkspaceId,
    ticket: TicketId,
    message: MessageId,
    on: bool,
    by: Option<UserId>,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let q = if on {
        query(
            "INSERT INTO solution_notes (message_id, workspace_id, ticket_id, marked_by, marked_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(message)
        .bind(ws)
        .bind(ticket)
        .bind(by)
        .bind(at)
    } else {
        query("DELETE FROM solution_notes WHERE workspace_id = $1 AND message_id = $2")
            .bind(ws)
            .bind(message)
    };
    Ok(tx.conn().execute(&q).await? > 0)
}

/// Which of the ticket's messages are marked as solutions.
pub async fn solutions_of(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
) -> Result<Vec<MessageId>, StoreError> {
    let ids: Vec<Uuid> = c
        .fetch_all(
            &query(
                "SELECT message_id FROM solution_notes WHERE workspace_id = $1 AND ticket_id = $2",
            )
            .bind(ws)
            .bind(ticket),
        )
        .await?;
    Ok(ids.into_iter().map(MessageId).collect())
}

/// A solution on another ticket: its ticket's number and subject, and the
/// note's text.
#[derive(Clone, Debug, PartialEq)]
pub struct Solution {
    pub ticket_id: TicketId,
    pub number: i64,
    pub subject: String,
    pub message_id: MessageId,
    pub text: String,
}

/// Columns: ticket id, number, subject, message id, text.
impl crate::FromRow for Solution {
    fn from_row(r: &crate::Row<'_>) -> Result<Self, StoreError> {
        Ok(Solution {
            ticket_id: r.id(0)?,
            number: r.get(1)?,
            subject: r.get(2)?,
            message_id: r.id(3)?,
            text: r.get(4)?,
        })
    }
}

/// The solutions marked on any of `tickets`, in the order of `tickets`.
pub async fn solutions_on(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    tickets: &[TicketId],
) -> Result<Vec<Solution>, StoreError> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    let q = query(
        "SELECT t.id, t.number, t.subject, m.id, m.body_text FROM solution_notes s \
         JOIN tickets t ON t.id = s.ticket_id AND t.workspace_id = $1 \
         JOIN messages m ON m.id = s.message_id AND m.workspace_id = $1 \
         WHERE s.workspace_id = $1 AND s.ticket_id IN (",
    )
    .bind(ws)
    .bind_list(tickets.iter().copied())
    .push(")");
    let rows: Vec<Solution> = c.fetch_all(&q).await?;
    let mut out = rows;
    out.sort_by_key(|s| tickets.iter().position(|t| *t == s.ticket_id));
    Ok(out)
}

/// The last public reply an agent wrote on each of `tickets` that is solved or
/// closed (what answered it), in the order of `tickets`.
pub async fn last_replies_on(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    tickets: &[TicketId],
) -> Result<Vec<Solution>, StoreError> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    let q = query(
        "SELECT t.id, t.number, t.subject, m.id, m.body_text FROM tickets t \
         JOIN messages m ON m.ticket_id = t.id AND m.workspace_id = $1 \
         WHERE t.workspace_id = $1 AND t.status IN ('solved', 'closed') \
         AND m.author_kind = 'agent' AND m.visibility = 'public' AND m.body_text <> '' \
         AND m.created_at = (SELECT MAX(m2.created_at) FROM messages m2 WHERE m2.workspace_id = $1 \
           AND m2.ticket_id = t.id AND m2.author_kind = 'agent' AND m2.visibility = 'public' AND m2.body_text <> '') \
         AND t.id IN (",
    )
    .bind(ws)
    .bind_list(tickets.iter().copied())
    .push(")");
    let rows: Vec<Solution> = c.fetch_all(&q).await?;
    let mut out: Vec<Solution> = Vec::with_capacity(rows.len());
    for r in rows {
        // Two replies in one millisecond: the one read first stands.
        if !out.iter().any(|s| s.ticket_id == r.ticket_id) {
            out.push(r);
        }
    }
    out.sort_by_key(|s| tickets.iter().position(|t| *t == s.ticket_id));
    Ok(out)
}
