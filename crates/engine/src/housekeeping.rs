//! Housekeeping: what no request asks for but a server that runs for months needs.
//! Runs from the job worker's loop, on every node; each step is idempotent, so two
//! nodes doing it at once only repeat each other's work.

use crate::{Engine, EngineError};
use std::collections::BTreeSet;
use std::time::Duration;
use store::{StoreError, tickets};

/// An upload that no message took within a day is collected (a reply that was
/// refused, a draft abandoned).
pub const UNATTACHED_TTL: Duration = Duration::from_secs(24 * 3600);
/// Bytes stored again within this long are kept even when no row used them a
/// moment ago: an upload of the same file may be on its way to its row.
pub const BLOB_GRACE: Duration = Duration::from_secs(3600);
/// Rows deleted per write, so that a large backlog never holds the writer long.
const BATCH: i64 = 500;

/// What one pass removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Collected {
    pub attachments: usize,
    pub blobs: usize,
}

/// Trend hits are judged over the baseline days and a window; a day more
/// is kept, then they go.
pub const TREND_HITS_KEPT_MS: i64 =
    (domain::trend::BASELINE_DAYS + 1) * 86_400_000 + domain::trend::WINDOW_MS;

impl Engine {
    /// Deletes trend hits older than [`TREND_HITS_KEPT_MS`] before `now`,
    /// a batch per write; how many. (The `trends` consumer writes hits again
    /// if it replays older history.)
    pub async fn prune_trend_hits(&self) -> Result<u64, EngineError> {
        let before = self.store.now().millis() - TREND_HITS_KEPT_MS;
        let mut total = 0;
        loop {
            let n = self
                .store
                .write(move |tx| {
                    Box::pin(async move { store::trends::prune(tx, before, 5 * BATCH).await })
                })
                .await?;
            total += n;
            if n < (5 * BATCH) as u64 {
                return Ok(total);
            }
        }
    }

    /// Removes stored bytes that no row uses and that were not stored again
    /// within `grace`; whether they are gone.
    pub(crate) async fn remove_unused_blob(
        &self,
        sha: &str,
        grace: Duration,
    ) -> Result<bool, EngineError> {
        let in_use = {
            let mut c = self.store.read().await?;
            tickets::blob_in_use(&mut c.conn(), sha).await?
        };
        Ok(!in_use
            && self
                .store
                .blobs()
                .remove_if_idle(sha, grace)
                .await
                .map_err(StoreError::from)?)
    }

    /// Deletes uploads older than `older_than` that no message took, and their bytes
    /// when nothing else uses them and they were not stored again within `grace`.
    pub async fn collect_unattached(
        &self,
        older_than: Duration,
        grace: Duration,
    ) -> Result<Collected, EngineError> {
        let age = i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX);
        let before = self.store.now().plus_millis(-age);
        let mut out = Collected::default();
        loop {
            let shas: Vec<String> = self
                .store
                .write(move |tx| {
                    Box::pin(async move { tickets::delete_unattached(tx, before, BATCH).await })
                })
                .await?;
            out.attachments += shas.len();
            let done = (shas.len() as i64) < BATCH;
            for sha in shas.into_iter().collect::<BTreeSet<_>>() {
                if self.remove_unused_blob(&sha, grace).await? {
                    out.blobs += 1;
                }
            }
            if done {
                break;
            }
        }
        if out != Collected::default() {
            tracing::info!(
                attachments = out.attachments,
                blobs = out.blobs,
                "collected uploads no message took"
            );
        }
        Ok(out)
    }
}
