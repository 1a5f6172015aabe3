//! Quality review: admins keep scorecards of weighted criteria
//! (`domain::quality`); supervisors review conversations on them — one
//! review per reviewer, conversation and scorecard, a second replacing the
//! first — and draw random samples of each agent's solved conversations
//! into a review queue. An agent's quality score over a period is the mean
//! of the reviews of their conversations made in it, shown beside their
//! KPIs. A review is `review.saved` on the ticket.
//!
//! Invariants: the agent reviewed is the ticket's assignee when it is
//! reviewed (a ticket nobody holds cannot be reviewed, nor one's own work);
//! a sample never holds a conversation already reviewed or sampled.

use crate::kpis::Window;
use crate::tickets::TicketRef;
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::event::EventData;
use domain::ids::*;
use domain::quality::{self, MAX_SAMPLE, MAX_SCORECARDS, ScorecardSpec};
use rand::seq::SliceRandom;
use std::collections::BTreeMap;
use store::quality as db;
pub use store::quality::{Review, Scorecard};

/// Candidates a sample draws from, per agent: the newest this many.
const SAMPLE_POOL: i64 = 500;

/// An agent's quality over a period.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentQuality {
    pub agent_id: UserId,
    pub name: String,
    pub reviews: i64,
    /// The mean review score, 0–100.
    pub score: Option<f64>,
}

/// A conversation waiting in the review queue.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampled {
    pub ticket_id: TicketId,
    pub number: i64,
    pub subject: String,
    pub agent_id: UserId,
    pub agent_name: String,
    pub drawn_at: domain::Timestamp,
}

/// A shape the schema states is 422; what no schema can say is 409.
fn refused(r: quality::Refusal) -> EngineError {
    match r {
        quality::Refusal::Shape(e) => e.into(),
        quality::Refusal::Conflict(m) => EngineError::Rule(m),
    }
}

fn supervise(p: &Principal) -> Result<(), EngineError> {
    if p.role.can_supervise() {
        Ok(())
    } else {
        Err(EngineError::Forbidden(Code::QualityReviewers.into()))
    }
}

impl Engine {
    /// The workspace's scorecards (supervisors and up).
    pub async fn scorecards(&self, p: &Principal) -> Result<Vec<Scorecard>, EngineError> {
        supervise(p)?;
        let mut c = self.store.read().await?;
        Ok(db::scorecards(&mut c.conn(), p.workspace_id).await?)
    }

