//! The email channel's business side: mailboxes, ingest with threading and
//! deduplication, replies and automatic acknowledgements with loop protection,
//! and bounces. The wire work (MIME, SMTP, IMAP) lives in the channels crate.

pub mod held;
pub mod ingest;
pub mod mailbox;
pub mod outbound;
pub mod reply_token;
mod types;

pub use ingest::{Ingested, Outcome};
pub use mailbox::{MailboxConfig, MailboxInput, MailboxView};
pub use outbound::{Delivery, MailTransport, OutgoingAttachment, OutgoingEmail, SendError};
pub use types::*;
