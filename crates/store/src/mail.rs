//! The email channel's own table: automatic replies sent per address, for the
//! per-sender limit that keeps two autoresponders from mailing each other forever.

use crate::{Conn, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;

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
