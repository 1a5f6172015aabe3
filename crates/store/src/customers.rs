//! Customers and their identities across channels.

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::identity::{Identity, IdentityKind, MatchReason};
use domain::ids::*;

/// How a customer is known on one channel.
#[derive(Clone, Debug, PartialEq)]
pub struct IdentityRecord {
    pub id: IdentityId,
    pub customer_id: CustomerId,
    pub kind: IdentityKind,
    pub value: String,
    pub created_at: Timestamp,
    /// A channel proved it; `false` while it is only what the person typed.
    pub verified: bool,
    /// Used by several people: it never links two profiles by itself.
    pub shared: bool,
}

impl FromRow for IdentityRecord {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(IdentityRecord {
            id: r.id(0)?,
            customer_id: r.id(1)?,
            kind: r.parse(2, IdentityKind::parse)?,
            value: r.get(3)?,
            created_at: r.time(4)?,
            verified: r.get(5)?,
            shared: r.get(6)?,
        })
    }
}

const IDENTITY_COLS: &str = "id, customer_id, kind, value, created_at, verified, shared";

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
    /// Asked not to be written to first (proactive outreach).
    pub outreach_opt_out: bool,
    /// Since when two bad experiences in a row flag them.
    pub at_risk_since: Option<Timestamp>,
    /// The company they belong to.
    pub organization_id: Option<OrganizationId>,
    /// Values of the workspace's customer fields, by key.
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
    /// When their personal data was erased (the profile then only counts).
    pub erased_at: Option<Timestamp>,
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
            outreach_opt_out: r.get(9)?,
            at_risk_since: r.time_opt(10)?,
            organization_id: r.id_opt(11)?,
            custom_fields: r.json(12)?,
            erased_at: r.time_opt(13)?,
        })
    }
}

const COLS: &str = "id, workspace_id, name, language, notes, merged_into, created_at, updated_at, tags, \
                    outreach_opt_out, at_risk_since, organization_id, custom_fields, erased_at";

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
    let q = query("UPDATE customers SET name = $3, language = $4, notes = $5, updated_at = $6, tags = $7, outreach_opt_out = $8, at_risk_since = $9, organization_id = $10, custom_fields = $11 WHERE workspace_id = $1 AND id = $2")
        .bind(c.workspace_id)
        .bind(c.id)
        .bind(&c.name)
        .bind(c.language.as_deref())
        .bind(&c.notes)
        .bind(c.updated_at)
        .bind(serde_json::to_string(&c.tags).unwrap_or_else(|_| "[]".into()))
        .bind(c.outreach_opt_out)
        .bind(c.at_risk_since)
        .bind(c.organization_id)
        .bind(serde_json::to_string(&c.custom_fields).unwrap_or_else(|_| "{}".into()));
    match tx.conn().execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Adds an identity (`verified`: a channel proved it); `Conflict` when another
