//! Business-hours calendars (and, later, SLA policies and ticket clocks).

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;

/// A calendar as stored: the engine turns it into a `domain::calendar::Calendar`.
#[derive(Clone, Debug, PartialEq)]
pub struct BusinessHours {
    pub id: CalendarId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub time_zone: String,
    /// Monday first: (start, end) as `HH:MM`.
    pub week: [Vec<(String, String)>; 7],
    pub holidays: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLS: &str = "id, workspace_id, name, time_zone, week, holidays, created_at, updated_at";

impl FromRow for BusinessHours {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(BusinessHours {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            name: r.get(2)?,
            time_zone: r.get(3)?,
            week: r.json(4)?,
            holidays: r.json(5)?,
            created_at: r.time(6)?,
            updated_at: r.time(7)?,
        })
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub async fn insert_hours(tx: &mut Tx, b: &BusinessHours) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO business_hours ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(b.id)
    .bind(b.workspace_id)
    .bind(b.name.clone())
    .bind(b.time_zone.clone())
    .bind(json(&b.week)?)
    .bind(json(&b.holidays)?)
    .bind(b.created_at)
    .bind(b.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn update_hours(tx: &mut Tx, b: &BusinessHours) -> Result<(), StoreError> {
    let q = query(
        "UPDATE business_hours SET name = $3, time_zone = $4, week = $5, holidays = $6, updated_at = $7 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(b.workspace_id)
    .bind(b.id)
    .bind(b.name.clone())
    .bind(b.time_zone.clone())
    .bind(json(&b.week)?)
    .bind(json(&b.holidays)?)
    .bind(b.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn hours(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: CalendarId,
) -> Result<Option<BusinessHours>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM business_hours WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// The workspace's calendars (at most 200), oldest first.
pub async fn all_hours(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
) -> Result<Vec<BusinessHours>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM business_hours WHERE workspace_id = $1 ORDER BY id LIMIT 200"
        ))
        .bind(ws),
    )
    .await
}
