//! Side conversations: threads kept on a ticket with another team or an
//! outside email address (a supplier, the warehouse), apart from the
//! customer's thread and never shown to the customer.
//!
//! One with a team is told live to its members. One with an address leaves by
//! a mailbox that sends, as a durable job (`Job::SideEmail`); its Message-ID
//! (`otk.side-{message id}@…`) is how the answer finds its way back: an
//! inbound mail naming it in In-Reply-To or References lands in the side
//! conversation, not on the ticket (see [`Engine::ingest_side_answer`]).

use crate::email::{Address, Delivery, InboundEmail, MailboxConfig, OutgoingEmail};
use crate::email::{Ingested, Outcome};
use crate::jobs::Job;
use crate::tickets::TicketRef;
use crate::{Engine, EngineError, Principal};
use domain::event::{Actor, EventData};
use domain::identity::EmailAddress;
use domain::ids::*;
use domain::ticket::Channel;
use domain::{Code, Message, message};
use store::channels::{self, Record};
pub use store::sides::{Side, SideMessage};
use store::{people, sides};

/// Most side conversations on one ticket.
pub const MAX_SIDES: i64 = 20;
/// Most messages in one side conversation.
pub const MAX_SIDE_MESSAGES: i64 = 500;
pub const MAX_SUBJECT: usize = 255;
pub const MAX_BODY: usize = 20_000;

/// Who a side conversation is with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SideWith {
    Team(TeamId),
    Email(String),
}

/// A side conversation to start: its subject, first message and party.
#[derive(Clone, Debug)]
pub struct NewSide {
    pub subject: String,
    pub body: String,
    pub with: SideWith,
    /// The mailbox an email one leaves by; the ticket's own, else the first
    /// that sends, when none is named.
    pub account_id: Option<AccountId>,
}

/// A side conversation with its messages, oldest first.
#[derive(Clone, Debug)]
pub struct SideThread {
    pub side: Side,
    pub messages: Vec<SideMessage>,
}

/// The side message an answer's Message-ID names (`otk.side-{id}@…`).
pub fn side_reference(header_id: &str) -> Option<SideMessageId> {
    let local = header_id.strip_prefix("otk.side-")?.split('@').next()?;
    local.parse().ok()
}

fn subject_of(raw: &str) -> Result<String, EngineError> {
    let s = domain::text::clean_line(raw);
    let n = s.chars().count();
    if n == 0 || n > MAX_SUBJECT {
        return Err(EngineError::invalid(
            "subject",
            message::chars(1, MAX_SUBJECT),
        ));
    }
    Ok(s)
}

fn body_of(raw: &str) -> Result<String, EngineError> {
    let b = domain::text::clean_body(raw);
    let n = b.trim().chars().count();
    if n == 0 || b.chars().count() > MAX_BODY {
        return Err(EngineError::invalid("body", message::chars(1, MAX_BODY)));
    }
    Ok(b)
}

