//! The customer journey's touchpoints (`domain::journey`): one row each,
//! unique per workspace by `source`, read per customer newest first.

use crate::{Conn, Dialect, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;
use domain::journey::{Kind, Stage};
use domain::ticket::Channel;
use std::collections::BTreeMap;

/// A touchpoint as kept.
#[derive(Clone, Debug, PartialEq)]
pub struct TouchpointRow {
    pub id: TouchpointId,
    pub workspace_id: WorkspaceId,
    pub customer_id: CustomerId,
    pub at: Timestamp,
    pub kind: Kind,
    pub stage: Stage,
    pub emotion: Option<i64>,
    pub channel: Option<Channel>,
    pub ticket_id: Option<TicketId>,
    pub reference: Option<String>,
    pub name: Option<String>,
    pub url: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub source: String,
    pub created_at: Timestamp,
}

const COLS: &str = "id, workspace_id, customer_id, at, kind, stage, emotion, channel, ticket_id, \
                    reference, name, url, attributes, source, created_at";

impl FromRow for TouchpointRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let channel: Option<String> = r.get(7)?;
        Ok(TouchpointRow {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            customer_id: r.id(2)?,
            at: r.time(3)?,
            kind: r.parse(4, Kind::parse)?,
            stage: r.parse(5, Stage::parse)?,
            emotion: r.get(6)?,
            channel: channel
                .map(|c| Channel::parse(&c).map_err(|e| StoreError::Corrupt(e.to_string())))
                .transpose()?,
            ticket_id: r.id_opt(8)?,
            reference: r.get(9)?,
            name: r.get(10)?,
            url: r.get(11)?,
            attributes: r.json(12)?,
            source: r.get(13)?,
            created_at: r.time(14)?,
        })
    }
}

/// Adds a touchpoint unless its source is already there; whether it was added.
pub async fn insert(tx: &mut Tx, t: &TouchpointRow) -> Result<bool, StoreError> {
    let attributes =
        serde_json::to_string(&t.attributes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let n = tx
        .conn()
        .execute(
            &query(format!(
                "INSERT INTO touchpoints ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                 ON CONFLICT (workspace_id, source) DO NOTHING"
            ))
            .bind(t.id)
            .bind(t.workspace_id)
            .bind(t.customer_id)
            .bind(t.at)
            .bind(t.kind.as_str())
            .bind(t.stage.as_str())
            .bind(t.emotion)
            .bind(t.channel.map(|c| c.as_str()))
            .bind(t.ticket_id)
            .bind(t.reference.as_deref())
            .bind(t.name.as_deref())
            .bind(t.url.as_deref())
            .bind(attributes)
            .bind(t.source.as_str())
            .bind(t.created_at),
        )
        .await?;
    Ok(n > 0)
}

/// Sets the emotion of the touchpoint `source` names; whether there was one.
pub async fn feel(
    tx: &mut Tx,
    ws: WorkspaceId,
    source: &str,
    emotion: i64,
) -> Result<bool, StoreError> {
    let n = tx
        .conn()
        .execute(
            &query("UPDATE touchpoints SET emotion = $3 WHERE workspace_id = $1 AND source = $2")
                .bind(ws)
                .bind(source)
                .bind(emotion),
        )
        .await?;
    Ok(n > 0)
}

/// A customer's touchpoints, newest first, older than `before` (a moment and
/// an id, the last of the previous page).
pub async fn of_customer(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
    before: Option<(Timestamp, TouchpointId)>,
    limit: i64,
) -> Result<Vec<TouchpointRow>, StoreError> {
    let (at, id) = match before {
        Some((at, id)) => (Some(at.millis()), Some(id)),
        None => (None, None),
    };
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM touchpoints WHERE workspace_id = $1 AND customer_id = $2 \
             AND ($3 IS NULL OR at < $3 OR (at = $3 AND id < $4)) \
             ORDER BY at DESC, id DESC LIMIT $5"
        ))
        .bind(ws)
        .bind(customer)
        .bind(at)
        .bind(id)
        .bind(limit),
    )
    .await
}

/// One touchpoint of the workspace.
pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: TouchpointId,
) -> Result<Option<TouchpointRow>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM touchpoints WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// A merge: the merged profile's touchpoints become the target's.
pub async fn move_customer(
    tx: &mut Tx,
    ws: WorkspaceId,
    target: CustomerId,
    source: CustomerId,
) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query(
                "UPDATE touchpoints SET customer_id = $2 WHERE workspace_id = $1 AND customer_id = $3",
            )
            .bind(ws)
            .bind(target)
            .bind(source),
        )
        .await?;
    Ok(())
}

