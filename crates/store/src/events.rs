//! The event log's read side.
//!
//! A reader that pages with a cursor must never skip an event that commits later
//! with a smaller id. On SQLite one writer commits in id order, so the id is the
//! cursor. On PostgreSQL identity values are taken before commit, so events are
//! ordered by (transaction id, id) and read only below the oldest transaction of
//! this database still running (`PG_HORIZON`): nothing can later appear before
//! the cursor.

use crate::{Conn, Dialect, FromRow, Row, StoreError, query};
use domain::Timestamp;
use domain::event::{Actor, EventData};
use domain::ids::*;

/// A stored event, read back into its typed form.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRecord {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub ticket_id: Option<TicketId>,
    pub customer_id: Option<CustomerId>,
    pub actor: Actor,
    pub data: EventData,
    pub created_at: Timestamp,
    /// The writing transaction (PostgreSQL); 0 on SQLite.
    pub tx: i64,
}

impl EventRecord {
    pub fn kind(&self) -> &'static str {
        self.data.kind()
    }
}

impl FromRow for EventRecord {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let id: i64 = r.get(0)?;
        let kind: String = r.get(2)?;
        let corrupt = |e: domain::DomainError| StoreError::Corrupt(format!("event {id}: {e}"));
        let actor_kind: String = r.get(5)?;
        Ok(EventRecord {
            id,
            workspace_id: r.id(1)?,
            ticket_id: r.id_opt(3)?,
            customer_id: r.id_opt(4)?,
            actor: Actor::from_parts(&actor_kind, r.get(6)?).map_err(corrupt)?,
            data: EventData::from_stored(&kind, r.json(7)?).map_err(corrupt)?,
            created_at: r.time(8)?,
            tx: r.get(9)?,
        })
    }
}

/// A position in the event stream; opaque to clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Cursor {
    pub tx: i64,
    pub id: i64,
}

impl Cursor {
    pub fn of(e: &EventRecord) -> Cursor {
        Cursor { tx: e.tx, id: e.id }
    }
    pub fn encode(self) -> String {
        format!("{}.{}", self.tx, self.id)
    }
    pub fn decode(s: &str) -> Option<Cursor> {
        let (tx, id) = s.split_once('.')?;
        Some(Cursor {
            tx: tx.parse().ok().filter(|v: &i64| *v >= 0)?,
            id: id.parse().ok().filter(|v: &i64| *v >= 0)?,
        })
    }
}

fn cols(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => {
            "id, workspace_id, kind, ticket_id, customer_id, actor_kind, actor_id, data, created_at, tx_id"
        }
        Dialect::Postgres => {
            "id, workspace_id, kind, ticket_id, customer_id, actor_kind, actor_id, data, created_at, tx_id::text::bigint"
        }
    }
}

/// On PostgreSQL: every event below this transaction id has committed or
/// never will. Transaction ids are shared by every database of a cluster, so
/// the snapshot's running transactions are narrowed to those that may belong to
/// this database (others cannot write our events): a long transaction in
/// another database must not hold back this one's readers. A running
/// transaction whose database cannot be told (a prepared one, or one whose
/// details are hidden from this role) still counts.
pub(crate) const PG_HORIZON: &str = "COALESCE(\
    (SELECT MIN(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x \
      WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.backend_xid IS NOT NULL \
        AND a.datname IS NOT NULL AND a.datname <> current_database() \
        AND a.backend_xid::text = (x::text::numeric % 4294967296)::text)), \
    pg_snapshot_xmax(pg_current_snapshot()))";

/// One event of the workspace by its id.
pub async fn by_id(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: i64,
) -> Result<Option<EventRecord>, StoreError> {
    let d = c.dialect();
    let q = query(format!(
        "SELECT {} FROM events WHERE workspace_id = $1 AND id = $2",
        cols(d)
    ))
    .bind(ws)
    .bind(id);
    c.fetch_optional(&q).await
}

/// The workspace's events after `after`, in commit order.
pub async fn after(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    after: Cursor,
    limit: i64,
) -> Result<Vec<EventRecord>, StoreError> {
    let d = c.dialect();
    let sql = match d {
        Dialect::Sqlite => format!(
            "SELECT {} FROM events WHERE workspace_id = $1 AND id > $3 AND $2 >= 0 ORDER BY id LIMIT $4",
            cols(d)
        ),
        Dialect::Postgres => format!(
            "SELECT {} FROM events WHERE workspace_id = $1 AND (tx_id, id) > ($2::text::xid8, $3) \
             AND tx_id < {PG_HORIZON} ORDER BY tx_id, id LIMIT $4",
            cols(d)
        ),
    };
    let q = query(sql)
        .bind(ws)
        .bind(after.tx.to_string())
        .bind(after.id)
        .bind(limit);
    c.fetch_all(&q).await
}