impl Engine {
    /// Starts a side conversation on a ticket with its first message.
    pub async fn start_side(
        &self,
        p: &Principal,
        r: TicketRef,
        n: NewSide,
    ) -> Result<SideThread, EngineError> {
        p.require_ticket_work()?;
        let subject = subject_of(&n.subject)?;
        let body = body_of(&n.body)?;
        let address = match &n.with {
            SideWith::Email(a) => Some(
                EmailAddress::parse(a)
                    .map_err(|e| EngineError::invalid("to", e.message()))?
                    .as_str()
                    .to_owned(),
            ),
            SideWith::Team(_) => None,
        };
        let team = match n.with {
            SideWith::Team(t) => Some(t),
            SideWith::Email(_) => None,
        };
        let ticket = self.load_ticket(p, r).await?;
        let (ws, actor, by) = (p.workspace_id, p.actor(), p.user_id);
        let side_id = SideId::new();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if let Some(t) = team
                        && people::team_by_id(&mut tx.conn(), ws, t).await?.is_none()
                    {
                        return Err(EngineError::Unknown(
                            "team_id".into(),
                            message::no_such("team"),
                        ));
                    }
                    let account = if address.is_some() {
                        let boxes = channels::list(&mut tx.conn(), ws, Channel::Email).await?;
                        let sends = |id: AccountId| {
                            boxes
                                .iter()
                                .any(|b| b.id == id && b.active && b.outbound.is_some())
                        };
                        let chosen = match n.account_id {
                            Some(id) if sends(id) => Some(id),
                            Some(_) => None,
                            None => ticket.account_id.filter(|id| sends(*id)).or_else(|| {
                                boxes
                                    .iter()
                                    .find(|b| b.active && b.outbound.is_some())
                                    .map(|b| b.id)
                            }),
                        };
                        match chosen {
                            Some(id) => Some(id),
                            None => {
                                return Err(EngineError::Rule(Code::OutboundNoMailbox.into()));
                            }
                        }
                    } else {
                        None
                    };
                    if sides::count_of_ticket(&mut tx.conn(), ws, ticket.id).await? >= MAX_SIDES {
                        return Err(EngineError::Conflict(
                            Message::new(Code::SidesLimit).with("max", MAX_SIDES),
                        ));
                    }
                    let now = tx.now();
                    let side = Side {
                        id: side_id,
                        workspace_id: ws,
                        ticket_id: ticket.id,
                        subject: subject.clone(),
                        team_id: team,
                        address: address.clone(),
                        account_id: account,
                        open: true,
                        created_by: Some(by),
                        created_at: now,
                        updated_at: now,
                    };
                    sides::insert(tx, &side).await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::SideStarted {
                            ticket_id: ticket.id,
                            side_id,
                            subject,
                            team_id: team,
                            address,
                        },
                    )
                    .await?;
                    add_message(tx, &side, actor, Some(by), None, body).await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        self.side(p, ticket.id, side_id).await
    }

    /// An agent's message in a side conversation; a closed one opens again.
    pub async fn side_reply(
        &self,
        p: &Principal,
        r: TicketRef,
        side_id: SideId,
        body: &str,
    ) -> Result<SideThread, EngineError> {
        p.require_ticket_work()?;
        let body = body_of(body)?;
        let ticket = self.load_ticket(p, r).await?;
        let (ws, actor, by) = (p.workspace_id, p.actor(), p.user_id);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let side = sides::get(&mut tx.conn(), ws, side_id)
                        .await?
                        .filter(|s| s.ticket_id == ticket.id)
                        .ok_or(EngineError::NotFound)?;
                    add_message(tx, &side, actor, Some(by), None, body).await
                })
            })
            .await?;
        self.side(p, ticket.id, side_id).await
    }

    /// Closes a side conversation (its matter is settled) or opens it again.
    pub async fn set_side_open(
        &self,
        p: &Principal,
        r: TicketRef,
        side_id: SideId,
        open: bool,
    ) -> Result<SideThread, EngineError> {
        p.require_ticket_work()?;
        let ticket = self.load_ticket(p, r).await?;
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let side = sides::get(&mut tx.conn(), ws, side_id)
                        .await?
                        .filter(|s| s.ticket_id == ticket.id)
                        .ok_or(EngineError::NotFound)?;
                    let now = tx.now();
                    if sides::set_open(tx, ws, side.id, open, now).await? {
                        tx.emit(
                            ws,
                            actor,
                            EventData::SideStateChanged {
                                ticket_id: side.ticket_id,
                                side_id: side.id,
                                open,
                            },
                        )
                        .await?;
                    }
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        self.side(p, ticket.id, side_id).await
    }

    /// A ticket's side conversations with their messages, oldest first.
    pub async fn sides(&self, p: &Principal, r: TicketRef) -> Result<Vec<SideThread>, EngineError> {
        let ticket = self.load_ticket(p, r).await?;
        let ws = p.workspace_id;
        let mut c = self.store.read().await?;
        let all = sides::of_ticket(&mut c.conn(), ws, ticket.id, MAX_SIDES).await?;
        // Two reads for the whole panel, not one per side conversation.
        let mut messages =
            sides::messages_of_ticket(&mut c.conn(), ws, ticket.id, MAX_SIDES * MAX_SIDE_MESSAGES)
                .await?;
        Ok(all
            .into_iter()
            .map(|side| {
                let (mine, rest) = messages.drain(..).partition(|m| m.side_id == side.id);
                messages = rest;
                SideThread {
                    side,
                    messages: mine,
                }
            })
            .collect())
    }

    /// Whether news of a side conversation is for `user`: a member of its
    /// team; for an answer from outside, also whoever started it, the
    /// ticket's assignee and its followers.
    pub async fn side_concerns(
        &self,
        ws: WorkspaceId,
        side: SideId,
        user: UserId,
        outside: bool,
    ) -> Result<bool, EngineError> {
        let mut c = self.store.read().await?;
        let Some(s) = sides::get(&mut c.conn(), ws, side).await? else {
            return Ok(false);
        };
        if let Some(team) = s.team_id
            && people::teams_of(&mut c.conn(), ws, user)
                .await?
                .iter()
                .any(|t| t.id == team)
        {
            return Ok(true);
        }
        if !outside {
            return Ok(false);
        }
        if s.created_by == Some(user) {
            return Ok(true);
        }
        let assignee = store::tickets::get(&mut c.conn(), ws, s.ticket_id)
            .await?
            .and_then(|t| t.assignee_id);
        Ok(assignee == Some(user)
            || store::swarm::is_member(
                &mut c.conn(),
                store::swarm::Circle::Followers,
                ws,
                s.ticket_id,
                user,
            )
            .await?)
    }

    async fn side(
        &self,
        p: &Principal,
        ticket: TicketId,
        id: SideId,
    ) -> Result<SideThread, EngineError> {
        let ws = p.workspace_id;
        let mut c = self.store.read().await?;
        let side = sides::get(&mut c.conn(), ws, id)
            .await?
            .filter(|s| s.ticket_id == ticket)
            .ok_or(EngineError::NotFound)?;
        let messages = sides::messages(&mut c.conn(), ws, id, MAX_SIDE_MESSAGES).await?;
        Ok(SideThread { side, messages })
    }

    /// Sends one agent message of an email side conversation (the job).
    pub(crate) async fn deliver_side_email(
        &self,
        ws: WorkspaceId,
        id: SideMessageId,
        attempt: i64,
    ) -> Result<Delivery, EngineError> {
        let (m, side, ticket, earlier, mailboxes, author) = {
            let mut c = self.store.read().await?;
            let Some(m) = sides::message(&mut c.conn(), ws, id).await? else {
                return Ok(Delivery::Sent);
            };
            if m.delivery.as_deref() != Some("queued") {
                return Ok(Delivery::Sent);
            }
            let Some(side) = sides::get(&mut c.conn(), ws, m.side_id).await? else {
                return Ok(Delivery::Failed(Code::DeliveryGone.into()));
            };
            let ticket = store::tickets::get(&mut c.conn(), ws, side.ticket_id).await?;
            let earlier = sides::messages(&mut c.conn(), ws, side.id, MAX_SIDE_MESSAGES).await?;
            let boxes = channels::list(&mut c.conn(), ws, Channel::Email).await?;
            let author = match m.author_id {
                Some(u) => people::user_by_id(&mut c.conn(), ws, u)
                    .await?
                    .map(|u| u.name),
                None => None,
            };
            (m, side, ticket, earlier, boxes, author)
        };
        let (Some(to), Some(ticket)) = (side.address.clone(), ticket) else {
            return Ok(Delivery::Failed(Code::DeliveryGone.into()));
        };
        let Some(account) = side
            .account_id
            .and_then(|id| mailboxes.into_iter().find(|b| b.id == id))
        else {
            return Ok(Delivery::Failed(Code::DeliveryMailboxGone.into()));
        };
        let mb: MailboxConfig = self.open_mailbox(account)?;
        if mb.outbound.is_none() {
            return Ok(Delivery::Failed(
                Message::new(Code::DeliveryMailboxNoSmtp).with("address", &mb.address),
            ));
        }
        let own = |m: &SideMessage| format!("otk.side-{}@{}", m.id, mb.domain());
        // Ours before this one, so the answer's client threads them together.
        let references: Vec<String> = earlier
            .iter()
            .take_while(|e| e.id != m.id)
            .filter(|e| e.author_id.is_some())
            .map(own)
            .collect();
        let references = references[references.len().saturating_sub(20)..].to_vec();
        let from_name = match author {
            Some(a) => format!("{a} ({})", mb.sender_name()),
            None => mb.sender_name(),
        };
        let first = references.is_empty();
        let out = OutgoingEmail {
            from: Address {
                name: Some(from_name),
                address: mb.address.clone(),
            },
            to: vec![Address {
                name: None,
                address: to,
            }],
            cc: Vec::new(),
            reply_to: None,
            subject: if first {
                side.subject.clone()
            } else {
                format!("Re: {}", side.subject)
            },
            message_id: own(&m),
            in_reply_to: references.last().cloned(),
            references,
            text: format!("{}\n\n-- \n#{} {}", m.body, ticket.number, ticket.subject),
            html: None,
            attachments: Vec::new(),
            auto_submitted: false,
            language: None,
            mailbox: mb,
        };
        let transport = match self.transport() {
            Ok(t) => t,
            Err(reason) => return Ok(Delivery::Failed(Message::verbatim(reason))),
        };
        Ok(match transport.send(&out).await {
            Ok(()) => {
                self.side_delivered(ws, id, None).await?;
                Delivery::Sent
            }
            Err(e) if e.permanent => Delivery::Failed(crate::messenger::remote(e.reason)),
            Err(e) => Delivery::Retry(
                Message::new(Code::DeliverySmtpAttempt)
                    .with("attempt", attempt + 1)
                    .with("reason", e.reason),
            ),
        })
    }

    /// Records that a side message left (`None`) or will not (`Some(why)`).
    pub(crate) async fn side_delivered(
        &self,
        ws: WorkspaceId,
        id: SideMessageId,
        failed: Option<Message>,
    ) -> Result<(), EngineError> {
        let (state, error) = match failed {
            None => ("sent", None),
            Some(m) => ("failed", Some(m.to_stored())),
        };
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    sides::set_delivery(tx, ws, id, state, error).await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await
    }

    /// An inbound mail that answers one of our side messages lands in its side
    /// conversation; `None` when it names none of this workspace's (the mail
    /// then takes the usual path).
    pub(crate) async fn ingest_side_answer(
        &self,
        mb: &MailboxConfig,
        email: &InboundEmail,
    ) -> Result<Option<Ingested>, EngineError> {
        let ws = mb.workspace_id;
        let named: Vec<SideMessageId> = email
            .in_reply_to
            .iter()
            .chain(email.references.iter().rev())
            .filter_map(|h| side_reference(h))
            .take(20)
            .collect();
        let mut found = None;
        {
            let mut c = self.store.read().await?;
            for id in named {
                if let Some(m) = sides::message_anywhere(&mut c.conn(), id).await?
                    && m.workspace_id == ws
                    && let Some(side) = sides::get(&mut c.conn(), ws, m.side_id).await?
                {
                    found = Some(side);
                    break;
                }
            }
        }
        let Some(side) = found else {
            return Ok(None);
        };
        let from = email
            .from
            .as_ref()
            .or(email.reply_to.as_ref())
            .map(|a| a.address.clone());
        let external = email.dedupe_key();
        let text: String = domain::text::clean_body(&email.text)
            .chars()
            .take(MAX_BODY)
            .collect();
        let body = if text.trim().is_empty() {
            domain::text::clean_line(&email.subject)
        } else {
            text
        };
        let account = mb.id;
        let ticket = side.ticket_id;
        let duplicate = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    if channels::record(&mut tx.conn(), account, &external)
                        .await?
                        .is_some()
                    {
                        return Ok::<_, EngineError>(true);
                    }
                    let now = tx.now();
                    channels::insert_record(
                        tx,
                        &Record {
                            workspace_id: ws,
                            account_id: account,
                            external_id: external,
                            message_id: None,
                            ticket_id: Some(ticket),
                            direction: "in".into(),
                            outcome: "side".into(),
                            address: from.clone(),
                            raw_sha256: None,
                            sent_at: None,
                            created_at: now,
                        },
                    )
                    .await?;
                    if sides::message_count(&mut tx.conn(), ws, side.id).await? >= MAX_SIDE_MESSAGES
                    {
                        return Ok(false);
                    }
                    add_message(tx, &side, Actor::System, None, from, body).await?;
                    Ok(false)
                })
            })
            .await?;
        Ok(Some(Ingested {
            ticket_id: Some(ticket),
            message_id: None,
            duplicate,
            outcome: Outcome::Side,
        }))
    }
}

