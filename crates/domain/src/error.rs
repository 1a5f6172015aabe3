//! The one error type of the domain: a rule was broken by a value.

/// A value or a requested change that the domain rules reject.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// A field's value has the wrong shape; `field` names it for the API's `errors` map.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A status change the ticket state machine does not allow.
    #[error("a ticket cannot go from {from} to {to}")]
    Transition {
        from: &'static str,
        to: &'static str,
    },
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
