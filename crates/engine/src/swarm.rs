//! Swarming: experts invited onto a ticket (they are told, and write notes on
//! it), and notes marked as a ticket's solution, offered on similar tickets.

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
pub use store::swarm::Solution;
use store::tickets;

/// Most experts on one ticket.
pub const MAX_COLLABORATORS: i64 = 20;

impl Engine {
    /// Invites an expert onto a ticket; inviting someone again changes nothing.
    pub async fn add_collaborator(
        &self,
        p: &Principal,
        r: TicketRef,
        user: UserId,
    ) -> Result<(), EngineError> {
        p.require_ticket_work()?;
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
                    if swarm::collaborator_count(&mut tx.conn(), ws, ticket.id).await?
                        >= MAX_COLLABORATORS
                    {
                        return Err(EngineError::Conflict(
                            Message::new(Code::ExpertsLimit)
                                .with("max_collaborators", MAX_COLLABORATORS),
                        ));
                    }
                    let now = tx.now();
                    if swarm::add_collaborator(tx, ws, ticket.id, user, Some(by), now).await? {
                        tx.emit(
                            ws,
                            actor,
                            EventData::CollaboratorAdded {
                                ticket_id: ticket.id,
                                user_id: user,
                            },
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .await
    }

    pub async fn remove_collaborator(
        &self,
        p: &Principal,
        r: TicketRef,
        user: UserId,
    ) -> Result<(), EngineError> {
        p.require_ticket_work()?;
        let ticket = self.load_ticket(p, r).await?;
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if !swarm::remove_collaborator(tx, ws, ticket.id, user).await? {
                        return Err(EngineError::NotFound);
                    }
                    tx.emit(
                        ws,
                        actor,
                        EventData::CollaboratorRemoved {
                            ticket_id: ticket.id,
                            user_id: user,
                        },
                    )
                    .await?;
                    Ok(())
                })
            })
            .await
    }

    pub async fn collaborators(
        &self,
        p: &Principal,
        r: TicketRef,
    ) -> Result<Vec<UserId>, EngineError> {
        let ticket = self.load_ticket(p, r).await?;
        let mut c = self.store.read().await?;
        Ok(swarm::collaborators(&mut c.conn(), p.workspace_id, ticket.id).await?)
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
