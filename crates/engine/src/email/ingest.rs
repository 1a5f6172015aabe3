//! Inbound email onto the one ingest path. Exactly once per mailbox and
//! Message-ID, threaded onto the ticket it answers, with the original kept byte
//! for byte in the blob store.
//!
//! An answer to a side conversation's mail goes to that side conversation
//! (`crate::side`). Threading hints, in the order the engine tries them: a Message-ID of ours or
//! one we recorded in In-Reply-To/References; the per-ticket reply address token;
//! `[#number]` in the subject (honoured for that ticket's customer only);
//! otherwise a new ticket.

use super::mailbox::MailboxConfig;
use super::{InboundEmail, reply_token};
use crate::ingest::{
    Acknowledge, Content, CustomerMessage, DeliveryReport, Inbound, Sender, Thread,
};
use crate::{Engine, EngineError};
use domain::Code;
use domain::Message;
use domain::ids::*;
use domain::ticket::DeliveryState;

pub use crate::ingest::{Ingested, Outcome, script_language};

/// The message id of one of our own messages, from a Message-ID we generated.
pub fn own_message_id(header_id: &str) -> Option<MessageId> {
    let local = header_id.strip_prefix("otk.")?.split('@').next()?;
    local.parse().ok()
}

/// The ticket number written as `[#1042]` in a subject.
pub fn subject_number(subject: &str) -> Option<i64> {
    let mut rest = subject;
    while let Some(i) = rest.find("[#") {
        let after = &rest[i + 2..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && after[digits.len()..].starts_with(']') {
            return digits.parse().ok().filter(|n| *n > 0);
        }
        rest = after;
    }
    None
}

impl Engine {
    /// Ingests one raw email for a mailbox. The caller acknowledges the message to
    /// its source (IMAP flag, SMTP 250, HTTP 202) only after this returns `Ok`.
    pub async fn ingest_email(
        &self,
        mailbox: &MailboxConfig,
        raw: bytes::Bytes,
        email: InboundEmail,
    ) -> Result<Ingested, EngineError> {
        if raw.len() > self.limits.max_email_bytes {
            return Err(EngineError::TooLarge(
                Message::new(Code::EmailTooLarge).with("bytes", self.limits.max_email_bytes),
            ));
        }
        if let Some(done) = self.ingest_side_answer(mailbox, &email).await? {
            return Ok(done);
        }
        self.ingest(normalise(mailbox, raw, email)).await
    }
}

/// An email as the one ingest path takes it: MIME and headers stay here.
fn normalise(mb: &MailboxConfig, raw: bytes::Bytes, email: InboundEmail) -> Inbound {
    let external_id = email.dedupe_key();
    let content = if let Some(b) = email.bounce {
        let (ours, external) = split_references(b.original_message_ids);
        Content::Report(DeliveryReport {
            ours,
            external,
            state: Some(DeliveryState::Failed),
            reason: Some(
                domain::Message::new(domain::Code::DeliveryBounced).with("reason", b.reason),
            ),
        })
    } else if let Some(from) = email
        .from
        .clone()
        .or_else(|| email.reply_to.clone())
        .or_else(|| email.sender.clone())
        .or_else(|| {
            email.envelope_from.clone().map(|address| super::Address {
                name: None,
                address,
            })
        })
    {
        // The sender (From) is the customer; answers go where the sender asked
        // (Reply-To), else back to the sender.
        let reply_to = email.reply_to.as_ref().map(|a| a.address.clone());
        let mut refs: Vec<String> = email.in_reply_to.clone();
        refs.extend(email.references.iter().rev().cloned());
        let (ours, external) = split_references(refs);
        let signed = email
            .to
            .iter()
            .chain(&email.cc)
            .map(|a| a.address.as_str())
            .chain(email.envelope_to.iter().map(String::as_str))
            .filter_map(|addr| reply_token::parse(addr, mb.local_part(), mb.domain()))
            .collect();
        Content::Message(Box::new(CustomerMessage {
            sender: Sender {
                handle: from.address,
                name: from.name,
                customer: None,
            },
            reply_to,
            thread: Thread {
                ours,
                external,
                signed,
                number: subject_number(&email.subject),
                conversation: false,
                ticket: None,
            },
            subject: Some(email.subject),
            text: email.text,
            html: email.html,
            attachments: email.attachments,
            language: email.language,
            automatic: email.auto.suppress_auto_reply(),
            acknowledge: mb.settings.auto_ack.enabled.then(|| Acknowledge::Email {
                in_reply_to: email.message_id.clone(),
            }),
            remote_files: Vec::new(),
            team: None,
            tags: Vec::new(),
            assignee: None,
        }))
    } else {
        Content::Held {
            subject: email.subject,
            reason: "no_sender".into(),
        }
    };
    Inbound {
        account: mb.account(),
        external_id,
        global_id: true,
        sent_at: email.date,
        original: Some(raw),
        content,
    }
}

/// Message-IDs we generated name our messages directly; the rest are looked up
/// in the record. Order is kept.
fn split_references(ids: Vec<String>) -> (Vec<MessageId>, Vec<String>) {
    let ours = ids.iter().filter_map(|r| own_message_id(r)).collect();
    (ours, ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_numbers_and_own_ids_are_recognised() {
        assert_eq!(subject_number("Re: [#1042] Order"), Some(1042));
        assert_eq!(subject_number("Order [#12]"), Some(12));
        assert_eq!(subject_number("[#] [#x] [#7"), None);
        assert_eq!(subject_number("[#0]"), None);
        let id = MessageId::new();
        assert_eq!(own_message_id(&format!("otk.{id}@shop.example")), Some(id));
        assert_eq!(own_message_id("otk.nope@shop.example"), None);
        assert_eq!(own_message_id(&format!("{id}@shop.example")), None);
    }
}
