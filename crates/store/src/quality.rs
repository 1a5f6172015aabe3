//! Quality review: scorecards, reviews of conversations and the samples
//! drawn for review (`domain::quality`).

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;
use domain::quality::ScorecardSpec;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq)]
pub struct Scorecard {
    pub id: ScorecardId,
    pub workspace_id: WorkspaceId,
    pub spec: ScorecardSpec,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const CARD_COLS: &str = "id, workspace_id, spec, active, created_at, updated_at";

fn json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl FromRow for Scorecard {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let spec: String = r.get(2)?;
        Ok(Scorecard {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            spec: json(&spec)?,
            active: r.get(3)?,
            created_at: r.time(4)?,
            updated_at: r.time(5)?,
        })
    }
}

pub async fn insert_scorecard(tx: &mut Tx, s: &Scorecard) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query(format!(
                "INSERT INTO scorecards ({CARD_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"
            ))
            .bind(s.id)
            .bind(s.workspace_id)
            .bind(to_json(&s.spec)?)
            .bind(s.active)
            .bind(s.created_at)
            .bind(s.updated_at),
        )
        .await
        .map(|_| ())
}

pub async fn update_scorecard(tx: &mut Tx, s: &Scorecard) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query(
                "UPDATE scorecards SET spec = $3, active = $4, updated_at = $5 \
                 WHERE workspace_id = $1 AND id = $2",
            )
            .bind(s.workspace_id)
            .bind(s.id)
            .bind(to_json(&s.spec)?)
            .bind(s.active)
            .bind(s.updated_at),
        )
        .await
        .map(|_| ())
}

pub async fn scorecard(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: ScorecardId,
) -> Result<Option<Scorecard>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {CARD_COLS} FROM scorecards WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// The workspace's scorecards, oldest first (at most `MAX_SCORECARDS` exist).
pub async fn scorecards(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<Vec<Scorecard>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {CARD_COLS} FROM scorecards WHERE workspace_id = $1 ORDER BY id"
        ))
        .bind(ws),
    )
    .await
}

/// One reviewer's scores of one conversation on one scorecard.
#[derive(Clone, Debug, PartialEq)]
pub struct Review {
    pub id: ReviewId,
    pub workspace_id: WorkspaceId,
    pub ticket_id: TicketId,
    /// The agent reviewed: the ticket's assignee when it was reviewed.
    pub agent_id: UserId,
    pub reviewer_id: UserId,
    pub scorecard_id: ScorecardId,
    pub scores: BTreeMap<String, i64>,
    /// 0–100.
    pub score: f64,
    pub comment: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const REVIEW_COLS: &str = "id, workspace_id, ticket_id, agent_id, reviewer_id, scorecard_id, scores, score_milli, comment, created_at, updated_at";

impl FromRow for Review {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let scores: String = r.get(6)?;
        let milli: i64 = r.get(7)?;
        Ok(Review {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            ticket_id: r.id(2)?,
            agent_id: r.id(3)?,
            reviewer_id: r.id(4)?,
            scorecard_id: r.id(5)?,
            scores: json(&scores)?,
            score: milli as f64 / 1000.0,
            comment: r.get(8)?,
            created_at: r.time(9)?,
            updated_at: r.time(10)?,
        })
    }
}

/// Saves a review; a reviewer's second review of the same conversation on
/// the same scorecard replaces the first (keeping its id). Returns the id
/// kept and whether it replaced one.
pub async fn save_review(tx: &mut Tx, r: &Review) -> Result<(ReviewId, bool), StoreError> {
    let before: Option<uuid::Uuid> = tx
        .conn()
        .fetch_optional(
            &query(
                "SELECT id FROM reviews WHERE workspace_id = $1 AND ticket_id = $2 \
                 AND reviewer_id = $3 AND scorecard_id = $4",
            )
            .bind(r.workspace_id)
            .bind(r.ticket_id)
            .bind(r.reviewer_id)
            .bind(r.scorecard_id),
        )
        .await?;
    let milli = (r.score * 1000.0).round() as i64;
    let scores = to_json(&r.scores)?;
    if let Some(id) = before {
        tx.conn()
            .execute(
                &query(
                    "UPDATE reviews SET agent_id = $3, scores = $4, score_milli = $5, comment = $6, \
                     updated_at = $7 WHERE workspace_id = $1 AND id = $2",
                )
                .bind(r.workspace_id)
                .bind(id)
                .bind(r.agent_id)
                .bind(scores)
                .bind(milli)
                .bind(r.comment.as_str())
                .bind(r.updated_at),
            )
            .await?;
        return Ok((ReviewId(id), true));
    }
    tx.conn()
        .execute(
            &query(format!(
                "INSERT INTO reviews ({REVIEW_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ))
            .bind(r.id)
            .bind(r.workspace_id)
            .bind(r.ticket_id)
            .bind(r.agent_id)
            .bind(r.reviewer_id)
            .bind(r.scorecard_id)
            .bind(scores)
            .bind(milli)
            .bind(r.comment.as_str())
            .bind(r.created_at)
            .bind(r.updated_at),
        )
        .await?;
    Ok((r.id, false))
}

pub async fn review(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: ReviewId,
) -> Result<Option<Review>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {REVIEW_COLS} FROM reviews WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// A conversation's reviews, oldest first.
pub async fn reviews_of_ticket(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
) -> Result<Vec<Review>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {REVIEW_COLS} FROM reviews WHERE workspace_id = $1 AND ticket_id = $2 ORDER BY id"
        ))
        .bind(ws)
        .bind(ticket),
    )
    .await
}

