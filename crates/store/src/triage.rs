//! Triage's data: the categories it sorts into, what it read in each customer
//! message, and the messages agents sorted by hand (labels).

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::assist::CategorySpec;
use domain::ids::*;
use domain::ticket::Priority;

/// Most labels one model learns from (the newest).
pub const MAX_LABELS: i64 = 20_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Category {
    pub id: TriageCategoryId,
    pub workspace_id: WorkspaceId,
    pub spec: CategorySpec,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const CAT_COLS: &str =
    "id, workspace_id, key, name, description, examples, team_id, priority, created_at, updated_at";

impl FromRow for Category {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let priority: Option<String> = r.get(7)?;
        Ok(Category {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            spec: CategorySpec {
                key: r.get(2)?,
                name: r.get(3)?,
                description: r.get(4)?,
                examples: r.json(5)?,
                team_id: r.id_opt(6)?,
                priority: priority
                    .map(|p| Priority::parse(&p))
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            },
            created_at: r.time(8)?,
            updated_at: r.time(9)?,
        })
    }
}

fn examples(spec: &CategorySpec) -> Result<String, StoreError> {
    serde_json::to_string(&spec.examples).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub async fn insert_category(tx: &mut Tx, c: &Category) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO triage_categories ({CAT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(c.id)
    .bind(c.workspace_id)
    .bind(&c.spec.key)
    .bind(&c.spec.name)
    .bind(&c.spec.description)
    .bind(examples(&c.spec)?)
    .bind(c.spec.team_id)
    .bind(c.spec.priority.map(|p| p.as_str()))
    .bind(c.created_at)
    .bind(c.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn update_category(tx: &mut Tx, c: &Category) -> Result<(), StoreError> {
    let q = query(
        "UPDATE triage_categories SET key = $3, name = $4, description = $5, examples = $6, team_id = $7, \
         priority = $8, updated_at = $9 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(c.workspace_id)
    .bind(c.id)
    .bind(&c.spec.key)
    .bind(&c.spec.name)
    .bind(&c.spec.description)
    .bind(examples(&c.spec)?)
    .bind(c.spec.team_id)
    .bind(c.spec.priority.map(|p| p.as_str()))
    .bind(c.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn delete_category(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: TriageCategoryId,
) -> Result<bool, StoreError> {
    let q = query("DELETE FROM triage_categories WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id);
    Ok(tx.conn().execute(&q).await? > 0)
}

pub async fn categories(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<Vec<Category>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {CAT_COLS} FROM triage_categories WHERE workspace_id = $1 ORDER BY key LIMIT 1000"
        ))
        .bind(ws),
    )
    .await
}

/// What triage read in one message.
#[derive(Clone, Debug, PartialEq)]
pub struct Triage {
    pub message_id: MessageId,
    pub workspace_id: WorkspaceId,
    pub ticket_id: TicketId,
    pub lang: Option<String>,
    pub lang_confidence: f64,
    pub category: Option<String>,
    pub category_confidence: f64,
    pub urgent: bool,
    pub urgency_confidence: f64,
    pub sentiment: String,
    pub sentiment_confidence: f64,
    pub team_id: Option<TeamId>,
    pub priority: Priority,
    pub corrected_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const TRIAGE_COLS: &str = "message_id, workspace_id, ticket_id, lang, lang_confidence, category, category_confidence, \
     urgent, urgency_confidence, sentiment, sentiment_confidence, team_id, priority, corrected_by, created_at, updated_at";

impl FromRow for Triage {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Triage {
            message_id: r.id(0)?,
            workspace_id: r.id(1)?,
            ticket_id: r.id(2)?,
            lang: r.get(3)?,
            lang_confidence: r.get(4)?,
            category: r.get(5)?,
            category_confidence: r.get(6)?,
            urgent: r.get(7)?,
            urgency_confidence: r.get(8)?,
            sentiment: r.get(9)?,
            sentiment_confidence: r.get(10)?,
            team_id: r.id_opt(11)?,
            priority: r.parse(12, Priority::parse)?,
            corrected_by: r.id_opt(13)?,
            created_at: r.time(14)?,
            updated_at: r.time(15)?,
        })
    }
}

/// Stores a message's triage; `false` when it had one (a replayed job).
pub async fn insert(tx: &mut Tx, t: &Triage) -> Result<bool, StoreError> {
    let q = query(format!(
        "INSERT INTO message_triage ({TRIAGE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (message_id) DO NOTHING"
    ))
    .bind(t.message_id)
    .bind(t.workspace_id)
    .bind(t.ticket_id)
    .bind(t.lang.clone())
    .bind(t.lang_confidence)
    .bind(t.category.clone())
    .bind(t.category_confidence)
    .bind(t.urgent)
    .bind(t.urgency_confidence)
    .bind(&t.sentiment)
    .bind(t.sentiment_confidence)
    .bind(t.team_id)
    .bind(t.priority.as_str())
    .bind(t.corrected_by)
    .bind(t.created_at)
    .bind(t.updated_at);
    Ok(tx.conn().execute(&q).await? > 0)
}

pub async fn correct(
    tx: &mut Tx,
    ws: WorkspaceId,
    message: MessageId,
    category: &str,
    team: Option<TeamId>,
    by: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    let q = query(
        "UPDATE message_triage SET category = $3, category_confidence = 1.0, team_id = $4, corrected_by = $5, \
         updated_at = $6 WHERE workspace_id = $1 AND message_id = $2",
    )
    .bind(ws)
    .bind(message)
    .bind(category)
    .bind(team)
    .bind(by)
    .bind(at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn of_message(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    message: MessageId,
) -> Result<Option<Triage>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {TRIAGE_COLS} FROM message_triage WHERE workspace_id = $1 AND message_id = $2"
        ))
        .bind(ws)
        .bind(message),
    )
    .await
}

pub async fn of_ticket(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
) -> Result<Vec<Triage>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {TRIAGE_COLS} FROM message_triage WHERE workspace_id = $1 AND ticket_id = $2 \
             ORDER BY message_id LIMIT 1000"
        ))
        .bind(ws)
        .bind(ticket),
    )
    .await
}

