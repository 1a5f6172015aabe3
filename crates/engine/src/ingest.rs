//! The one ingest path. Every transport turns what it received into an
//! [`Inbound`] — the account it came through, the channel's own id for it, the
//! sender, threading hints, the body and files — and hands it to
//! [`Engine::ingest`]. The engine deduplicates on (account, external id),
//! resolves the customer, threads, creates a ticket or appends to one, writes the
//! events, and returns only after the commit: a transport acknowledges to its
//! source (an IMAP flag, SMTP `250`, a webhook's `200`) only after `Ok`.
//!
//! What is particular to a channel stays with it: the email module parses MIME,
//! reads Message-IDs and reply-address tokens into [`Thread`] hints, and asks for
//! an [`Acknowledge::Email`]; the path here knows none of that.

use crate::customers::{CustomerInput, resolve};
use crate::tickets::{customer_wrote, emit_created, insert_message, new_ticket};
use crate::{Engine, EngineError};
use domain::Code;
use domain::Timestamp;
use domain::event::Actor;
use domain::identity::{Identity, IdentityKind};
use domain::ids::*;
use domain::ticket::*;
use std::sync::Arc;
use store::channels::{self, Record};
use store::tickets::{self, Attachment, Message, Ticket};
use store::{StoreError, Tx, customers, mail};

/// The account a message came through, as its transport knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountRef {
    pub id: AccountId,
    pub workspace_id: WorkspaceId,
    pub kind: Channel,
}

/// One message received by a transport, normalised.
#[derive(Clone, Debug)]
pub struct Inbound {
    pub account: AccountRef,
    /// The channel's own id of the message (an email's Message-ID, a messenger's
    /// message id); at most 900 bytes are kept (index keys have a size limit).
    pub external_id: String,
    /// The id names the message on every account (an email's Message-ID), so the
    /// same id arriving through another account of the workspace is the same
    /// message. Messenger ids are per chat and are not.
    pub global_id: bool,
    /// When the sender says it was sent.
    pub sent_at: Option<Timestamp>,
    /// The message as received, kept byte for byte in the blob store.
    pub original: Option<bytes::Bytes>,
    pub content: Content,
}

/// What an inbound message is.
#[derive(Clone, Debug)]
pub enum Content {
    /// A customer wrote.
    Message(Box<CustomerMessage>),
    /// A report about one of our messages (an email bounce).
    Report(DeliveryReport),
    /// Kept and recorded, not turned into a message; the reason is recorded.
    Ignored(String),
    /// Kept for an admin to decide (no sender to answer): not recorded as
    /// ingested, so a later copy that names its sender is ticketed normally.
    Held { subject: String, reason: String },
}

/// A message from a customer.
#[derive(Clone, Debug, Default)]
pub struct CustomerMessage {
    pub sender: Sender,
    /// Where answers go when not to the sender's own handle (email's Reply-To).
    pub reply_to: Option<String>,
    pub thread: Thread,
    pub subject: Option<String>,
    /// Plain text; derived from the HTML when empty.
    pub text: String,
    /// HTML as sent; sanitised before it is stored.
    pub html: Option<String>,
    pub attachments: Vec<InboundAttachment>,
    /// The language the sender declared.
    pub language: Option<String>,
    /// Sent by a machine (an autoresponder, a mailing list): nothing automatic
    /// may answer it.
    pub automatic: bool,
    /// What to send back when this message opens a ticket.
    pub acknowledge: Option<Acknowledge>,
    /// Files the channel names but has not handed over (a messenger's file
    /// ids): fetched after the message is in (`Job::FetchFiles`, queued in
    /// the same write) and attached to it.
    pub remote_files: Vec<RemoteFile>,
    /// The team a new ticket goes to instead of the account's (a phone line's).
    pub team: Option<TeamId>,
    /// Tags the ticket gets with this message (a missed call's `callback`).
    pub tags: Vec<String>,
    /// The agent the ticket goes to when it has none (who answered a call).
    pub assignee: Option<UserId>,
}

