//! Swarming: experts invited onto a ticket (they are told, and write notes on
//! it), followers kept informed of it, and notes marked as a ticket's
//! solution, offered on similar tickets.

use crate::tickets::TicketRef;
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Message;
use domain::event::EventData;
use domain::ids::*;
use domain::message;
use domain::ticket::AuthorKind;
use store::people;
use store::swarm;
pub use store::swarm::{Circle, Solution};
use store::tickets;

/// Most experts on one ticket.
pub const MAX_COLLABORATORS: i64 = 20;
/// Most followers of one ticket.
pub const MAX_FOLLOWERS: i64 = 50;

impl Engine {
    /// Adds someone to a ticket's experts or followers; adding them again
    /// changes nothing. Anyone who may see a ticket may follow it themselves;
    /// inviting experts or adding other followers is ticket work.
    pub async fn join_circle(
        &self,
        p: &Principal,
        r: TicketRef,
        circle: Circle,
        user: UserId,
    ) -> Result<(), EngineError> {
        if circle == Circle::Experts || user != p.user_id {
            p.require_ticket_work()?;
        }
        let ticket = self.load_ticket(p, r).await?;
        let (ws, actor, by) = (p.workspace_id, p.actor(), p.user_id);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    match people::user_by_id(&mut tx.conn(), ws, user).await? {
                        Some(u) if u.active => {}
                        Some(_) => {
                            return Err(EngineError::Rule(Code::UserDeactivated.into()));
                        }
                        None => {
                            return Err(EngineError::Unknown(
                                "user_id".into(),
                                message::no_such("user"),
                            ));
                        }
                    }
                    let (max, limit) = match circle {
                        Circle::Experts => (
                            MAX_COLLABORATORS,
                            Message::new(Code::ExpertsLimit)
                                .with("max_collaborators", MAX_COLLABORATORS),
                        ),
                        Circle::Followers => (
                            MAX_FOLLOWERS,
                            Message::new(Code::FollowersLimit).with("max_followers", MAX_FOLLOWERS),
                        ),
                    };
                    if swarm::member_count(&mut tx.conn(), circle, ws, ticket.id).await? >= max {
                        return Err(EngineError::Conflict(limit));
                    }
                    let now = tx.now();
                    if swarm::join(tx, circle, ws, ticket.id, user, Some(by), now).await? {
                        let (ticket_id, user_id) = (ticket.id, user);
                        let e = match circle {
                            Circle::Experts => EventData::CollaboratorAdded { ticket_id, user_id },
                            Circle::Followers => EventData::FollowerAdded { ticket_id, user_id },
                        };
                        tx.emit(ws, actor, e).await?;
                    }
                    Ok(())
                })
            })
            .await
    }

    /// Takes someone off a ticket's experts or followers; not found when they
    /// were not on it.
    pub async fn leave_circle(
        &self,
        p: &Principal,
        r: TicketRef,
        circle: Circle,
        user: UserId,
    ) -> Result<(), EngineError> {
        if circle == Circle::Experts || user != p.user_id {
            p.require_ticket_work()?;
        }
        let ticket = self.load_ticket(p, r).await?;
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if !swarm::leave(tx, circle, ws, ticket.id, user).await? {
                        return Err(EngineError::NotFound);
                    }
                    let (ticket_id, user_id) = (ticket.id, user);
                    let e = match circle {
                        Circle::Experts => EventData::CollaboratorRemoved { ticket_id, user_id },
                        Circle::Followers => EventData::FollowerRemoved { ticket_id, user_id },
                    };
                    tx.emit(ws, actor, e).await?;
                    Ok(())
                })
            })
            .await
    }

    /// A ticket's experts or followers, in the order they joined.
    pub async fn circle(
        &self,
        p: &Principal,
        r: TicketRef,
        circle: Circle,
    ) -> Result<Vec<UserId>, EngineError> {
        let ticket = self.load_ticket(p, r).await?;
        let mut c = self.store.read().await?;
        Ok(swarm::members(&mut c.conn(), circle, p.workspace_id, ticket.id).await?)
    }

    /// Whether `user` follows the ticket (live alerts ask, per event).
    pub async fn follows(
        &self,
        ws: WorkspaceId,
        ticket: TicketId,
        user: UserId,
    ) -> Result<bool, EngineError> {
        let mut c = self.store.read().await?;
        Ok(swarm::is_member(&mut c.conn(), Circle::Followers, ws, ticket, user).await?)
    }

    /// Marks (or unmarks) an agent's note or reply as the ticket's solution.
    pub async fn mark_solution(
        &self,
        p: &Principal,
        r: TicketRef,
        message: MessageId,
        on: bool,
    ) -> Result<(), EngineError> {
        let ticket = self.load_ticket(p, r).await?;
        let (ws, actor, by) = (p.workspace_id, p.actor(), p.user_id);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let m = tickets::message(&mut tx.conn(), ws, message)
                        .await?
                        .filter(|m| m.ticket_id == ticket.id)
                        .ok_or(EngineError::NotFound)?;
                    if m.author_kind != AuthorKind::Agent {
                        return Err(EngineError::Rule(Code::SolutionFromAgent.into()));
                    }
                    let now = tx.now();
                    if swarm::set_solution(tx, ws, ticket.id, message, on, Some(by), now).await? {
                        tx.emit(
                            ws,
                            actor,
                            EventData::SolutionMarked {
                                ticket_id: ticket.id,
                                message_id: message,
                                solution: on,
                            },
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .await
    }

    /// The messages of a ticket marked as its solution.
    pub async fn solutions_of(
        &self,
        p: &Principal,
        ticket: TicketId,
    ) -> Result<Vec<MessageId>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(swarm::solutions_of(&mut c.conn(), p.workspace_id, ticket).await?)
    }

    /// What a ticket is about, for finding its kin: the subject and the first
    /// words of the customer's first message.
    pub async fn ticket_gist(
        &self,
        p: &Principal,
        t: &tickets::Ticket,
    ) -> Result<String, EngineError> {
        let mut c = self.store.read().await?;
        let first = tickets::messages(&mut c.conn(), p.workspace_id, t.id, None, 20)
            .await?
            .into_iter()
            .find(|m| m.author_kind == AuthorKind::Customer)
            .map(|m| m.body_text.chars().take(600).collect::<String>())
            .unwrap_or_default();
        Ok(format!("{} {first}", t.subject))
    }

    /// Solutions marked on the tickets most like `text`, other than `except`;
    /// at most `limit`.
    pub async fn similar_solutions(
        &self,
        p: &Principal,
        except: TicketId,
        text: &str,
        limit: usize,
    ) -> Result<Vec<Solution>, EngineError> {
        let Some(search) = self.search.clone() else {
            return Ok(Vec::new());
        };
        let text = domain::text::clean_line(text);
        let ws = p.workspace_id;
        let similar = self
            .cpu
            .run(move || search.similar_tickets(ws, &text, 30))
            .await?
            .map_err(|e| EngineError::Internal(format!("search: {e}")))?;
        let others: Vec<TicketId> = similar.into_iter().filter(|t| *t != except).collect();
        let mut c = self.store.read().await?;
        let mut found = swarm::solutions_on(&mut c.conn(), ws, &others).await?;
        found.truncate(limit);
        Ok(found)
    }
}
