//! Tracked short links and their counted clicks (`domain::links`).

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;
use uuid::Uuid;

/// A link as kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRow {
    pub id: LinkId,
    pub workspace_id: WorkspaceId,
    pub code: String,
    pub target: String,
    pub campaign: Option<String>,
    pub name: Option<String>,
    /// The one customer the link was made for.
    pub customer_id: Option<CustomerId>,
    pub clicks: i64,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

const COLS: &str = "id, workspace_id, code, target, campaign, name, customer_id, clicks, \
                    created_by, created_at, disabled_at";

impl FromRow for LinkRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(LinkRow {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            code: r.get(2)?,
            target: r.get(3)?,
            campaign: r.get(4)?,
            name: r.get(5)?,
            customer_id: r.id_opt(6)?,
            clicks: r.get(7)?,
            created_by: r.id_opt(8)?,
            created_at: r.time(9)?,
            disabled_at: r.time_opt(10)?,
        })
    }
}

/// Adds a link unless its code is taken (by any workspace); whether it was added.
pub async fn insert(tx: &mut Tx, l: &LinkRow) -> Result<bool, StoreError> {
    let n = tx
        .conn()
        .execute(
            &query(format!(
                "INSERT INTO links ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (code) DO NOTHING"
            ))
            .bind(l.id)
            .bind(l.workspace_id)
            .bind(l.code.as_str())
            .bind(l.target.as_str())
            .bind(l.campaign.as_deref())
            .bind(l.name.as_deref())
            .bind(l.customer_id)
            .bind(l.clicks)
            .bind(l.created_by)
            .bind(l.created_at)
            .bind(l.disabled_at),
        )
        .await?;
    Ok(n > 0)
}

/// The link a code names, in whichever workspace (the redirect knows only the code).
pub async fn by_code(c: &mut Conn<'_>, code: &str) -> Result<Option<LinkRow>, StoreError> {
    c.fetch_optional(&query(format!("SELECT {COLS} FROM links WHERE code = $1")).bind(code))
        .await
}

pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: LinkId,
) -> Result<Option<LinkRow>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM links WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// The workspace's links, newest first, of one campaign when given, older
/// than `before` (the last of the previous page).
pub async fn list(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    campaign: Option<&str>,
    before: Option<(Timestamp, LinkId)>,
    limit: i64,
) -> Result<Vec<LinkRow>, StoreError> {
    let (at, id) = match before {
        Some((at, id)) => (Some(at.millis()), Some(id)),
        None => (None, None),
    };
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM links WHERE workspace_id = $1 \
             AND ($2 IS NULL OR campaign = $2) \
             AND ($3 IS NULL OR created_at < $3 OR (created_at = $3 AND id < $4)) \
             ORDER BY created_at DESC, id DESC LIMIT $5"
        ))
        .bind(ws)
        .bind(campaign)
        .bind(at)
        .bind(id)
        .bind(limit),
    )
    .await
}

/// Stops a link leading anywhere; whether it was live.
pub async fn disable(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: LinkId,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let n = tx
        .conn()
        .execute(
            &query(
                "UPDATE links SET disabled_at = $3 WHERE workspace_id = $1 AND id = $2 \
                 AND disabled_at IS NULL",
            )
            .bind(ws)
            .bind(id)
            .bind(at),
        )
        .await?;
    Ok(n > 0)
}

/// A click to count.
#[derive(Clone, Debug)]
pub struct ClickRow {
    pub id: Uuid,
    pub workspace_id: WorkspaceId,
    pub link_id: LinkId,
    pub customer_id: Option<CustomerId>,
    pub client: String,
    pub slot: i64,
    pub at: Timestamp,
}

/// Counts a click unless this client's was counted in the slot already;
/// whether it counted. The link's total goes up with it.
pub async fn insert_click(tx: &mut Tx, k: &ClickRow) -> Result<bool, StoreError> {
    let n = tx
        .conn()
        .execute(
            &query(
                "INSERT INTO link_clicks (workspace_id, id, link_id, customer_id, client, slot, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (link_id, client, slot) DO NOTHING",
            )
            .bind(k.workspace_id)
            .bind(k.id)
            .bind(k.link_id)
            .bind(k.customer_id)
            .bind(k.client.as_str())
            .bind(k.slot)
            .bind(k.at),
        )
        .await?;
    if n == 0 {
        return Ok(false);
    }
    tx.conn()
        .execute(
            &query("UPDATE links SET clicks = clicks + 1 WHERE workspace_id = $1 AND id = $2")
                .bind(k.workspace_id)
                .bind(k.link_id),
        )
        .await?;
    Ok(true)
}

/// A link's clicks per customer, most first (`None`: clicks of no one known).
pub async fn clicks_by_customer(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    link: LinkId,
    limit: i64,
) -> Result<Vec<(Option<CustomerId>, i64)>, StoreError> {
    let rows: Vec<(Option<Uuid>, i64)> = c
        .fetch_all(
            &query(
                "SELECT customer_id, COUNT(*) AS n FROM link_clicks \
                 WHERE workspace_id = $1 AND link_id = $2 \
                 GROUP BY customer_id ORDER BY n DESC, customer_id LIMIT $3",
            )
            .bind(ws)
            .bind(link)
            .bind(limit),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(c, n)| (c.map(CustomerId), n))
        .collect())
}

/// A merge: the merged profile's links and clicks become the target's.
pub async fn move_customer(
    tx: &mut Tx,
    ws: WorkspaceId,
    target: CustomerId,
    source: CustomerId,
) -> Result<(), StoreError> {
    for table in ["links", "link_clicks"] {
        tx.conn()
            .execute(
                &query(format!(
                    "UPDATE {table} SET customer_id = $2 WHERE workspace_id = $1 AND customer_id = $3"
                ))
                .bind(ws)
                .bind(target)
                .bind(source),
            )
            .await?;
    }
    Ok(())
}