/// Adds a message (an agent's, queued for email when the side is with an
/// address; or an answer from outside) and opens a closed side again.
async fn add_message(
    tx: &mut store::Tx,
    side: &Side,
    actor: Actor,
    author: Option<UserId>,
    from: Option<String>,
    body: String,
) -> Result<(), EngineError> {
    let ws = side.workspace_id;
    if sides::message_count(&mut tx.conn(), ws, side.id).await? >= MAX_SIDE_MESSAGES {
        return Err(EngineError::Conflict(
            Message::new(Code::SideMessagesLimit).with("max", MAX_SIDE_MESSAGES),
        ));
    }
    let now = tx.now();
    let outside = author.is_none();
    let emailed = !outside && side.address.is_some();
    let m = SideMessage {
        id: SideMessageId::new(),
        workspace_id: ws,
        side_id: side.id,
        author_id: author,
        from_address: from,
        body,
        delivery: emailed.then(|| "queued".to_owned()),
        delivery_error: None,
        created_at: now,
    };
    sides::insert_message(tx, &m).await?;
    if emailed {
        Job::SideEmail {
            workspace_id: ws,
            side_message_id: m.id,
        }
        .enqueue(tx, now)
        .await?;
    }
    if !side.open && sides::set_open(tx, ws, side.id, true, now).await? {
        tx.emit(
            ws,
            actor,
            EventData::SideStateChanged {
                ticket_id: side.ticket_id,
                side_id: side.id,
                open: true,
            },
        )
        .await?;
    }
    tx.emit(
        ws,
        actor,
        EventData::SideMessageAdded {
            ticket_id: side.ticket_id,
            side_id: side.id,
            side_message_id: m.id,
            outside,
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_name_side_messages_by_their_message_id() {
        let id = SideMessageId::new();
        assert_eq!(
            side_reference(&format!("otk.side-{id}@support.example")),
            Some(id)
        );
        assert_eq!(side_reference(&format!("otk.{id}@support.example")), None);
        assert_eq!(side_reference("otk.side-nonsense@x"), None);
        assert_eq!(
            crate::email::ingest::own_message_id(&format!("otk.side-{id}@x")),
            None
        );
    }
}
