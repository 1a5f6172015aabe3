//! Customers and their identities across channels.

use crate::sql::Arg;
use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::identity::{Identity, IdentityKind};
use domain::ids::*;

/// How a customer is known on one channel.
#[derive(Clone, Debug, PartialEq)]
pub struct IdentityRecord {
    pub id: IdentityId,
    pub customer_id: CustomerId,
    pub kind: IdentityKind,
    pub value: String,
    pub created_at: Timestamp,
}

impl FromRow for IdentityRecord {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(IdentityRecord {
            id: r.id(0)?,
            customer_id: r.id(1)?,
            kind: r.parse(2, IdentityKind::parse)?,
            value: r.get(3)?,
            created_at: r.time(4)?,
        })
    }
}

/// A customer with their identities.
#[derive(Clone, Debug, PartialEq)]
pub struct Customer {
    pub id: CustomerId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub language: Option<String>,
    pub notes: String,
    /// Set when this profile was merged into another; it then only redirects.
    pub merged_into: Option<CustomerId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub identities: Vec<IdentityRecord>,
    /// Normalised, sorted, at most 50.
    pub tags: Vec<String>,
}

impl FromRow for Customer {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Customer {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            name: r.get(2)?,
            language: r.get(3)?,
            notes: r.get(4)?,
            merged_into: r.id_opt(5)?,
            created_at: r.time(6)?,
            updated_at: r.time(7)?,
            identities: Vec::new(),
            tags: r.json(8)?,
        })
    }
}

const COLS: &str =
    "id, workspace_id, name, language, notes, merged_into, created_at, updated_at, tags";

