//! Positions and leases of the event log's durable consumers.
//!
//! A consumer's position is the cursor of the last event it handled. It only moves
//! through [`advance`], inside the transaction that holds the consumer's own writes,
//! and only from the position the handler started at: if another node moved it
//! first, `advance` reports [`Advance::Moved`] and the caller rolls back. The lease
//! is an optimisation on top (a node skips a consumer another node is running), not
//! what keeps events from being handled twice.

use crate::events::Cursor;
use crate::{Conn, Dialect, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::WorkspaceId;

/// A consumer's stored state.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerState {
    pub name: String,
    pub position: Cursor,
    pub lease_owner: Option<String>,
    pub lease_until: Option<Timestamp>,
    /// Events handled since the consumer was registered.
    pub handled: i64,
    /// Failures in a row; 0 after a success.
    pub failures: i64,
    /// Not run again before this time after a failure.
    pub retry_at: Timestamp,
    pub last_error: Option<String>,
    pub updated_at: Timestamp,
}

const COLS: &str = "name, position_tx, position_id, lease_owner, lease_until, handled, failures, retry_at, last_error, updated_at";

impl FromRow for ConsumerState {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(ConsumerState {
            name: r.get(0)?,
            position: Cursor {
                tx: r.get(1)?,
                id: r.get(2)?,
            },
            lease_owner: r.get(3)?,
            lease_until: r.time_opt(4)?,
            handled: r.get(5)?,
            failures: r.get(6)?,
            retry_at: r.time(7)?,
            last_error: r.get(8)?,
            updated_at: r.time(9)?,
        })
    }
}

/// Creates the consumer's row at `start` unless it exists (an existing consumer
/// keeps its position).
pub async fn register(tx: &mut Tx, name: &str, start: Cursor) -> Result<(), StoreError> {
    let now = tx.now();
    tx.conn()
        .execute(
            &query(
                "INSERT INTO consumers (name, position_tx, position_id, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(start.tx)
            .bind(start.id)
            .bind(now),
        )
        .await
        .map(|_| ())
}

pub async fn get(c: &mut Conn<'_>, name: &str) -> Result<Option<ConsumerState>, StoreError> {
    c.fetch_optional(&query(format!("SELECT {COLS} FROM consumers WHERE name = $1")).bind(name))
        .await
}

pub async fn list(c: &mut Conn<'_>) -> Result<Vec<ConsumerState>, StoreError> {
    c.fetch_all(&query(format!(
        "SELECT {COLS} FROM consumers ORDER BY name"
    )))
    .await
}

/// What [`advance`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advance {
    Moved,
    /// Another node moved the position first, or holds a live lease: roll back.
    Lost,
}

/// Moves the consumer from `from` to `to` (having handled `n` events) and takes or
/// extends the lease for `owner` until `lease_until`, in the caller's transaction.
pub async fn advance(
    tx: &mut Tx,
    name: &str,
    owner: &str,
    from: Cursor,
    to: Cursor,
    n: i64,
    lease_until: Timestamp,
) -> Result<Advance, StoreError> {
    let now = tx.now();
    let q = query(
        "UPDATE consumers SET position_tx = $4, position_id = $5, lease_owner = $2, lease_until = $6, \
         handled = handled + $7, failures = 0, last_error = NULL, updated_at = $8 \
         WHERE name = $1 AND position_tx = $3 AND position_id = $9 \
         AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until < $8)",
    )
    .bind(name)
    .bind(owner)
    .bind(from.tx)
    .bind(to.tx)
    .bind(to.id)
    .bind(lease_until)
    .bind(n)
    .bind(now)
    .bind(from.id);
    Ok(match tx.conn().execute(&q).await? {
        0 => Advance::Lost,
        _ => Advance::Moved,
    })
}