/// Every workspace's events after `after`, in commit order (for in-process consumers).
pub async fn all_after(
    c: &mut Conn<'_>,
    after: Cursor,
    limit: i64,
) -> Result<Vec<EventRecord>, StoreError> {
    let d = c.dialect();
    let sql = match d {
        Dialect::Sqlite => format!(
            "SELECT {} FROM events WHERE id > $2 AND $1 >= 0 ORDER BY id LIMIT $3",
            cols(d)
        ),
        Dialect::Postgres => format!(
            "SELECT {} FROM events WHERE (tx_id, id) > ($1::text::xid8, $2) \
             AND tx_id < {PG_HORIZON} ORDER BY tx_id, id LIMIT $3",
            cols(d)
        ),
    };
    c.fetch_all(
        &query(sql)
            .bind(after.tx.to_string())
            .bind(after.id)
            .bind(limit),
    )
    .await
}

/// A ticket's history, oldest first, after event id `after`.
pub async fn of_ticket(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
    after: i64,
    limit: i64,
) -> Result<Vec<EventRecord>, StoreError> {
    let sql = format!(
        "SELECT {} FROM events WHERE workspace_id = $1 AND ticket_id = $2 AND id > $3 ORDER BY id LIMIT $4",
        cols(c.dialect())
    );
    c.fetch_all(&query(sql).bind(ws).bind(ticket).bind(after).bind(limit))
        .await
}

/// A ticket's newest `limit` events, newest first (the ticket page's history).
pub async fn latest_of_ticket(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
    limit: i64,
) -> Result<Vec<EventRecord>, StoreError> {
    let sql = format!(
        "SELECT {} FROM events WHERE workspace_id = $1 AND ticket_id = $2 ORDER BY id DESC LIMIT $3",
        cols(c.dialect())
    );
    c.fetch_all(&query(sql).bind(ws).bind(ticket).bind(limit))
        .await
}

/// A ticket's events of the given kinds, oldest first (what its SLA clocks
/// are folded from: the rest of a long history is never read).
pub async fn of_ticket_kinds(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
    kinds: &[&str],
    limit: i64,
) -> Result<Vec<EventRecord>, StoreError> {
    let q = query(format!(
        "SELECT {} FROM events WHERE workspace_id = $1 AND ticket_id = $2 AND kind IN (",
        cols(c.dialect())
    ))
    .bind(ws)
    .bind(ticket)
    .bind_list(kinds.iter().map(|k| k.to_string()));
    let n = q.next_param();
    let q = q.push(&format!(") ORDER BY id LIMIT ${n}")).bind(limit);
    c.fetch_all(&q).await
}

/// Everything about a customer (and profiles merged into it) and their tickets,
/// newest first, before event id `before`.
pub async fn of_customer(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRecord>, StoreError> {
    // Two index lookups (by customer, by the customer's tickets), each the
    // newest page, then merged. `+id` keeps SQLite from walking the whole log
    // newest-first to avoid a sort (a short history would read all of it);
    // PostgreSQL reads it as the plain column.
    let sql = format!(
        "SELECT {} FROM events e WHERE e.workspace_id = $1 AND e.id IN ( \
           SELECT id FROM (SELECT id FROM events WHERE workspace_id = $1 AND ($3 IS NULL OR id < $3) \
             AND customer_id IN (SELECT id FROM customers WHERE workspace_id = $1 AND (id = $2 OR merged_into = $2)) \
             ORDER BY +id DESC LIMIT $4) by_customer \
           UNION \
           SELECT id FROM (SELECT id FROM events WHERE workspace_id = $1 AND ($3 IS NULL OR id < $3) \
             AND ticket_id IN (SELECT id FROM tickets WHERE workspace_id = $1 AND customer_id = $2) \
             ORDER BY +id DESC LIMIT $4) by_ticket) \
         ORDER BY e.id DESC LIMIT $4",
        cols(c.dialect())
    );
    c.fetch_all(&query(sql).bind(ws).bind(customer).bind(before).bind(limit))
        .await
}