pub async fn insert(tx: &mut Tx, c: &Customer) -> Result<(), StoreError> {
    let q = query(
        "INSERT INTO customers (id, workspace_id, name, language, notes, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(c.id)
    .bind(c.workspace_id)
    .bind(&c.name)
    .bind(c.language.as_deref())
    .bind(&c.notes)
    .bind(c.created_at)
    .bind(c.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn update(tx: &mut Tx, c: &Customer) -> Result<(), StoreError> {
    let q = query("UPDATE customers SET name = $3, language = $4, notes = $5, updated_at = $6, tags = $7 WHERE workspace_id = $1 AND id = $2")
        .bind(c.workspace_id)
        .bind(c.id)
        .bind(&c.name)
        .bind(c.language.as_deref())
        .bind(&c.notes)
        .bind(c.updated_at)
        .bind(serde_json::to_string(&c.tags).unwrap_or_else(|_| "[]".into()));
    match tx.conn().execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Adds an identity; `Conflict` when another customer of the workspace has it.
pub async fn insert_identity(
    tx: &mut Tx,
    ws: WorkspaceId,
    customer: CustomerId,
    i: &Identity,
) -> Result<IdentityRecord, StoreError> {
    let rec = IdentityRecord {
        id: IdentityId::new(),
        customer_id: customer,
        kind: i.kind(),
        value: i.value().to_owned(),
        created_at: tx.now(),
    };
    let q = query("INSERT INTO customer_identities (id, workspace_id, customer_id, kind, value, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(rec.id)
        .bind(ws)
        .bind(customer)
        .bind(rec.kind.as_str())
        .bind(&rec.value)
        .bind(rec.created_at);
    tx.conn().execute(&q).await?;
    Ok(rec)
}

/// The owner of each identity (in the order given; `None` where unknown), in one query.
pub async fn owners_of(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ids: &[Identity],
) -> Result<Vec<Option<CustomerId>>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = query(
        "SELECT kind, value, customer_id FROM customer_identities WHERE workspace_id = $1 AND (",
    )
    .bind(ws);
    for (i, id) in ids.iter().enumerate() {
        let n = q.next_param();
        q = q
            .push(&format!(
                "{}(kind = ${} AND value = ${})",
                if i == 0 { "" } else { " OR " },
                n,
                n + 1
            ))
            .bind(id.kind().as_str())
            .bind(id.value());
    }
    struct Owner(String, String, uuid::Uuid);
    impl FromRow for Owner {
        fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
            Ok(Owner(r.get(0)?, r.get(1)?, r.get(2)?))
        }
    }
    let rows: Vec<Owner> = c.fetch_all(&q.push(")")).await?;
    Ok(ids
        .iter()
        .map(|i| {
            rows.iter()
                .find(|o| o.0 == i.kind().as_str() && o.1 == i.value())
                .map(|o| CustomerId(o.2))
        })
        .collect())
}

/// Adds several identities to one customer in one statement.
pub async fn insert_identities(
    tx: &mut Tx,
    ws: WorkspaceId,
    customer: CustomerId,
    ids: &[&Identity],
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let now = tx.now();
    let mut q = query(
        "INSERT INTO customer_identities (id, workspace_id, customer_id, kind, value, created_at) VALUES ",
    );
    for (i, id) in ids.iter().enumerate() {
        let row = [
            Arg::from(IdentityId::new()),
            ws.into(),
            customer.into(),
            id.kind().as_str().into(),
            id.value().into(),
            now.into(),
        ];
        q = q.bind_row(if i == 0 { "" } else { ", " }, row);
    }
    tx.conn().execute(&q).await.map(|_| ())
}

/// The customer an identity belongs to.
pub async fn find_by_identity(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    i: &Identity,
) -> Result<Option<CustomerId>, StoreError> {
    let q = query("SELECT customer_id FROM customer_identities WHERE workspace_id = $1 AND kind = $2 AND value = $3")
        .bind(ws)
        .bind(i.kind().as_str())
        .bind(i.value());
    Ok(c.fetch_optional::<uuid::Uuid>(&q).await?.map(CustomerId))
}

pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: CustomerId,
) -> Result<Option<Customer>, StoreError> {
    let Some(mut cust) = c
        .fetch_optional::<Customer>(
            &query(format!(
                "SELECT {COLS} FROM customers WHERE workspace_id = $1 AND id = $2"
            ))
            .bind(ws)
            .bind(id),
        )
        .await?
    else {
        return Ok(None);
    };
    cust.identities = identities_of(c, ws, &[id]).await?;
    Ok(Some(cust))
}

async fn identities_of(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ids: &[CustomerId],
) -> Result<Vec<IdentityRecord>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let q = query("SELECT id, customer_id, kind, value, created_at FROM customer_identities WHERE workspace_id = $1 AND customer_id IN (").bind(ws);
    c.fetch_all(&q.bind_list(ids.iter().copied()).push(") ORDER BY id"))
        .await
}

/// Customers newest first (merged-away profiles left out), optionally those whose
/// name or identity contains `q`.
pub async fn list(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    before: Option<CustomerId>,
    q: Option<&str>,
    limit: i64,
) -> Result<Vec<Customer>, StoreError> {
    let pattern = q.map(|s| {
        format!(
            "%{}%",
            s.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    let sql = format!(
        "SELECT {COLS} FROM customers c WHERE c.workspace_id = $1 AND c.merged_into IS NULL AND ($2 IS NULL OR c.id < $2) \
         AND ($3 IS NULL OR LOWER(c.name) LIKE $3 ESCAPE '\\' OR EXISTS (SELECT 1 FROM customer_identities i \
              WHERE i.workspace_id = $1 AND i.customer_id = c.id AND i.value LIKE $3 ESCAPE '\\')) \
         ORDER BY c.id DESC LIMIT $4"
    );
    let mut rows: Vec<Customer> = c
        .fetch_all(&query(sql).bind(ws).bind(before).bind(pattern).bind(limit))
        .await?;
    let ids: Vec<CustomerId> = rows.iter().map(|r| r.id).collect();
    let idents = identities_of(c, ws, &ids).await?;
    for r in &mut rows {
        r.identities = idents
            .iter()
            .filter(|i| i.customer_id == r.id)
            .cloned()
            .collect();
    }
    Ok(rows)
}

/// Counts of what a merge moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moved {
    pub identities: usize,
    pub tickets: usize,
}

/// Moves everything of `source` onto `target` and marks `source` as merged into it.
/// Profiles earlier merged into `source` now point at `target`, so redirects never chain.
pub async fn merge(
    tx: &mut Tx,
    ws: WorkspaceId,
    target: CustomerId,
    source: CustomerId,
) -> Result<Moved, StoreError> {
    let now = tx.now();
    let identities = tx
        .conn()
        .execute(&query("UPDATE customer_identities SET customer_id = $3 WHERE workspace_id = $1 AND customer_id = $2").bind(ws).bind(source).bind(target))
        .await?;
    let tickets = tx
        .conn()
        .execute(&query("UPDATE tickets SET customer_id = $3, updated_at = $4 WHERE workspace_id = $1 AND customer_id = $2").bind(ws).bind(source).bind(target).bind(now))
        .await?;
    tx.conn()
        .execute(&query("UPDATE messages SET author_customer_id = $3 WHERE workspace_id = $1 AND author_customer_id = $2").bind(ws).bind(source).bind(target))
        .await?;
    tx.conn()
        .execute(&query("UPDATE customers SET merged_into = $3, updated_at = $4 WHERE workspace_id = $1 AND (id = $2 OR merged_into = $2)").bind(ws).bind(source).bind(target).bind(now))
        .await?;
    tx.conn()
        .execute(
            &query("UPDATE customers SET updated_at = $3 WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(target)
                .bind(now),
        )
        .await?;
    Ok(Moved {
        identities: identities as usize,
        tickets: tickets as usize,
    })
}

/// The names of the given customers, for lists that show many at once.
pub async fn names(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ids: &[CustomerId],
) -> Result<Vec<(CustomerId, String)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let q = query("SELECT id, name FROM customers WHERE workspace_id = $1 AND id IN (").bind(ws);
    let rows: Vec<(uuid::Uuid, String)> = c
        .fetch_all(&q.bind_list(ids.iter().copied()).push(")"))
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, n)| (CustomerId(id), n))
        .collect())
}

/// A customer's language, without loading the profile.
pub async fn language(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: CustomerId,
) -> Result<Option<String>, StoreError> {
    Ok(segment(c, ws, id).await?.0)
}

/// A customer's language and tags (what SLA policies and routing select by),
/// without loading the profile.
pub async fn segment(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: CustomerId,
) -> Result<(Option<String>, Vec<String>), StoreError> {
    let v: Option<(Option<String>, String)> = c
        .fetch_optional(
            &query("SELECT language, tags FROM customers WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(id),
        )
        .await?;
    Ok(match v {
        Some((lang, tags)) => (
            lang,
            serde_json::from_str(&tags).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        ),
        None => (None, Vec::new()),
    })
}
