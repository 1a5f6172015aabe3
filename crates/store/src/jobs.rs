//! The durable job queue: delayed and retried work (deliveries, SLA timers,
//! automations) lives in a table, never in a sleeping task.
//!
//! A job is `queued` until claimed; a claim makes it `running` with a lease. A
//! worker that dies leaves the lease to expire and the job is claimed again, so a
//! handler must be idempotent. Failures back off exponentially; after
//! `max_attempts` the job is `dead` (the dead-letter list) and kept for inspection.

use crate::{Conn, Dialect, FromRow, Row, Store, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::WorkspaceId;
use serde_json::Value;

/// A claimed or listed job.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: i64,
    pub workspace_id: Option<WorkspaceId>,
    pub kind: String,
    pub payload: Value,
    pub state: String,
    pub run_at: Timestamp,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
}

const COLS: &str =
    "id, workspace_id, kind, payload, state, run_at, attempts, max_attempts, last_error";

impl FromRow for Job {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Job {
            id: r.get(0)?,
            workspace_id: r.id_opt(1)?,
            kind: r.get(2)?,
            payload: r.json(3)?,
            state: r.get(4)?,
            run_at: r.time(5)?,
            attempts: r.get(6)?,
            max_attempts: r.get(7)?,
            last_error: r.get(8)?,
        })
    }
}

/// Queues a job in the caller's transaction: it exists only if that commits.
pub async fn enqueue(
    tx: &mut Tx,
    ws: Option<WorkspaceId>,
    kind: &str,
    payload: &Value,
    run_at: Timestamp,
) -> Result<i64, StoreError> {
    let now = tx.now();
    let q = query(
        "INSERT INTO jobs (workspace_id, kind, payload, state, run_at, attempts, max_attempts, created_at, updated_at) \
         VALUES ($1, $2, $3, 'queued', $4, 0, 8, $5, $5) RETURNING id",
    )
    .bind(ws)
    .bind(kind)
    .bind(payload.to_string())
    .bind(run_at)
    .bind(now);
    tx.conn().fetch_one(&q).await
}

/// Claims up to `limit` due jobs (and jobs whose lease ran out) for `lease_ms`.
/// Safe with several workers and several nodes: on PostgreSQL rows are taken with
/// `FOR UPDATE SKIP LOCKED`; on SQLite the single writer serialises claims.
pub async fn claim(store: &Store, limit: i64, lease_ms: i64) -> Result<Vec<Job>, StoreError> {
    store
        .write(move |tx| {
            Box::pin(async move {
                let now = tx.now();
                let lock = match tx.conn().dialect() {
                    Dialect::Sqlite => "",
                    Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
                };
                let q = query(format!(
                    "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_until = $2, updated_at = $1 \
                     WHERE id IN (SELECT id FROM jobs WHERE (state = 'queued' AND run_at <= $1) OR (state = 'running' AND locked_until < $1) \
                                  ORDER BY run_at, id LIMIT $3{lock}) \
                     RETURNING {COLS}"
                ))
                .bind(now)
                .bind(now.plus_millis(lease_ms))
                .bind(limit);
                tx.conn().fetch_all::<Job>(&q).await
            })
        })
        .await
}

/// Marks a job done.
pub async fn complete(tx: &mut Tx, id: i64) -> Result<(), StoreError> {
    let now = tx.now();
    tx.conn().execute(&query("UPDATE jobs SET state = 'done', locked_until = NULL, updated_at = $2 WHERE id = $1").bind(id).bind(now)).await.map(|_| ())
}

/// Records a failure: retried at `retry_at`, or dead when attempts are used up.
/// Returns whether the job is now dead.
pub async fn fail(
    tx: &mut Tx,
    id: i64,
    error: &str,
    retry_at: Timestamp,
) -> Result<bool, StoreError> {
    let now = tx.now();
    let error: String = error.chars().take(2000).collect();
    let q = query(
        "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
         run_at = $3, last_error = $2, locked_until = NULL, updated_at = $4 WHERE id = $1 RETURNING state",
    )
    .bind(id)
    .bind(error)
    .bind(retry_at)
    .bind(now);
    let state: String = tx.conn().fetch_one(&q).await?;
    Ok(state == "dead")
}

/// Jobs in one state, oldest first.
pub async fn list(c: &mut Conn<'_>, state: &str, limit: i64) -> Result<Vec<Job>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM jobs WHERE state = $1 ORDER BY id LIMIT $2"
        ))
        .bind(state)
        .bind(limit),
    )
    .await
}

/// Puts a dead job back in the queue with fresh attempts.
pub async fn retry_dead(tx: &mut Tx, id: i64) -> Result<(), StoreError> {
    let now = tx.now();
    let q = query("UPDATE jobs SET state = 'queued', attempts = 0, run_at = $2, updated_at = $2 WHERE id = $1 AND state = 'dead'").bind(id).bind(now);
    match tx.conn().execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Sends a job to the dead list at once, with the reason (a job no handler can
/// ever run: retrying it would only delay the verdict).
pub async fn bury(tx: &mut Tx, id: i64, reason: &str) -> Result<(), StoreError> {
    let now = tx.now();
    let reason: String = reason.chars().take(2000).collect();
    tx.conn()
        .execute(
            &query(
                "UPDATE jobs SET state = 'dead', last_error = $2, locked_until = NULL, updated_at = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(reason)
            .bind(now),
        )
        .await
        .map(|_| ())
}

/// When the next queued job falls due.
pub async fn next_due(c: &mut Conn<'_>) -> Result<Option<Timestamp>, StoreError> {
    let v: Option<i64> = c
        .fetch_one(&query(
            "SELECT MIN(run_at) FROM jobs WHERE state = 'queued'",
        ))
        .await?;
    Ok(v.map(Timestamp::from_millis))
}
