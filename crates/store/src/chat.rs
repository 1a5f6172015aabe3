//! Chat visitors (people talking through a widget) and what they may read: the
//! public messages of their own conversations.

use crate::tickets::Message;
use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;

/// One browser (or app install) talking through a widget.
#[derive(Clone, Debug, PartialEq)]
pub struct Visitor {
    pub id: VisitorId,
    pub workspace_id: WorkspaceId,
    pub account_id: AccountId,
    pub customer_id: CustomerId,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub lang: Option<String>,
    /// The site's own id for this person, when the site vouched for it.
    pub external_user_id: Option<String>,
    pub page_url: Option<String>,
    pub page_title: Option<String>,
    pub last_seen_at: Timestamp,
    pub created_at: Timestamp,
}

const COLS: &str = "id, workspace_id, account_id, customer_id, name, email, phone, lang, external_user_id, \
                    page_url, page_title, last_seen_at, created_at";

impl FromRow for Visitor {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Visitor {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            account_id: r.id(2)?,
            customer_id: r.id(3)?,
            name: r.get(4)?,
            email: r.get(5)?,
            phone: r.get(6)?,
            lang: r.get(7)?,
            external_user_id: r.get(8)?,
            page_url: r.get(9)?,
            page_title: r.get(10)?,
            last_seen_at: r.time(11)?,
            created_at: r.time(12)?,
        })
    }
}

pub async fn insert_visitor(tx: &mut Tx, v: &Visitor, token_hash: &[u8]) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO chat_visitors ({COLS}, token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(v.id)
    .bind(v.workspace_id)
    .bind(v.account_id)
    .bind(v.customer_id)
    .bind(v.name.clone())
    .bind(v.email.clone())
    .bind(v.phone.clone())
    .bind(v.lang.clone())
    .bind(v.external_user_id.clone())
    .bind(v.page_url.clone())
    .bind(v.page_title.clone())
    .bind(v.last_seen_at)
    .bind(v.created_at)
    .bind(token_hash.to_vec());
    tx.conn().execute(&q).await.map(|_| ())
}

/// Saves what a visitor told about themselves and where they are.
pub async fn update_visitor(tx: &mut Tx, v: &Visitor) -> Result<(), StoreError> {
    let q = query(
        "UPDATE chat_visitors SET customer_id = $3, name = $4, email = $5, phone = $6, lang = $7, \
         external_user_id = $8, page_url = $9, page_title = $10, last_seen_at = $11 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(v.workspace_id)
    .bind(v.id)
    .bind(v.customer_id)
    .bind(v.name.clone())
    .bind(v.email.clone())
    .bind(v.phone.clone())
    .bind(v.lang.clone())
    .bind(v.external_user_id.clone())
    .bind(v.page_url.clone())
    .bind(v.page_title.clone())
    .bind(v.last_seen_at);
    tx.conn().execute(&q).await.map(|_| ())
}

/// The visitor holding a token (by its hash), on one account.
pub async fn visitor_by_token(
    c: &mut Conn<'_>,
    account: AccountId,
    token_hash: &[u8],
) -> Result<Option<Visitor>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM chat_visitors WHERE token_hash = $1 AND account_id = $2"
        ))
        .bind(token_hash.to_vec())
        .bind(account),
    )
    .await
}

pub async fn visitor(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: VisitorId,
) -> Result<Option<Visitor>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM chat_visitors WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// The chat visitors behind a customer (the agent's sidebar: where they are).
pub async fn visitors_of(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
) -> Result<Vec<Visitor>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM chat_visitors WHERE workspace_id = $1 AND customer_id = $2 \
             ORDER BY last_seen_at DESC LIMIT 20"
        ))
        .bind(ws)
        .bind(customer),
    )
    .await
}

/// The tickets a visitor's messages went to, newest first.
pub async fn conversations(
    c: &mut Conn<'_>,
    account: AccountId,
    visitor: VisitorId,
) -> Result<Vec<TicketId>, StoreError> {
    let rows: Vec<(uuid::Uuid, i64)> = c
        .fetch_all(
            &query(
                "SELECT ticket_id, MAX(created_at) AS last FROM channel_messages \
                 WHERE account_id = $1 AND address = $2 AND ticket_id IS NOT NULL \
                 GROUP BY ticket_id ORDER BY last DESC LIMIT 100",
            )
            .bind(account)
            .bind(visitor.to_string()),
        )
        .await?;
    Ok(rows.into_iter().map(|(t, _)| TicketId(t)).collect())
}

