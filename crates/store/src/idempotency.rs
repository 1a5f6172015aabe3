//! Stored answers to creating requests that carried an `Idempotency-Key`, so that a
//! client's retry gets the first result instead of a second object.

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::ids::WorkspaceId;

/// The answer given the first time.
#[derive(Clone, Debug, PartialEq)]
pub struct Saved {
    pub request_hash: Vec<u8>,
    pub status: i64,
    pub body: String,
}

impl FromRow for Saved {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Saved {
            request_hash: r.get(0)?,
            status: r.get(1)?,
            body: r.get(2)?,
        })
    }
}

pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    key: &str,
) -> Result<Option<Saved>, StoreError> {
    c.fetch_optional(&query("SELECT request_hash, status, body FROM idempotency_keys WHERE workspace_id = $1 AND key = $2").bind(ws).bind(key)).await
}

/// Saves the answer in the creating transaction; `Conflict` if a concurrent request
/// with the same key got there first (its transaction then rolls back).
pub async fn put(tx: &mut Tx, ws: WorkspaceId, key: &str, s: &Saved) -> Result<(), StoreError> {
    let now = tx.now();
    let q = query("INSERT INTO idempotency_keys (workspace_id, key, request_hash, status, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(ws)
        .bind(key)
        .bind(s.request_hash.as_slice())
        .bind(s.status)
        .bind(&s.body)
        .bind(now);
    tx.conn().execute(&q).await.map(|_| ())
}
