//! Satisfaction surveys. When a ticket is solved and the workspace asks
//! (`SurveySettings::csat`), the `surveys` consumer makes the ticket's one CSAT
//! survey and queues `Job::SurveyEmail`, which mails the customer a signed
//! link (`/s/{token}`) in their language. The public page takes a score of 1–5
//! and a comment without login or script; a second answer replaces the first.
//! Email tickets are asked by email; chat and messenger buttons come later.

use crate::consumers::{Consumer, Start};
use crate::email::{Address, Delivery, OutgoingEmail};
use crate::jobs::Job;
use crate::model::EventRecord;
use crate::{Engine, EngineError, Principal};
use domain::event::{Actor, EventData};
use domain::identity::IdentityKind;
use domain::ids::*;
use domain::survey::{SurveyKind, SurveySettings, check_answer};
use domain::ticket::Channel;
use domain::{Code, Message};
use futures::future::BoxFuture;
use store::Tx;
use store::surveys as db;
pub use store::surveys::Survey;

const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// The signed part of a survey's link.
fn mac(engine: &Engine, ws: WorkspaceId, id: SurveyId) -> String {
    engine
        .secret
        .sign(&[b"survey", ws.0.as_bytes(), id.0.as_bytes()])
        .iter()
        .take(16)
        .map(|b| ALPHABET[(*b & 31) as usize] as char)
        .collect()
}

/// Makes and sends CSAT surveys for solved tickets.
pub struct Surveyor;

/// The note a low score leaves on the ticket, in the workspace's language.
fn low_note(lang: &str, score: i64, comment: &str) -> String {
    let said = if comment.is_empty() {
        String::new()
    } else {
        format!(": «{comment}»")
    };
    match lang {
        "ru" => format!("Клиент оценил помощь на {score} из 5{said}"),
        "th" => format!("ลูกค้าให้คะแนนความช่วยเหลือ {score} จาก 5{said}"),
        _ => format!("The customer rated the help {score} of 5{said}"),
    }
}

/// A low score: the note, and the workspace's `on_low` — reopen the ticket
/// (a closed one gets a follow-up instead) or open a follow-up.
async fn low_score(
    tx: &mut Tx,
    ws: WorkspaceId,
    ticket: TicketId,
    score: i64,
    comment: &str,
) -> Result<(), EngineError> {
    use domain::survey::LowAction;
    use domain::ticket::Status;
    let on_low = db::settings(&mut tx.conn(), ws).await?.csat.on_low;
    let Some(t) = store::tickets::get(&mut tx.conn(), ws, ticket).await? else {
        return Ok(());
    };
    let lang = store::workspaces::by_id(&mut tx.conn(), ws)
        .await?
        .map(|w| w.default_language)
        .unwrap_or_else(|| "en".into());
    let note = low_note(&lang, score, comment);
    let target = match (on_low, t.status) {
        (LowAction::None, _) => t,
        (LowAction::FollowUp, _) | (LowAction::Reopen, Status::Closed) => {
            let now = tx.now();
            crate::tickets::open_follow_up(tx, &t, Actor::System, now).await?
        }
        (LowAction::Reopen, Status::Solved | Status::Pending) => {
            let open = crate::tickets::CheckedPatch::status(Status::Open);
            crate::tickets::patch_ticket(tx, ws, t.id, Actor::System, open).await?
        }
        (LowAction::Reopen, _) => t,
    };
    crate::rules::post(
        tx,
        &target,
        domain::ticket::Visibility::Internal,
        note,
        Actor::System,
    )
    .await
}

