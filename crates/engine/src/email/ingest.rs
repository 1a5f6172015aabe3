//! Inbound email → ticket. Exactly once per mailbox and Message-ID, threaded onto
//! the ticket it answers, with the original kept byte for byte in the blob store.
//!
//! Threading, in order: a Message-ID we know in In-Reply-To/References; the
//! per-ticket reply address token; `[#number]` in the subject when the sender is
//! that ticket's customer; otherwise a new ticket.

use super::mailbox::MailboxConfig;
use super::{InboundEmail, reply_token};
use crate::customers::{CustomerInput, resolve};
use crate::tickets::{customer_wrote, emit_created, insert_message};
use crate::{Engine, EngineError};
use domain::event::{Actor, EventData};
use domain::identity::{Identity, IdentityKind};
use domain::ids::*;
use domain::ticket::*;

use std::sync::Arc;
use store::mail::{self, EmailRecord};
use store::tickets::{self, Attachment, Message, Ticket};
use store::{StoreError, Tx, customers};

/// What became of one inbound email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new ticket was opened.
    Ticket,
    /// The message was added to an existing ticket (or a follow-up of a closed one).
    Reply,
    /// A delivery report about one of our replies.
    Bounce,
    /// Kept (the raw message is stored) but not turned into a message.
    Ignored(String),
}

/// The result of ingesting one email.
#[derive(Clone, Debug)]
pub struct Ingested {
    pub ticket_id: Option<TicketId>,
    pub message_id: Option<MessageId>,
    /// Seen before in this mailbox (or through another mailbox of the workspace):
    /// nothing new was written.
    pub duplicate: bool,
    pub outcome: Outcome,
}

const AUTO_REPLY_WINDOW_MS: i64 = 3_600_000;

/// The message id of one of our own replies, from a Message-ID we generated.
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

/// The script of a text decides the language of an acknowledgement when the
/// customer's is unknown: Thai letters → th, Cyrillic → ru, else none.
pub fn script_language(text: &str) -> Option<&'static str> {
    let (mut th, mut ru, mut latin) = (0usize, 0usize, 0usize);
    for c in text.chars().take(4000) {
        match c {
            '\u{0E00}'..='\u{0E7F}' => th += 1,
            '\u{0400}'..='\u{04FF}' => ru += 1,
            'a'..='z' | 'A'..='Z' => latin += 1,
            _ => {}
        }
    }
    if th > 0 && th >= ru && th * 2 >= latin {
        Some("th")
    } else if ru > 0 && ru * 2 >= latin {
        Some("ru")
    } else {
        None
    }
}

/// Rewrites `cid:` references to the stored attachments' download paths.
fn rewrite_cids(html: &str, cids: &[(String, AttachmentId)]) -> String {
    let mut out = html.to_owned();
    for (cid, id) in cids {
        let url = format!("/api/v1/attachments/{id}");
        for form in [format!("cid:{cid}"), format!("CID:{cid}")] {
            out = out.replace(&form, &url);
        }
    }
    out
}

/// What ingest prepared outside the transaction: the raw and the attachments are
/// in the blob store (content-addressed, so a retry stores nothing twice).
struct Prepared {
    key: String,
    raw_sha256: String,
    text: String,
    html: Option<String>,
    attachments: Vec<Attachment>,
}