/// Records a failed attempt: the error, and when to try again.
pub async fn failed(
    tx: &mut Tx,
    name: &str,
    error: &str,
    retry_at: Timestamp,
) -> Result<(), StoreError> {
    let now = tx.now();
    let error: String = error.chars().take(2000).collect();
    tx.conn()
        .execute(
            &query(
                "UPDATE consumers SET failures = failures + 1, last_error = $2, retry_at = $3, updated_at = $4 WHERE name = $1",
            )
            .bind(name)
            .bind(error)
            .bind(retry_at)
            .bind(now),
        )
        .await
        .map(|_| ())
}

/// Starts a consumer over from the first event (its derived data was dropped
/// in the same transaction).
pub async fn rewind(tx: &mut Tx, name: &str) -> Result<(), StoreError> {
    let now = tx.now();
    tx.conn()
        .execute(
            &query(
                "UPDATE consumers SET position_tx = 0, position_id = 0, handled = 0, failures = 0, \
                 last_error = NULL, updated_at = $2 WHERE name = $1",
            )
            .bind(name)
            .bind(now),
        )
        .await
        .map(|_| ())
}

/// Gives up the lease (a node stopping), so another node need not wait for it.
pub async fn release(tx: &mut Tx, name: &str, owner: &str) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query(
                "UPDATE consumers SET lease_owner = NULL, lease_until = NULL WHERE name = $1 AND lease_owner = $2",
            )
            .bind(name)
            .bind(owner),
        )
        .await
        .map(|_| ())
}

/// The newest event's cursor: where a consumer that starts "from now" begins.
pub async fn head(c: &mut Conn<'_>) -> Result<Cursor, StoreError> {
    let sql = match c.dialect() {
        Dialect::Sqlite => "SELECT CAST(0 AS BIGINT), COALESCE(MAX(id), 0) FROM events".to_owned(),
        Dialect::Postgres => format!(
            "SELECT COALESCE(MAX(tx_id::text::bigint), 0), COALESCE(MAX(id), 0) FROM events \
             WHERE tx_id < {}",
            crate::events::PG_HORIZON
        ),
    };
    let (tx, id): (i64, i64) = c.fetch_one(&query(sql)).await?;
    Ok(Cursor { tx, id })
}

/// How many events come after `position` in the log's order (all workspaces).
/// On PostgreSQL that order is (transaction, id): ids are taken before commit,
/// so an event already handled may have a larger id than the position's.
pub async fn behind(c: &mut Conn<'_>, position: Cursor) -> Result<i64, StoreError> {
    match c.dialect() {
        Dialect::Sqlite => {
            c.fetch_one(&query("SELECT COUNT(*) FROM events WHERE id > $1").bind(position.id))
                .await
        }
        Dialect::Postgres => {
            c.fetch_one(
                &query("SELECT COUNT(*) FROM events WHERE (tx_id, id) > ($1::text::xid8, $2)")
                    .bind(position.tx.to_string())
                    .bind(position.id),
            )
            .await
        }
    }
}

/// Adds `n` to the count of `kind` events in the workspace on `day`.
pub async fn add_activity(
    tx: &mut Tx,
    ws: WorkspaceId,
    day: i64,
    kind: &str,
    n: i64,
) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query(
                "INSERT INTO activity_daily (workspace_id, day, kind, n) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (workspace_id, day, kind) DO UPDATE SET n = activity_daily.n + excluded.n",
            )
            .bind(ws)
            .bind(day)
            .bind(kind)
            .bind(n),
        )
        .await
        .map(|_| ())
}

/// The workspace's event counts per day and kind, days in `from..=to`.
pub async fn activity(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, String, i64)>, StoreError> {
    let rows: Vec<Activity> = c
        .fetch_all(
            &query(
                "SELECT day, kind, n FROM activity_daily WHERE workspace_id = $1 AND day >= $2 AND day <= $3 ORDER BY day, kind",
            )
            .bind(ws)
            .bind(from)
            .bind(to),
        )
        .await?;
    Ok(rows.into_iter().map(|a| (a.0, a.1, a.2)).collect())
}

struct Activity(i64, String, i64);

impl FromRow for Activity {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Activity(r.get(0)?, r.get(1)?, r.get(2)?))
    }
}