    pub async fn scorecard(
        &self,
        p: &Principal,
        id: ScorecardId,
    ) -> Result<Scorecard, EngineError> {
        supervise(p)?;
        let mut c = self.store.read().await?;
        db::scorecard(&mut c.conn(), p.workspace_id, id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// Adds a scorecard (admins; at most [`MAX_SCORECARDS`]) or, with `id`,
    /// changes one. Reviews already made keep the scores they were given.
    pub async fn save_scorecard(
        &self,
        p: &Principal,
        id: Option<ScorecardId>,
        spec: ScorecardSpec,
        active: bool,
    ) -> Result<Scorecard, EngineError> {
        p.require_admin()?;
        let spec = spec.validated().map_err(refused)?;
        let ws = p.workspace_id;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    let card = match id {
                        Some(id) => {
                            let mut c = db::scorecard(&mut tx.conn(), ws, id)
                                .await?
                                .ok_or(EngineError::NotFound)?;
                            c.spec = spec;
                            c.active = active;
                            c.updated_at = now;
                            db::update_scorecard(tx, &c).await?;
                            c
                        }
                        None => {
                            if db::scorecards(&mut tx.conn(), ws).await?.len() >= MAX_SCORECARDS {
                                return Err(EngineError::Rule(
                                    domain::Message::new(Code::AtMostScorecards)
                                        .with("max", MAX_SCORECARDS),
                                ));
                            }
                            let c = Scorecard {
                                id: ScorecardId::new(),
                                workspace_id: ws,
                                spec,
                                active,
                                created_at: now,
                                updated_at: now,
                            };
                            db::insert_scorecard(tx, &c).await?;
                            c
                        }
                    };
                    Ok(card)
                })
            })
            .await
    }

    /// Reviews a conversation on a scorecard (supervisors and up): the
    /// scores per criterion (absent: not applicable) and a comment. The
    /// agent reviewed is the ticket's assignee.
    pub async fn review_ticket(
        &self,
        p: &Principal,
        r: TicketRef,
        scorecard: ScorecardId,
        scores: BTreeMap<String, i64>,
        comment: &str,
    ) -> Result<Review, EngineError> {
        supervise(p)?;
        let t = self.ticket(p, r).await?;
        let card = self.scorecard(p, scorecard).await?;
        if !card.active {
            return Err(EngineError::Rule(Code::ScorecardInactive.into()));
        }
        let score = card.spec.score(&scores).map_err(refused)?;
        let comment = quality::check_comment(comment)?;
        let Some(agent) = t.assignee_id else {
            return Err(EngineError::Rule(Code::ReviewNoAgent.into()));
        };
        if agent == p.user_id {
            return Err(EngineError::Rule(Code::ReviewOwnWork.into()));
        }
        let (ws, reviewer, actor) = (p.workspace_id, p.user_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    let review = Review {
                        id: ReviewId::new(),
                        workspace_id: ws,
                        ticket_id: t.id,
                        agent_id: agent,
                        reviewer_id: reviewer,
                        scorecard_id: scorecard,
                        scores,
                        score,
                        comment,
                        created_at: now,
                        updated_at: now,
                    };
                    let (id, replaced) = db::save_review(tx, &review).await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::ReviewSaved {
                            ticket_id: t.id,
                            review_id: id,
                            agent_id: agent,
                            scorecard_id: scorecard,
                            score,
                            replaced,
                        },
                    )
                    .await?;
                    db::review(&mut tx.conn(), ws, id)
                        .await?
                        .ok_or(EngineError::NotFound)
                })
            })
            .await
    }

    /// A conversation's reviews: supervisors and up see all; the agent
    /// reviewed sees the ones of their work.
    pub async fn ticket_reviews(
        &self,
        p: &Principal,
        r: TicketRef,
    ) -> Result<Vec<Review>, EngineError> {
        let t = self.ticket(p, r).await?;
        let mut c = self.store.read().await?;
        let all = db::reviews_of_ticket(&mut c.conn(), p.workspace_id, t.id).await?;
        Ok(if p.role.can_supervise() {
            all
        } else {
            all.into_iter()
                .filter(|r| r.agent_id == p.user_id)
                .collect()
        })
    }

    /// Reviews made over local dates `from` to `to` (excluded), newest
    /// first, of one agent or all (supervisors and up).
    pub async fn reviews(
        &self,
        p: &Principal,
        agent: Option<UserId>,
        (from, to): (Option<&str>, Option<&str>),
        before: Option<ReviewId>,
        limit: i64,
    ) -> Result<Vec<Review>, EngineError> {
        supervise(p)?;
        let mut c = self.store.read().await?;
        let Window { span, .. } = self.window(&mut c, p, from, to).await?;
        Ok(db::reviews(&mut c.conn(), p.workspace_id, agent, span, before, limit).await?)
    }

    /// Each reviewed agent's quality over local dates `from` to `to`.
    pub async fn quality_by_agent(
        &self,
        p: &Principal,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<AgentQuality>, EngineError> {
        supervise(p)?;
        let mut c = self.store.read().await?;
        let Window { span, .. } = self.window(&mut c, p, from, to).await?;
        let rows = db::agent_scores(&mut c.conn(), p.workspace_id, span).await?;
        let ids: Vec<UserId> = rows.iter().map(|r| r.0).collect();
        let names = store::chat::user_names(&mut c.conn(), p.workspace_id, &ids).await?;
        let mut out: Vec<AgentQuality> = rows
            .into_iter()
            .map(|(agent, n, sum)| AgentQuality {
                agent_id: agent,
                name: names.get(&agent).cloned().unwrap_or_default(),
                reviews: n,
                score: (n > 0).then(|| sum as f64 / 1000.0 / n as f64),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Draws up to `per_agent` random conversations of each agent, solved
    /// over local dates `from` to `to` and not reviewed or sampled yet, into
    /// the review queue (supervisors and up). Returns what was drawn.
    pub async fn draw_sample(
        &self,
        p: &Principal,
        per_agent: i64,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<(TicketId, UserId)>, EngineError> {
        supervise(p)?;
        if !(1..=MAX_SAMPLE).contains(&per_agent) {
            return Err(EngineError::invalid(
                "per_agent",
                domain::message::range(1, MAX_SAMPLE),
            ));
        }
        let ws = p.workspace_id;
        let mut picks = Vec::new();
        {
            let mut c = self.store.read().await?;
            let Window { span, .. } = self.window(&mut c, p, from, to).await?;
            let mut after = None;
            loop {
                let users = store::people::list_users(&mut c.conn(), ws, after, 500).await?;
                after = users.last().map(|u| u.id);
                for u in users
                    .iter()
                    .filter(|u| u.active && u.role.can_work_tickets())
                {
                    let mut pool =
                        db::sample_candidates(&mut c.conn(), ws, u.id, span, SAMPLE_POOL).await?;
                    // The thread's generator is not `Send`: used here, between awaits.
                    pool.shuffle(&mut rand::thread_rng());
                    picks.extend(pool.into_iter().take(per_agent as usize).map(|t| (t, u.id)));
                }
                if users.len() < 500 {
                    break;
                }
            }
        }
        let (by, drawn) = (p.user_id, picks.clone());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    db::add_samples(tx, ws, &drawn, by, now).await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(picks)
    }

    /// The review queue: sampled conversations not reviewed yet, oldest draw
    /// first (at most 500).
    pub async fn review_queue(&self, p: &Principal) -> Result<Vec<Sampled>, EngineError> {
        supervise(p)?;
        let ws = p.workspace_id;
        let mut c = self.store.read().await?;
        let rows = db::open_samples(&mut c.conn(), ws, 500).await?;
        let ids: Vec<UserId> = rows.iter().map(|r| r.1).collect();
        let names = store::chat::user_names(&mut c.conn(), ws, &ids).await?;
        let tickets: Vec<TicketId> = rows.iter().map(|r| r.0).collect();
        let heads: std::collections::HashMap<TicketId, (i64, String)> =
            store::tickets::headlines(&mut c.conn(), ws, &tickets)
                .await?
                .into_iter()
                .map(|(id, n, s)| (id, (n, s)))
                .collect();
        Ok(rows
            .into_iter()
            .filter_map(|(ticket, agent, drawn_at)| {
                let (number, subject) = heads.get(&ticket)?.clone();
                Some(Sampled {
                    ticket_id: ticket,
                    number,
                    subject,
                    agent_id: agent,
                    agent_name: names.get(&agent).cloned().unwrap_or_default(),
                    drawn_at,
                })
            })
            .collect())
    }
}
