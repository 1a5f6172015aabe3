//! Channel accounts (a mailbox is one kind) and the per-account record of every
//! message seen or sent through them: the exactly-once record of ingest, the
//! index threading looks references up in, and where delivery reports find our
//! messages.

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;
use domain::ticket::Channel;

/// One way a workspace is reached, with its inbound and outbound settings.
/// `inbound`, `outbound` and `settings` are JSON documents owned by the engine;
/// `secrets` is sealed (never plain text); `state` is the transport's position.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub workspace_id: WorkspaceId,
    pub kind: Channel,
    pub name: String,
    pub address: String,
    pub inbound_kind: String,
    pub inbound: serde_json::Value,
    pub outbound: Option<serde_json::Value>,
    pub secrets: Option<Vec<u8>>,
    pub settings: serde_json::Value,
    pub state: serde_json::Value,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLS: &str = "id, workspace_id, kind, name, address, inbound_kind, inbound, outbound, secrets, settings, state, active, created_at, updated_at";

fn json_col(r: &Row<'_>, i: usize) -> Result<serde_json::Value, StoreError> {
    r.json(i)
}

impl FromRow for Account {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let outbound: Option<String> = r.get(7)?;
        Ok(Account {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            kind: r.parse(2, Channel::parse)?,
            name: r.get(3)?,
            address: r.get(4)?,
            inbound_kind: r.get(5)?,
            inbound: json_col(r, 6)?,
            outbound: outbound
                .map(|s| serde_json::from_str(&s))
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            secrets: r.get(8)?,
            settings: json_col(r, 9)?,
            state: json_col(r, 10)?,
            active: r.get(11)?,
            created_at: r.time(12)?,
            updated_at: r.time(13)?,
        })
    }
}

pub async fn insert(tx: &mut Tx, m: &Account) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO channel_accounts ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(m.id)
    .bind(m.workspace_id)
    .bind(m.kind.as_str())
    .bind(&m.name)
    .bind(&m.address)
    .bind(&m.inbound_kind)
    .bind(m.inbound.to_string())
    .bind(m.outbound.as_ref().map(|o| o.to_string()))
    .bind(m.secrets.clone())
    .bind(m.settings.to_string())
    .bind(m.state.to_string())
    .bind(m.active)
    .bind(m.created_at)
    .bind(m.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn update(tx: &mut Tx, m: &Account) -> Result<(), StoreError> {
    let q = query(
        "UPDATE channel_accounts SET name = $3, address = $4, inbound_kind = $5, inbound = $6, outbound = $7, \
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

/// Saves a transport's position (an IMAP poller's UIDVALIDITY and last UID).
pub async fn set_state(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: AccountId,
    state: &serde_json::Value,
) -> Result<(), StoreError> {
    let q = query("UPDATE channel_accounts SET state = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .bind(state.to_string());
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: AccountId,
) -> Result<Option<Account>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM channel_accounts WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// The workspace's accounts of one kind.
pub async fn list(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    kind: Channel,
) -> Result<Vec<Account>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM channel_accounts WHERE workspace_id = $1 AND kind = $2 ORDER BY id"
        ))
        .bind(ws)
        .bind(kind.as_str()),
    )
    .await
}

/// Every active account of one kind on the server (for the transports that
/// serve them all).
pub async fn all_active(c: &mut Conn<'_>, kind: Channel) -> Result<Vec<Account>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM channel_accounts WHERE active = $1 AND kind = $2 ORDER BY id"
        ))
        .bind(true)
        .bind(kind.as_str()),
    )
    .await
}

/// An account by id, in whichever workspace it is: only for webhooks, whose
/// path names the account and whose secret (checked by the caller) proves the
/// caller is the provider.
pub async fn by_id_any_workspace(
    c: &mut Conn<'_>,
    id: AccountId,
) -> Result<Option<Account>, StoreError> {
    c.fetch_optional(&query(format!("SELECT {COLS} FROM channel_accounts WHERE id = $1")).bind(id))
        .await
}

/// The account of one kind that owns an address, across workspaces (addresses
/// are unique per kind).
pub async fn by_address(
    c: &mut Conn<'_>,
    kind: Channel,
    address: &str,
) -> Result<Option<Account>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM channel_accounts WHERE kind = $1 AND address = $2"
        ))
        .bind(kind.as_str())
        .bind(address),
    )
    .await
}

