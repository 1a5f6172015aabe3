//! Mail the server sends: agents' replies (threaded into the customer's mail
//! client) and automatic acknowledgements. The SMTP work is a [`MailTransport`]
//! the channels crate provides; this module decides what is sent, to whom, with
//! which headers, and records the outcome on the message.

use super::mailbox::MailboxConfig;
use super::{Address, reply_token};
use crate::jobs::AutoAck;
use crate::{Engine, EngineError};
use domain::Code;
use domain::event::{Actor, EventData};
use domain::identity::IdentityKind;
use domain::ids::*;
use domain::ticket::DeliveryState;
use futures::future::BoxFuture;

use domain::ticket::Channel;
use store::channels::{self, Record};
use store::tickets::{self, Message, Ticket};
use store::{StoreError, customers};

/// A file attached to an outgoing email.
#[derive(Clone, Debug)]
pub struct OutgoingAttachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// Shown inside the HTML (`cid:` this): an image the reply put in its text.
    pub content_id: Option<String>,
}

/// One email ready to send through a mailbox's SMTP settings.
#[derive(Clone, Debug)]
pub struct OutgoingEmail {
    pub mailbox: MailboxConfig,
    pub from: Address,
    pub to: Vec<Address>,
    /// Copies an agent confirmed on the ticket.
    pub cc: Vec<Address>,
    pub reply_to: Option<String>,
    pub subject: String,
    /// Without angle brackets.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<OutgoingAttachment>,
    /// Marks automatic mail (`Auto-Submitted: auto-replied`), so that other
    /// systems do not answer it.
    pub auto_submitted: bool,
    pub language: Option<String>,
}

/// A send that did not succeed.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{reason}")]
pub struct SendError {
    /// The server refused for good (5xx): retrying cannot help.
    pub permanent: bool,
    pub reason: String,
}

/// Sends mail over SMTP. Implemented by the channels crate; tests may record.
pub trait MailTransport: Send + Sync {
    fn send<'a>(&'a self, mail: &'a OutgoingEmail) -> BoxFuture<'a, Result<(), SendError>>;
}

pub use crate::outbound::Delivery;

fn is_real_id(h: &str) -> bool {
    !h.starts_with("sha256:")
}

/// `subject [#number]`, unless the subject already names the ticket.
fn tagged_subject(subject: &str, number: i64) -> String {
    let tag = format!("[#{number}]");
    if subject.contains(&tag) {
        subject.to_owned()
    } else {
        format!("{subject} {tag}")
    }
}

/// `Re: subject [#number]`, unless the subject already names the ticket.
pub fn reply_subject(subject: &str, number: i64) -> String {
    let base = tagged_subject(subject, number);
    let lower = base.to_lowercase();
    if lower.starts_with("re:") || lower.starts_with("ответ:") {
        base
    } else {
        format!("Re: {base}")
    }
}

fn default_response_time(lang: &str) -> &'static str {
    match lang {
        "ru" => "в течение одного рабочего дня",
        "th" => "ภายในหนึ่งวันทำการ",
        _ => "within one business day",
    }
}

fn default_template(lang: &str) -> (&'static str, &'static str) {
    match lang {
        "ru" => (
            "[#{number}] Ваш запрос получен: {subject}",
            "Здравствуйте{name}!\n\nСпасибо за обращение. Мы получили ваш запрос и присвоили ему номер #{number} («{subject}»).\n\nМы ответим {response_time}. Если захотите что-то добавить, просто ответьте на это письмо — так вся переписка останется в одном месте.\n\n— {team}",
        ),
        "th" => (
            "[#{number}] เราได้รับคำขอของคุณแล้ว: {subject}",
            "สวัสดีค่ะ{name}\n\nขอบคุณที่ติดต่อเรา เราได้รับคำขอของคุณแล้ว หมายเลข #{number} (\"{subject}\")\n\nเราจะตอบกลับ{response_time} หากต้องการแจ้งข้อมูลเพิ่มเติม กรุณาตอบกลับอีเมลฉบับนี้ เพื่อให้การสนทนาทั้งหมดอยู่ในที่เดียวกัน\n\n— {team}",
        ),
        _ => (
            "[#{number}] We have received your request: {subject}",
            "Hello{name},\n\nThank you for writing to us. We have received your request and given it the number #{number} (\"{subject}\").\n\nWe will answer {response_time}. If you want to add anything, just reply to this email so that the whole conversation stays in one place.\n\n— {team}",
        ),
    }
}