/// The touchpoint a source names.
pub async fn by_source(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    source: &str,
) -> Result<Option<TouchpointRow>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM touchpoints WHERE workspace_id = $1 AND source = $2"
        ))
        .bind(ws)
        .bind(source),
    )
    .await
}

/// The customer's latest touchpoint at or before `at`, other than `source`,
/// that was no pain itself (no emotion, or one above `pain_at`).
pub async fn calm_before(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
    at: Timestamp,
    source: &str,
    pain_at: i64,
) -> Result<Option<TouchpointRow>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM touchpoints WHERE workspace_id = $1 AND customer_id = $2 \
             AND at <= $3 AND source <> $4 AND (emotion IS NULL OR emotion > $5) \
             ORDER BY at DESC, id DESC LIMIT 1"
        ))
        .bind(ws)
        .bind(customer)
        .bind(at)
        .bind(source)
        .bind(pain_at),
    )
    .await
}

/// A customer's touchpoints in time order, at most `limit` (the earliest).
pub async fn in_order(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
    limit: i64,
) -> Result<Vec<TouchpointRow>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM touchpoints WHERE workspace_id = $1 AND customer_id = $2 \
             ORDER BY at, id LIMIT $3"
        ))
        .bind(ws)
        .bind(customer)
        .bind(limit),
    )
    .await
}

/// A customer's journey summary (`domain::journey_map::Summary`), as JSON.
pub async fn summary(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
) -> Result<Option<String>, StoreError> {
    c.fetch_optional(
        &query(
            "SELECT summary FROM journey_summaries WHERE workspace_id = $1 AND customer_id = $2",
        )
        .bind(ws)
        .bind(customer),
    )
    .await
}

/// The segments a summary names: first channel, category, country.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Segments {
    pub first_channel: Option<String>,
    pub category: Option<String>,
    pub country: Option<String>,
}

pub async fn save_summary(
    tx: &mut Tx,
    ws: WorkspaceId,
    customer: CustomerId,
    summary: &str,
    segments: &Segments,
    at: Timestamp,
) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query(
                "INSERT INTO journey_summaries (workspace_id, customer_id, summary, first_channel, \
                 category, country, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (workspace_id, customer_id) DO UPDATE SET summary = excluded.summary, \
                 first_channel = excluded.first_channel, category = excluded.category, \
                 country = excluded.country, updated_at = excluded.updated_at",
            )
            .bind(ws)
            .bind(customer)
            .bind(summary)
            .bind(segments.first_channel.as_deref())
            .bind(segments.category.as_deref())
            .bind(segments.country.as_deref())
            .bind(at),
        )
        .await?;
    Ok(())
}

/// Which summaries a map reads.
#[derive(Clone, Debug)]
pub enum Segment<'a> {
    All,
    FirstChannel(&'a str),
    Category(&'a str),
    Country(&'a str),
    /// Customers with this tag.
    Tag(&'a str),
}

/// What a segment is of, for the list of segments.
#[derive(Clone, Copy, Debug)]
pub enum SegmentColumn {
    FirstChannel,
    Category,
    Country,
}

impl SegmentColumn {
    fn name(self) -> &'static str {
        match self {
            SegmentColumn::FirstChannel => "first_channel",
            SegmentColumn::Category => "category",
            SegmentColumn::Country => "country",
        }
    }
}

pub async fn delete_summary(
    tx: &mut Tx,
    ws: WorkspaceId,
    customer: CustomerId,
) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query("DELETE FROM journey_summaries WHERE workspace_id = $1 AND customer_id = $2")
                .bind(ws)
                .bind(customer),
        )
        .await?;
    Ok(())
}

/// The summaries of a segment of the workspace. For a tag, the customers'
/// tags (JSON lists) come along for the caller to match exactly (the
/// query's `LIKE` only narrows).
pub async fn summaries(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    segment: Segment<'_>,
) -> Result<Vec<(String, String)>, StoreError> {
    let column = match segment {
        Segment::All => None,
        Segment::FirstChannel(v) => Some(("first_channel", v)),
        Segment::Category(v) => Some(("category", v)),
        Segment::Country(v) => Some(("country", v)),
        Segment::Tag(tag) => {
            let like = format!(
                "%{}%",
                serde_json::to_string(tag).map_err(|e| StoreError::Corrupt(e.to_string()))?
            );
            return c
                .fetch_all(
                    &query(
                        "SELECT s.summary, c.tags FROM journey_summaries s \
                         JOIN customers c ON c.workspace_id = s.workspace_id AND c.id = s.customer_id \
                         WHERE s.workspace_id = $1 AND c.tags LIKE $2",
                    )
                    .bind(ws)
                    .bind(like),
                )
                .await;
        }
    };
    match column {
        None => c
            .fetch_all(
                &query(
                    "SELECT summary, '[]' FROM journey_summaries WHERE workspace_id = $1",
                )
                .bind(ws),
            )
            .await,
        Some((col, v)) => c
            .fetch_all(
                &query(format!(
                    "SELECT summary, '[]' FROM journey_summaries WHERE workspace_id = $1 AND {col} = $2"
                ))
                .bind(ws)
                .bind(v),
            )
            .await,
    }
}

