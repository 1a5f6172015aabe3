//! Macros as stored: shared ones (no owner) and agents' personal ones.

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;
use domain::macros::MacroSpec;

#[derive(Clone, Debug, PartialEq)]
pub struct Macro {
    pub id: MacroId,
    pub workspace_id: WorkspaceId,
    /// `None`: shared with everyone in the workspace.
    pub owner_id: Option<UserId>,
    pub name: String,
    pub spec: MacroSpec,
    pub usage_count: i64,
    pub last_used_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLS: &str =
    "id, workspace_id, owner_id, name, spec, usage_count, last_used_at, created_at, updated_at";

impl FromRow for Macro {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Macro {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            owner_id: r.id_opt(2)?,
            name: r.get(3)?,
            spec: r.json(4)?,
            usage_count: r.get(5)?,
            last_used_at: r.time_opt(6)?,
            created_at: r.time(7)?,
            updated_at: r.time(8)?,
        })
    }
}

fn spec_json(s: &MacroSpec) -> Result<String, StoreError> {
    serde_json::to_string(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub async fn insert(tx: &mut Tx, m: &Macro) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO macros ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(m.id)
    .bind(m.workspace_id)
    .bind(m.owner_id)
    .bind(m.name.clone())
    .bind(spec_json(&m.spec)?)
    .bind(m.usage_count)
    .bind(m.last_used_at)
    .bind(m.created_at)
    .bind(m.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn update(tx: &mut Tx, m: &Macro) -> Result<(), StoreError> {
    let q = query(
        "UPDATE macros SET owner_id = $3, name = $4, spec = $5, updated_at = $6 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(m.workspace_id)
    .bind(m.id)
    .bind(m.owner_id)
    .bind(m.name.clone())
    .bind(spec_json(&m.spec)?)
    .bind(m.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn delete(tx: &mut Tx, ws: WorkspaceId, id: MacroId) -> Result<bool, StoreError> {
    let n = tx
        .conn()
        .execute(
            &query("DELETE FROM macros WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(id),
        )
        .await?;
    Ok(n > 0)
}

pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: MacroId,
) -> Result<Option<Macro>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM macros WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// The macros `user` may use — shared ones and their own — most used first.
pub async fn usable(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    user: UserId,
    limit: i64,
) -> Result<Vec<Macro>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM macros WHERE workspace_id = $1 AND (owner_id IS NULL OR owner_id = $2) \
             ORDER BY usage_count DESC, name, id LIMIT $3"
        ))
        .bind(ws)
        .bind(user)
        .bind(limit),
    )
    .await
}

/// How many macros the workspace keeps.
pub async fn count(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<i64, StoreError> {
    c.fetch_one(&query("SELECT COUNT(*) FROM macros WHERE workspace_id = $1").bind(ws))
        .await
}

/// Counts a use.
pub async fn used(tx: &mut Tx, ws: WorkspaceId, id: MacroId) -> Result<(), StoreError> {
    let now = tx.now();
    tx.conn()
        .execute(
            &query(
                "UPDATE macros SET usage_count = usage_count + 1, last_used_at = $3 \
                 WHERE workspace_id = $1 AND id = $2",
            )
            .bind(ws)
            .bind(id)
            .bind(now),
        )
        .await
        .map(|_| ())
}