fn fill(t: &str, vars: &[(&str, &str)]) -> String {
    let mut out = t.to_owned();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// "within 24 hours" in `lang` (en, ru, th), for a target of `ms`; in
/// business hours when `business`.
pub fn response_time_phrase(lang: &str, ms: i64, business: bool) -> String {
    let minutes = (ms + 59_999) / 60_000;
    // Russian counts in the genitive after "в течение": 1, 21, 31 … take the
    // singular, every other number the plural.
    let ru = |n: i64, one: &str, many: &str| {
        if n % 10 == 1 && n % 100 != 11 {
            format!("в течение {n} {one}")
        } else {
            format!("в течение {n} {many}")
        }
    };
    let (n, unit) = if minutes < 120 && !business {
        (minutes, "m")
    } else if !business && minutes % 1440 == 0 && minutes >= 2880 {
        (minutes / 1440, "d")
    } else {
        ((minutes + 59) / 60, "h")
    };
    match (lang, unit, business) {
        ("ru", "m", _) => ru(n, "минуты", "минут"),
        ("ru", "d", _) => ru(n, "дня", "дней"),
        ("ru", _, false) => ru(n, "часа", "часов"),
        ("ru", _, true) => ru(n, "рабочего часа", "рабочих часов"),
        ("th", "m", _) => format!("ภายใน {n} นาที"),
        ("th", "d", _) => format!("ภายใน {n} วัน"),
        ("th", _, false) => format!("ภายใน {n} ชั่วโมง"),
        ("th", _, true) => format!("ภายใน {n} ชั่วโมงทำการ"),
        (_, "m", _) => format!("within {n} minute{}", if n == 1 { "" } else { "s" }),
        (_, "d", _) => format!("within {n} days"),
        (_, _, business) => format!(
            "within {n} {}hour{}",
            if business { "business " } else { "" },
            if n == 1 { "" } else { "s" }
        ),
    }
}

/// The subject and text of an acknowledgement in `lang` (en, ru or th). The
/// promised response time is the mailbox's own wording, else what the SLA
/// target (`target`: milliseconds, business hours) makes it, else a day.
pub fn acknowledgement(
    mb: &MailboxConfig,
    lang: &str,
    number: i64,
    subject: &str,
    name: Option<&str>,
    target: Option<(i64, bool)>,
) -> (String, String) {
    let lang = if matches!(lang, "ru" | "th") {
        lang
    } else {
        "en"
    };
    let (subj_t, body_default) = default_template(lang);
    let body_t = mb
        .settings
        .auto_ack
        .templates
        .get(lang)
        .map(String::as_str)
        .unwrap_or(body_default);
    let rt = match (mb.settings.auto_ack.response_time.get(lang), target) {
        (Some(own), _) => own.clone(),
        (None, Some((ms, business))) => response_time_phrase(lang, ms, business),
        (None, None) => default_response_time(lang).to_owned(),
    };
    let team = mb.sender_name();
    let name = name.map(|n| match lang {
        "th" => format!(" คุณ{n}"),
        _ => format!(", {n}"),
    });
    let number = number.to_string();
    let vars = [
        ("number", number.as_str()),
        ("subject", subject),
        ("response_time", rt.as_str()),
        ("team", team.as_str()),
        ("name", name.as_deref().unwrap_or("")),
    ];
    (fill(subj_t, &vars), fill(body_t, &vars))
}

impl Engine {
    pub(crate) fn transport(&self) -> Result<&dyn MailTransport, String> {
        self.mail
            .as_deref()
            .ok_or_else(|| "outbound mail is not enabled on this server".to_owned())
    }

    /// Delivers a public reply on an email ticket through the mailbox the ticket
    /// came in on (else the one of the last inbound mail, else the workspace's
    /// first with SMTP settings).
    pub(crate) async fn deliver_email(
        &self,
        ticket: &Ticket,
        m: &Message,
        attempt: i64,
    ) -> Result<Delivery, EngineError> {
        let ws = ticket.workspace_id;
        let (records, mailboxes, from_customer) = {
            let mut c = self.store.read().await?;
            let r = channels::ticket_records(&mut c.conn(), ws, ticket.id, 200).await?;
            let all = channels::list(&mut c.conn(), ws, Channel::Email).await?;
            // Replies answer the ticket's own customer: a stranger who wrote in on
            // the thread (a guessed or forwarded Message-ID) never becomes the
            // recipient.
            let last =
                tickets::last_from_customer(&mut c.conn(), ws, ticket.id, ticket.customer_id)
                    .await?;
            let rec = match last {
                Some(m) => channels::message_record(&mut c.conn(), ws, m.id, "in").await?,
                None => None,
            };
            (r, all, rec)
        };
        // A chat continued by email: from the workspace's first mailbox that
        // sends, to the customer's address (the chat's records name a visitor).
        let chat = ticket.channel == Channel::Chat;
        let last_in = from_customer.as_ref().filter(|_| !chat);
        let chosen = if chat {
            None
        } else {
            m.account_id
                .or(ticket.account_id)
                .or(last_in.map(|r| r.account_id))
        };
        let mailbox = match chosen {
            Some(id) => mailboxes.into_iter().find(|mb| mb.id == id),
            None => mailboxes.into_iter().find(|mb| mb.outbound.is_some()),
        };
        let Some(mailbox) = mailbox else {
            return Ok(Delivery::Failed(Code::DeliveryNoSmtp.into()));
        };
        let mb = self.open_mailbox(mailbox)?;
        if mb.outbound.is_none() {
            return Ok(Delivery::Failed(
                domain::Message::new(Code::DeliveryMailboxNoSmtp).with("address", &mb.address),
            ));
        }
        let to = match last_in.and_then(|r| r.address.clone()) {
            Some(a) => a,
            None => {
                let mut c = self.store.read().await?;
                let cust = customers::get(&mut c.conn(), ws, ticket.customer_id).await?;
                match cust.and_then(|c| {
                    c.identities
                        .into_iter()
                        .find(|i| i.kind == IdentityKind::Email)
                }) {
                    Some(i) => i.value,
                    None => {
                        return Ok(Delivery::Failed(Code::DeliveryNoEmail.into()));
                    }
                }
            }
        };
        let references: Vec<String> = records
            .iter()
            .map(|r| r.external_id.clone())
            .filter(|h| is_real_id(h))
            .collect();
        let references = references[references.len().saturating_sub(20)..].to_vec();
        let in_reply_to = last_in
            .map(|r| r.external_id.clone())
            .filter(|h| is_real_id(h));
        let mut attachments = Vec::new();
        // Images the reply shows in its text travel as inline parts.
        let mut html = m.body_html.clone();
        for a in &m.attachments {
            let bytes = self
                .store
                .blobs()
                .get(&a.sha256)
                .await
                .map_err(StoreError::from)?;
            let shown = format!("\"/api/v1/attachments/{}\"", a.id);
            let content_id = match &mut html {
                Some(h) if h.contains(&shown) => {
                    let cid = format!("att-{}@{}", a.id, mb.domain());
                    *h = h.replace(&shown, &format!("\"cid:{cid}\""));
                    Some(cid)
                }
                _ => None,
            };
            attachments.push(OutgoingAttachment {
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                bytes,
                content_id,
            });
        }
        let author = match m.author_user_id {
            Some(u) => {
                let mut c = self.store.read().await?;
                store::people::user_by_id(&mut c.conn(), ws, u)
                    .await?
                    .map(|u| u.name)
            }
            None => None,
        };
        let from_name = mb.sender_name();
        let from_name = match author {
            Some(a) => format!("{a} ({from_name})"),
            None => from_name,
        };
        let out = OutgoingEmail {
            from: Address {
                name: Some(from_name),
                address: mb.address.clone(),
            },
            to: vec![Address {
                name: None,
                address: to.clone(),
            }],
            cc: ticket
                .cc
                .iter()
                .filter(|a| **a != to)
                .map(|a| Address {
                    name: None,
                    address: a.clone(),
                })
                .collect(),
            reply_to: mb.settings.reply_address_token.then(|| {
                reply_token::address(&self.secret, ws, ticket.id, ticket.number, &mb.address)
            }),
            // The mail that starts a conversation answers nothing yet.
            subject: if references.is_empty() && in_reply_to.is_none() {
                tagged_subject(&ticket.subject, ticket.number)
            } else {
                reply_subject(&ticket.subject, ticket.number)
            },
            message_id: format!("otk.{}@{}", m.id, mb.domain()),
            in_reply_to,
            references,
            text: m.body_text.clone(),
            html,
            attachments,
            auto_submitted: false,
            language: None,
            mailbox: mb,
        };
        let sent = self
            .send_recorded(&out, ticket.id, Some(m.id), "sent", None)
            .await?;
        Ok(match sent {
            Ok(()) => Delivery::Sent,
            Err(e) if e.permanent => Delivery::Failed(crate::messenger::remote(e.reason)),
            Err(e) => Delivery::Retry(
                domain::Message::new(Code::DeliverySmtpAttempt)
                    .with("attempt", attempt + 1)
                    .with("reason", e.reason),
            ),
        })
    }

    /// Sends through the transport and, once the server took the mail, records it
    /// under its Message-ID (emitting `event` with the record), so that answers
    /// thread and a retry after a crash between send and commit finds the row.
    async fn send_recorded(
        &self,
        out: &OutgoingEmail,
        ticket: TicketId,
        message: Option<MessageId>,
        outcome: &str,
        event: Option<EventData>,
    ) -> Result<Result<(), SendError>, EngineError> {
        let transport = match self.transport() {
            Ok(t) => t,
            Err(reason) => {
                return Ok(Err(SendError {
                    permanent: true,
                    reason,
                }));
            }
        };
        if let Err(e) = transport.send(out).await {
            return Ok(Err(e));
        }
        let ws = out.mailbox.workspace_id;
        let rec = Record {
            workspace_id: ws,
            account_id: out.mailbox.id,
            external_id: out.message_id.clone(),
            message_id: message,
            ticket_id: Some(ticket),
            direction: "out".into(),
            outcome: outcome.into(),
            address: out.to.first().map(|a| a.address.clone()),
            raw_sha256: None,
            sent_at: None,
            created_at: self.store.now(),
        };
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if channels::record(&mut tx.conn(), rec.account_id, &rec.external_id)
                        .await?
                        .is_none()
                    {
                        channels::insert_record(tx, &rec).await?;
                        if let Some(e) = event {
                            tx.emit(ws, Actor::System, e).await?;
                        }
                    }
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(Ok(()))
    }

    /// Sends the acknowledgement of a new ticket (the job queued at ingest).
    pub(crate) async fn send_auto_ack(&self, ack: &AutoAck) -> Result<Delivery, EngineError> {
        let (ws, mbid, tid) = (ack.workspace_id, ack.mailbox_id, ack.ticket_id);
        let to = ack.to.clone();
        let (ticket, target) = {
            let mut c = self.store.read().await?;
            let Some(t) = tickets::get(&mut c.conn(), ws, tid).await? else {
                return Ok(Delivery::Sent);
            };
            let target = crate::sla::first_reply_target(&mut c.conn(), &t).await?;
            (t, target)
        };
        let mb = match self.mailbox_config(ws, mbid).await {
            Ok(mb) => mb,
            Err(EngineError::NotFound) => {
                return Ok(Delivery::Failed(Code::DeliveryMailboxGone.into()));
            }
            Err(e) => return Err(e),
        };
        if mb.outbound.is_none() {
            return Ok(Delivery::Failed(
                domain::Message::new(Code::DeliveryMailboxNoSmtp).with("address", &mb.address),
            ));
        }
        let lang = ack.language.as_deref().unwrap_or("en");
        let (subject, text) = acknowledgement(
            &mb,
            lang,
            ticket.number,
            &ticket.subject,
            ack.name.as_deref(),
            target,
        );
        let in_reply_to = ack.in_reply_to.clone();
        let message_id = format!("otk.ack-{}@{}", ticket.id, mb.domain());
        let out = OutgoingEmail {
            from: Address {
                name: Some(mb.sender_name()),
                address: mb.address.clone(),
            },
            to: vec![Address {
                name: None,
                address: to.clone(),
            }],
            cc: Vec::new(),
            reply_to: mb.settings.reply_address_token.then(|| {
                reply_token::address(&self.secret, ws, ticket.id, ticket.number, &mb.address)
            }),
            subject,
            message_id: message_id.clone(),
            references: in_reply_to.iter().cloned().collect(),
            in_reply_to,
            text,
            html: None,
            attachments: Vec::new(),
            auto_submitted: true,
            language: Some(lang.to_owned()),
            mailbox: mb,
        };
        let event = EventData::AutoReplySent { ticket_id: tid, to };
        Ok(
            match self
                .send_recorded(&out, ticket.id, None, "auto_ack", Some(event))
                .await?
            {
                Ok(()) => Delivery::Sent,
                Err(e) if e.permanent => Delivery::Failed(crate::messenger::remote(e.reason)),
                Err(e) => Delivery::Retry(crate::messenger::remote(e.reason)),
            },
        )
    }

    /// Tells an agent about a ticket by email (a rule's `notify` with
    /// `email`), from the workspace's first mailbox that sends. Automatic mail,
    /// so nobody's autoresponder answers it.
    pub(crate) async fn notify_email(
        &self,
        ws: WorkspaceId,
        user: UserId,
        ticket_id: TicketId,
        text: &str,
    ) -> Result<Delivery, EngineError> {
        let (agent, ticket, mailboxes) = {
            let mut c = self.store.read().await?;
            let agent = store::people::user_by_id(&mut c.conn(), ws, user).await?;
            let ticket = tickets::get(&mut c.conn(), ws, ticket_id).await?;
            let all = channels::list(&mut c.conn(), ws, Channel::Email).await?;
            (agent, ticket, all)
        };
        let (Some(agent), Some(ticket)) = (agent.filter(|a| a.active), ticket) else {
            return Ok(Delivery::Failed(Code::DeliveryGone.into()));
        };
        let Some(mailbox) = mailboxes.into_iter().find(|mb| mb.outbound.is_some()) else {
            return Ok(Delivery::Failed(Code::DeliveryNoSmtp.into()));
        };
        let mb = self.open_mailbox(mailbox)?;
        let out = OutgoingEmail {
            from: Address {
                name: Some(mb.sender_name()),
                address: mb.address.clone(),
            },
            to: vec![Address {
                name: Some(agent.name.clone()),
                address: agent.email.clone(),
            }],
            cc: Vec::new(),
            reply_to: None,
            subject: format!("[#{}] {}", ticket.number, ticket.subject),
            message_id: format!(
                "otk.notify-{}@{}",
                uuid::Uuid::now_v7().simple(),
                mb.domain()
            ),
            in_reply_to: None,
            references: Vec::new(),
            text: format!("{text}\n\n#{} {}", ticket.number, ticket.subject),
            html: None,
            attachments: Vec::new(),
            auto_submitted: true,
            language: None,
            mailbox: mb,
        };
        let transport = match self.transport() {
            Ok(t) => t,
            Err(reason) => return Ok(Delivery::Failed(domain::Message::verbatim(reason))),
        };
        Ok(match transport.send(&out).await {
            Ok(()) => Delivery::Sent,
            Err(e) if e.permanent => Delivery::Failed(crate::messenger::remote(e.reason)),
            Err(e) => Delivery::Retry(crate::messenger::remote(e.reason)),
        })
    }

    /// Records a delivery outcome on a message, with its event. A state the
    /// message has already passed is not recorded again (a receipt may arrive
    /// before the sender's own "sent"); a retry keeps it queued with the reason.
    pub(crate) async fn set_delivery(
        &self,
        ws: WorkspaceId,
        m: &Message,
        state: DeliveryState,
        error: Option<domain::Message>,
    ) -> Result<(), EngineError> {
        let mid = m.id;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    // Re-read: a report may have moved it since the caller looked.
                    if let Some(m) = tickets::message(&mut tx.conn(), ws, mid).await? {
                        crate::outbound::advance_delivery(tx, &m, state, error).await?;
                    }
                    Ok::<_, EngineError>(())
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_promised_time_reads_naturally_in_each_language() {
        let min = 60_000;
        let cases = [
            ("en", 5 * min, false, "within 5 minutes"),
            ("en", min, false, "within 1 minute"),
            ("en", 1440 * min, false, "within 24 hours"),
            ("en", 4320 * min, false, "within 3 days"),
            ("en", 480 * min, true, "within 8 business hours"),
            ("ru", 5 * min, false, "в течение 5 минут"),
            ("ru", 21 * min, false, "в течение 21 минуты"),
            ("ru", 11 * min, false, "в течение 11 минут"),
            ("ru", 1440 * min, false, "в течение 24 часов"),
            ("ru", 1260 * min, false, "в течение 21 часа"),
            ("ru", 4320 * min, false, "в течение 3 дней"),
            ("ru", 60 * min, true, "в течение 1 рабочего часа"),
            ("th", 1440 * min, false, "ภายใน 24 ชั่วโมง"),
            ("th", 480 * min, true, "ภายใน 8 ชั่วโมงทำการ"),
            ("th", 5 * min, false, "ภายใน 5 นาที"),
        ];
        for (lang, ms, business, want) in cases {
            assert_eq!(
                response_time_phrase(lang, ms, business),
                want,
                "{lang} {ms} {business}"
            );
        }
    }

    #[test]
    fn reply_subjects_carry_the_number_once() {
        assert_eq!(reply_subject("Order late", 12), "Re: Order late [#12]");
        assert_eq!(
            reply_subject("Re: Order late [#12]", 12),
            "Re: Order late [#12]"
        );
        assert_eq!(reply_subject("[#12] Order", 12), "Re: [#12] Order");
    }
}
