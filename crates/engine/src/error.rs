//! The engine's error type: what went wrong in terms a caller can act on.

use domain::Code;
use domain::{DomainError, Message};
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Absent, or in another workspace: the two are never distinguished.
    #[error("not found")]
    NotFound,
    /// An object the request refers to (a team, an assignee, an attachment) is
    /// absent or in another workspace: field → what is missing.
    #[error("{0}: {1}")]
    Unknown(String, Message),
    #[error("not allowed: {0}")]
    Forbidden(Message),
    #[error("unauthorized")]
    Unauthorized,
    /// A password the caller had to confirm (the current one, when changing it)
    /// was wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// Bad input: field → message.
    #[error("invalid input")]
    Invalid(Vec<(String, Message)>),
    /// A rule refused a well-formed request because of the state it is in (a
    /// status transition, a merged customer, the last owner).
    #[error("{0}")]
    Rule(Message),
    #[error("conflict: {0}")]
    Conflict(Message),
    /// A unique key refused the write; callers that retry races match the key.
    #[error("conflict: {}", .0.describe())]
    Duplicate(store::constraint::Unique),
    #[error("too large: {0}")]
    TooLarge(Message),
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// Every turn for CPU-heavy work is taken: try again shortly.
    #[error("the server is busy; try again in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// A remote service the request needed (a messenger's API) refused or
    /// did not answer: its reason.
    #[error("the remote service answered: {0}")]
    Upstream(String),
    #[error(transparent)]
    Store(StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

impl EngineError {
    pub fn invalid(field: impl Into<String>, msg: impl Into<Message>) -> Self {
        EngineError::Invalid(vec![(field.into(), msg.into())])
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => EngineError::NotFound,
            StoreError::Conflict(c) => EngineError::Duplicate(c),
            StoreError::MissingReference => {
                EngineError::invalid("reference", Code::MissingReference)
            }
            other => EngineError::Store(other),
        }
    }
}

impl From<DomainError> for EngineError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid { field, message } => EngineError::Invalid(vec![(field, message)]),
            t @ DomainError::Transition { .. } => EngineError::Rule(t.message()),
        }
    }
}
