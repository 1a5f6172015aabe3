//! The typed events that every change writes, in the same transaction as the change.
//! The event log is the ticket history, the outbox and the source of analytics.

use crate::ids::*;
use serde::Serialize;
use serde_json::Value;

/// Who caused an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    Customer(CustomerId),
    Bot,
    System,
}

impl Actor {
    pub fn kind(self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::Customer(_) => "customer",
            Actor::Bot => "bot",
            Actor::System => "system",
        }
    }
    pub fn id(self) -> Option<uuid::Uuid> {
        match self {
            Actor::User(u) => Some(u.0),
            Actor::Customer(c) => Some(c.0),
            Actor::Bot | Actor::System => None,
        }
    }
}

/// One changed field: its name and the values before and after.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub field: &'static str,
    pub from: Value,
    pub to: Value,
}

/// Sets `slot` to `new`, recording the change in `changes` only when the value differs.
pub fn record<T: Serialize + PartialEq>(
    changes: &mut Vec<Change>,
    field: &'static str,
    slot: &mut T,
    new: T,
) {
    if *slot != new {
        changes.push(Change {
            field,
            from: json(slot),
            to: json(&new),
        });
        *slot = new;
    }
}

fn json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// What happened. Serialised (untagged) as the event's `data`; `kind()` names it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EventData {
    WorkspaceCreated {
        name: String,
    },
    UserCreated {
        user_id: UserId,
        email: String,
        role: &'static str,
    },
    UserUpdated {
        user_id: UserId,
        changes: Vec<Change>,
    },
    TeamCreated {
        team_id: TeamId,
        name: String,
    },
    TeamUpdated {
        team_id: TeamId,
        changes: Vec<Change>,
    },
    TokenCreated {
        token_id: TokenId,
        user_id: UserId,
        name: String,
    },
    TokenRevoked {
        token_id: TokenId,
    },
    FieldCreated {
        field_id: FieldId,
        key: String,
        field_type: &'static str,
    },
    CustomerCreated {
        customer_id: CustomerId,
        name: String,
    },
    CustomerUpdated {
        customer_id: CustomerId,
        changes: Vec<Change>,
    },
    IdentityAdded {
        customer_id: CustomerId,
        kind: &'static str,
        value: String,
    },
    /// `merged_id` moved into `customer_id` with its identities, tickets and messages.
    CustomersMerged {
        customer_id: CustomerId,
        merged_id: CustomerId,
        identities: usize,
        tickets: usize,
    },
    TicketCreated {
        ticket_id: TicketId,
        number: i64,
        subject: String,
        status: &'static str,
        priority: &'static str,
        channel: &'static str,
        customer_id: CustomerId,
        follow_up_of: Option<TicketId>,
    },
    TicketUpdated {
        ticket_id: TicketId,
        changes: Vec<Change>,
    },
    MessageAdded {
        ticket_id: TicketId,
        message_id: MessageId,
        visibility: &'static str,
        author_kind: &'static str,
        channel: &'static str,
        attachments: usize,
    },
    DeliveryChanged {
        ticket_id: TicketId,
        message_id: MessageId,
        state: &'static str,
        error: Option<String>,
    },
    MailboxCreated {
        mailbox_id: MailboxId,
        address: String,
    },
    MailboxUpdated {
        mailbox_id: MailboxId,
        changes: Vec<Change>,
    },
    /// An automatic acknowledgement went to the customer (or was held back).
    AutoReplySent {
        ticket_id: TicketId,
        to: String,
    },
}

impl EventData {
    /// The event's kind as stored and exposed, e.g. `ticket.created`.
    pub fn kind(&self) -> &'static str {
        match self {
            EventData::WorkspaceCreated { .. } => "workspace.created",
            EventData::UserCreated { .. } => "user.created",
            EventData::UserUpdated { .. } => "user.updated",
            EventData::TeamCreated { .. } => "team.created",
            EventData::TeamUpdated { .. } => "team.updated",
            EventData::TokenCreated { .. } => "token.created",
            EventData::TokenRevoked { .. } => "token.revoked",
            EventData::FieldCreated { .. } => "custom_field.created",
            EventData::CustomerCreated { .. } => "customer.created",
            EventData::CustomerUpdated { .. } => "customer.updated",
            EventData::IdentityAdded { .. } => "customer.identity_added",
            EventData::CustomersMerged { .. } => "customer.merged",
            EventData::TicketCreated { .. } => "ticket.created",
            EventData::TicketUpdated { .. } => "ticket.updated",
            EventData::MessageAdded { .. } => "message.added",
            EventData::DeliveryChanged { .. } => "message.delivery_changed",
            EventData::MailboxCreated { .. } => "mailbox.created",
            EventData::MailboxUpdated { .. } => "mailbox.updated",
            EventData::AutoReplySent { .. } => "ticket.auto_reply_sent",
        }
    }

    /// The ticket this event belongs to, for the ticket history.
    pub fn ticket_id(&self) -> Option<TicketId> {
        match self {
            EventData::TicketCreated { ticket_id, .. }
            | EventData::TicketUpdated { ticket_id, .. }
            | EventData::MessageAdded { ticket_id, .. }
            | EventData::DeliveryChanged { ticket_id, .. }
            | EventData::AutoReplySent { ticket_id, .. } => Some(*ticket_id),
            _ => None,
        }
    }

    /// The customer this event belongs to, for the customer timeline.
    pub fn customer_id(&self) -> Option<CustomerId> {
        match self {
            EventData::CustomerCreated { customer_id, .. }
            | EventData::CustomerUpdated { customer_id, .. }
            | EventData::IdentityAdded { customer_id, .. }
            | EventData::CustomersMerged { customer_id, .. }
            | EventData::TicketCreated { customer_id, .. } => Some(*customer_id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_changes_are_recorded() {
        let mut changes = Vec::new();
        let mut name = "Anna".to_string();
        record(&mut changes, "name", &mut name, "Anna".to_string());
        assert!(changes.is_empty());
        record(&mut changes, "name", &mut name, "Анна".to_string());
        assert_eq!(name, "Анна");
        assert_eq!(
            changes,
            vec![Change {
                field: "name",
                from: Value::from("Anna"),
                to: Value::from("Анна")
            }]
        );
    }
}
