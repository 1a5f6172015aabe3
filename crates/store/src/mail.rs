//! The email channel's tables: mailboxes, the per-mailbox record of every email
//! seen or sent (exactly-once ingest and threading), and automatic-reply history.

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;

/// One support address with its inbound and outbound settings. `inbound`,
/// `outbound` and `settings` are JSON documents owned by the engine; `secrets`
/// is sealed (never plain text).
#[derive(Clone, Debug, PartialEq)]
pub struct Mailbox {
    pub id: MailboxId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub address: String,
    pub inbound_kind: String,
    pub inbound: serde_json::Value,
    pub outbound: Option<serde_json::Value>,
    pub secrets: Option<Vec<u8>>,
    pub settings: serde_json::Value,
    pub imap_state: serde_json::Value,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLS: &str = "id, workspace_id, name, address, inbound_kind, inbound, outbound, secrets, settings, imap_state, active, created_at, updated_at";

fn json_col(r: &Row<'_>, i: usize) -> Result<serde_json::Value, StoreError> {
    r.json(i)
}

impl FromRow for Mailbox {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let outbound: Option<String> = r.get(6)?;
        Ok(Mailbox {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            name: r.get(2)?,
            address: r.get(3)?,
            inbound_kind: r.get(4)?,
            inbound: json_col(r, 5)?,
            outbound: outbound
                .map(|s| serde_json::from_str(&s))
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            secrets: r.get(7)?,
            settings: json_col(r, 8)?,
            imap_state: json_col(r, 9)?,
            active: r.get(10)?,
            created_at: r.time(11)?,
            updated_at: r.time(12)?,
        })
    }
}

pub async fn insert(tx: &mut Tx, m: &Mailbox) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO mailboxes ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(m.id)
    .bind(m.workspace_id)
    .bind(&m.name)
    .bind(&m.address)
    .bind(&m.inbound_kind)
    .bind(m.inbound.to_string())
    .bind(m.outbound.as_ref().map(|o| o.to_string()))
    .bind(m.secrets.clone())
    .bind(m.settings.to_string())
    .bind(m.imap_state.to_string())
    .bind(m.active)
    .bind(m.created_at)
    .bind(m.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn update(tx: &mut Tx, m: &Mailbox) -> Result<(), StoreError> {
    let q = query(
        "UPDATE mailboxes SET name = $3, address = $4, inbound_kind = $5, inbound = $6, outbound = $7, \
         secrets = $8, settings = $9, active = $10, updated_at = $11 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(m.workspace_id)
    .bind(m.id)
    .bind(&m.name)
    .bind(&m.address)
    .bind(&m.inbound_kind)
    .bind(m.inbound.to_string())
    .bind(m.outbound.as_ref().map(|o| o.to_string()))
    .bind(m.secrets.clone())
    .bind(m.settings.to_string())
    .bind(m.active)
    .bind(m.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

/// Saves an IMAP poller's position (UIDVALIDITY and the last UID committed).
pub async fn set_imap_state(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: MailboxId,
    state: &serde_json::Value,
) -> Result<(), StoreError> {
    let q = query("UPDATE mailboxes SET imap_state = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .bind(state.to_string());
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: MailboxId,
) -> Result<Option<Mailbox>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM mailboxes WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

pub async fn list(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<Vec<Mailbox>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM mailboxes WHERE workspace_id = $1 ORDER BY id"
        ))
        .bind(ws),
    )
    .await
}

/// Every active mailbox of the server (for the transports that serve them all).
pub async fn all_active(c: &mut Conn<'_>) -> Result<Vec<Mailbox>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM mailboxes WHERE active = $1 ORDER BY id"
        ))
        .bind(true),
    )
    .await
}

/// The mailbox that owns an address, across workspaces (addresses are unique).
pub async fn by_address(c: &mut Conn<'_>, address: &str) -> Result<Option<Mailbox>, StoreError> {
    c.fetch_optional(
        &query(format!("SELECT {COLS} FROM mailboxes WHERE address = $1")).bind(address),
    )
    .await
}

