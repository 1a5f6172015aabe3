//! Raw mail → engine: the path every inbound transport shares (IMAP, the SMTP
//! receiver, the MTA pipe over HTTP or the command line).

use super::parse::{ParseError, parse};
use super::smtpd::{Envelope, Reject, SmtpHandler};
use engine::email::mailbox::InboundKind;
use engine::email::{Ingested, MailboxConfig};
use engine::{Engine, EngineError};
use futures::future::BoxFuture;

/// Why one raw message was not taken.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("not an email: {0}")]
    Unreadable(#[from] ParseError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl IngestError {
    /// Retrying the same bytes later cannot succeed.
    pub fn is_permanent(&self) -> bool {
        match self {
            IngestError::Unreadable(_) => true,
            IngestError::Engine(e) => matches!(
                e,
                EngineError::TooLarge(_) | EngineError::Invalid(_) | EngineError::NotFound
            ),
        }
    }
}

/// The SMTP envelope of a message, when the transport knows it.
#[derive(Clone, Copy, Debug, Default)]
pub struct EnvelopeHint<'a> {
    /// `MAIL FROM`; empty for the null sender.
    pub from: Option<&'a str>,
    /// Recipients for this mailbox (they carry reply tokens through a Bcc).
    pub to: &'a [String],
}

/// Parses and ingests one raw message for `mailbox`.
pub async fn ingest_raw(
    engine: &Engine,
    mailbox: &MailboxConfig,
    raw: bytes::Bytes,
    envelope: EnvelopeHint<'_>,
) -> Result<Ingested, IngestError> {
    if raw.len() > engine.limits.max_email_bytes {
        return Err(EngineError::TooLarge(
            domain::Message::new(domain::Code::EmailTooLarge)
                .with("max", domain::message::group(engine.limits.max_email_bytes)),
        )
        .into());
    }
    // Parsing is CPU work on possibly large input: keep it off the async workers.
    // The buffer is shared, not copied: a large message exists once in memory.
    let shared = raw.clone();
    let parsed = engine.cpu.run(move || parse(&shared)).await?;
    let mut email = parsed?;
    for rcpt in envelope.to {
        if !email.envelope_to.contains(rcpt) {
            email.envelope_to.push(rcpt.clone());
        }
    }
    if let Some(from) = envelope.from.map(str::trim).filter(|f| f.contains('@')) {
        email.envelope_from = Some(from.to_lowercase());
    }
    Ok(engine.ingest_email(mailbox, raw, email).await?)
}

/// Makes a ticket of a held message from the customer an admin named (admins
/// only): the original is parsed again with that sender and takes the one
/// ingest path, which also clears the held entry.
pub async fn ticket_held(
    engine: &Engine,
    p: &engine::Principal,
    mailbox: domain::ids::MailboxId,
    held: domain::ids::HeldId,
    email: &str,
    name: Option<&str>,
) -> Result<Ingested, IngestError> {
    let address = domain::identity::EmailAddress::parse(email)
        .map_err(|e| EngineError::invalid("customer.email", e.message()))?;
    // The admin names the sender the message did not.
    let customer = engine::email::Address {
        name: name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
        address: address.as_str().to_owned(),
    };
    let (_, raw) = engine.held_message(p, mailbox, held).await?;
    let mb = engine.mailbox_config(p.workspace_id, mailbox).await?;
    let raw = bytes::Bytes::from(raw);
    let shared = raw.clone();
    let parsed = engine.cpu.run(move || parse(&shared)).await?;
    let mut email = parsed?;
    email.from = Some(customer);
    Ok(engine.ingest_email(&mb, raw, email).await?)
}

/// Routes the SMTP receiver's mail to the mailboxes whose inbound kind is `smtp`.
pub struct MailboxRouter {
    pub engine: Engine,
}

impl SmtpHandler for MailboxRouter {
    fn accept_rcpt<'a>(&'a self, rcpt: &'a str) -> BoxFuture<'a, Result<(), Reject>> {
        Box::pin(async move {
            match self.engine.mailbox_for_address(rcpt).await {
                Ok(Some(mb)) if mb.inbound.kind == InboundKind::Smtp && mb.active => Ok(()),
                Ok(_) => Err(Reject {
                    permanent: true,
                    reason: format!("no mailbox for <{rcpt}> here"),
                }),
                Err(e) => Err(Reject {
                    permanent: false,
                    reason: format!("temporary failure: {e}"),
                }),
            }
        })
    }

    fn deliver<'a>(
        &'a self,
        env: &'a Envelope,
        data: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), Reject>> {
        Box::pin(async move {
            // One ticket per distinct mailbox among the recipients, from one buffer.
            let data = bytes::Bytes::from(data);
            let mut done = Vec::new();
            for rcpt in &env.rcpts {
                let mb = match self.engine.mailbox_for_address(rcpt).await {
                    Ok(Some(mb)) => mb,
                    Ok(None) => continue,
                    Err(e) => {
                        return Err(Reject {
                            permanent: false,
                            reason: e.to_string(),
                        });
                    }
                };
                if done.contains(&mb.id) {
                    continue;
                }
                let to: Vec<String> = env
                    .rcpts
                    .iter()
                    .filter(|r| self.same_mailbox(r, &mb))
                    .cloned()
                    .collect();
                let envelope = EnvelopeHint {
                    from: Some(env.from.as_str()),
                    to: &to,
                };
                let _slot = match self.engine.cpu.large_message(data.len()).await {
                    Ok(s) => s,
                    Err(e) => {
                        return Err(Reject {
                            permanent: false,
                            reason: e.to_string(),
                        });
                    }
                };
                match ingest_raw(&self.engine, &mb, data.clone(), envelope).await {
                    Ok(_) => done.push(mb.id),
                    Err(e) => {
                        tracing::warn!(mailbox = %mb.id, error = %e, "SMTP delivery refused");
                        return Err(Reject {
                            permanent: e.is_permanent(),
                            reason: e.to_string(),
                        });
                    }
                }
            }
            Ok(())
        })
    }
}

impl MailboxRouter {
    fn same_mailbox(&self, rcpt: &str, mb: &MailboxConfig) -> bool {
        match rcpt.rsplit_once('@') {
            Some((l, d)) => d == mb.domain() && l.split('+').next() == Some(mb.local_part()),
            None => false,
        }
    }
}