impl Consumer for Surveyor {
    fn name(&self) -> &'static str {
        "surveys"
    }
    fn start(&self) -> Start {
        Start::Now
    }
    fn handle<'t>(
        &'t self,
        tx: &'t mut Tx,
        e: &'t EventRecord,
    ) -> BoxFuture<'t, Result<(), EngineError>> {
        Box::pin(async move {
            if let EventData::SurveyAnswered {
                ticket_id: Some(ticket_id),
                survey_kind,
                score,
                comment,
                previous,
                ..
            } = &e.data
            {
                // Once per fall: a low answer changed to another low one is
                // not acted on again.
                let low = |s: i64| SurveyKind::Csat.is_low(s);
                if survey_kind == SurveyKind::Csat.as_str()
                    && low(*score)
                    && !previous.is_some_and(low)
                {
                    low_score(tx, e.workspace_id, *ticket_id, *score, comment).await?;
                }
                return Ok(());
            }
            let EventData::TicketUpdated {
                ticket_id, changes, ..
            } = &e.data
            else {
                return Ok(());
            };
            if !changes
                .iter()
                .any(|c| c.field == "status" && c.to.as_str() == Some("solved"))
            {
                return Ok(());
            }
            let ws = e.workspace_id;
            if !db::settings(&mut tx.conn(), ws).await?.csat.enabled {
                return Ok(());
            }
            let Some(t) = store::tickets::get(&mut tx.conn(), ws, *ticket_id).await? else {
                return Ok(());
            };
            if t.channel != Channel::Email {
                return Ok(());
            }
            let Some(c) = store::customers::get(&mut tx.conn(), ws, t.customer_id).await? else {
                return Ok(());
            };
            if !c.identities.iter().any(|i| i.kind == IdentityKind::Email) {
                return Ok(());
            }
            let language = match c.language.clone() {
                Some(l) => l,
                None => store::workspaces::by_id(&mut tx.conn(), ws)
                    .await?
                    .map(|w| w.default_language)
                    .unwrap_or_else(|| "en".into()),
            };
            let now = tx.now();
            let s = Survey {
                id: SurveyId::new(),
                workspace_id: ws,
                ticket_id: Some(t.id),
                customer_id: t.customer_id,
                kind: SurveyKind::Csat,
                language,
                created_at: now,
                sent_at: None,
                score: None,
                comment: None,
                answered_at: None,
            };
            // One survey per ticket: solved again after a reopen, it is not
            // asked twice.
            if db::insert(tx, &s).await? {
                Job::SurveyEmail {
                    workspace_id: ws,
                    survey_id: s.id,
                }
                .enqueue(tx, now)
                .await?;
            }
            Ok(())
        })
    }
}

/// The survey email's words, by language.
fn wording(lang: &str) -> (&'static str, &'static str, &'static str) {
    match lang.split(['-', '_']).next().unwrap_or(lang) {
        "ru" => (
            "Оцените, пожалуйста, наш ответ",
            "Ваше обращение решено. Насколько вы довольны помощью? Нажмите на оценку от 1 (плохо) до 5 (отлично):",
            "Оценить",
        ),
        "th" => (
            "โปรดให้คะแนนการช่วยเหลือของเรา",
            "เรื่องของคุณได้รับการแก้ไขแล้ว คุณพอใจกับความช่วยเหลือแค่ไหน กดเลือกคะแนนตั้งแต่ 1 (แย่) ถึง 5 (ดีมาก):",
            "ให้คะแนน",
        ),
        _ => (
            "How did we do?",
            "Your request is solved. How happy are you with the help you got? Choose from 1 (poor) to 5 (great):",
            "Rate",
        ),
    }
}

impl Engine {
    /// A survey's public link (`{public_url}/s/{token}`; surveys cannot be
    /// turned on without the server's public address).
    pub fn survey_link(&self, s: &Survey) -> String {
        format!(
            "{}/s/{}.{}",
            self.public_url.as_deref().unwrap_or(""),
            s.id,
            mac(self, s.workspace_id, s.id)
        )
    }

    /// The survey a link's token names, if its signature holds.
    pub async fn survey_by_token(&self, token: &str) -> Result<Survey, EngineError> {
        let (id, got) = token.split_once('.').ok_or(EngineError::NotFound)?;
        let id: SurveyId = id.parse().map_err(|_| EngineError::NotFound)?;
        let s = {
            let mut c = self.store.read().await?;
            db::get_anywhere(&mut c.conn(), id).await?
        }
        .ok_or(EngineError::NotFound)?;
        let want = mac(self, s.workspace_id, s.id);
        let same = want.len() == got.len()
            && want
                .bytes()
                .zip(got.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return Err(EngineError::NotFound);
        }
        Ok(s)
    }