/// Reviews made in `[from, to)` (Unix ms), newest first, optionally of one
/// agent, before a cursor.
pub async fn reviews(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    agent: Option<UserId>,
    (from, to): (i64, i64),
    before: Option<ReviewId>,
    limit: i64,
) -> Result<Vec<Review>, StoreError> {
    let mut q = query(format!(
        "SELECT {REVIEW_COLS} FROM reviews WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3"
    ))
    .bind(ws)
    .bind(from)
    .bind(to);
    if let Some(a) = agent {
        let n = q.next_param();
        q = q.push(&format!(" AND agent_id = ${n}")).bind(a);
    }
    if let Some(b) = before {
        let n = q.next_param();
        q = q.push(&format!(" AND id < ${n}")).bind(b);
    }
    let n = q.next_param();
    q = q.push(&format!(" ORDER BY id DESC LIMIT ${n}")).bind(limit);
    c.fetch_all(&q).await
}

/// Each agent's reviews made in `[from, to)`: (agent, count, sum of scores
/// in thousandths).
pub async fn agent_scores(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    (from, to): (i64, i64),
) -> Result<Vec<(UserId, i64, i64)>, StoreError> {
    let rows: Vec<(uuid::Uuid, i64, i64)> = c
        .fetch_all(
            &query(
                "SELECT agent_id, COUNT(*), CAST(SUM(score_milli) AS BIGINT) FROM reviews \
                 WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY agent_id",
            )
            .bind(ws)
            .bind(from)
            .bind(to),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(a, n, sum)| (UserId(a), n, sum))
        .collect())
}

/// An agent's conversations solved in `[from, to)` that nobody reviewed
/// and no sample holds: the newest `limit`.
pub async fn sample_candidates(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    agent: UserId,
    (from, to): (i64, i64),
    limit: i64,
) -> Result<Vec<TicketId>, StoreError> {
    let rows: Vec<uuid::Uuid> = c
        .fetch_all(
            &query(
                "SELECT t.id FROM tickets t WHERE t.workspace_id = $1 AND t.assignee_id = $2 \
                 AND t.status IN ('solved', 'closed') AND t.merged_into IS NULL \
                 AND t.solved_at >= $3 AND t.solved_at < $4 \
                 AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.workspace_id = t.workspace_id AND r.ticket_id = t.id) \
                 AND NOT EXISTS (SELECT 1 FROM review_samples s WHERE s.workspace_id = t.workspace_id AND s.ticket_id = t.id) \
                 ORDER BY t.id DESC LIMIT $5",
            )
            .bind(ws)
            .bind(agent)
            .bind(from)
            .bind(to)
            .bind(limit),
        )
        .await?;
    Ok(rows.into_iter().map(TicketId).collect())
}

/// Puts conversations in the review queue.
pub async fn add_samples(
    tx: &mut Tx,
    ws: WorkspaceId,
    picks: &[(TicketId, UserId)],
    by: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    for (ticket, agent) in picks {
        tx.conn()
            .execute(
                &query(
                    "INSERT INTO review_samples (workspace_id, ticket_id, agent_id, drawn_by, drawn_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .bind(ws)
                .bind(*ticket)
                .bind(*agent)
                .bind(by)
                .bind(at),
            )
            .await?;
    }
    Ok(())
}

/// The review queue: sampled conversations nobody has reviewed yet, oldest
/// draw first, at most `limit`: (ticket, agent, drawn at).
pub async fn open_samples(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    limit: i64,
) -> Result<Vec<(TicketId, UserId, Timestamp)>, StoreError> {
    let rows: Vec<(uuid::Uuid, uuid::Uuid, i64)> = c
        .fetch_all(
            &query(
                "SELECT s.ticket_id, s.agent_id, s.drawn_at FROM review_samples s \
                 WHERE s.workspace_id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.workspace_id = s.workspace_id AND r.ticket_id = s.ticket_id) \
                 ORDER BY s.drawn_at, s.ticket_id LIMIT $2",
            )
            .bind(ws)
            .bind(limit),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(t, a, at)| (TicketId(t), UserId(a), Timestamp::from_millis(at)))
        .collect())
}
