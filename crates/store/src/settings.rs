//! A workspace's settings kept as one JSON document per table
//! (`assist_settings`, `outreach_settings`, `survey_settings`,
//! `report_settings`, `journey_settings`): what is absent reads as the
//! type's default.

use crate::{Conn, StoreError, Tx, query};
use domain::ids::WorkspaceId;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The tables that hold settings this way; the SQL names only these.
#[derive(Clone, Copy, Debug)]
pub enum Table {
    Assist,
    Outreach,
    Survey,
    Report,
    Journey,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Assist => "assist_settings",
            Table::Outreach => "outreach_settings",
            Table::Survey => "survey_settings",
            Table::Report => "report_settings",
            Table::Journey => "journey_settings",
        }
    }
}

pub async fn read<T: DeserializeOwned + Default>(
    c: &mut Conn<'_>,
    table: Table,
    ws: WorkspaceId,
) -> Result<T, StoreError> {
    let raw: Option<String> = c
        .fetch_optional(
            &query(format!(
                "SELECT settings FROM {} WHERE workspace_id = $1",
                table.name()
            ))
            .bind(ws),
        )
        .await?;
    raw.map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
        .map(Option::unwrap_or_default)
}

pub async fn write<T: Serialize>(
    tx: &mut Tx,
    table: Table,
    ws: WorkspaceId,
    value: &T,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.conn()
        .execute(
            &query(format!(
                "INSERT INTO {} (workspace_id, settings) VALUES ($1, $2) \
                 ON CONFLICT (workspace_id) DO UPDATE SET settings = excluded.settings",
                table.name()
            ))
            .bind(ws)
            .bind(json),
        )
        .await
        .map(|_| ())
}