/// Records (or replaces) what an agent said a message is about.
pub async fn put_label(
    tx: &mut Tx,
    ws: WorkspaceId,
    message: MessageId,
    category: &str,
    text: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    let q = query(
        "INSERT INTO triage_labels (message_id, workspace_id, category, text, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (message_id) DO UPDATE SET category = excluded.category, created_at = excluded.created_at",
    )
    .bind(message)
    .bind(ws)
    .bind(category)
    .bind(text)
    .bind(at);
    tx.conn().execute(&q).await.map(|_| ())
}

/// The newest labels: (category, text).
pub async fn labels(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
) -> Result<Vec<(String, String)>, StoreError> {
    c.fetch_all(
        &query(
            "SELECT category, text FROM triage_labels WHERE workspace_id = $1 ORDER BY created_at DESC LIMIT $2",
        )
        .bind(ws)
        .bind(MAX_LABELS),
    )
    .await
}

/// Sorted tickets triage learns from, at most (the newest).
pub const MAX_TICKET_LABELS: i64 = 5_000;
/// Newly sorted tickets that make the model stale: it is not trained again
/// for every ticket a busy workspace sorts.
const TICKETS_PER_RETRAIN: i64 = 25;

/// Tickets people (agents, integrations, rules) gave a category: the
/// category and the start of the ticket's first customer message, newest
/// first.
pub async fn ticket_labels(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
) -> Result<Vec<(String, String)>, StoreError> {
    c.fetch_all(
        &query(
            "SELECT t.category, substr(m.body_text, 1, 2000) FROM tickets t \
             JOIN messages m ON m.workspace_id = t.workspace_id AND m.ticket_id = t.id \
             WHERE t.workspace_id = $1 AND t.category IS NOT NULL \
             AND m.id = (SELECT f.id FROM messages f WHERE f.workspace_id = t.workspace_id \
                         AND f.ticket_id = t.id AND f.author_kind = 'customer' ORDER BY f.id LIMIT 1) \
             ORDER BY t.id DESC LIMIT $2",
        )
        .bind(ws)
        .bind(MAX_TICKET_LABELS),
    )
    .await
}

/// A stamp of what triage learns from: categories, labels, and (in steps of
/// 25) the tickets with a category.
pub async fn stamp(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<String, StoreError> {
    let (cats, cat_at): (i64, Option<i64>) = c
        .fetch_one(
            &query(
                "SELECT COUNT(*), MAX(updated_at) FROM triage_categories WHERE workspace_id = $1",
            )
            .bind(ws),
        )
        .await?;
    let (labels, label_at): (i64, Option<i64>) = c
        .fetch_one(
            &query("SELECT COUNT(*), MAX(created_at) FROM triage_labels WHERE workspace_id = $1")
                .bind(ws),
        )
        .await?;
    let sorted: i64 = c
        .fetch_one(
            &query("SELECT COUNT(*) FROM tickets WHERE workspace_id = $1 AND category IS NOT NULL")
                .bind(ws),
        )
        .await?;
    Ok(format!(
        "{cats}:{}:{labels}:{}:{}",
        cat_at.unwrap_or(0),
        label_at.unwrap_or(0),
        sorted / TICKETS_PER_RETRAIN
    ))
}

/// Customers' messages triage has not read, newest first.
pub async fn untriaged(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    limit: i64,
) -> Result<Vec<MessageId>, StoreError> {
    let ids: Vec<uuid::Uuid> = c
        .fetch_all(
            &query(
                "SELECT m.id FROM messages m LEFT JOIN message_triage t ON t.message_id = m.id \
                 WHERE m.workspace_id = $1 AND m.author_kind = 'customer' AND t.message_id IS NULL \
                 ORDER BY m.id DESC LIMIT $2",
            )
            .bind(ws)
            .bind(limit),
        )
        .await?;
    Ok(ids.into_iter().map(MessageId::from).collect())
}
