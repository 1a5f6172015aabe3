//! Organisations (companies customers belong to) and the domains that link
//! customers to them.

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;
use serde_json::{Map, Value};

#[derive(Clone, Debug, PartialEq)]
pub struct Organization {
    pub id: OrganizationId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub notes: String,
    pub custom_fields: Map<String, Value>,
    /// Sorted; each names this organisation alone in the workspace.
    pub domains: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl FromRow for Organization {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Organization {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            name: r.get(2)?,
            notes: r.get(3)?,
            custom_fields: r.json(4)?,
            created_at: r.time(5)?,
            updated_at: r.time(6)?,
            domains: Vec::new(),
        })
    }
}

const COLS: &str = "id, workspace_id, name, notes, custom_fields, created_at, updated_at";

/// The name as uniqueness and search see it.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

fn json(v: &Map<String, Value>) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub async fn insert(tx: &mut Tx, o: &Organization) -> Result<(), StoreError> {
    let q = query("INSERT INTO organizations (id, workspace_id, name, name_key, notes, custom_fields, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(o.id)
        .bind(o.workspace_id)
        .bind(&o.name)
        .bind(name_key(&o.name))
        .bind(&o.notes)
        .bind(json(&o.custom_fields)?)
        .bind(o.created_at)
        .bind(o.updated_at);
    tx.conn().execute(&q).await?;
    set_domains(tx, o).await
}

pub async fn update(tx: &mut Tx, o: &Organization) -> Result<(), StoreError> {
    let q = query("UPDATE organizations SET name = $3, name_key = $4, notes = $5, custom_fields = $6, updated_at = $7 WHERE workspace_id = $1 AND id = $2")
        .bind(o.workspace_id)
        .bind(o.id)
        .bind(&o.name)
        .bind(name_key(&o.name))
        .bind(&o.notes)
        .bind(json(&o.custom_fields)?)
        .bind(o.updated_at);
    if tx.conn().execute(&q).await? == 0 {
        return Err(StoreError::NotFound);
    }
    set_domains(tx, o).await
}

async fn set_domains(tx: &mut Tx, o: &Organization) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query(
                "DELETE FROM organization_domains WHERE workspace_id = $1 AND organization_id = $2",
            )
            .bind(o.workspace_id)
            .bind(o.id),
        )
        .await?;
    for d in &o.domains {
        tx.conn()
            .execute(
                &query("INSERT INTO organization_domains (workspace_id, domain, organization_id) VALUES ($1, $2, $3)")
                    .bind(o.workspace_id)
                    .bind(d)
                    .bind(o.id),
            )
            .await?;
    }
    Ok(())
}

/// Deletes an organisation; its customers stay, belonging to none.
pub async fn delete(tx: &mut Tx, ws: WorkspaceId, id: OrganizationId) -> Result<u64, StoreError> {
    let freed = tx
        .conn()
        .execute(
            &query("UPDATE customers SET organization_id = NULL WHERE workspace_id = $1 AND organization_id = $2")
                .bind(ws)
                .bind(id),
        )
        .await?;
    tx.conn()
        .execute(
            &query(
                "DELETE FROM organization_domains WHERE workspace_id = $1 AND organization_id = $2",
            )
            .bind(ws)
            .bind(id),
        )
        .await?;
    let gone = tx
        .conn()
        .execute(
            &query("DELETE FROM organizations WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(id),
        )
        .await?;
    if gone == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(freed)
}

async fn with_domains(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    mut orgs: Vec<Organization>,
) -> Result<Vec<Organization>, StoreError> {
    if orgs.is_empty() {
        return Ok(orgs);
    }
    let q = query(
        "SELECT organization_id, domain FROM organization_domains WHERE workspace_id = $1 AND organization_id IN (",
    )
    .bind(ws);
    let rows: Vec<(OrganizationId, String)> = c
        .fetch_all::<DomainRow>(
            &q.bind_list(orgs.iter().map(|o| o.id))
                .push(") ORDER BY domain"),
        )
        .await?
        .into_iter()
        .map(|r| (r.0, r.1))
        .collect();
    for o in &mut orgs {
        o.domains = rows
            .iter()
            .filter(|(id, _)| *id == o.id)
            .map(|(_, d)| d.clone())
            .collect();
    }
    Ok(orgs)
}

struct DomainRow(OrganizationId, String);

impl FromRow for DomainRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(DomainRow(r.id(0)?, r.get(1)?))
    }
}

pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: OrganizationId,
) -> Result<Option<Organization>, StoreError> {
    let o: Option<Organization> = c
        .fetch_optional(
            &query(format!(
                "SELECT {COLS} FROM organizations WHERE workspace_id = $1 AND id = $2"
            ))
            .bind(ws)
            .bind(id),
        )
        .await?;
    Ok(with_domains(c, ws, o.into_iter().collect()).await?.pop())
}

/// Organisations by name, optionally those whose name or a domain contains
/// `q`, after the name key `after` (the cursor).
pub async fn list(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    q: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Organization>, StoreError> {
    let pattern = q.map(crate::tickets::like_pattern);
    let sql = format!(
        "SELECT {COLS} FROM organizations o WHERE o.workspace_id = $1 AND ($2 IS NULL OR o.name_key > $2) \
         AND ($3 IS NULL OR o.name_key LIKE $3 ESCAPE '\\' OR EXISTS (SELECT 1 FROM organization_domains d \
              WHERE d.workspace_id = $1 AND d.organization_id = o.id AND d.domain LIKE $3 ESCAPE '\\')) \
         ORDER BY o.name_key LIMIT $4"
    );
    let rows = c
        .fetch_all(&query(sql).bind(ws).bind(after).bind(pattern).bind(limit))
        .await?;
    with_domains(c, ws, rows).await
}

/// The organisation that claims `domain`, if one does.
pub async fn by_domain(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    domain: &str,
) -> Result<Option<OrganizationId>, StoreError> {
    let id: Option<uuid::Uuid> = c
        .fetch_optional(
            &query("SELECT organization_id FROM organization_domains WHERE workspace_id = $1 AND domain = $2")
                .bind(ws)
                .bind(domain),
        )
        .await?;
    Ok(id.map(OrganizationId))
}

/// The customers (not merged away) with a verified email address at
/// `domain` who belong to no organisation.
pub async fn unlinked_at(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    domain: &str,
    limit: i64,
) -> Result<Vec<CustomerId>, StoreError> {
    // Domains hold letters, digits, dots and hyphens only: safe in a pattern.
    let ids: Vec<uuid::Uuid> = c
        .fetch_all(
            &query(
                "SELECT DISTINCT c.id FROM customers c JOIN customer_identities i \
                 ON i.workspace_id = c.workspace_id AND i.customer_id = c.id \
                 WHERE c.workspace_id = $1 AND c.organization_id IS NULL AND c.merged_into IS NULL \
                 AND i.kind = 'email' AND i.verified AND i.value LIKE $2 ORDER BY c.id LIMIT $3",
            )
            .bind(ws)
            .bind(format!("%@{domain}"))
            .bind(limit),
        )
        .await?;
    Ok(ids.into_iter().map(CustomerId).collect())
}

/// Sets the organisation of these customers.
pub async fn link(
    tx: &mut Tx,
    ws: WorkspaceId,
    org: Option<OrganizationId>,
    customers: &[CustomerId],
    now: Timestamp,
) -> Result<(), StoreError> {
    if customers.is_empty() {
        return Ok(());
    }
    let q = query("UPDATE customers SET organization_id = $2, updated_at = $3 WHERE workspace_id = $1 AND id IN (")
        .bind(ws)
        .bind(org)
        .bind(now);
    tx.conn()
        .execute(&q.bind_list(customers.iter().copied()).push(")"))
        .await
        .map(|_| ())
}

/// How many customers (not merged away) belong to each of these organisations.
pub async fn member_counts(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    orgs: &[OrganizationId],
) -> Result<Vec<(OrganizationId, i64)>, StoreError> {
    if orgs.is_empty() {
        return Ok(Vec::new());
    }
    let q = query("SELECT organization_id, COUNT(*) FROM customers WHERE workspace_id = $1 AND merged_into IS NULL AND organization_id IN (").bind(ws);
    let rows: Vec<CountRow> = c
        .fetch_all(
            &q.bind_list(orgs.iter().copied())
                .push(") GROUP BY organization_id"),
        )
        .await?;
    Ok(rows.into_iter().map(|r| (r.0, r.1)).collect())
}

struct CountRow(OrganizationId, i64);

impl FromRow for CountRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(CountRow(r.id(0)?, r.get(1)?))
    }
}