impl Engine {
    /// Ingests one raw email for a mailbox. The caller acknowledges the message to
    /// its source (IMAP flag, SMTP 250, HTTP 202) only after this returns `Ok`.
    pub async fn ingest_email(
        &self,
        mailbox: &MailboxConfig,
        raw: &[u8],
        email: InboundEmail,
    ) -> Result<Ingested, EngineError> {
        if raw.len() > self.limits.max_email_bytes {
            return Err(EngineError::TooLarge(format!(
                "an email may have at most {} bytes",
                self.limits.max_email_bytes
            )));
        }
        let ws = mailbox.workspace_id;
        let key: String = email.dedupe_key().chars().take(900).collect();
        // A redelivery is answered from the record without storing anything.
        {
            let mut c = self.store.read().await?;
            if let Some(r) = mail::record(&mut c.conn(), mailbox.id, &key).await? {
                return Ok(duplicate_of(&r));
            }
        }
        let prepared = Arc::new(self.prepare(ws, raw, &email, key).await?);
        let email = Arc::new(email);
        let ack_per_hour = self.limits.auto_replies_per_hour;
        // PostgreSQL runs concurrent deliveries of one message (or two first
        // messages from one new sender) in parallel: the loser of a unique-key race
        // retries and then finds the winner's rows.
        for _ in 0..3 {
            let (mb, email, prepared, secret) = (
                mailbox.clone(),
                email.clone(),
                prepared.clone(),
                self.secret.clone(),
            );
            let r = self
                .store
                .write(move |tx| {
                    Box::pin(async move {
                        ingest_tx(tx, &mb, &email, &prepared, ack_per_hour, &secret).await
                    })
                })
                .await;
            match r {
                // A concurrent delivery of the same mail, or of its sender, won.
                Err(EngineError::Duplicate(_)) => continue,
                other => return other,
            }
        }
        Err(EngineError::Conflict(
            "the message kept colliding with concurrent deliveries; retry".into(),
        ))
    }

    async fn prepare(
        &self,
        ws: WorkspaceId,
        raw: &[u8],
        email: &InboundEmail,
        key: String,
    ) -> Result<Prepared, EngineError> {
        let blobs = self.store.blobs();
        let now = self.store.now();
        let mut notes = Vec::new();
        let mut kept = Vec::new();
        for a in &email.attachments {
            if kept.len() >= self.limits.max_attachments_per_message {
                notes.push(format!("{} (more attachments than the limit)", a.filename));
            } else if a.bytes.len() > self.limits.max_attachment_bytes {
                notes.push(format!(
                    "{} ({} bytes, over the limit)",
                    a.filename,
                    a.bytes.len()
                ));
            } else {
                kept.push(a);
            }
        }
        // The original and the attachments are written (and fsync'd) side by side.
        let puts = std::iter::once(raw.to_vec())
            .chain(kept.iter().map(|a| a.bytes.clone()))
            .map(|b| blobs.put(b));
        let mut shas = futures::future::try_join_all(puts)
            .await
            .map_err(StoreError::from)?
            .into_iter();
        let raw_sha256 = shas.next().unwrap_or_default();
        let mut attachments = Vec::new();
        let mut cids = Vec::new();
        for (a, sha256) in kept.into_iter().zip(shas) {
            let id = AttachmentId::new();
            if let Some(cid) = &a.content_id {
                cids.push((cid.clone(), id));
            }
            attachments.push(Attachment {
                id,
                workspace_id: ws,
                message_id: None,
                sha256,
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size: a.bytes.len() as i64,
                uploaded_by: None,
                created_at: now,
            });
        }
        let max = self.limits.max_message_bytes;
        let html = email
            .html
            .as_deref()
            .filter(|h| !h.trim().is_empty())
            .map(|h| rewrite_cids(h, &cids))
            .and_then(|h| {
                if h.len() > max {
                    notes.push("the HTML version (too large to show)".into());
                    None
                } else {
                    Some(ammonia::clean(&h))
                }
            });
        let mut text = email.text.trim_end().to_owned();
        if text.trim().is_empty()
            && let Some(h) = &html
        {
            text = crate::tickets::html_to_text(h);
        }
        if text.len() > max {
            let mut cut = max.saturating_sub(200);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            notes.push("the rest of the text (too long to show)".into());
        }
        if text.trim().is_empty() && attachments.is_empty() {
            text = "(empty message)".into();
        }
        if !notes.is_empty() {
            text.push_str("\n\n[Kept only in the original email: ");
            text.push_str(&notes.join("; "));
            text.push(']');
        }
        Ok(Prepared {
            key,
            raw_sha256,
            text,
            html,
            attachments,
        })
    }
}

