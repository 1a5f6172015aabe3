//! A write transaction, and the event log's write side.

use crate::sql::Arg;
use crate::{CommittedEvent, Conn, StoreError, query};
use domain::Timestamp;
use domain::event::{Actor, EventData};
use domain::ids::WorkspaceId;

enum Inner {
    /// Inside the SQLite writer's batch transaction (a savepoint of its own).
    Sqlite(rusqlite::Connection),
    Pg(sqlx::Transaction<'static, sqlx::Postgres>),
    /// Only while the connection is being handed back.
    Taken,
}

/// An open write transaction. Everything written through it, and every event it
/// emits, commits together or not at all.
pub struct Tx {
    inner: Inner,
    now: Timestamp,
    /// Emitted, not yet inserted: written in one statement by `flush_events`.
    pending: Vec<PendingEvent>,
    events: Vec<CommittedEvent>,
    /// PostgreSQL: the node that tells the others about this transaction's
    /// events (see [`crate::live`]).
    node: Option<String>,
}

/// Events inserted per statement (8 values each: well under SQLite's 32,766).
const EVENTS_PER_INSERT: usize = 1_000;

/// A point inside a transaction to roll back to.
#[must_use = "release the savepoint or roll back to it"]
pub struct Savepoint {
    pending: usize,
}

struct PendingEvent {
    ws: WorkspaceId,
    actor: Actor,
    event: EventData,
    /// The event's data as stored.
    json: serde_json::Value,
    /// When it happened, if not now.
    at: Option<Timestamp>,
}

impl Tx {
    pub(crate) fn sqlite(conn: rusqlite::Connection, now: Timestamp) -> Tx {
        Tx {
            inner: Inner::Sqlite(conn),
            now,
            pending: Vec::new(),
            events: Vec::new(),
            node: None,
        }
    }
    pub(crate) fn pg(
        t: sqlx::Transaction<'static, sqlx::Postgres>,
        now: Timestamp,
        node: String,
    ) -> Tx {
        Tx {
            inner: Inner::Pg(t),
            now,
            pending: Vec::new(),
            events: Vec::new(),
            node: Some(node),
        }
    }

    /// The connection, for queries.
    pub fn conn(&mut self) -> Conn<'_> {
        match &mut self.inner {
            Inner::Sqlite(c) => Conn::Lite(c),
            Inner::Pg(t) => Conn::Pg(t),
            // Unreachable in practice: `Taken` exists only inside `into_sqlite`.
            Inner::Taken => Conn::Lite(unreachable_conn()),
        }
    }

    /// The transaction's "now": one instant for everything it writes.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Marks a point this transaction can return to ([`Tx::roll_back_to`]),
    /// so one step of a larger write can fail alone. Not nested.
    pub async fn savepoint(&mut self) -> Result<Savepoint, StoreError> {
        self.conn().execute(&query("SAVEPOINT step")).await?;
        Ok(Savepoint {
            pending: self.pending.len(),
        })
    }

    /// Keeps what was written since the savepoint.
    pub async fn release(&mut self, _at: Savepoint) -> Result<(), StoreError> {
        self.conn()
            .execute(&query("RELEASE SAVEPOINT step"))
            .await
            .map(|_| ())
    }

    /// Undoes what was written, and forgets the events emitted, since the
    /// savepoint.
    pub async fn roll_back_to(&mut self, at: Savepoint) -> Result<(), StoreError> {
        self.conn()
            .execute(&query("ROLLBACK TO SAVEPOINT step"))
            .await?;
        self.pending.truncate(at.pending);
        self.release(at).await
    }

    /// Appends an event to the log in this transaction. Events are inserted together
    /// when the write finishes (one statement, not one per event), still inside the
    /// transaction, so they commit or vanish with the change.
    pub async fn emit(
        &mut self,
        ws: WorkspaceId,
        actor: Actor,
        data: EventData,
    ) -> Result<(), StoreError> {
        let (_, json) = data
            .to_stored()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.pending.push(PendingEvent {
            ws,
            actor,
            event: data,
            json,
            at: None,
        });
        Ok(())
    }

