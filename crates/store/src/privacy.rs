//! Erasing a customer's personal data on request. Every row that holds what
//! they wrote, who they are or how to reach them is blanked or removed; what is
//! counted (ticket states and times, order totals, touchpoint stages and
//! emotions, scores, link clicks) stays, on the emptied profile, so reports
//! keep their numbers.

use crate::{StoreError, Tx, query};
use domain::Timestamp;
use domain::event::EventData;
use domain::ids::*;
use sha2::{Digest, Sha256};

/// What one profile's erasure changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Erased {
    pub identities: u64,
    pub tickets: u64,
    pub messages: u64,
    pub attachments: u64,
    pub orders: u64,
    pub touchpoints: u64,
    pub events: u64,
    pub visitors: u64,
    /// Stored bytes the erased rows named (raw mail, attachments): the caller
    /// removes those that nothing else uses.
    pub blobs: Vec<String>,
    /// The addresses and numbers the profile was known by, and the ids of its
    /// tickets and messages: a queued job or a remembered response that
    /// mentions one goes too (see [`jobs_page`]).
    pub needles: Vec<String>,
}

impl Erased {
    pub fn add(&mut self, o: Erased) {
        self.identities += o.identities;
        self.tickets += o.tickets;
        self.messages += o.messages;
        self.attachments += o.attachments;
        self.orders += o.orders;
        self.touchpoints += o.touchpoints;
        self.events += o.events;
        self.visitors += o.visitors;
        self.blobs.extend(o.blobs);
        self.needles.extend(o.needles);
    }
}

/// The profile's tickets ($1 workspace, $2 customer).
const TICKETS: &str = "(SELECT id FROM tickets WHERE workspace_id = $1 AND customer_id = $2)";
/// Their messages: those in their tickets and those they wrote elsewhere (as a
/// copied participant).
const MESSAGES: &str = "(SELECT id FROM messages WHERE workspace_id = $1 AND \
     (ticket_id IN (SELECT id FROM tickets WHERE workspace_id = $1 AND customer_id = $2) \
      OR author_customer_id = $2))";
/// Events per read while blanking the log.
const EVENT_PAGE: i64 = 500;

async fn run(tx: &mut Tx, ws: WorkspaceId, id: CustomerId, sql: String) -> Result<u64, StoreError> {
    tx.conn().execute(&query(sql).bind(ws).bind(id)).await
}

