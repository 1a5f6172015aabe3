//! Otklik's core types and rules, with no I/O.
//!
//! Invariants: this crate knows nothing of sqlx, axum or tokio. Values that have a
//! shape (`EmailAddress`, `PhoneE164`, `TicketNumber` …) can only be built through
//! their `parse` functions, so code holding one never re-validates it.

#![forbid(unsafe_code)]

pub mod assist;
pub mod calendar;
pub mod chat;
pub mod digest;
pub mod error;
pub mod event;
pub mod fields;
pub mod flow;
pub mod identity;
pub mod ids;
pub mod journey;
pub mod journey_map;
pub mod kb;
pub mod kpi;
pub mod links;
pub mod macros;
pub mod message;
pub mod number;
pub mod order;
pub mod org;
pub mod outreach;
pub mod quality;
pub mod routing;
pub mod rules;
pub mod secret;
pub mod sla;
pub mod survey;
pub mod template;
pub mod text;
pub mod ticket;
pub mod time;
pub mod trend;
pub mod user;

pub use error::DomainError;
pub use message::{Code, Message};
pub use time::Timestamp;
