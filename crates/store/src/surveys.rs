//! Satisfaction surveys and a workspace's survey settings.

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;
use domain::survey::{SurveyKind, SurveySettings};

#[derive(Clone, Debug, PartialEq)]
pub struct Survey {
    pub id: SurveyId,
    pub workspace_id: WorkspaceId,
    pub ticket_id: Option<TicketId>,
    pub customer_id: CustomerId,
    pub kind: SurveyKind,
    pub language: String,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub score: Option<i64>,
    pub comment: Option<String>,
    pub answered_at: Option<Timestamp>,
    /// The conversation message that asked (chat and messengers).
    pub message_id: Option<MessageId>,
}

const COLS: &str = "id, workspace_id, ticket_id, customer_id, kind, language, created_at, sent_at, score, comment, answered_at, message_id";

impl FromRow for Survey {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Survey {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            ticket_id: r.id_opt(2)?,
            customer_id: r.id(3)?,
            kind: r.parse(4, SurveyKind::parse)?,
            language: r.get(5)?,
            created_at: r.time(6)?,
            sent_at: r.time_opt(7)?,
            score: r.get(8)?,
            comment: r.get(9)?,
            answered_at: r.time_opt(10)?,
            message_id: r.id_opt(11)?,
        })
    }
}

/// Adds a survey; `false` when the ticket already has one of its kind.
pub async fn insert(tx: &mut Tx, s: &Survey) -> Result<bool, StoreError> {
    let q = query(format!(
        "INSERT INTO surveys ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT DO NOTHING"
    ))
    .bind(s.id)
    .bind(s.workspace_id)
    .bind(s.ticket_id)
    .bind(s.customer_id)
    .bind(s.kind.as_str())
    .bind(&s.language)
    .bind(s.created_at)
    .bind(s.sent_at)
    .bind(s.score)
    .bind(s.comment.as_deref())
    .bind(s.answered_at)
    .bind(s.message_id);
    Ok(tx.conn().execute(&q).await? > 0)
}

/// A survey by id, in any workspace: a signed link names only the survey,
/// and the caller has checked the signature, which covers the workspace.
pub async fn get_anywhere(c: &mut Conn<'_>, id: SurveyId) -> Result<Option<Survey>, StoreError> {
    c.fetch_optional(&query(format!("SELECT {COLS} FROM surveys WHERE id = $1")).bind(id))
        .await
}

pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: SurveyId,
) -> Result<Option<Survey>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM surveys WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// The CSAT survey of a ticket, if one was made.
pub async fn of_ticket(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
) -> Result<Option<Survey>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM surveys WHERE workspace_id = $1 AND ticket_id = $2 AND kind = 'csat'"
        ))
        .bind(ws)
        .bind(ticket),
    )
    .await
}

pub async fn mark_sent(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: SurveyId,
    at: Timestamp,
) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query("UPDATE surveys SET sent_at = $3 WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(id)
                .bind(at),
        )
        .await
        .map(|_| ())
}

/// Records the message that carried the survey into its conversation.
pub async fn set_message(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: SurveyId,
    message: MessageId,
) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query("UPDATE surveys SET message_id = $3 WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(id)
                .bind(message),
        )
        .await
        .map(|_| ())
}

/// The surveys the given messages carried.
pub async fn of_messages(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    messages: &[MessageId],
) -> Result<Vec<Survey>, StoreError> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let q = query(format!(
        "SELECT {COLS} FROM surveys WHERE workspace_id = $1 AND message_id IN ("
    ))
    .bind(ws);
    c.fetch_all(&q.bind_list(messages.iter().copied()).push(")"))
        .await
}

/// When `customer` was last sent (or made) a survey of `kind`.
pub async fn last_asked(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
    kind: SurveyKind,
) -> Result<Option<Timestamp>, StoreError> {
    let at: Option<Option<i64>> = c
        .fetch_optional(
            &query(
                "SELECT MAX(created_at) FROM surveys \
                 WHERE workspace_id = $1 AND customer_id = $2 AND kind = $3",
            )
            .bind(ws)
            .bind(customer)
            .bind(kind.as_str()),
        )
        .await?;
    Ok(at.flatten().map(Timestamp::from_millis))
}

/// Whether a customer asked to get no more surveys.
pub async fn opted_out(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
) -> Result<bool, StoreError> {
    let n: Option<i64> = c
        .fetch_optional(
            &query("SELECT at FROM survey_opt_outs WHERE workspace_id = $1 AND customer_id = $2")
                .bind(ws)
                .bind(customer),
        )
        .await?;
    Ok(n.is_some())
}

