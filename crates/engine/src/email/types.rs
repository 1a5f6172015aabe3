//! The normalised form of one inbound email, as channel adapters hand it over.

use domain::time::Timestamp;

/// A mailbox address with its display name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    pub name: Option<String>,
    /// Lower-cased.
    pub address: String,
}

/// A file carried by an email: an attachment or an inline image.
pub use crate::ingest::InboundAttachment;

/// Why a message must not be answered automatically (RFC 3834 and common practice).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AutoFlags {
    /// `Auto-Submitted` other than `no`, or an autoresponder's own markers.
    pub auto_submitted: bool,
    /// `Precedence: bulk|list|junk`, or a mailing list (`List-Id`, `List-Unsubscribe`).
    pub bulk: bool,
    /// The sender is a no-reply or system address (`noreply@`, `mailer-daemon@` …).
    pub system_sender: bool,
}

impl AutoFlags {
    /// True when no automatic mail may go back to the sender.
    pub fn suppress_auto_reply(&self) -> bool {
        self.auto_submitted || self.bulk || self.system_sender
    }
}

/// A delivery status notification about a message we sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bounce {
    /// Message-IDs the report names as the failed message (from the returned
    /// headers, `Original-Message-ID`, or `In-Reply-To`/`References`).
    pub original_message_ids: Vec<String>,
    pub recipient: Option<String>,
    /// The DSN status code, e.g. `5.1.1`.
    pub status: Option<String>,
    /// A human-readable reason for the failure.
    pub reason: String,
    /// A permanent failure (`5.x.x` or an action of `failed`).
    pub permanent: bool,
}

/// One inbound email, parsed and decoded.
#[derive(Clone, Debug, Default)]
pub struct InboundEmail {
    /// The `Message-ID` without angle brackets; `None` when the message has none.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from: Option<Address>,
    pub reply_to: Option<Address>,
    /// The `Sender` header: who sent it on the author's behalf.
    pub sender: Option<Address>,
    /// The envelope sender: SMTP `MAIL FROM`, else the `Return-Path` the
    /// delivering server wrote. Empty for the null sender of bounces.
    pub envelope_from: Option<String>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    /// Envelope recipients the MTA recorded (`Delivered-To`, `X-Original-To`,
    /// `Envelope-To`), where a plus-address reply token survives a Bcc.
    pub envelope_to: Vec<String>,
    pub subject: String,
    pub date: Option<Timestamp>,
    /// The plain-text body, quoted history included (display folds it).
    pub text: String,
    /// The HTML body as sent; sanitised before it is stored.
    pub html: Option<String>,
    pub attachments: Vec<InboundAttachment>,
    pub auto: AutoFlags,
    pub bounce: Option<Bounce>,
    /// `Content-Language`, if the sender declared one.
    pub language: Option<String>,
    /// SHA-256 of the raw message, hex: the identity of a message with no Message-ID.
    pub raw_sha256: String,
    pub raw_size: usize,
}

impl InboundEmail {
    /// The key this message is deduplicated on: its Message-ID, else a digest of
    /// its bytes (so that a redelivery of the same bytes is still recognised).
    pub fn dedupe_key(&self) -> String {
        match &self.message_id {
            Some(id) => id.clone(),
            None => format!("sha256:{}", self.raw_sha256),
        }
    }
}