/// A file a messenger holds for us, fetched by its id.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoteFile {
    pub file_id: String,
    pub filename: String,
    pub content_type: String,
    /// As the channel declared it.
    pub size: Option<i64>,
}

/// The sender as the channel names them.
#[derive(Clone, Debug, Default)]
pub struct Sender {
    /// The handle of the channel's identity kind: an address, a chat id, a number.
    pub handle: String,
    pub name: Option<String>,
    /// The customer, when the channel already knows them (a chat visitor is
    /// linked to theirs): no identity is looked up.
    pub customer: Option<CustomerId>,
}

/// Where a message may belong. The engine tries the hints in this order and takes
/// the first ticket found; with none, the message opens a ticket.
#[derive(Clone, Debug, Default)]
pub struct Thread {
    /// Our own messages the channel's references name, newest first.
    pub ours: Vec<MessageId>,
    /// External ids of earlier messages this one answers (seen or sent through any
    /// account of the workspace); the newest match wins.
    pub external: Vec<String>,
    /// Ticket numbers with a signature the engine issued (a reply address).
    pub signed: Vec<(i64, String)>,
    /// A ticket number the sender quoted: honoured for that ticket's own customer
    /// only, since anyone can type a number.
    pub number: Option<i64>,
    /// A messaging conversation: continue the customer's newest ticket that came
    /// in through the same account.
    pub conversation: bool,
    /// The ticket the channel knows the conversation as (a chat visitor's
    /// newest), honoured for that ticket's own customer only.
    pub ticket: Option<TicketId>,
}

/// A file carried by an inbound message.
#[derive(Clone, Debug)]
pub struct InboundAttachment {
    pub filename: String,
    pub content_type: String,
    /// The `Content-ID` without angle brackets, for `cid:` links in the HTML.
    pub content_id: Option<String>,
    pub inline: bool,
    /// Shares the parsed message's buffer where the part was not encoded.
    pub bytes: bytes::Bytes,
}

/// A report that one of our messages reached a state.
#[derive(Clone, Debug, Default)]
pub struct DeliveryReport {
    /// Our message ids the report names.
    pub ours: Vec<MessageId>,
    /// The channel's ids of our message, as recorded when it was sent.
    pub external: Vec<String>,
    pub state: Option<DeliveryState>,
    pub reason: Option<domain::Message>,
}

/// An automatic answer to a message that opened a ticket, per channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acknowledge {
    /// An acknowledgement email from the mailbox, threaded under the message.
    Email { in_reply_to: Option<String> },
}

/// What became of one inbound message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new ticket was opened.
    Ticket,
    /// The message was added to an existing ticket (or a follow-up of a closed one).
    Reply,
    /// A delivery report about one of our messages.
    Bounce,
    /// Kept (the original is stored) but not turned into a message.
    Ignored(String),
    /// Held for an admin (`GET /channels/email/{id}/held`), with the reason.
    Held(String),
    /// An answer in a side conversation of the ticket (`crate::side`).
    Side,
}

/// The result of ingesting one message.
#[derive(Clone, Debug)]
pub struct Ingested {
    pub ticket_id: Option<TicketId>,
    pub message_id: Option<MessageId>,
    /// Seen before on this account (or, for global ids, through another account
    /// of the workspace): nothing new was written.
    pub duplicate: bool,
    pub outcome: Outcome,
}

const AUTO_REPLY_WINDOW_MS: i64 = 3_600_000;

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

/// What ingest prepared outside the transaction: the original and the files are
/// in the blob store (content-addressed, so a retry stores nothing twice).
struct Prepared {
    key: String,
    original_sha256: Option<String>,
    text: String,
    html: Option<String>,
    attachments: Vec<Attachment>,
}

