//! The email channel: parsing inbound mail, composing and sending replies, and the
//! transports that bring mail in (IMAP, a built-in SMTP receiver, an MTA pipe).

pub mod charset;
pub mod imap;
pub mod inbound;
pub mod parse;
pub mod send;
pub mod smtpd;

pub use parse::{ParseError, parse, split_mbox};

#[cfg(test)]
mod corpus_tests;
