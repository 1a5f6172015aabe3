//! Workspaces (tenants).

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::WorkspaceId;

/// A tenant.
#[derive(Clone, Debug, PartialEq)]
pub struct Workspace {
    pub id: WorkspaceId,
    /// The unique short name used on the command line and at login.
    pub name: String,
    pub display_name: String,
    pub default_language: String,
    pub time_zone: String,
    pub created_at: Timestamp,
}

const COLS: &str = "id, name, display_name, default_language, time_zone, created_at";

impl FromRow for Workspace {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Workspace {
            id: r.id(0)?,
            name: r.get(1)?,
            display_name: r.get(2)?,
            default_language: r.get(3)?,
            time_zone: r.get(4)?,
            created_at: r.time(5)?,
        })
    }
}

pub async fn insert(tx: &mut Tx, w: &Workspace) -> Result<(), StoreError> {
    let q = query(
        "INSERT INTO workspaces (id, name, display_name, default_language, time_zone, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(w.id)
    .bind(&w.name)
    .bind(&w.display_name)
    .bind(&w.default_language)
    .bind(&w.time_zone)
    .bind(w.created_at);
    tx.conn().execute(&q).await?;
    tx.conn()
        .execute(
            &query("INSERT INTO ticket_counters (workspace_id, last_number) VALUES ($1, 0)")
                .bind(w.id),
        )
        .await
        .map(|_| ())
}

pub async fn by_name(c: &mut Conn<'_>, name: &str) -> Result<Option<Workspace>, StoreError> {
    c.fetch_optional(&query(format!("SELECT {COLS} FROM workspaces WHERE name = $1")).bind(name))
        .await
}

pub async fn by_id(c: &mut Conn<'_>, id: WorkspaceId) -> Result<Option<Workspace>, StoreError> {
    c.fetch_optional(&query(format!("SELECT {COLS} FROM workspaces WHERE id = $1")).bind(id))
        .await
}

pub async fn list(c: &mut Conn<'_>) -> Result<Vec<Workspace>, StoreError> {
    c.fetch_all(&query(format!(
        "SELECT {COLS} FROM workspaces ORDER BY name"
    )))
    .await
}

pub async fn update(tx: &mut Tx, w: &Workspace) -> Result<(), StoreError> {
    let q = query("UPDATE workspaces SET display_name = $2, default_language = $3, time_zone = $4 WHERE id = $1")
        .bind(w.id)
        .bind(&w.display_name)
        .bind(&w.default_language)
        .bind(&w.time_zone);
    tx.conn().execute(&q).await.map(|_| ())
}

/// Takes the workspace's next ticket number from its counter row (a table of its
/// own, referenced by nothing); numbers never repeat.
pub async fn next_ticket_number(tx: &mut Tx, ws: WorkspaceId) -> Result<i64, StoreError> {
    tx.conn()
        .fetch_one(&query("UPDATE ticket_counters SET last_number = last_number + 1 WHERE workspace_id = $1 RETURNING last_number").bind(ws))
        .await
}