fn duplicate_of(r: &EmailRecord) -> Ingested {
    Ingested {
        ticket_id: r.ticket_id,
        message_id: r.message_id,
        duplicate: true,
        outcome: match r.outcome.as_str() {
            "ticket" => Outcome::Ticket,
            "reply" | "duplicate" => Outcome::Reply,
            "bounce" => Outcome::Bounce,
            other => Outcome::Ignored(other.to_owned()),
        },
    }
}

fn outcome_name(o: &Outcome) -> &str {
    match o {
        Outcome::Ticket => "ticket",
        Outcome::Reply => "reply",
        Outcome::Bounce => "bounce",
        Outcome::Ignored(why) => why,
    }
}

async fn ingest_tx(
    tx: &mut Tx,
    mb: &MailboxConfig,
    email: &InboundEmail,
    p: &Prepared,
    ack_per_hour: i64,
    secret: &crate::secret::SecretKey,
) -> Result<Ingested, EngineError> {
    let ws = mb.workspace_id;
    let now = tx.now();
    if let Some(r) = mail::record(&mut tx.conn(), mb.id, &p.key).await? {
        return Ok(duplicate_of(&r));
    }
    // The sender (From) is the customer; replies go where the sender asked
    // (Reply-To), else back to the sender.
    let sender = email.from.clone().or_else(|| email.reply_to.clone());
    let reply_address = email.reply_to.clone().or_else(|| email.from.clone());
    let rec =
        |outcome: &Outcome, ticket: Option<TicketId>, message: Option<MessageId>| EmailRecord {
            workspace_id: ws,
            mailbox_id: mb.id,
            header_id: p.key.clone(),
            message_id: message,
            ticket_id: ticket,
            direction: "in".into(),
            outcome: outcome_name(outcome).to_owned(),
            address: reply_address.as_ref().map(|a| a.address.clone()),
            raw_sha256: Some(p.raw_sha256.clone()),
            created_at: now,
        };
    // The same message through another mailbox of the workspace (sent to two of
    // its addresses): one ticket, not two.
    if let Some(other) =
        mail::first_with_ticket(&mut tx.conn(), ws, std::slice::from_ref(&p.key)).await?
    {
        let r = EmailRecord {
            outcome: "duplicate".into(),
            ..rec(&Outcome::Reply, other.ticket_id, other.message_id)
        };
        mail::insert_record(tx, &r).await?;
        return Ok(Ingested {
            ticket_id: other.ticket_id,
            message_id: other.message_id,
            duplicate: true,
            outcome: Outcome::Reply,
        });
    }
    if let Some(b) = &email.bounce {
        let failed = bounced_message(tx, ws, &b.original_message_ids).await?;
        let ticket = match failed {
            Some(m) => {
                let reason = format!("bounced: {}", b.reason);
                tickets::set_delivery(tx, ws, m.id, DeliveryState::Failed, Some(&reason)).await?;
                tx.emit(
                    ws,
                    Actor::System,
                    EventData::DeliveryChanged {
                        ticket_id: m.ticket_id,
                        message_id: m.id,
                        state: DeliveryState::Failed,
                        error: Some(reason),
                    },
                )
                .await?;
                Some(m.ticket_id)
            }
            None => None,
        };
        let outcome = if ticket.is_some() {
            Outcome::Bounce
        } else {
            Outcome::Ignored("bounce_unmatched".into())
        };
        mail::insert_record(tx, &rec(&outcome, ticket, None)).await?;
        return Ok(Ingested {
            ticket_id: ticket,
            message_id: None,
            duplicate: false,
            outcome,
        });
    }
    let Some(from) = sender.clone() else {
        let outcome = Outcome::Ignored("no_sender".into());
        mail::insert_record(tx, &rec(&outcome, None, None)).await?;
        tracing::warn!(mailbox = %mb.id, key = %p.key, "an email without a sender address was kept but not ticketed");
        return Ok(Ingested {
            ticket_id: None,
            message_id: None,
            duplicate: false,
            outcome,
        });
    };
    if mail::by_address(&mut tx.conn(), &from.address)
        .await?
        .is_some()
    {
        // Mail from one of our own addresses is a loop (an acknowledgement or reply
        // that came back): keep it, answer nothing.
        let outcome = Outcome::Ignored("own_address".into());
        mail::insert_record(tx, &rec(&outcome, None, None)).await?;
        return Ok(Ingested {
            ticket_id: None,
            message_id: None,
            duplicate: false,
            outcome,
        });
    }
    let identity = Identity::parse(IdentityKind::Email, &from.address);
    let customer_id = match identity {
        Ok(i) => {
            let input = CustomerInput {
                name: from.name.clone().or_else(|| Some(from.address.clone())),
                language: None,
                identities: vec![i],
            };
            resolve(tx, ws, Actor::System, &input).await?.0
        }
        Err(_) => {
            let outcome = Outcome::Ignored("bad_sender".into());
            mail::insert_record(tx, &rec(&outcome, None, None)).await?;
            return Ok(Ingested {
                ticket_id: None,
                message_id: None,
                duplicate: false,
                outcome,
            });
        }
    };
    let actor = Actor::Customer(customer_id);
    let existing = thread(tx, mb, email, customer_id, secret).await?;
    let (ticket, outcome) = match existing {
        Some(t) => (customer_wrote(tx, t, actor, now).await?, Outcome::Reply),
        None => {
            let number = store::workspaces::next_ticket_number(tx, ws).await?;
            let subject =
                normalize_subject(&email.subject).unwrap_or_else(|_| "(no subject)".into());
            let t = Ticket {
                id: TicketId::new(),
                workspace_id: ws,
                number,
                subject,
                status: Status::New,
                priority: Priority::Normal,
                channel: Channel::Email,
                customer_id,
                assignee_id: None,
                team_id: None,
                tier: 1,
                category: None,
                tags: Vec::new(),
                custom_fields: Default::default(),
                follow_up_of: None,
                created_at: now,
                updated_at: now,
                solved_at: None,
                closed_at: None,
            };
            tickets::insert(tx, &t).await?;
            emit_created(tx, &t, actor).await?;
            (t, Outcome::Ticket)
        }
    };
    let ext: String = p.key.chars().take(998).collect();
    let m = Message {
        id: MessageId::new(),
        workspace_id: ws,
        ticket_id: ticket.id,
        visibility: Visibility::Public,
        author_kind: AuthorKind::Customer,
        author_user_id: None,
        author_customer_id: Some(customer_id),
        channel: Channel::Email,
        body_text: p.text.clone(),
        body_html: p.html.clone(),
        external_id: Some(ext),
        delivery_state: None,
        delivery_error: None,
        created_at: now,
        attachments: Vec::new(),
    };
    let mut ids = Vec::with_capacity(p.attachments.len());
    for a in &p.attachments {
        tickets::insert_attachment(tx, a).await?;
        ids.push(a.id);
    }
    let m = insert_message(tx, m, &ids, actor).await?;
    mail::insert_record(tx, &rec(&outcome, Some(ticket.id), Some(m.id))).await?;
    if outcome == Outcome::Ticket
        && mb.settings.auto_ack.enabled
        && !email.auto.suppress_auto_reply()
    {
        let since = now.plus_millis(-AUTO_REPLY_WINDOW_MS);
        let sent = mail::autoreplies_since(&mut tx.conn(), ws, &from.address, since).await?;
        let to = reply_address
            .as_ref()
            .map_or(from.address.as_str(), |a| a.address.as_str());
        if sent < ack_per_hour {
            mail::note_autoreply(tx, ws, &from.address, now).await?;
            let language = customers::get(&mut tx.conn(), ws, customer_id)
                .await?
                .and_then(|c| c.language)
                .or_else(|| email.language.clone())
                .or_else(|| {
                    script_language(&format!("{} {}", email.subject, email.text)).map(str::to_owned)
                });
            crate::jobs::Job::EmailAutoAck(crate::jobs::AutoAck {
                workspace_id: ws,
                mailbox_id: mb.id,
                ticket_id: ticket.id,
                to: to.to_owned(),
                name: from.name.clone(),
                in_reply_to: email.message_id.clone(),
                language,
            })
            .enqueue(tx, now)
            .await?;
        } else {
            tracing::info!(to = %from.address, "automatic acknowledgement held back by the per-sender limit");
        }
    }
    Ok(Ingested {
        ticket_id: Some(ticket.id),
        message_id: Some(m.id),
        duplicate: false,
        outcome,
    })
}