/// Blanks profile `id`'s personal data in `ws` and marks it erased at `now`.
/// One profile: the caller erases those merged into it as well.
pub async fn erase(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: CustomerId,
    now: Timestamp,
) -> Result<Erased, StoreError> {
    let mut out = Erased::default();
    let ids = |sql: String| query(sql).bind(ws).bind(id);

    // What to look for where rows name them only in free text.
    let identities: Vec<String> = tx
        .conn()
        .fetch_all(&ids(
            "SELECT value FROM customer_identities WHERE workspace_id = $1 AND customer_id = $2"
                .into(),
        ))
        .await?;
    let tickets: Vec<uuid::Uuid> = tx
        .conn()
        .fetch_all(&ids(
            "SELECT id FROM tickets WHERE workspace_id = $1 AND customer_id = $2".into(),
        ))
        .await?;
    let messages: Vec<uuid::Uuid> = tx
        .conn()
        .fetch_all(&ids(format!(
            "SELECT id FROM messages WHERE id IN {MESSAGES}"
        )))
        .await?;
    out.needles.push(id.to_string());
    out.needles.extend(identities.iter().cloned());
    out.needles.extend(tickets.iter().map(|t| t.to_string()));
    out.needles.extend(messages.iter().map(|m| m.to_string()));

    out.blobs = tx
        .conn()
        .fetch_all(&ids(format!(
            "SELECT sha256 FROM attachments WHERE workspace_id = $1 AND message_id IN {MESSAGES}"
        )))
        .await?;
    let raws: Vec<String> = tx
        .conn()
        .fetch_all(&ids(format!(
            "SELECT raw_sha256 FROM channel_messages WHERE workspace_id = $1 \
             AND (ticket_id IN {TICKETS} OR message_id IN {MESSAGES}) AND raw_sha256 IS NOT NULL"
        )))
        .await?;
    out.blobs.extend(raws);

    // The event log first: its rows are found through the tickets' ids.
    out.events = erase_events(tx, ws, id).await?;
    run(
        tx,
        ws,
        id,
        format!(
            "UPDATE webhook_deliveries SET response_body = NULL, error = NULL WHERE workspace_id = $1 \
             AND event_id IN (SELECT id FROM events WHERE workspace_id = $1 \
             AND (customer_id = $2 OR ticket_id IN {TICKETS}))"
        ),
    )
    .await?;

    // Messages and what hangs off them.
    out.attachments = run(
        tx,
        ws,
        id,
        format!("DELETE FROM attachments WHERE workspace_id = $1 AND message_id IN {MESSAGES}"),
    )
    .await?;
    for table in ["triage_labels", "message_templates"] {
        run(
            tx,
            ws,
            id,
            format!("DELETE FROM {table} WHERE workspace_id = $1 AND message_id IN {MESSAGES}"),
        )
        .await?;
    }
    // The channel's own id of a message (a mail's Message-ID names the
    // sender's domain, a messenger's the chat) becomes a digest of itself:
    // still one row per message, no longer readable.
    let records: Vec<(uuid::Uuid, String)> = tx
        .conn()
        .fetch_all(&ids(format!(
            "SELECT account_id, external_id FROM channel_messages WHERE workspace_id = $1 \
             AND (ticket_id IN {TICKETS} OR message_id IN {MESSAGES})"
        )))
        .await?;
    for (account, external) in records {
        let digest = crate::blob::hex(&Sha256::digest(external.as_bytes()));
        tx.conn()
            .execute(
                &query(
                    "UPDATE channel_messages SET address = NULL, raw_sha256 = NULL, external_id = $3 \
                     WHERE account_id = $1 AND external_id = $2",
                )
                .bind(account)
                .bind(external.as_str())
                .bind(format!("erased:{}", &digest[..32])),
            )
            .await?;
    }
    out.messages = run(
        tx,
        ws,
        id,
        format!(
            "UPDATE messages SET body_text = '', body_html = NULL, delivery_error = NULL, \
             external_id = NULL WHERE workspace_id = $1 AND id IN {MESSAGES}"
        ),
    )
    .await?;

    // The tickets and what agents kept beside them.
    for sql in [
        format!("DELETE FROM bot_conversations WHERE workspace_id = $1 AND ticket_id IN {TICKETS}"),
        // The words trend detection counted in their messages.
        format!("DELETE FROM trend_hits WHERE workspace_id = $1 AND ticket_id IN {TICKETS}"),
        format!(
            "UPDATE reminders SET note = '' WHERE workspace_id = $1 AND ticket_id IN {TICKETS}"
        ),
        format!(
            "UPDATE side_messages SET body = '', from_address = NULL, delivery_error = NULL \
             WHERE workspace_id = $1 AND side_id IN (SELECT id FROM side_conversations \
             WHERE workspace_id = $1 AND ticket_id IN {TICKETS})"
        ),
        format!(
            "UPDATE side_conversations SET subject = '', address = NULL \
             WHERE workspace_id = $1 AND ticket_id IN {TICKETS}"
        ),
    ] {
        run(tx, ws, id, sql).await?;
    }
    out.tickets = run(
        tx,
        ws,
        id,
        format!(
            "UPDATE tickets SET subject = '', custom_fields = '{{}}', cc = '[]' \
             WHERE workspace_id = $1 AND id IN {TICKETS}"
        ),
    )
    .await?;

    // Orders keep status, money and items; lose the number, the shop's
    // reference and the shipments (tracking numbers, carriers' scans).
    let orders: Vec<uuid::Uuid> = tx
        .conn()
        .fetch_all(&ids(
            "SELECT id FROM orders WHERE workspace_id = $1 AND customer_id = $2".into(),
        ))
        .await?;
    for o in &orders {
        tx.conn()
            .execute(
                &query(
                    "UPDATE orders SET number = '', external_id = $3, shipments = '[]' \
                     WHERE workspace_id = $1 AND id = $2",
                )
                .bind(ws)
                .bind(*o)
                .bind(format!("erased:{o}")),
            )
            .await?;
    }
    out.orders = orders.len() as u64;

    // The journey keeps kind, stage, emotion and time, and the names of the
    // shop's pages and articles; loses addresses, references, whatever the
    // shop attached, and the names of links (made for this customer, they
    // may name them). The caller rebuilds the journey summary.
    out.touchpoints = run(
        tx,
        ws,
        id,
        "UPDATE touchpoints SET url = NULL, reference = NULL, attributes = '{}', \
         name = CASE WHEN kind = 'link_click' THEN NULL ELSE name END \
         WHERE workspace_id = $1 AND customer_id = $2"
            .into(),
    )
    .await?;
    // A touchpoint's source (what makes a repeat push the same one) may name
    // a parcel's tracking number or the shop's reference: a digest of it keeps
    // it unique and unreadable.
    let sources: Vec<(uuid::Uuid, String)> = tx
        .conn()
        .fetch_all(&ids(
            "SELECT id, source FROM touchpoints WHERE workspace_id = $1 AND customer_id = $2 \
             AND source NOT LIKE 'erased:%'"
                .into(),
        ))
        .await?;
    for (tp, source) in sources {
        let digest = crate::blob::hex(&Sha256::digest(source.as_bytes()));
        tx.conn()
            .execute(
                &query("UPDATE touchpoints SET source = $3 WHERE workspace_id = $1 AND id = $2")
                    .bind(ws)
                    .bind(tp)
                    .bind(format!("erased:{}", &digest[..32])),
            )
            .await?;
    }
    for sql in [
        "UPDATE links SET customer_id = NULL, name = NULL WHERE workspace_id = $1 AND customer_id = $2",
        "UPDATE link_clicks SET customer_id = NULL WHERE workspace_id = $1 AND customer_id = $2",
        "UPDATE surveys SET comment = NULL WHERE workspace_id = $1 AND customer_id = $2",
        "DELETE FROM survey_opt_outs WHERE workspace_id = $1 AND customer_id = $2",
        "DELETE FROM nps_due WHERE workspace_id = $1 AND customer_id = $2",
        "DELETE FROM merge_suggestions WHERE workspace_id = $1 AND (customer_a = $2 OR customer_b = $2)",
    ] {
        run(tx, ws, id, sql.into()).await?;
    }
    out.visitors = run(
        tx,
        ws,
        id,
        "DELETE FROM chat_visitors WHERE workspace_id = $1 AND customer_id = $2".into(),
    )
    .await?;
    for address in &identities {
        tx.conn()
            .execute(
                &query("DELETE FROM email_autoreplies WHERE workspace_id = $1 AND address = $2")
                    .bind(ws)
                    .bind(address.as_str()),
            )
            .await?;
    }
    out.identities = run(
        tx,
        ws,
        id,
        "DELETE FROM customer_identities WHERE workspace_id = $1 AND customer_id = $2".into(),
    )
    .await?;
    tx.conn()
        .execute(
            &query(
                "UPDATE customers SET name = '', notes = '', language = NULL, tags = '[]', \
                 custom_fields = '{}', organization_id = NULL, outreach_opt_out = $3, \
                 erased_at = $4, updated_at = $4 WHERE workspace_id = $1 AND id = $2",
            )
            .bind(ws)
            .bind(id)
            // Nobody to write to any more: proactive messages stop.
            .bind(true)
            .bind(now),
        )
        .await?;
    Ok(out)
}