impl Engine {
    /// Ingests one message received through a channel account. The caller
    /// acknowledges it to its source only after this returns `Ok`.
    pub async fn ingest(&self, inbound: Inbound) -> Result<Ingested, EngineError> {
        let key = clip(&inbound.external_id, 900).to_owned();
        if key.is_empty() {
            return Err(EngineError::invalid("external_id", Code::ExternalIdNeeded));
        }
        // A redelivery is answered from the record without storing anything.
        {
            let mut c = self.store.read().await?;
            if let Some(r) = channels::record(&mut c.conn(), inbound.account.id, &key).await? {
                return Ok(duplicate_of(&r));
            }
        }
        let prepared = Arc::new(self.prepare(&inbound, key).await?);
        let inbound = Arc::new(inbound);
        let ack_per_hour = self.limits.auto_replies_per_hour;
        // PostgreSQL runs concurrent deliveries of one message (or two first
        // messages from one new sender) in parallel: the loser of a unique-key race
        // retries and then finds the winner's rows.
        for _ in 0..3 {
            let (inbound, prepared, secret) =
                (inbound.clone(), prepared.clone(), self.secret.clone());
            let r = self
                .store
                .write(move |tx| {
                    Box::pin(async move {
                        ingest_tx(tx, &inbound, &prepared, ack_per_hour, &secret).await
                    })
                })
                .await;
            match r {
                // A concurrent delivery of the same message, or of its sender, won.
                Err(EngineError::Duplicate(_)) => continue,
                other => return other,
            }
        }
        Err(EngineError::Conflict(Code::IngestCollided.into()))
    }

    /// Applies a delivery report that carries no id of its own (a messenger's
    /// read receipt): our message moves forward, never back.
    pub async fn report_delivery(
        &self,
        ws: WorkspaceId,
        report: DeliveryReport,
    ) -> Result<Option<TicketId>, EngineError> {
        self.store
            .write(move |tx| Box::pin(async move { apply_report(tx, ws, &report).await }))
            .await
    }

