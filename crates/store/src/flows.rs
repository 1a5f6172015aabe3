//! Guided flows as saved: one row per flow, the flow itself as JSON.

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::flow::FlowSpec;
use domain::ids::*;

#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    pub id: FlowId,
    pub workspace_id: WorkspaceId,
    pub spec: FlowSpec,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLS: &str = "id, workspace_id, spec, created_at, updated_at";

impl FromRow for Flow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let raw: String = r.get(2)?;
        Ok(Flow {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            spec: serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            created_at: r.time(3)?,
            updated_at: r.time(4)?,
        })
    }
}

fn spec_json(s: &FlowSpec) -> Result<String, StoreError> {
    serde_json::to_string(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A workspace's flows by key.
pub async fn list(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<Vec<Flow>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM bot_flows WHERE workspace_id = $1 ORDER BY key"
        ))
        .bind(ws),
    )
    .await
}

pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: FlowId,
) -> Result<Option<Flow>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM bot_flows WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

pub async fn by_key(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    key: &str,
) -> Result<Option<Flow>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM bot_flows WHERE workspace_id = $1 AND key = $2"
        ))
        .bind(ws)
        .bind(key),
    )
    .await
}

pub async fn insert(tx: &mut Tx, f: &Flow) -> Result<(), StoreError> {
    let q = query(
        "INSERT INTO bot_flows (id, workspace_id, key, spec, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(f.id)
    .bind(f.workspace_id)
    .bind(&f.spec.key)
    .bind(spec_json(&f.spec)?)
    .bind(f.spec.active)
    .bind(f.created_at)
    .bind(f.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn update(tx: &mut Tx, f: &Flow) -> Result<(), StoreError> {
    let q = query(
        "UPDATE bot_flows SET key = $3, spec = $4, active = $5, updated_at = $6 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(f.workspace_id)
    .bind(f.id)
    .bind(&f.spec.key)
    .bind(spec_json(&f.spec)?)
    .bind(f.spec.active)
    .bind(f.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

/// Deletes a flow; `false` when there was none.
pub async fn delete(tx: &mut Tx, ws: WorkspaceId, id: FlowId) -> Result<bool, StoreError> {
    let q = query("DELETE FROM bot_flows WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id);
    Ok(tx.conn().execute(&q).await? > 0)
}

/// A stamp that moves whenever a flow is added, changed or removed.
pub async fn stamp(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<String, StoreError> {
    let (n, at): (i64, Option<i64>) = c
        .fetch_one(
            &query("SELECT COUNT(*), MAX(updated_at) FROM bot_flows WHERE workspace_id = $1")
                .bind(ws),
        )
        .await?;
    Ok(format!("{n}:{}", at.unwrap_or(0)))
}
