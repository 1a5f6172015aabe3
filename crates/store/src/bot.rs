//! The answer bot's part in each conversation it takes: one row per ticket,
//! written in the same transaction as what the bot said or did.

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::assist::BotState;
use domain::flow::FlowState;
use domain::ids::*;

#[derive(Clone, Debug, PartialEq)]
pub struct BotConversation {
    pub ticket_id: TicketId,
    pub workspace_id: WorkspaceId,
    pub state: BotState,
    /// The last customer message the bot took its turn on.
    pub last_message_id: Option<MessageId>,
    /// The model key of its last answer (`faq:{group}` or `article:{group}`).
    pub answer_key: Option<String>,
    /// Where it is in a guided flow, when in one.
    pub flow: Option<FlowState>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLS: &str =
    "ticket_id, workspace_id, state, last_message_id, answer_key, created_at, updated_at, flow";

impl FromRow for BotConversation {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(BotConversation {
            ticket_id: r.id(0)?,
            workspace_id: r.id(1)?,
            state: r.parse(2, BotState::parse)?,
            last_message_id: r.id_opt(3)?,
            answer_key: r.get(4)?,
            created_at: r.time(5)?,
            updated_at: r.time(6)?,
            flow: match r.get::<Option<String>>(7)? {
                Some(raw) => Some(
                    serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                ),
                None => None,
            },
        })
    }
}

pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
) -> Result<Option<BotConversation>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM bot_conversations WHERE workspace_id = $1 AND ticket_id = $2"
        ))
        .bind(ws)
        .bind(ticket),
    )
    .await
}

/// Writes the conversation's row, new or changed.
pub async fn put(tx: &mut Tx, b: &BotConversation) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO bot_conversations ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (ticket_id) DO UPDATE SET state = excluded.state, \
         last_message_id = excluded.last_message_id, answer_key = excluded.answer_key, \
         updated_at = excluded.updated_at, flow = excluded.flow"
    ))
    .bind(b.ticket_id)
    .bind(b.workspace_id)
    .bind(b.state.as_str())
    .bind(b.last_message_id)
    .bind(b.answer_key.clone())
    .bind(b.created_at)
    .bind(b.updated_at)
    .bind(match &b.flow {
        Some(f) => Some(serde_json::to_string(f).map_err(|e| StoreError::Corrupt(e.to_string()))?),
        None => None,
    });
    tx.conn().execute(&q).await.map(|_| ())
}

/// Whether an agent has written a public reply on the ticket.
pub async fn agent_replied(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
) -> Result<bool, StoreError> {
    let n: i64 = c
        .fetch_one(
            &query(
                "SELECT COUNT(*) FROM messages WHERE workspace_id = $1 AND ticket_id = $2 \
                 AND author_kind = 'agent' AND visibility = 'public'",
            )
            .bind(ws)
            .bind(ticket),
        )
        .await?;
    Ok(n > 0)
}