/// Our outbound message a delivery report is about.
async fn bounced_message(
    tx: &mut Tx,
    ws: WorkspaceId,
    ids: &[String],
) -> Result<Option<Message>, EngineError> {
    for id in ids {
        if let Some(mid) = own_message_id(id)
            && let Some(m) = tickets::message(&mut tx.conn(), ws, mid).await?
        {
            return Ok(Some(m));
        }
    }
    if let Some(r) = mail::first_with_ticket(&mut tx.conn(), ws, ids).await?
        && r.direction == "out"
        && let Some(mid) = r.message_id
    {
        return Ok(tickets::message(&mut tx.conn(), ws, mid).await?);
    }
    Ok(None)
}

async fn thread(
    tx: &mut Tx,
    mb: &MailboxConfig,
    email: &InboundEmail,
    customer: CustomerId,
    secret: &crate::secret::SecretKey,
) -> Result<Option<Ticket>, EngineError> {
    let ws = mb.workspace_id;
    // 1. A message we know, newest reference first.
    let mut refs: Vec<String> = email.in_reply_to.clone();
    refs.extend(email.references.iter().rev().cloned());
    for r in &refs {
        if let Some(mid) = own_message_id(r)
            && let Some(m) = tickets::message(&mut tx.conn(), ws, mid).await?
        {
            return Ok(tickets::get(&mut tx.conn(), ws, m.ticket_id).await?);
        }
    }
    if let Some(r) = mail::first_with_ticket(&mut tx.conn(), ws, &refs).await?
        && let Some(tid) = r.ticket_id
    {
        return Ok(tickets::get(&mut tx.conn(), ws, tid).await?);
    }
    // 2. The reply address token.
    let recipients = email
        .to
        .iter()
        .chain(&email.cc)
        .map(|a| a.address.as_str())
        .chain(email.envelope_to.iter().map(String::as_str));
    for addr in recipients {
        if let Some((number, token)) = reply_token::parse(addr, mb.local_part(), mb.domain())
            && let Some(t) = tickets::get_by_number(&mut tx.conn(), ws, number).await?
            && reply_token::verify(secret, ws, t.id, &token)
        {
            return Ok(Some(t));
        }
    }
    // 3. The number in the subject, for the ticket's own customer only (anyone
    // could write "[#12]" to reach somebody else's ticket).
    if let Some(n) = subject_number(&email.subject)
        && let Some(t) = tickets::get_by_number(&mut tx.conn(), ws, n).await?
        && t.customer_id == customer
    {
        return Ok(Some(t));
    }
    Ok(None)
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

    #[test]
    fn script_decides_language() {
        assert_eq!(script_language("Здравствуйте, заказ 123"), Some("ru"));
        assert_eq!(script_language("สวัสดีครับ order 5"), Some("th"));
        assert_eq!(script_language("Hello there"), None);
    }

    #[test]
    fn cid_links_point_at_attachments() {
        let id = AttachmentId::new();
        let html = rewrite_cids(r#"<img src="cid:a@b">"#, &[("a@b".into(), id)]);
        assert_eq!(html, format!(r#"<img src="/api/v1/attachments/{id}">"#));
    }
}
