//! Trends: tickets per topic key over time, and the spikes raised
//! (`domain::trend`). Written by the `trends` consumer.

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::{TicketId, TrendId, WorkspaceId};

/// Records that `ticket` became about `key` at `at` (a tag taken off and
/// put back counts again); false when that exact hit is known.
pub async fn hit(
    tx: &mut Tx,
    ws: WorkspaceId,
    key: &str,
    at: i64,
    ticket: TicketId,
) -> Result<bool, StoreError> {
    let n = tx
        .conn()
        .execute(
            &query(
                "INSERT INTO trend_hits (workspace_id, key, at, ticket_id) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(ws)
            .bind(key)
            .bind(at)
            .bind(ticket),
        )
        .await?;
    Ok(n > 0)
}

/// Deletes up to `limit` hits before `before` (any workspace); how many.
pub async fn prune(tx: &mut Tx, before: i64, limit: i64) -> Result<u64, StoreError> {
    tx.conn()
        .execute(
            &query(
                "DELETE FROM trend_hits WHERE (workspace_id, key, at, ticket_id) IN \
                 (SELECT workspace_id, key, at, ticket_id FROM trend_hits WHERE at < $1 LIMIT $2)",
            )
            .bind(before)
            .bind(limit),
        )
        .await
}

/// Tickets about `key` in `from..to`.
pub async fn count(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    key: &str,
    from: i64,
    to: i64,
) -> Result<i64, StoreError> {
    c.fetch_one(
        &query(
            "SELECT COUNT(*) FROM trend_hits WHERE workspace_id = $1 AND key = $2 AND at >= $3 AND at < $4",
        )
        .bind(ws)
        .bind(key)
        .bind(from)
        .bind(to),
    )
    .await
}

/// The newest tickets about `key` in `from..to`.
pub async fn examples(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    key: &str,
    (from, to): (i64, i64),
    limit: i64,
) -> Result<Vec<TicketId>, StoreError> {
    let ids: Vec<uuid::Uuid> = c
        .fetch_all(
            &query(
                "SELECT ticket_id FROM trend_hits WHERE workspace_id = $1 AND key = $2 AND at >= $3 \
                 AND at < $4 ORDER BY at DESC LIMIT $5",
            )
            .bind(ws)
            .bind(key)
            .bind(from)
            .bind(to)
            .bind(limit),
        )
        .await?;
    Ok(ids.into_iter().map(TicketId::from).collect())
}

/// A spike raised.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub id: TrendId,
    pub workspace_id: WorkspaceId,
    /// `category:…`, `tag:…` or `term:…`.
    pub key: String,
    pub observed: i64,
    pub expected: f64,
    pub p_value: f64,
    pub window_from: Timestamp,
    pub window_to: Timestamp,
    pub ticket_ids: Vec<TicketId>,
    pub created_at: Timestamp,
}

const COLS: &str = "id, workspace_id, key, observed, expected, p_value, window_from, window_to, ticket_ids, created_at";

impl FromRow for Alert {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let ids: String = r.get(8)?;
        Ok(Alert {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            key: r.get(2)?,
            observed: r.get(3)?,
            expected: r.get(4)?,
            p_value: r.get(5)?,
            window_from: r.time(6)?,
            window_to: r.time(7)?,
            ticket_ids: serde_json::from_str(&ids)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            created_at: r.time(9)?,
        })
    }
}

/// When `key` last raised an alert at or after `since`.
pub async fn alerted_since(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    key: &str,
    since: i64,
) -> Result<bool, StoreError> {
    let n: i64 = c
        .fetch_one(
            &query(
                "SELECT COUNT(*) FROM trend_alerts WHERE workspace_id = $1 AND key = $2 AND window_to >= $3",
            )
            .bind(ws)
            .bind(key)
            .bind(since),
        )
        .await?;
    Ok(n > 0)
}

pub async fn insert_alert(tx: &mut Tx, a: &Alert) -> Result<(), StoreError> {
    let ids =
        serde_json::to_string(&a.ticket_ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.conn()
        .execute(
            &query(format!(
                "INSERT INTO trend_alerts ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ))
            .bind(a.id)
            .bind(a.workspace_id)
            .bind(a.key.as_str())
            .bind(a.observed)
            .bind(a.expected)
            .bind(a.p_value)
            .bind(a.window_from)
            .bind(a.window_to)
            .bind(ids)
            .bind(a.created_at),
        )
        .await
        .map(|_| ())
}

/// Alerts raised at or after `since`, newest first.
pub async fn alerts(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    since: i64,
    limit: i64,
) -> Result<Vec<Alert>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM trend_alerts WHERE workspace_id = $1 AND window_to >= $2 \
             ORDER BY window_to DESC LIMIT $3"
        ))
        .bind(ws)
        .bind(since)
        .bind(limit),
    )
    .await
}