/// The workspace's segments of one kind with their customers, most first.
pub async fn segments(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    column: SegmentColumn,
    limit: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    let col = column.name();
    c.fetch_all(
        &query(format!(
            "SELECT {col}, COUNT(*) AS n FROM journey_summaries \
             WHERE workspace_id = $1 AND {col} IS NOT NULL \
             GROUP BY {col} ORDER BY n DESC, {col} LIMIT $2"
        ))
        .bind(ws)
        .bind(limit),
    )
    .await
}

/// The tags (JSON lists) of the workspace's customers who have a summary.
pub async fn summary_tags(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<Vec<String>, StoreError> {
    c.fetch_all(
        &query(
            "SELECT c.tags FROM journey_summaries s \
             JOIN customers c ON c.workspace_id = s.workspace_id AND c.id = s.customer_id \
             WHERE s.workspace_id = $1 AND c.tags <> '[]'",
        )
        .bind(ws),
    )
    .await
}

/// Whether touchpoints are kept but no summary at all (just upgraded).
pub async fn summaries_missing(c: &mut Conn<'_>) -> Result<bool, StoreError> {
    let touch: Option<i64> = c
        .fetch_optional(&query("SELECT 1 FROM touchpoints LIMIT 1"))
        .await?;
    let summary: Option<i64> = c
        .fetch_optional(&query("SELECT 1 FROM journey_summaries LIMIT 1"))
        .await?;
    Ok(touch.is_some() && summary.is_none())
}

/// Customers with touchpoints, in every workspace, after `after` (pages of
/// a rebuild).
pub async fn all_customers_with_touchpoints(
    c: &mut Conn<'_>,
    after: Option<(WorkspaceId, CustomerId)>,
    limit: i64,
) -> Result<Vec<(WorkspaceId, CustomerId)>, StoreError> {
    let (ws, cu) = match after {
        Some((w, c)) => (Some(w), Some(c)),
        None => (None, None),
    };
    let rows: Vec<(uuid::Uuid, uuid::Uuid)> = c
        .fetch_all(
            &query(
                "SELECT DISTINCT workspace_id, customer_id FROM touchpoints \
                 WHERE $1 IS NULL OR workspace_id > $1 OR (workspace_id = $1 AND customer_id > $2) \
                 ORDER BY workspace_id, customer_id LIMIT $3",
            )
            .bind(ws)
            .bind(cu)
            .bind(limit),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(w, c)| (WorkspaceId(w), CustomerId(c)))
        .collect())
}

/// A customer's summary, held until the transaction ends so that two
/// writers of one customer's touchpoints take turns (PostgreSQL: an empty
/// summary is put first when there is none, so there is a row to hold;
/// SQLite's one writer already takes turns).
pub async fn summary_for_update(
    tx: &mut Tx,
    ws: WorkspaceId,
    customer: CustomerId,
) -> Result<Option<String>, StoreError> {
    if tx.conn().dialect() == Dialect::Postgres {
        let now = tx.now();
        tx.conn()
            .execute(
                &query(
                    "INSERT INTO journey_summaries (workspace_id, customer_id, summary, updated_at) \
                     VALUES ($1, $2, '{}', $3) ON CONFLICT (workspace_id, customer_id) DO NOTHING",
                )
                .bind(ws)
                .bind(customer)
                .bind(now),
            )
            .await?;
        return tx
            .conn()
            .fetch_optional(
                &query(
                    "SELECT summary FROM journey_summaries \
                     WHERE workspace_id = $1 AND customer_id = $2 FOR UPDATE",
                )
                .bind(ws)
                .bind(customer),
            )
            .await;
    }
    summary(&mut tx.conn(), ws, customer).await
}

/// The workspace's touchpoints after `after` by id (pages of a re-staging).
pub async fn page_by_id(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    after: Option<TouchpointId>,
    limit: i64,
) -> Result<Vec<TouchpointRow>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM touchpoints WHERE workspace_id = $1 \
             AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3"
        ))
        .bind(ws)
        .bind(after)
        .bind(limit),
    )
    .await
}

pub async fn set_stage(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: TouchpointId,
    stage: Stage,
) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query("UPDATE touchpoints SET stage = $3 WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(id)
                .bind(stage.as_str()),
        )
        .await?;
    Ok(())
}