/// One message seen or sent through an account.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub workspace_id: WorkspaceId,
    pub account_id: AccountId,
    /// The channel's own id of the message (an email's Message-ID).
    pub external_id: String,
    pub message_id: Option<MessageId>,
    pub ticket_id: Option<TicketId>,
    /// `in` or `out`.
    pub direction: String,
    pub outcome: String,
    /// The correspondent: the sender of inbound mail, the recipient of outbound.
    pub address: Option<String>,
    pub raw_sha256: Option<String>,
    /// When the sender says it was sent.
    pub sent_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

const REC_COLS: &str = "workspace_id, account_id, external_id, message_id, ticket_id, direction, outcome, address, raw_sha256, created_at, sent_at";

impl FromRow for Record {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Record {
            workspace_id: r.id(0)?,
            account_id: r.id(1)?,
            external_id: r.get(2)?,
            message_id: r.id_opt(3)?,
            ticket_id: r.id_opt(4)?,
            direction: r.get(5)?,
            outcome: r.get(6)?,
            address: r.get(7)?,
            raw_sha256: r.get(8)?,
            created_at: r.time(9)?,
            sent_at: r.time_opt(10)?,
        })
    }
}

pub async fn insert_record(tx: &mut Tx, e: &Record) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO channel_messages ({REC_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(e.workspace_id)
    .bind(e.account_id)
    .bind(&e.external_id)
    .bind(e.message_id)
    .bind(e.ticket_id)
    .bind(&e.direction)
    .bind(&e.outcome)
    .bind(e.address.clone())
    .bind(e.raw_sha256.clone())
    .bind(e.created_at)
    .bind(e.sent_at);
    tx.conn().execute(&q).await.map(|_| ())
}

/// The record of `external_id` in one account.
pub async fn record(
    c: &mut Conn<'_>,
    account: AccountId,
    external_id: &str,
) -> Result<Option<Record>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {REC_COLS} FROM channel_messages WHERE account_id = $1 AND external_id = $2"
        ))
        .bind(account)
        .bind(external_id),
    )
    .await
}

/// The record of one message in one direction (`in` or `out`): how its channel
/// names it and who the correspondent was.
pub async fn message_record(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    message: MessageId,
    direction: &str,
) -> Result<Option<Record>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {REC_COLS} FROM channel_messages WHERE workspace_id = $1 AND message_id = $2 AND direction = $3"
        ))
        .bind(ws)
        .bind(message)
        .bind(direction),
    )
    .await
}

/// The newest record, in any account of the workspace, of any of `external_ids`
/// that belongs to a ticket.
pub async fn first_with_ticket(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    external_ids: &[String],
) -> Result<Option<Record>, StoreError> {
    if external_ids.is_empty() {
        return Ok(None);
    }
    // No ORDER BY in SQL: SQLite would then walk the (workspace, ticket, time)
    // index over the whole table instead of looking the ids up; the few matches
    // are ranked here.
    let q = query(format!(
        "SELECT {REC_COLS} FROM channel_messages WHERE workspace_id = $1 AND external_id IN ("
    ))
    .bind(ws);
    let q = q
        .bind_list(external_ids.iter().map(String::as_str))
        .push(")");
    let rows: Vec<Record> = c.fetch_all(&q).await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.ticket_id.is_some())
        .max_by_key(|r| r.created_at))
}

/// Every record of one message in one direction (a reply sent in parts has
/// one per part), oldest first.
pub async fn message_records(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    message: MessageId,
    direction: &str,
) -> Result<Vec<Record>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {REC_COLS} FROM channel_messages WHERE workspace_id = $1 AND message_id = $2 AND direction = $3 \
             ORDER BY created_at, external_id"
        ))
        .bind(ws)
        .bind(message)
        .bind(direction),
    )
    .await
}

/// The newest inbound record of a ticket that names its sender: where a
/// messenger's reply goes.
pub async fn last_inbound(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
) -> Result<Option<Record>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {REC_COLS} FROM channel_messages WHERE workspace_id = $1 AND ticket_id = $2 \
             AND direction = 'in' AND address IS NOT NULL ORDER BY created_at DESC, external_id DESC LIMIT 1"
        ))
        .bind(ws)
        .bind(ticket),
    )
    .await
}

