//! The email channel's business side: mailboxes, ingest with threading and
//! deduplication, automatic acknowledgements with loop protection, and bounces.

mod types;

pub use types::*;
