//! Report digests: a workspace's choice of weekly and monthly summaries, and
//! the digests sent (one row per period, so a digest goes out once however
//! many jobs reach it).

use crate::{Conn, StoreError, Tx, query};
use domain::Timestamp;
use domain::digest::{DigestPeriod, DigestSettings};
use domain::ids::*;

pub async fn settings(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<DigestSettings, StoreError> {
    let raw: Option<String> = c
        .fetch_optional(
            &query("SELECT settings FROM report_settings WHERE workspace_id = $1").bind(ws),
        )
        .await?;
    Ok(raw
        .map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()?
        .unwrap_or_default())
}

pub async fn save_settings(
    tx: &mut Tx,
    ws: WorkspaceId,
    s: &DigestSettings,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(s).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.conn()
        .execute(
            &query(
                "INSERT INTO report_settings (workspace_id, settings) VALUES ($1, $2) \
                 ON CONFLICT (workspace_id) DO UPDATE SET settings = excluded.settings",
            )
            .bind(ws)
            .bind(json),
        )
        .await
        .map(|_| ())
}

/// Claims the digest of the period starting on `start` (a local date);
/// `false` when it was claimed before.
pub async fn claim(
    tx: &mut Tx,
    ws: WorkspaceId,
    period: DigestPeriod,
    start: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let q = query(
        "INSERT INTO report_digests (workspace_id, period, start_day, at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(ws)
    .bind(period.as_str())
    .bind(start)
    .bind(at);
    Ok(tx.conn().execute(&q).await? > 0)
}
