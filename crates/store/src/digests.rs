//! Report digests: a workspace's choice of weekly and monthly summaries, and
//! the digests sent (one row per period, so a digest goes out once however
//! many jobs reach it).

use crate::{Conn, StoreError, Tx, query};
use domain::Timestamp;
use domain::digest::{DigestPeriod, DigestSettings};
use domain::ids::*;

pub async fn settings(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<DigestSettings, StoreError> {
    crate::settings::read(c, crate::settings::Table::Report, ws).await
}

pub async fn save_settings(
    tx: &mut Tx,
    ws: WorkspaceId,
    s: &DigestSettings,
) -> Result<(), StoreError> {
    crate::settings::write(tx, crate::settings::Table::Report, ws, s).await
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