/// customer of the workspace has it.
pub async fn insert_identity(
    tx: &mut Tx,
    ws: WorkspaceId,
    customer: CustomerId,
    i: &Identity,
    verified: bool,
) -> Result<IdentityRecord, StoreError> {
    let rec = IdentityRecord {
        id: IdentityId::new(),
        customer_id: customer,
        kind: i.kind(),
        value: i.value().to_owned(),
        created_at: tx.now(),
        verified,
        shared: false,
    };
    let q = query("INSERT INTO customer_identities (id, workspace_id, customer_id, kind, value, created_at, verified) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(rec.id)
        .bind(ws)
        .bind(customer)
        .bind(rec.kind.as_str())
        .bind(&rec.value)
        .bind(rec.created_at)
        .bind(verified);
    tx.conn().execute(&q).await?;
    Ok(rec)
}

/// Gives an identity to `customer` (from whoever had it) and sets its flags.
pub async fn set_identity(
    tx: &mut Tx,
    ws: WorkspaceId,
    i: &Identity,
    customer: CustomerId,
    verified: bool,
    shared: bool,
) -> Result<(), StoreError> {
    let q = query("UPDATE customer_identities SET customer_id = $4, verified = $5, shared = $6 WHERE workspace_id = $1 AND kind = $2 AND value = $3")
        .bind(ws)
        .bind(i.kind().as_str())
        .bind(i.value())
        .bind(customer)
        .bind(verified)
        .bind(shared);
    match tx.conn().execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Who has an identity and how far it is trusted there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holder {
    pub customer_id: CustomerId,
    pub verified: bool,
    pub shared: bool,
}

/// The holder of each identity (in the order given; `None` where unknown), in one query.
pub async fn owners_of(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ids: &[Identity],
) -> Result<Vec<Option<Holder>>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = query(
        "SELECT kind, value, customer_id, verified, shared FROM customer_identities WHERE workspace_id = $1 AND (",
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
    struct Owner(String, String, Holder);
    impl FromRow for Owner {
        fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
            Ok(Owner(
                r.get(0)?,
                r.get(1)?,
                Holder {
                    customer_id: r.id(2)?,
                    verified: r.get(3)?,
                    shared: r.get(4)?,
                },
            ))
        }
    }
    let rows: Vec<Owner> = c.fetch_all(&q.push(")")).await?;
    Ok(ids
        .iter()
        .map(|i| {
            rows.iter()
                .find(|o| o.0 == i.kind().as_str() && o.1 == i.value())
                .map(|o| o.2)
        })
        .collect())
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
    let q = query(format!("SELECT {IDENTITY_COLS} FROM customer_identities WHERE workspace_id = $1 AND customer_id IN (")).bind(ws);
    c.fetch_all(&q.bind_list(ids.iter().copied()).push(") ORDER BY id"))
        .await
}

/// Fills in the identities of these customers.
async fn with_identities(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    rows: &mut [Customer],
) -> Result<(), StoreError> {
    let ids: Vec<CustomerId> = rows.iter().map(|r| r.id).collect();
    let idents = identities_of(c, ws, &ids).await?;
    for r in rows {
        r.identities = idents
            .iter()
            .filter(|i| i.customer_id == r.id)
            .cloned()
            .collect();
    }
    Ok(())
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
    let pattern = q.map(crate::tickets::like_pattern);
    let sql = format!(
        "SELECT {COLS} FROM customers c WHERE c.workspace_id = $1 AND c.merged_into IS NULL AND ($2 IS NULL OR c.id < $2) \
         AND ($3 IS NULL OR LOWER(c.name) LIKE $3 ESCAPE '\\' OR EXISTS (SELECT 1 FROM customer_identities i \
              WHERE i.workspace_id = $1 AND i.customer_id = c.id AND i.value LIKE $3 ESCAPE '\\')) \
         ORDER BY c.id DESC LIMIT $4"
    );
    let mut rows: Vec<Customer> = c
        .fetch_all(&query(sql).bind(ws).bind(before).bind(pattern).bind(limit))
        .await?;
    with_identities(c, ws, &mut rows).await?;
    Ok(rows)
}

/// The customers (not merged away) of an organisation, newest first.
pub async fn of_organization(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    org: OrganizationId,
    limit: i64,
) -> Result<Vec<Customer>, StoreError> {
    let mut rows: Vec<Customer> = c
        .fetch_all(
            &query(format!(
                "SELECT {COLS} FROM customers WHERE workspace_id = $1 AND organization_id = $2 \
                 AND merged_into IS NULL ORDER BY id DESC LIMIT $3"
            ))
            .bind(ws)
            .bind(org)
            .bind(limit),
        )
        .await?;
    with_identities(c, ws, &mut rows).await?;
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
    crate::orders::move_customer(tx, ws, target, source).await?;
    crate::surveys::move_customer(tx, ws, target, source).await?;
    crate::journey::move_customer(tx, ws, target, source).await?;
    crate::links::move_customer(tx, ws, target, source).await?;
    // A chat visitor keeps writing as the merged profile.
    tx.conn()
        .execute(&query("UPDATE chat_visitors SET customer_id = $3 WHERE workspace_id = $1 AND customer_id = $2").bind(ws).bind(source).bind(target))
        .await?;
    tx.conn()
        .execute(&query("UPDATE customers SET merged_into = $3, updated_at = $4 WHERE workspace_id = $1 AND (id = $2 OR merged_into = $2)").bind(ws).bind(source).bind(target).bind(now))
        .await?;
    move_suggestions(tx, ws, target, source).await?;
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

/// Two profiles that may be one person, as one of them sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Suggestion {
    pub id: SuggestionId,
    /// The other profile.
    pub other_id: CustomerId,
    pub other_name: String,
    pub reason: MatchReason,
    pub kind: IdentityKind,
    pub value: String,
    pub created_at: Timestamp,
}

fn pair(a: CustomerId, b: CustomerId) -> (CustomerId, CustomerId) {
    if a.0 < b.0 { (a, b) } else { (b, a) }
}

/// Records that `a` and `b` may be one person; `false` when the pair was
/// suggested before (open, merged or dismissed), so a dismissal holds.
pub async fn suggest(
    tx: &mut Tx,
    ws: WorkspaceId,
    a: CustomerId,
    b: CustomerId,
    reason: MatchReason,
    i: &Identity,
) -> Result<bool, StoreError> {
    if a == b {
        return Ok(false);
    }
    let (x, y) = pair(a, b);
    let q = query(
        "INSERT INTO merge_suggestions (id, workspace_id, customer_a, customer_b, reason, kind, value, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (workspace_id, customer_a, customer_b) DO NOTHING",
    )
    .bind(SuggestionId::new())
    .bind(ws)
    .bind(x)
    .bind(y)
    .bind(reason.as_str())
    .bind(i.kind().as_str())
    .bind(i.value())
    .bind(tx.now());
    Ok(tx.conn().execute(&q).await? > 0)
}

/// The open suggestions that name `customer`, newest first (at most 50: more
/// would be noise to an agent).
pub async fn suggestions(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
) -> Result<Vec<Suggestion>, StoreError> {
    let q = query(
        "SELECT s.id, o.id, o.name, s.reason, s.kind, s.value, s.created_at FROM merge_suggestions s \
         JOIN customers o ON o.workspace_id = s.workspace_id \
              AND o.id = CASE WHEN s.customer_a = $2 THEN s.customer_b ELSE s.customer_a END \
         WHERE s.workspace_id = $1 AND (s.customer_a = $2 OR s.customer_b = $2) \
           AND s.resolved_at IS NULL AND o.merged_into IS NULL \
         ORDER BY s.created_at DESC, s.id LIMIT 50",
    )
    .bind(ws)
    .bind(customer);
    struct R(Suggestion);
    impl FromRow for R {
        fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
            Ok(R(Suggestion {
                id: r.id(0)?,
                other_id: r.id(1)?,
                other_name: r.get(2)?,
                reason: r.parse(3, MatchReason::parse)?,
                kind: r.parse(4, IdentityKind::parse)?,
                value: r.get(5)?,
                created_at: r.time(6)?,
            }))
        }
    }
    let rows: Vec<R> = c.fetch_all(&q).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Closes the open suggestion `id` that names `customer` (`merged` or
/// `dismissed`); `NotFound` when there is none.
pub async fn close_suggestion(
    tx: &mut Tx,
    ws: WorkspaceId,
    customer: CustomerId,
    id: SuggestionId,
    resolution: &str,
) -> Result<(), StoreError> {
    let q = query(
        "UPDATE merge_suggestions SET resolved_at = $4, resolution = $5 \
         WHERE workspace_id = $1 AND id = $2 AND (customer_a = $3 OR customer_b = $3) AND resolved_at IS NULL",
    )
    .bind(ws)
    .bind(id)
    .bind(customer)
    .bind(tx.now())
    .bind(resolution);
    match tx.conn().execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// After `source` merged into `target`: their own pair is closed as merged,
/// and every other pair naming `source` names `target` instead (dropped where
/// `target` already has that pair).
async fn move_suggestions(
    tx: &mut Tx,
    ws: WorkspaceId,
    target: CustomerId,
    source: CustomerId,
) -> Result<(), StoreError> {
    let (x, y) = pair(target, source);
    let now = tx.now();
    tx.conn()
        .execute(
            &query("UPDATE merge_suggestions SET resolved_at = $4, resolution = 'merged' WHERE workspace_id = $1 AND customer_a = $2 AND customer_b = $3 AND resolved_at IS NULL")
                .bind(ws)
                .bind(x)
                .bind(y)
                .bind(now),
        )
        .await?;
    struct R(SuggestionId, CustomerId, CustomerId);
    impl FromRow for R {
        fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
            Ok(R(r.id(0)?, r.id(1)?, r.id(2)?))
        }
    }
    let rows: Vec<R> = tx
        .conn()
        .fetch_all(
            &query("SELECT id, customer_a, customer_b FROM merge_suggestions WHERE workspace_id = $1 AND (customer_a = $2 OR customer_b = $2) AND NOT (customer_a = $3 OR customer_b = $3)")
                .bind(ws)
                .bind(source)
                .bind(target),
        )
        .await?;
    for R(id, a, b) in rows {
        let other = if a == source { b } else { a };
        let (na, nb) = pair(target, other);
        let taken: Option<uuid::Uuid> = tx
            .conn()
            .fetch_optional(
                &query("SELECT id FROM merge_suggestions WHERE workspace_id = $1 AND customer_a = $2 AND customer_b = $3")
                    .bind(ws)
                    .bind(na)
                    .bind(nb),
            )
            .await?;
        let q = if taken.is_some() {
            query("DELETE FROM merge_suggestions WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(id)
        } else {
            query("UPDATE merge_suggestions SET customer_a = $3, customer_b = $4 WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(id)
                .bind(na)
                .bind(nb)
        };
        tx.conn().execute(&q).await?;
    }
    Ok(())
}

/// One identity of a customer, by its id.
pub async fn identity(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
    id: IdentityId,
) -> Result<Option<IdentityRecord>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {IDENTITY_COLS} FROM customer_identities WHERE workspace_id = $1 AND customer_id = $2 AND id = $3"
        ))
        .bind(ws)
        .bind(customer)
        .bind(id),
    )
    .await
}

/// The profiles merged into `target`.
pub async fn merged_into(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    target: CustomerId,
) -> Result<Vec<CustomerId>, StoreError> {
    let ids: Vec<uuid::Uuid> = c
        .fetch_all(
            &query(
                "SELECT id FROM customers WHERE workspace_id = $1 AND merged_into = $2 ORDER BY id",
            )
            .bind(ws)
            .bind(target),
        )
        .await?;
    Ok(ids.into_iter().map(CustomerId).collect())
}
