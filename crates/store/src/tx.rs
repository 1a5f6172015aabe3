//! A write transaction, and the event log's write side.

use crate::{CommittedEvent, Conn, StoreError, query};
use domain::Timestamp;
use domain::event::{Actor, EventData};
use domain::ids::WorkspaceId;
use sqlx::sqlite::SqliteConnection;

enum Inner {
    /// Inside the SQLite writer's batch transaction (a savepoint of its own).
    Sqlite(SqliteConnection),
    Pg(sqlx::Transaction<'static, sqlx::Postgres>),
    /// Only while the connection is being handed back.
    Taken,
}

/// An open write transaction. Everything written through it, and every event it
/// emits, commits together or not at all.
pub struct Tx {
    inner: Inner,
    now: Timestamp,
    events: Vec<CommittedEvent>,
}

impl Tx {
    pub(crate) fn sqlite(conn: SqliteConnection, now: Timestamp) -> Tx {
        Tx {
            inner: Inner::Sqlite(conn),
            now,
            events: Vec::new(),
        }
    }
    pub(crate) fn pg(t: sqlx::Transaction<'static, sqlx::Postgres>, now: Timestamp) -> Tx {
        Tx {
            inner: Inner::Pg(t),
            now,
            events: Vec::new(),
        }
    }

    /// The connection, for queries.
    pub fn conn(&mut self) -> Conn<'_> {
        match &mut self.inner {
            Inner::Sqlite(c) => Conn::Sqlite(c),
            Inner::Pg(t) => Conn::Pg(t),
            // Unreachable in practice: `Taken` exists only inside `into_sqlite`.
            Inner::Taken => Conn::Sqlite(unreachable_conn()),
        }
    }

    /// The transaction's "now": one instant for everything it writes.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Appends an event to the log in this transaction; returns its id.
    pub async fn emit(
        &mut self,
        ws: WorkspaceId,
        actor: Actor,
        data: EventData,
    ) -> Result<i64, StoreError> {
        let json = serde_json::to_value(&data).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let now = self.now;
        let q = query(
            "INSERT INTO events (workspace_id, kind, ticket_id, customer_id, actor_kind, actor_id, data, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(ws)
        .bind(data.kind())
        .bind(data.ticket_id())
        .bind(data.customer_id())
        .bind(actor.kind())
        .bind(actor.id())
        .bind(json.to_string())
        .bind(now);
        let id: i64 = self.conn().fetch_one(&q).await?;
        self.events.push(CommittedEvent {
            id,
            workspace_id: ws,
            kind: data.kind(),
            ticket_id: data.ticket_id(),
            data: json,
        });
        Ok(id)
    }

    pub(crate) fn take_events(&mut self) -> Vec<CommittedEvent> {
        std::mem::take(&mut self.events)
    }

    pub(crate) fn into_sqlite(mut self) -> Option<SqliteConnection> {
        match std::mem::replace(&mut self.inner, Inner::Taken) {
            Inner::Sqlite(c) => Some(c),
            _ => None,
        }
    }

    pub(crate) async fn commit_pg(mut self) -> Result<Vec<CommittedEvent>, StoreError> {
        let events = self.take_events();
        if let Inner::Pg(t) = std::mem::replace(&mut self.inner, Inner::Taken) {
            t.commit().await?;
        }
        Ok(events)
    }

    pub(crate) async fn rollback_pg(mut self) {
        if let Inner::Pg(t) = std::mem::replace(&mut self.inner, Inner::Taken) {
            if let Err(e) = t.rollback().await {
                tracing::warn!(error = %e, "rollback failed; the connection is discarded");
            }
        }
    }
}

fn unreachable_conn() -> &'static mut SqliteConnection {
    // `Taken` is never observable from outside this module: `into_sqlite`, `commit_pg`
    // and `rollback_pg` consume the Tx. Reaching here is a bug in this file.
    #[allow(clippy::panic)]
    {
        panic!("transaction used after it was handed back")
    }
}