/// The channel record of a ticket, oldest first (for References and the reply path).
pub async fn ticket_records(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
    limit: i64,
) -> Result<Vec<Record>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {REC_COLS} FROM channel_messages WHERE workspace_id = $1 AND ticket_id = $2 \
             ORDER BY created_at, external_id LIMIT $3"
        ))
        .bind(ws)
        .bind(ticket)
        .bind(limit),
    )
    .await
}

/// Inbound messages of one kind recorded in every workspace (benchmarks verify
/// with it).
pub async fn count_inbound_all(c: &mut Conn<'_>, kind: Channel) -> Result<i64, StoreError> {
    c.fetch_one(
        &query(
            "SELECT COUNT(*) FROM channel_messages m JOIN channel_accounts a ON a.id = m.account_id \
             WHERE m.direction = 'in' AND a.kind = $1",
        )
        .bind(kind.as_str()),
    )
    .await
}

/// A message kept without a sender to answer, waiting for an admin.
#[derive(Clone, Debug, PartialEq)]
pub struct Held {
    pub id: HeldId,
    pub workspace_id: WorkspaceId,
    pub account_id: AccountId,
    pub external_id: String,
    pub subject: String,
    pub reason: String,
    pub raw_sha256: String,
    pub created_at: Timestamp,
}

const HELD_COLS: &str =
    "id, workspace_id, account_id, external_id, subject, reason, raw_sha256, created_at";

impl FromRow for Held {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Held {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            account_id: r.id(2)?,
            external_id: r.get(3)?,
            subject: r.get(4)?,
            reason: r.get(5)?,
            raw_sha256: r.get(6)?,
            created_at: r.time(7)?,
        })
    }
}

pub async fn insert_held(tx: &mut Tx, h: &Held) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO held_messages ({HELD_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(h.id)
    .bind(h.workspace_id)
    .bind(h.account_id)
    .bind(&h.external_id)
    .bind(&h.subject)
    .bind(&h.reason)
    .bind(&h.raw_sha256)
    .bind(h.created_at);
    tx.conn().execute(&q).await.map(|_| ())
}

/// The held copy of one message of an account, if any.
pub async fn held_by_external(
    c: &mut Conn<'_>,
    account: AccountId,
    external_id: &str,
) -> Result<Option<Held>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {HELD_COLS} FROM held_messages WHERE account_id = $1 AND external_id = $2"
        ))
        .bind(account)
        .bind(external_id),
    )
    .await
}

pub async fn held(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    account: AccountId,
    id: HeldId,
) -> Result<Option<Held>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {HELD_COLS} FROM held_messages WHERE workspace_id = $1 AND account_id = $2 AND id = $3"
        ))
        .bind(ws)
        .bind(account)
        .bind(id),
    )
    .await
}

/// An account's held messages, oldest first, at most `limit`.
pub async fn list_held(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    account: AccountId,
    limit: i64,
) -> Result<Vec<Held>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {HELD_COLS} FROM held_messages WHERE workspace_id = $1 AND account_id = $2 \
             ORDER BY created_at, id LIMIT $3"
        ))
        .bind(ws)
        .bind(account)
        .bind(limit),
    )
    .await
}

/// Removes a held message; `false` when there was none.
pub async fn delete_held(tx: &mut Tx, ws: WorkspaceId, id: HeldId) -> Result<bool, StoreError> {
    let q = query("DELETE FROM held_messages WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id);
    Ok(tx.conn().execute(&q).await? > 0)
}

/// Clears the held copy of a message once it was ticketed.
pub async fn release_held(
    tx: &mut Tx,
    account: AccountId,
    external_id: &str,
) -> Result<(), StoreError> {
    let q = query("DELETE FROM held_messages WHERE account_id = $1 AND external_id = $2")
        .bind(account)
        .bind(external_id);
    tx.conn().execute(&q).await.map(|_| ())
}

/// A page of the workspace's held messages (every mailbox) after `after`, by id.
pub async fn held_page(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    after: Option<HeldId>,
    limit: i64,
) -> Result<Vec<Held>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {HELD_COLS} FROM held_messages WHERE workspace_id = $1 \
             AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3"
        ))
        .bind(ws)
        .bind(after)
        .bind(limit),
    )
    .await
}