/// Blanks the personal parts of the events about the profile or its tickets
/// (see [`EventData::erase_personal`]); how many changed.
async fn erase_events(tx: &mut Tx, ws: WorkspaceId, id: CustomerId) -> Result<u64, StoreError> {
    let mut after = 0i64;
    let mut changed = 0;
    loop {
        let page: Vec<(i64, String, String)> = tx
            .conn()
            .fetch_all(
                &query(format!(
                    "SELECT id, kind, data FROM events WHERE workspace_id = $1 \
                     AND (customer_id = $2 OR ticket_id IN {TICKETS}) AND id > $3 \
                     ORDER BY id LIMIT $4"
                ))
                .bind(ws)
                .bind(id)
                .bind(after)
                .bind(EVENT_PAGE),
            )
            .await?;
        let full = page.len() as i64 == EVENT_PAGE;
        for (event, kind, data) in page {
            after = event;
            let corrupt = |e: String| StoreError::Corrupt(format!("event {event}: {e}"));
            let data = serde_json::from_str(&data).map_err(|e| corrupt(e.to_string()))?;
            let mut e = EventData::from_stored(&kind, data).map_err(|e| corrupt(e.to_string()))?;
            if !e.erase_personal() {
                continue;
            }
            let (_, data) = e.to_stored().map_err(|e| corrupt(e.to_string()))?;
            tx.conn()
                .execute(
                    &query("UPDATE events SET data = $2 WHERE id = $1")
                        .bind(event)
                        .bind(data.to_string()),
                )
                .await?;
            changed += 1;
        }
        if !full {
            return Ok(changed);
        }
    }
}

/// A page of the workspace's jobs that no worker holds, after job `after`:
/// (id, payload). Erasure reads them to find those that name an erased
/// customer.
pub async fn jobs_page(
    c: &mut crate::Conn<'_>,
    ws: WorkspaceId,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    c.fetch_all(
        &query(
            "SELECT id, payload FROM jobs WHERE workspace_id = $1 AND state <> 'running' \
             AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(ws)
        .bind(after)
        .bind(limit),
    )
    .await
}

/// Removes jobs (that no worker took meanwhile).
pub async fn delete_jobs(tx: &mut Tx, ids: &[i64]) -> Result<u64, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let q = query("DELETE FROM jobs WHERE state <> 'running' AND id IN (")
        .bind_list(ids.iter().copied())
        .push(")");
    tx.conn().execute(&q).await
}

/// A page of the workspace's remembered responses (idempotency keys) after
/// `after`: (key, body).
pub async fn responses_page(
    c: &mut crate::Conn<'_>,
    ws: WorkspaceId,
    after: &str,
    limit: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    c.fetch_all(
        &query(
            "SELECT key, body FROM idempotency_keys WHERE workspace_id = $1 AND key > $2 \
             ORDER BY key LIMIT $3",
        )
        .bind(ws)
        .bind(after)
        .bind(limit),
    )
    .await
}

/// Forgets remembered responses: a retry with one of these keys runs anew.
pub async fn delete_responses(
    tx: &mut Tx,
    ws: WorkspaceId,
    keys: &[String],
) -> Result<u64, StoreError> {
    if keys.is_empty() {
        return Ok(0);
    }
    let q = query("DELETE FROM idempotency_keys WHERE workspace_id = $1 AND key IN (")
        .bind(ws)
        .bind_list(keys.iter().map(String::as_str))
        .push(")");
    tx.conn().execute(&q).await
}