/// One row of the email record.
#[derive(Clone, Debug, PartialEq)]
pub struct EmailRecord {
    pub workspace_id: WorkspaceId,
    pub mailbox_id: MailboxId,
    pub header_id: String,
    pub message_id: Option<MessageId>,
    pub ticket_id: Option<TicketId>,
    /// `in` or `out`.
    pub direction: String,
    pub outcome: String,
    /// The correspondent: the sender of inbound mail, the recipient of outbound.
    pub address: Option<String>,
    pub raw_sha256: Option<String>,
    pub created_at: Timestamp,
}

const REC_COLS: &str = "workspace_id, mailbox_id, header_id, message_id, ticket_id, direction, outcome, address, raw_sha256, created_at";

impl FromRow for EmailRecord {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(EmailRecord {
            workspace_id: r.id(0)?,
            mailbox_id: r.id(1)?,
            header_id: r.get(2)?,
            message_id: r.id_opt(3)?,
            ticket_id: r.id_opt(4)?,
            direction: r.get(5)?,
            outcome: r.get(6)?,
            address: r.get(7)?,
            raw_sha256: r.get(8)?,
            created_at: r.time(9)?,
        })
    }
}

pub async fn insert_record(tx: &mut Tx, e: &EmailRecord) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO email_messages ({REC_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(e.workspace_id)
    .bind(e.mailbox_id)
    .bind(&e.header_id)
    .bind(e.message_id)
    .bind(e.ticket_id)
    .bind(&e.direction)
    .bind(&e.outcome)
    .bind(e.address.clone())
    .bind(e.raw_sha256.clone())
    .bind(e.created_at);
    tx.conn().execute(&q).await.map(|_| ())
}

/// The record of `header_id` in one mailbox.
pub async fn record(
    c: &mut Conn<'_>,
    mailbox: MailboxId,
    header_id: &str,
) -> Result<Option<EmailRecord>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {REC_COLS} FROM email_messages WHERE mailbox_id = $1 AND header_id = $2"
        ))
        .bind(mailbox)
        .bind(header_id),
    )
    .await
}

/// The first record, in any mailbox of the workspace, of any of `header_ids` that
/// belongs to a ticket.
pub async fn first_with_ticket(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    header_ids: &[String],
) -> Result<Option<EmailRecord>, StoreError> {
    if header_ids.is_empty() {
        return Ok(None);
    }
    // No ORDER BY in SQL: SQLite would then walk the (workspace, ticket, time)
    // index over the whole table instead of looking the ids up; the few matches
    // are ranked here.
    let q = query(format!(
        "SELECT {REC_COLS} FROM email_messages WHERE workspace_id = $1 AND header_id IN ("
    ))
    .bind(ws);
    let q = q.bind_list(header_ids.iter().map(String::as_str)).push(")");
    let rows: Vec<EmailRecord> = c.fetch_all(&q).await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.ticket_id.is_some())
        .max_by_key(|r| r.created_at))
}

/// The email record of a ticket, oldest first (for References and the reply path).
pub async fn ticket_records(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
    limit: i64,
) -> Result<Vec<EmailRecord>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {REC_COLS} FROM email_messages WHERE workspace_id = $1 AND ticket_id = $2 \
             ORDER BY created_at, header_id LIMIT $3"
        ))
        .bind(ws)
        .bind(ticket)
        .bind(limit),
    )
    .await
}

/// How many automatic replies went to `address` since `since`.
pub async fn autoreplies_since(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    address: &str,
    since: Timestamp,
) -> Result<i64, StoreError> {
    c.fetch_one(
        &query("SELECT COUNT(*) FROM email_autoreplies WHERE workspace_id = $1 AND address = $2 AND sent_at >= $3")
            .bind(ws)
            .bind(address)
            .bind(since),
    )
    .await
}

pub async fn note_autoreply(
    tx: &mut Tx,
    ws: WorkspaceId,
    address: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    let q =
        query("INSERT INTO email_autoreplies (workspace_id, address, sent_at) VALUES ($1, $2, $3)")
            .bind(ws)
            .bind(address)
            .bind(at);
    tx.conn().execute(&q).await.map(|_| ())
}

/// Inbound emails recorded in every workspace (benchmarks verify with it).
pub async fn count_inbound_all(c: &mut Conn<'_>) -> Result<i64, StoreError> {
    c.fetch_one(&query(
        "SELECT COUNT(*) FROM email_messages WHERE direction = 'in'",
    ))
    .await
}
