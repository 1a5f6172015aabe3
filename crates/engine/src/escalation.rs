//! Escalation: a ticket moves up a tier (or to a named team) with the reason
//! recorded, keeping its thread; routing then finds it an agent there.

use crate::tickets::{TicketRef, insert_message};
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::event::{Actor, EventData, record};
use domain::ids::*;
use domain::message;
use domain::ticket::{AuthorKind, Status, Visibility};
use store::Tx;
use store::people;
use store::tickets::{self, Message, Ticket};

/// The longest reason kept.
pub const MAX_REASON: usize = 1000;

impl Engine {
    /// Escalates a ticket: to `team` when named, else to its team's escalation
    /// team, else one tier up (in the lowest team of that tier, if there is
    /// one). The assignee is cleared, so the next tier's queue takes it; the
    /// reason becomes an internal note and a `ticket.escalated` event.
    pub async fn escalate(
        &self,
        p: &Principal,
        r: TicketRef,
        reason: &str,
        team: Option<TeamId>,
    ) -> Result<Ticket, EngineError> {
        p.require_ticket_work()?;
        let reason = domain::text::clean_body(reason.trim());
        if reason.is_empty() || reason.chars().count() > MAX_REASON {
            return Err(EngineError::invalid(
                "reason",
                message::chars(1, MAX_REASON),
            ));
        }
        let reason = reason.to_owned();
        let ticket = self.load_ticket(p, r).await?;
        let (ws, actor, author) = (p.workspace_id, Actor::User(p.user_id), Some(p.user_id));
        self.store
            .write(move |tx| {
                Box::pin(escalate_ticket(
                    tx, ws, ticket.id, actor, author, reason, team,
                ))
            })
            .await
    }
}

/// Escalates the ticket inside `tx`, as `actor` (an agent, or a rule); the
/// reason is also left as an internal note by `author` (none: the system's).
pub(crate) async fn escalate_ticket(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: TicketId,
    actor: Actor,
    author: Option<UserId>,
    reason: String,
    team: Option<TeamId>,
) -> Result<Ticket, EngineError> {
    let now = tx.now();
    let mut t = tickets::get(&mut tx.conn(), ws, id)
        .await?
        .ok_or(EngineError::NotFound)?;
    if matches!(t.status, Status::Solved | Status::Closed) {
        return Err(EngineError::Rule(Code::NotEscalatedWhenDone.into()));
    }
    let from_team = match t.team_id {
        Some(id) => people::team_by_id(&mut tx.conn(), ws, id).await?,
        None => None,
    };
    let to_team = match team.or(from_team.as_ref().and_then(|f| f.escalate_to)) {
        Some(id) => Some(
            people::team_by_id(&mut tx.conn(), ws, id)
                .await?
                .ok_or_else(|| EngineError::Unknown("team_id".into(), message::no_such("team")))?,
        ),
        None => {
            if t.tier >= 3 {
                return Err(EngineError::Rule(Code::HighestTier.into()));
            }
            people::list_teams(&mut tx.conn(), ws, None, 200)
                .await?
                .into_iter()
                .filter(|x| x.tier == t.tier + 1)
                .min_by_key(|x| x.id)
        }
    };
    let to_tier = match &to_team {
        Some(x) => x.tier.max(t.tier),
        None => t.tier + 1,
    };
    let (from_tier, from_team_id) = (t.tier, t.team_id);
    let to_team_id = to_team.as_ref().map(|x| x.id).or(t.team_id);
    let mut changes = Vec::new();
    record(&mut changes, "tier", &mut t.tier, to_tier);
    record(&mut changes, "team_id", &mut t.team_id, to_team_id);
    if changes.is_empty() {
        return Err(EngineError::Rule(Code::AlreadyThere.into()));
    }
    record(&mut changes, "assignee_id", &mut t.assignee_id, None);
    t.updated_at = now;
    tickets::update(tx, &t, false).await?;
    tx.emit(
        ws,
        actor,
        EventData::TicketUpdated {
            ticket_id: t.id,
            changes,
        },
    )
    .await?;
    tx.emit(
        ws,
        actor,
        EventData::TicketEscalated {
            ticket_id: t.id,
            from_tier,
            to_tier,
            from_team: from_team_id,
            to_team: to_team_id,
            reason: reason.clone(),
        },
    )
    .await?;
    let where_to = to_team.as_ref().map(|x| x.name.as_str()).unwrap_or("—");
    let note = Message {
        id: MessageId::new(),
        workspace_id: ws,
        ticket_id: t.id,
        visibility: Visibility::Internal,
        author_kind: if author.is_some() {
            AuthorKind::Agent
        } else {
            AuthorKind::System
        },
        author_user_id: author,
        author_customer_id: None,
        channel: t.channel,
        body_text: format!("⤴ {where_to} · L{to_tier}: {reason}"),
        body_html: None,
        external_id: None,
        delivery_state: None,
        delivery_error: None,
        account_id: None,
        created_at: now,
        attachments: Vec::new(),
    };
    insert_message(tx, note, &[], actor).await?;
    Ok(t)
}