    async fn prepare(&self, inbound: &Inbound, key: String) -> Result<Prepared, EngineError> {
        let blobs = self.store.blobs();
        let now = self.store.now();
        let ws = inbound.account.workspace_id;
        let empty = CustomerMessage::default();
        let msg = match &inbound.content {
            Content::Message(m) => m,
            Content::Report(_) | Content::Ignored(_) | Content::Held { .. } => &empty,
        };
        let mut notes = Vec::new();
        let mut kept = Vec::new();
        for a in &msg.attachments {
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
        // The original and the files are written (and fsync'd) side by side.
        let puts = inbound
            .original
            .iter()
            .cloned()
            .chain(kept.iter().map(|a| a.bytes.clone()))
            .map(|b| blobs.put(b));
        let mut shas = futures::future::try_join_all(puts)
            .await
            .map_err(StoreError::from)?
            .into_iter();
        let original_sha256 = if inbound.original.is_some() {
            shas.next()
        } else {
            None
        };
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
        let html = msg
            .html
            .as_deref()
            .filter(|h| !h.trim().is_empty())
            .map(|h| rewrite_cids(h, &cids))
            .and_then(|h| {
                if h.len() > max {
                    notes.push("the HTML version (too large to show)".into());
                    None
                } else if crate::cpu::html_too_deep(&h, crate::cpu::MAX_HTML_DEPTH) {
                    // Its cost would grow with the nesting: shown as text only.
                    notes.push("the HTML version (nested too deeply to show)".into());
                    None
                } else {
                    Some(h)
                }
            });
        // Text beyond the limit is cut below anyway: clean only what can be kept.
        let mut end = msg.text.len().min(max + 4);
        while !msg.text.is_char_boundary(end) {
            end -= 1;
        }
        let cut_early = end < msg.text.len();
        let given = domain::text::clean_body(msg.text[..end].trim_end());
        // Sanitising is CPU work on anyone's input: it takes a turn off the runtime.
        let (html, mut text) = match html {
            None => (None, given),
            Some(h) => {
                self.cpu
                    .run(move || {
                        let html = ammonia::clean(&h);
                        let text = if given.trim().is_empty() {
                            crate::tickets::html_to_text(&html)
                        } else {
                            given
                        };
                        (Some(html), text)
                    })
                    .await?
            }
        };
        if text.len() > max || cut_early {
            let mut cut = max.saturating_sub(200).min(text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            notes.push("the rest of the text (too long to show)".into());
        }
        if text.trim().is_empty() && attachments.is_empty() && msg.remote_files.is_empty() {
            text = "(empty message)".into();
        }
        if !notes.is_empty() {
            let original = match inbound.account.kind {
                Channel::Email => "the original email",
                _ => "the original message",
            };
            text.push_str(&format!("\n\n[Kept only in {original}: "));
            text.push_str(&notes.join("; "));
            text.push(']');
        }
        Ok(Prepared {
            key,
            original_sha256,
            text,
            html,
            attachments,
        })
    }
}

/// The longest prefix of `s` within `max` bytes that ends on a character.
fn clip(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn duplicate_of(r: &Record) -> Ingested {
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

impl Outcome {
    /// The outcome as recorded and reported: `ticket`, `reply`, `bounce`,
    /// `held`, `side`, or why it was ignored.
    pub fn name(&self) -> &str {
        match self {
            Outcome::Ticket => "ticket",
            Outcome::Reply => "reply",
            Outcome::Bounce => "bounce",
            Outcome::Ignored(why) => why,
            Outcome::Held(_) => "held",
            Outcome::Side => "side",
        }
    }
}

fn nothing(outcome: Outcome, ticket_id: Option<TicketId>) -> Ingested {
    Ingested {
        ticket_id,
        message_id: None,
        duplicate: false,
        outcome,
    }
}

async fn ingest_tx(
    tx: &mut Tx,
    inbound: &Inbound,
    p: &Prepared,
    ack_per_hour: i64,
    secret: &crate::secret::SecretKey,
) -> Result<Ingested, EngineError> {
    let account = inbound.account;
    let ws = account.workspace_id;
    let now = tx.now();
    if let Some(r) = channels::record(&mut tx.conn(), account.id, &p.key).await? {
        return Ok(duplicate_of(&r));
    }
    let correspondent = match &inbound.content {
        Content::Message(m) => Some(m.reply_to.clone().unwrap_or(m.sender.handle.clone())),
        Content::Report(_) | Content::Ignored(_) | Content::Held { .. } => None,
    };
    let rec = |outcome: &Outcome, ticket: Option<TicketId>, message: Option<MessageId>| Record {
        workspace_id: ws,
        account_id: account.id,
        external_id: p.key.clone(),
        message_id: message,
        ticket_id: ticket,
        direction: "in".into(),
        outcome: outcome.name().to_owned(),
        address: correspondent.clone(),
        raw_sha256: p.original_sha256.clone(),
        sent_at: inbound.sent_at,
        created_at: now,
    };
    // The same message through another account of the workspace (an email sent to
    // two of its addresses): one ticket, not two.
    if inbound.global_id
        && let Some(other) =
            channels::first_with_ticket(&mut tx.conn(), ws, std::slice::from_ref(&p.key)).await?
    {
        let r = Record {
            outcome: "duplicate".into(),
            ..rec(&Outcome::Reply, other.ticket_id, other.message_id)
        };
        channels::insert_record(tx, &r).await?;
        return Ok(Ingested {
            ticket_id: other.ticket_id,
            message_id: other.message_id,
            duplicate: true,
            outcome: Outcome::Reply,
        });
    }
    let msg = match &inbound.content {
        Content::Message(m) => m,
        Content::Held { subject, reason } => {
            let outcome = Outcome::Held(reason.clone());
            if channels::held_by_external(&mut tx.conn(), account.id, &p.key)
                .await?
                .is_some()
            {
                return Ok(Ingested {
                    duplicate: true,
                    ..nothing(outcome, None)
                });
            }
            let Some(raw_sha256) = p.original_sha256.clone() else {
                return Err(EngineError::invalid("original", Code::HeldKeepsOriginal));
            };
            let held = channels::Held {
                id: HeldId::new(),
                workspace_id: ws,
                account_id: account.id,
                external_id: p.key.clone(),
                subject: subject.chars().take(998).collect(),
                reason: reason.clone(),
                raw_sha256,
                created_at: now,
            };
            channels::insert_held(tx, &held).await?;
            tracing::warn!(account = %account.id, key = %p.key, reason, "a message without a sender to answer is held for an admin");
            return Ok(nothing(outcome, None));
        }
        Content::Ignored(why) => {
            let outcome = Outcome::Ignored(why.clone());
            channels::insert_record(tx, &rec(&outcome, None, None)).await?;
            return Ok(nothing(outcome, None));
        }
        Content::Report(report) => {
            let ticket = apply_report(tx, ws, report).await?;
            let outcome = if ticket.is_some() {
                Outcome::Bounce
            } else {
                Outcome::Ignored("report_unmatched".into())
            };
            channels::insert_record(tx, &rec(&outcome, ticket, None)).await?;
            return Ok(nothing(outcome, ticket));
        }
    };
    let ignore = |why: &str| Outcome::Ignored(why.to_owned());
    // A message from one of our own accounts is a loop (an acknowledgement or a
    // reply that came back): keep it, answer nothing.
    if channels::by_address(&mut tx.conn(), account.kind, &msg.sender.handle)
        .await?
        .is_some()
    {
        let outcome = ignore("own_address");
        channels::insert_record(tx, &rec(&outcome, None, None)).await?;
        return Ok(nothing(outcome, None));
    }
    let customer_id = match msg.sender.customer {
        Some(known) => known,
        None => {
            let Some(id) = sender_customer(tx, account, msg).await? else {
                let outcome = ignore("bad_sender");
                channels::insert_record(tx, &rec(&outcome, None, None)).await?;
                return Ok(nothing(outcome, None));
            };
            id
        }
    };
    let actor = Actor::Customer(customer_id);
    let (ticket, outcome) = match thread(tx, account, &msg.thread, customer_id, secret).await? {
        Some(t) => (customer_wrote(tx, t, actor, now).await?, Outcome::Reply),
        None => {
            let number = store::workspaces::next_ticket_number(tx, ws).await?;
            let subject = msg
                .subject
                .as_deref()
                .and_then(|s| normalize_subject(s).ok())
                .unwrap_or_else(|| "(no subject)".into());
            let mut t = new_ticket(
                ws,
                number,
                subject,
                account.kind,
                customer_id,
                Some(account.id),
                now,
            );
            // The channel's team takes its new conversations (a team since
            // deleted is skipped rather than refusing the message).
            let settings = channels::get(&mut tx.conn(), ws, account.id)
                .await?
                .map(|a| a.settings);
            let team = msg.team.or_else(|| {
                settings
                    .as_ref()
                    .and_then(|s| s.get("team_id"))
                    .and_then(|v| v.as_str())
                    .and_then(|s| s.parse::<TeamId>().ok())
            });
            if let Some(team) = team
                && store::people::team_by_id(&mut tx.conn(), ws, team)
                    .await?
                    .is_some()
            {
                t.team_id = Some(team);
            }
            tickets::insert(tx, &t).await?;
            emit_created(tx, &t, actor).await?;
            (t, Outcome::Ticket)
        }
    };
    let m = Message {
        id: MessageId::new(),
        workspace_id: ws,
        ticket_id: ticket.id,
        visibility: Visibility::Public,
        author_kind: AuthorKind::Customer,
        author_user_id: None,
        author_customer_id: Some(customer_id),
        channel: account.kind,
        body_text: p.text.clone(),
        body_html: p.html.clone(),
        external_id: Some(p.key.clone()),
        delivery_state: None,
        delivery_error: None,
        account_id: Some(account.id),
        created_at: now,
        attachments: Vec::new(),
    };
    let mut ids = Vec::with_capacity(p.attachments.len());
    for a in &p.attachments {
        tickets::insert_attachment(tx, a).await?;
        ids.push(a.id);
    }
    let m = insert_message(tx, m, &ids, actor).await?;
    crate::orders::link_named_order(tx, ws, ticket.id, customer_id, &p.text).await?;
    if !msg.automatic {
        crate::bot::customer_wrote(tx, &ticket, &m).await?;
    }
    channels::insert_record(tx, &rec(&outcome, Some(ticket.id), Some(m.id))).await?;
    // An earlier copy held for want of a sender is settled by this one.
    channels::release_held(tx, account.id, &p.key).await?;
    if !msg.tags.is_empty() || msg.assignee.is_some() {
        let current = tickets::get(&mut tx.conn(), ws, ticket.id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let mut tags = current.tags.clone();
        tags.extend(msg.tags.iter().cloned());
        let assignee = match msg.assignee {
            Some(u) if current.assignee_id.is_none() => {
                store::people::user_by_id(&mut tx.conn(), ws, u)
                    .await?
                    .filter(|u| u.active)
                    .map(|u| Some(u.id))
            }
            _ => None,
        };
        let patch = crate::tickets::TicketPatch {
            tags: (!msg.tags.is_empty()).then_some(tags),
            assignee_id: assignee,
            ..crate::tickets::TicketPatch::default()
        }
        .checked()?;
        crate::tickets::patch_ticket(tx, ws, ticket.id, domain::event::Actor::System, patch)
            .await?;
    }
    if !msg.remote_files.is_empty() {
        crate::jobs::Job::FetchFiles {
            workspace_id: ws,
            account_id: account.id,
            ticket_id: ticket.id,
            message_id: m.id,
            files: msg.remote_files.clone(),
        }
        .enqueue(tx, now)
        .await?;
    }
    if outcome == Outcome::Ticket
        && !msg.automatic
        && let Some(ack) = &msg.acknowledge
    {
        let to = correspondent.unwrap_or_default();
        let language = customers::get(&mut tx.conn(), ws, customer_id)
            .await?
            .and_then(|c| c.language)
            .or_else(|| msg.language.clone())
            .or_else(|| {
                let subject = msg.subject.as_deref().unwrap_or_default();
                script_language(&format!("{subject} {}", msg.text)).map(str::to_owned)
            });
        // Automatic answers to one address are limited per hour, so two
        // autoresponders cannot keep mailing each other.
        let since = now.plus_millis(-AUTO_REPLY_WINDOW_MS);
        if mail::autoreplies_since(&mut tx.conn(), ws, &msg.sender.handle, since).await?
            >= ack_per_hour
        {
            tracing::info!(to = %msg.sender.handle, "automatic acknowledgement held back by the per-sender limit");
        } else {
            mail::note_autoreply(tx, ws, &msg.sender.handle, now).await?;
            let job = match ack {
                Acknowledge::Email { in_reply_to } => {
                    crate::jobs::Job::EmailAutoAck(crate::jobs::AutoAck {
                        workspace_id: ws,
                        mailbox_id: account.id,
                        ticket_id: ticket.id,
                        to,
                        name: msg.sender.name.clone(),
                        in_reply_to: in_reply_to.clone(),
                        language,
                    })
                }
            };
            job.enqueue(tx, now).await?;
        }
    }
    Ok(Ingested {
        ticket_id: Some(ticket.id),
        message_id: Some(m.id),
        duplicate: false,
        outcome,
    })
}

/// Moves the reported message's delivery state forward (never back) with its
/// event. Returns the message's ticket when the report named one of ours.
pub(crate) async fn apply_report(
    tx: &mut Tx,
    ws: WorkspaceId,
    report: &DeliveryReport,
) -> Result<Option<TicketId>, EngineError> {
    let Some(m) = reported_message(tx, ws, report).await? else {
        return Ok(None);
    };
    if let Some(state) = report.state {
        crate::outbound::advance_delivery(tx, &m, state, report.reason.clone()).await?;
    }
    Ok(Some(m.ticket_id))
}

/// Our outbound message a report is about.
async fn reported_message(
    tx: &mut Tx,
    ws: WorkspaceId,
    report: &DeliveryReport,
) -> Result<Option<Message>, EngineError> {
    for id in &report.ours {
        if let Some(m) = tickets::message(&mut tx.conn(), ws, *id).await? {
            return Ok(Some(m));
        }
    }
    if let Some(r) = channels::first_with_ticket(&mut tx.conn(), ws, &report.external).await?
        && r.direction == "out"
        && let Some(mid) = r.message_id
    {
        return Ok(tickets::message(&mut tx.conn(), ws, mid).await?);
    }
    Ok(None)
}

/// The customer a sender's handle names (created when new); `None` when the
/// handle is not one of the channel's identity kind.
async fn sender_customer(
    tx: &mut Tx,
    account: AccountRef,
    msg: &CustomerMessage,
) -> Result<Option<CustomerId>, EngineError> {
    let kind = account
        .kind
        .identity_kind()
        .unwrap_or(IdentityKind::External);
    let Ok(identity) = Identity::parse(kind, &msg.sender.handle) else {
        return Ok(None);
    };
    let input = CustomerInput {
        // Whatever a sender calls themselves must not cost the message: a blank
        // name is none (the customer is then called by their handle), a long one
        // is shortened.
        name: msg
            .sender
            .name
            .as_deref()
            .map(domain::text::clean_line)
            .filter(|n| !n.is_empty())
            .map(|n| n.chars().take(200).collect()),
        language: None,
        identities: vec![identity],
        claims: Vec::new(),
        answering: answering(tx, account.workspace_id, &msg.thread).await?,
    };
    Ok(Some(
        resolve(tx, account.workspace_id, Actor::System, &input)
            .await?
            .0,
    ))
}

/// The customer whose conversation a message answers: the one whose ticket
/// holds the message of ours it replies to.
async fn answering(
    tx: &mut Tx,
    ws: WorkspaceId,
    hints: &Thread,
) -> Result<Option<CustomerId>, EngineError> {
    for mid in &hints.ours {
        if let Some(m) = tickets::message(&mut tx.conn(), ws, *mid).await? {
            return Ok(tickets::get(&mut tx.conn(), ws, m.ticket_id)
                .await?
                .map(|t| t.customer_id));
        }
    }
    Ok(None)
}

async fn thread(
    tx: &mut Tx,
    account: AccountRef,
    hints: &Thread,
    customer: CustomerId,
    secret: &crate::secret::SecretKey,
) -> Result<Option<Ticket>, EngineError> {
    let ws = account.workspace_id;
    if let Some(id) = hints.ticket
        && let Some(t) = tickets::get(&mut tx.conn(), ws, id).await?
        && t.customer_id == customer
    {
        return Ok(Some(t));
    }
    for mid in &hints.ours {
        if let Some(m) = tickets::message(&mut tx.conn(), ws, *mid).await? {
            return Ok(tickets::get(&mut tx.conn(), ws, m.ticket_id).await?);
        }
    }
    if let Some(r) = channels::first_with_ticket(&mut tx.conn(), ws, &hints.external).await?
        && let Some(tid) = r.ticket_id
    {
        return Ok(tickets::get(&mut tx.conn(), ws, tid).await?);
    }
    for (number, token) in &hints.signed {
        if let Some(t) = tickets::get_by_number(&mut tx.conn(), ws, *number).await?
            && crate::email::reply_token::verify(secret, ws, t.id, token)
        {
            return Ok(Some(t));
        }
    }
    if let Some(n) = hints.number
        && let Some(t) = tickets::get_by_number(&mut tx.conn(), ws, n).await?
        && t.customer_id == customer
    {
        return Ok(Some(t));
    }
    if hints.conversation {
        return Ok(tickets::latest_on_account(&mut tx.conn(), ws, customer, account.id).await?);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_decides_language() {
        assert_eq!(script_language("Здравствуйте, заказ 123"), Some("ru"));
        assert_eq!(script_language("สวัสดีครับ order 5"), Some("th"));
        assert_eq!(script_language("Hello there"), None);
    }

    #[test]
    fn keys_are_clipped_on_a_character() {
        assert_eq!(clip("abc", 900), "abc");
        assert_eq!(clip("ééé", 3), "é");
        assert_eq!(clip(&"я".repeat(600), 900).len(), 900);
    }

    #[test]
    fn cid_links_point_at_attachments() {
        let id = AttachmentId::new();
        let html = rewrite_cids(r#"<img src="cid:a@b">"#, &[("a@b".into(), id)]);
        assert_eq!(html, format!(r#"<img src="/api/v1/attachments/{id}">"#));
    }
}