/// Opts a customer out of surveys (`Some(at)`) or back in (`None`).
pub async fn set_opt_out(
    tx: &mut Tx,
    ws: WorkspaceId,
    customer: CustomerId,
    at: Option<Timestamp>,
) -> Result<(), StoreError> {
    let q = match at {
        Some(at) => query(
            "INSERT INTO survey_opt_outs (workspace_id, customer_id, at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(ws)
        .bind(customer)
        .bind(at),
        None => query("DELETE FROM survey_opt_outs WHERE workspace_id = $1 AND customer_id = $2")
            .bind(ws)
            .bind(customer),
    };
    tx.conn().execute(&q).await.map(|_| ())
}

/// Schedules a customer's next NPS survey at `due`; `false` when one is
/// already scheduled (that one stands).
pub async fn schedule_nps(
    tx: &mut Tx,
    ws: WorkspaceId,
    customer: CustomerId,
    due: Timestamp,
) -> Result<bool, StoreError> {
    let q = query(
        "INSERT INTO nps_due (workspace_id, customer_id, due_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(ws)
    .bind(customer)
    .bind(due);
    Ok(tx.conn().execute(&q).await? > 0)
}

/// Takes a customer's scheduled NPS survey off the schedule; when it was due.
pub async fn take_nps_due(
    tx: &mut Tx,
    ws: WorkspaceId,
    customer: CustomerId,
) -> Result<Option<Timestamp>, StoreError> {
    let due: Option<i64> = tx
        .conn()
        .fetch_optional(
            &query("SELECT due_at FROM nps_due WHERE workspace_id = $1 AND customer_id = $2")
                .bind(ws)
                .bind(customer),
        )
        .await?;
    tx.conn()
        .execute(
            &query("DELETE FROM nps_due WHERE workspace_id = $1 AND customer_id = $2")
                .bind(ws)
                .bind(customer),
        )
        .await?;
    Ok(due.map(Timestamp::from_millis))
}

/// A merge: the source's surveys become the target's, an opt-out of either
/// holds for both, and the source's schedule goes (the target's stands).
pub async fn move_customer(
    tx: &mut Tx,
    ws: WorkspaceId,
    target: CustomerId,
    source: CustomerId,
) -> Result<(), StoreError> {
    let run = |sql: &'static str| query(sql).bind(ws).bind(source).bind(target);
    let mut c = tx.conn();
    c.execute(&run(
        "UPDATE surveys SET customer_id = $3 WHERE workspace_id = $1 AND customer_id = $2",
    ))
    .await?;
    c.execute(&run(
        "INSERT INTO survey_opt_outs (workspace_id, customer_id, at) \
         SELECT workspace_id, $3, at FROM survey_opt_outs WHERE workspace_id = $1 AND customer_id = $2 \
         ON CONFLICT DO NOTHING",
    ))
    .await?;
    for table in ["survey_opt_outs", "nps_due"] {
        c.execute(
            &query(format!(
                "DELETE FROM {table} WHERE workspace_id = $1 AND customer_id = $2"
            ))
            .bind(ws)
            .bind(source),
        )
        .await?;
    }
    Ok(())
}

pub async fn answer(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: SurveyId,
    score: i64,
    comment: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query(
                "UPDATE surveys SET score = $3, comment = $4, answered_at = $5 \
                 WHERE workspace_id = $1 AND id = $2",
            )
            .bind(ws)
            .bind(id)
            .bind(score)
            .bind(comment)
            .bind(at),
        )
        .await
        .map(|_| ())
}

/// Answered surveys, newest first, before a cursor (the answer's time and id).
pub async fn answered(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    before: Option<SurveyId>,
    limit: i64,
) -> Result<Vec<Survey>, StoreError> {
    let mut q = query(format!(
        "SELECT {COLS} FROM surveys WHERE workspace_id = $1 AND answered_at IS NOT NULL"
    ))
    .bind(ws);
    if let Some(b) = before {
        let n = q.next_param();
        q = q.push(&format!(" AND id < ${n}")).bind(b);
    }
    let n = q.next_param();
    q = q.push(&format!(" ORDER BY id DESC LIMIT ${n}")).bind(limit);
    c.fetch_all(&q).await
}

pub async fn settings(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<SurveySettings, StoreError> {
    crate::settings::read(c, crate::settings::Table::Survey, ws).await
}

pub async fn save_settings(
    tx: &mut Tx,
    ws: WorkspaceId,
    s: &SurveySettings,
) -> Result<(), StoreError> {
    crate::settings::write(tx, crate::settings::Table::Survey, ws, s).await
}

/// The customer's most recently solved ticket (what an NPS answer is filed
/// under in reports).
pub async fn last_solved_ticket(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
) -> Result<Option<TicketId>, StoreError> {
    let id: Option<uuid::Uuid> = c
        .fetch_optional(
            &query(
                "SELECT id FROM tickets WHERE workspace_id = $1 AND customer_id = $2 \
                 AND solved_at IS NOT NULL ORDER BY solved_at DESC, id DESC LIMIT 1",
            )
            .bind(ws)
            .bind(customer),
        )
        .await?;
    Ok(id.map(TicketId))
}

/// A customer's surveys, newest first, at most `limit`.
pub async fn of_customer(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
    limit: i64,
) -> Result<Vec<Survey>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM surveys WHERE workspace_id = $1 AND customer_id = $2 \
             ORDER BY created_at DESC, id DESC LIMIT $3"
        ))
        .bind(ws)
        .bind(customer)
        .bind(limit),
    )
    .await
}