/// The visitor whose messages opened a ticket, if a visitor's did.
pub async fn visitor_of_ticket(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
) -> Result<Option<VisitorId>, StoreError> {
    let row: Option<Option<String>> = c
        .fetch_optional(
            &query(
                "SELECT r.address FROM channel_messages r JOIN channel_accounts a ON a.id = r.account_id \
                 WHERE r.workspace_id = $1 AND r.ticket_id = $2 AND a.kind = 'chat' AND r.direction = 'in' \
                 ORDER BY r.created_at LIMIT 1",
            )
            .bind(ws)
            .bind(ticket),
        )
        .await?;
    Ok(row
        .flatten()
        .and_then(|a| a.parse::<uuid::Uuid>().ok())
        .map(VisitorId))
}

/// The public messages of a visitor's conversations after `after`, oldest
/// first: everything but internal notes.
pub async fn visible_messages(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    tickets: &[TicketId],
    after: Option<MessageId>,
    limit: i64,
) -> Result<Vec<Message>, StoreError> {
    let mut out = Vec::new();
    for t in tickets {
        let mut page = crate::tickets::messages(c, ws, *t, after, limit).await?;
        page.retain(|m| m.visibility == domain::ticket::Visibility::Public);
        out.append(&mut page);
    }
    out.sort_by_key(|m| m.id);
    out.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(out)
}

/// A customer's tickets that came in through one account, newest first.
pub async fn customer_conversations(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
    account: AccountId,
) -> Result<Vec<TicketId>, StoreError> {
    let rows: Vec<uuid::Uuid> = c
        .fetch_all(
            &query(
                "SELECT id FROM tickets WHERE workspace_id = $1 AND customer_id = $2 AND account_id = $3 \
                 ORDER BY created_at DESC LIMIT 100",
            )
            .bind(ws)
            .bind(customer)
            .bind(account),
        )
        .await?;
    Ok(rows.into_iter().map(TicketId).collect())
}

/// Agents whose presence is `online`.
pub async fn agents_online(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<i64, StoreError> {
    c.fetch_one(
        &query("SELECT COUNT(*) FROM users WHERE workspace_id = $1 AND active = $2 AND presence = 'online'")
            .bind(ws)
            .bind(true),
    )
    .await
}

/// Milliseconds from a chat's start to its first public agent reply, for the
/// newest chats (at most 500) on an account since `since`.
pub async fn first_reply_waits(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    account: AccountId,
    since: Timestamp,
) -> Result<Vec<i64>, StoreError> {
    let rows: Vec<Option<i64>> = c
        .fetch_all(
            &query(
                "SELECT (SELECT MIN(m.created_at) FROM messages m WHERE m.workspace_id = t.workspace_id \
                 AND m.ticket_id = t.id AND m.author_kind = 'agent' AND m.visibility = 'public') - t.created_at \
                 FROM tickets t WHERE t.workspace_id = $1 AND t.account_id = $2 AND t.created_at >= $3 \
                 ORDER BY t.created_at DESC LIMIT 500",
            )
            .bind(ws)
            .bind(account)
            .bind(since),
        )
        .await?;
    Ok(rows.into_iter().flatten().filter(|w| *w >= 0).collect())
}

/// Users' names by id (who wrote a reply, as a visitor sees it).
pub async fn user_names(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ids: &[UserId],
) -> Result<std::collections::HashMap<UserId, String>, StoreError> {
    let mut out = std::collections::HashMap::new();
    let mut unique: Vec<UserId> = ids.to_vec();
    unique.sort();
    unique.dedup();
    for id in unique {
        let name: Option<String> = c
            .fetch_optional(
                &query("SELECT name FROM users WHERE workspace_id = $1 AND id = $2")
                    .bind(ws)
                    .bind(id),
            )
            .await?;
        if let Some(n) = name {
            out.insert(id, n);
        }
    }
    Ok(out)
}

/// The chat visitors a customer was, newest first, at most `limit`.
pub async fn visitors_of_customer(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
    limit: i64,
) -> Result<Vec<Visitor>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM chat_visitors WHERE workspace_id = $1 AND customer_id = $2 \
             ORDER BY created_at DESC, id DESC LIMIT $3"
        ))
        .bind(ws)
        .bind(customer)
        .bind(limit),
    )
    .await
}