    /// [`emit`](Tx::emit) for history written after the fact (imports, and
    /// the benchmarks' synthetic years): the event keeps `at` as its time.
    /// The log's order stays the order of writing.
    pub async fn emit_at(
        &mut self,
        ws: WorkspaceId,
        actor: Actor,
        data: EventData,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.emit(ws, actor, data).await?;
        if let Some(e) = self.pending.last_mut() {
            e.at = Some(at);
        }
        Ok(())
    }

    /// Inserts the emitted events; called once the write's own work succeeded.
    /// One statement per [`EVENTS_PER_INSERT`] events: a write that emits
    /// more (a consumer batch whose rules fired on every event) stays within
    /// SQLite's limit of 32,766 bound values per statement.
    pub(crate) async fn flush_events(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut pending = std::mem::take(&mut self.pending);
        while !pending.is_empty() {
            let rest = pending.split_off(pending.len().min(EVENTS_PER_INSERT));
            self.insert_events(pending).await?;
            pending = rest;
        }
        Ok(())
    }

    async fn insert_events(&mut self, pending: Vec<PendingEvent>) -> Result<(), StoreError> {
        let now = self.now;
        let mut q = query(
            "INSERT INTO events (workspace_id, kind, ticket_id, customer_id, actor_kind, actor_id, data, created_at) VALUES ",
        );
        for (i, e) in pending.iter().enumerate() {
            let row = [
                Arg::from(e.ws),
                e.event.kind().into(),
                e.event.ticket_id().into(),
                e.event.customer_id().into(),
                e.actor.kind().into(),
                e.actor.id().into(),
                e.json.to_string().into(),
                e.at.unwrap_or(now).into(),
            ];
            q = q.bind_row(if i == 0 { "" } else { ", " }, row);
        }
        // Ids come back in insertion order (one statement, one writer on SQLite;
        // PostgreSQL assigns identity values in VALUES order).
        let ids: Vec<i64> = self.conn().fetch_all(&q.push(" RETURNING id")).await?;
        if ids.len() != pending.len() {
            return Err(StoreError::Corrupt(
                "event insert returned a different number of ids".into(),
            ));
        }
        let mut ids = ids;
        ids.sort_unstable();
        for (id, e) in ids.into_iter().zip(pending) {
            self.events.push(CommittedEvent {
                id,
                workspace_id: e.ws,
                actor: e.actor,
                created_at: e.at.unwrap_or(now),
                data: e.event,
            });
        }
        Ok(())
    }

    pub(crate) fn take_events(&mut self) -> Vec<CommittedEvent> {
        std::mem::take(&mut self.events)
    }

    pub(crate) fn into_sqlite(mut self) -> Option<rusqlite::Connection> {
        match std::mem::replace(&mut self.inner, Inner::Taken) {
            Inner::Sqlite(c) => Some(c),
            _ => None,
        }
    }

    pub(crate) async fn commit_pg(mut self) -> Result<Vec<CommittedEvent>, StoreError> {
        self.flush_events().await?;
        let events = self.take_events();
        // Delivered to the other nodes when (and only if) this commits.
        if let Some(node) = self.node.clone()
            && !events.is_empty()
        {
            let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
            for note in crate::live::event_notes(&node, &ids) {
                let q = query("SELECT pg_notify($1, $2)")
                    .bind(crate::live::EVENTS)
                    .bind(note);
                self.conn().execute(&q).await?;
            }
        }
        if let Inner::Pg(t) = std::mem::replace(&mut self.inner, Inner::Taken) {
            t.commit().await?;
        }
        Ok(events)
    }

    pub(crate) async fn rollback_pg(mut self) {
        if let Inner::Pg(t) = std::mem::replace(&mut self.inner, Inner::Taken)
            && let Err(e) = t.rollback().await
        {
            tracing::warn!(error = %e, "rollback failed; the connection is discarded");
        }
    }
}

fn unreachable_conn() -> &'static mut rusqlite::Connection {
    // `Taken` is never observable from outside this module: `into_sqlite`, `commit_pg`
    // and `rollback_pg` consume the Tx. Reaching here is a bug in this file.
    #[allow(clippy::panic)]
    {
        panic!("transaction used after it was handed back")
    }
}
