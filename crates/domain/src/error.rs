//! The one error type of the domain: a rule was broken by a value.

use crate::message::Message;

/// A value or a requested change that the domain rules reject.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// A field's value has the wrong shape; `field` names it for the API's `errors` map.
    #[error("{field}: {message}")]
    Invalid { field: String, message: Message },
    /// A status change the ticket state machine does not allow.
    #[error("a ticket cannot go from {from} to {to}")]
    Transition {
        from: &'static str,
        to: &'static str,
    },
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<Message>) -> Self {
        DomainError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl DomainError {
    /// The refusal as a message (a transition names both statuses).
    pub fn message(&self) -> Message {
        match self {
            DomainError::Invalid { message, .. } => message.clone(),
            DomainError::Transition { from, to } => Message::new(crate::message::Code::Transition)
                .label("from", "status", from)
                .label("to", "status", to),
        }
    }
}