    /// Records the customer's answer (a second one replaces the first).
    pub async fn answer_survey(
        &self,
        token: &str,
        score: i64,
        comment: &str,
    ) -> Result<Survey, EngineError> {
        let s = self.survey_by_token(token).await?;
        let comment = check_answer(s.kind, score, comment)?;
        let (ws, id) = (s.workspace_id, s.id);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let before = db::get(&mut tx.conn(), ws, id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    let now = tx.now();
                    db::answer(tx, ws, id, score, &comment, now).await?;
                    tx.emit(
                        ws,
                        Actor::Customer(before.customer_id),
                        EventData::SurveyAnswered {
                            survey_id: id,
                            ticket_id: before.ticket_id,
                            customer_id: before.customer_id,
                            survey_kind: before.kind.as_str().into(),
                            score,
                            comment,
                            replaced: before.answered_at.is_some(),
                            previous: before.score,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        let mut c = self.store.read().await?;
        db::get(&mut c.conn(), ws, id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// Sends a CSAT survey by email (the job).
    pub(crate) async fn send_survey(
        &self,
        ws: WorkspaceId,
        id: SurveyId,
    ) -> Result<Delivery, EngineError> {
        let (s, ticket, customer, boxes) = {
            let mut c = self.store.read().await?;
            let Some(s) = db::get(&mut c.conn(), ws, id).await? else {
                return Ok(Delivery::Sent);
            };
            let ticket = match s.ticket_id {
                Some(t) => store::tickets::get(&mut c.conn(), ws, t).await?,
                None => None,
            };
            let customer = store::customers::get(&mut c.conn(), ws, s.customer_id).await?;
            let boxes = store::channels::list(&mut c.conn(), ws, Channel::Email).await?;
            (s, ticket, customer, boxes)
        };
        if s.sent_at.is_some() {
            return Ok(Delivery::Sent);
        }
        let (Some(ticket), Some(customer)) = (ticket, customer) else {
            return Ok(Delivery::Failed(Code::DeliveryGone.into()));
        };
        let Some(to) = customer
            .identities
            .iter()
            .find(|i| i.kind == IdentityKind::Email)
            .map(|i| i.value.clone())
        else {
            return Ok(Delivery::Failed(Code::DeliveryNoEmail.into()));
        };
        let sends = |b: &&store::channels::Account| b.active && b.outbound.is_some();
        let account = ticket
            .account_id
            .and_then(|id| boxes.iter().filter(sends).find(|b| b.id == id))
            .or_else(|| boxes.iter().find(sends))
            .cloned();
        let Some(account) = account else {
            return Ok(Delivery::Failed(Code::DeliveryNoSmtp.into()));
        };
        let mb = self.open_mailbox(account)?;
        let (subject, lead, rate) = wording(&s.language);
        let link = self.survey_link(&s);
        let choices: Vec<(i64, String)> =
            (1..=5).map(|n| (n, format!("{link}?score={n}"))).collect();
        let text = format!(
            "{lead}\n\n{}\n\n#{} {}",
            choices
                .iter()
                .map(|(n, u)| format!("{n} — {u}"))
                .collect::<Vec<_>>()
                .join("\n"),
            ticket.number,
            ticket.subject
        );
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        let html = format!(
            "<p>{}</p><p>{}</p><p><a href=\"{}\">{}</a></p><p style=\"color:#667\">#{} {}</p>",
            esc(lead),
            choices
                .iter()
                .map(|(n, u)| format!(
                    "<a href=\"{}\" style=\"display:inline-block;padding:8px 14px;margin:2px;border:1px solid #99a;border-radius:6px;text-decoration:none\">{n}</a>",
                    esc(u)
                ))
                .collect::<String>(),
            esc(&link),
            esc(rate),
            ticket.number,
            esc(&ticket.subject)
        );
        let out = OutgoingEmail {
            from: Address {
                name: Some(mb.sender_name()),
                address: mb.address.clone(),
            },
            to: vec![Address {
                name: Some(customer.name.clone()).filter(|n| !n.is_empty()),
                address: to,
            }],
            cc: Vec::new(),
            reply_to: None,
            subject: format!("{subject} [#{}]", ticket.number),
            message_id: format!("otk.survey-{}@{}", s.id, mb.domain()),
            in_reply_to: None,
            references: Vec::new(),
            text,
            html: Some(html),
            attachments: Vec::new(),
            auto_submitted: true,
            language: Some(s.language.clone()),
            mailbox: mb,
        };
        let transport = match self.transport() {
            Ok(t) => t,
            Err(reason) => return Ok(Delivery::Failed(Message::verbatim(reason))),
        };
        if let Err(e) = transport.send(&out).await {
            return Ok(if e.permanent {
                Delivery::Failed(crate::messenger::remote(e.reason))
            } else {
                Delivery::Retry(crate::messenger::remote(e.reason))
            });
        }
        let customer_id = s.customer_id;
        let ticket_id = s.ticket_id;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    db::mark_sent(tx, ws, id, now).await?;
                    tx.emit(
                        ws,
                        Actor::System,
                        EventData::SurveySent {
                            survey_id: id,
                            ticket_id,
                            customer_id,
                            survey_kind: SurveyKind::Csat.as_str().into(),
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(Delivery::Sent)
    }

    pub async fn survey_settings(&self, p: &Principal) -> Result<SurveySettings, EngineError> {
        let mut c = self.store.read().await?;
        Ok(db::settings(&mut c.conn(), p.workspace_id).await?)
    }

    pub async fn save_survey_settings(
        &self,
        p: &Principal,
        s: SurveySettings,
    ) -> Result<SurveySettings, EngineError> {
        p.require_admin()?;
        // A mailed link must reach this server from the customer's inbox.
        if s.csat.enabled && self.public_url.is_none() {
            return Err(EngineError::Rule(Code::SurveyNeedsAddress.into()));
        }
        let ws = p.workspace_id;
        let saved = s.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    db::save_settings(tx, ws, &s).await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(saved)
    }

    /// Answered surveys, newest first.
    pub async fn answered_surveys(
        &self,
        p: &Principal,
        before: Option<SurveyId>,
        limit: i64,
    ) -> Result<Vec<Survey>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(db::answered(&mut c.conn(), p.workspace_id, before, limit).await?)
    }

    /// Whether a low rating on `ticket` is for `p` to hear of: its assignee;
    /// supervisors and admins of its team (of the workspace, when it has none).
    pub async fn hears_low_rating(
        &self,
        p: &Principal,
        ticket: TicketId,
    ) -> Result<bool, EngineError> {
        let mut c = self.store.read().await?;
        let Some(t) = store::tickets::get(&mut c.conn(), p.workspace_id, ticket).await? else {
            return Ok(false);
        };
        if t.assignee_id == Some(p.user_id) {
            return Ok(true);
        }
        if !p.role.can_supervise() {
            return Ok(false);
        }
        Ok(match t.team_id {
            None => true,
            Some(team) => store::people::team_members(&mut c.conn(), p.workspace_id, team)
                .await?
                .contains(&p.user_id),
        })
    }

    /// The number and subject of the ticket a survey asks about, for its page.
    pub async fn survey_ticket(&self, s: &Survey) -> Result<Option<(i64, String)>, EngineError> {
        let Some(t) = s.ticket_id else {
            return Ok(None);
        };
        let mut c = self.store.read().await?;
        Ok(store::tickets::get(&mut c.conn(), s.workspace_id, t)
            .await?
            .map(|t| (t.number, t.subject)))
    }

    /// A ticket's CSAT survey, if one was made.
    pub async fn ticket_survey(
        &self,
        p: &Principal,
        ticket: TicketId,
    ) -> Result<Option<Survey>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(db::of_ticket(&mut c.conn(), p.workspace_id, ticket).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_its_wording() {
        assert!(wording("ru").0.contains("Оцените"));
        assert!(wording("th-TH").0.contains("คะแนน"));
        assert_eq!(wording("de").0, "How did we do?");
    }
}
