//! Satisfaction surveys. When a ticket is solved and the workspace asks
//! (`SurveySettings::csat`), the `surveys` consumer makes the ticket's one CSAT
//! survey and queues `Job::SurveyEmail`, which mails the customer a signed
//! link (`/s/{token}`) in their language. The public page takes a score of 1–5
//! and a comment without login or script; a second answer replaces the first.
//! Chat and messenger tickets are asked in their conversation instead
//! (`Job::SurveyChat`): the bot's message carries the link, the widget shows
//! score buttons that answer in place, and Telegram and VK put one link
//! button per score under it (WhatsApp one button to the page). Customers who
//! opted out (the link under every survey) are not asked.

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
use domain::{Code, Message, Timestamp};
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

/// A ticket was solved (`at`): its CSAT survey (when the workspace asks), and
/// the customer's next NPS survey on the schedule (when it asks that).
async fn solved(
    tx: &mut Tx,
    ws: WorkspaceId,
    ticket: TicketId,
    at: Timestamp,
) -> Result<(), EngineError> {
    let settings = db::settings(&mut tx.conn(), ws).await?;
    if !settings.csat.enabled && !settings.nps.enabled {
        return Ok(());
    }
    let Some(t) = store::tickets::get(&mut tx.conn(), ws, ticket).await? else {
        return Ok(());
    };
    let Some(c) = store::customers::get(&mut tx.conn(), ws, t.customer_id).await? else {
        return Ok(());
    };
    if db::opted_out(&mut tx.conn(), ws, c.id).await? {
        return Ok(());
    }
    let has_email = c.identities.iter().any(|i| i.kind == IdentityKind::Email);
    let now = tx.now();
    // NPS is asked by email, about the customer's whole experience.
    if settings.nps.enabled && has_email {
        let last = db::last_asked(&mut tx.conn(), ws, c.id, SurveyKind::Nps).await?;
        let due =
            Timestamp::from_millis(settings.nps.due(at.millis(), last.map(Timestamp::millis)));
        if db::schedule_nps(tx, ws, c.id, due).await? {
            Job::NpsDue {
                workspace_id: ws,
                customer_id: c.id,
            }
            .enqueue(tx, due)
            .await?;
        }
    }
    let in_conversation = asks_in_conversation(t.channel);
    if !settings.csat.enabled || !(in_conversation || t.channel == Channel::Email && has_email) {
        return Ok(());
    }
    let s = Survey {
        id: SurveyId::new(),
        workspace_id: ws,
        ticket_id: Some(t.id),
        customer_id: t.customer_id,
        kind: SurveyKind::Csat,
        language: language_of(tx, ws, &c).await?,
        created_at: now,
        sent_at: None,
        score: None,
        comment: None,
        answered_at: None,
        message_id: None,
    };
    // One survey per ticket: solved again after a reopen, it is not asked
    // twice.
    if db::insert(tx, &s).await? {
        let job = if in_conversation {
            Job::SurveyChat {
                workspace_id: ws,
                survey_id: s.id,
            }
        } else {
            Job::SurveyEmail {
                workspace_id: ws,
                survey_id: s.id,
            }
        };
        job.enqueue(tx, now).await?;
    }
    Ok(())
}

/// The language to ask a customer in: theirs, else the workspace's.
async fn language_of(
    tx: &mut Tx,
    ws: WorkspaceId,
    c: &store::customers::Customer,
) -> Result<String, EngineError> {
    Ok(match c.language.clone() {
        Some(l) => l,
        None => store::workspaces::by_id(&mut tx.conn(), ws)
            .await?
            .map(|w| w.default_language)
            .unwrap_or_else(|| "en".into()),
    })
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
            solved(tx, e.workspace_id, *ticket_id, e.created_at).await
        })
    }
}

/// Channels whose customers are asked in the conversation itself.
fn asks_in_conversation(c: Channel) -> bool {
    matches!(
        c,
        Channel::Chat | Channel::Telegram | Channel::Whatsapp | Channel::Vk
    )
}

/// The question in a conversation, by language; the link follows it.
fn chat_wording(lang: &str) -> &'static str {
    match base(lang) {
        "ru" => "Ваше обращение решено. Оцените, пожалуйста, помощь от 1 (плохо) до 5 (отлично):",
        "th" => "เรื่องของคุณได้รับการแก้ไขแล้ว โปรดให้คะแนนความช่วยเหลือตั้งแต่ 1 (แย่) ถึง 5 (ดีมาก):",
        _ => "Your request is solved. Please rate the help from 1 (poor) to 5 (great):",
    }
}

/// A survey email's words.
struct Wording {
    subject: &'static str,
    /// The question; `{brand}` is the workspace's name.
    lead: &'static str,
    /// The link to the page.
    open: &'static str,
    /// The link that stops surveys.
    stop: &'static str,
}

fn base(lang: &str) -> &str {
    lang.split(['-', '_']).next().unwrap_or(lang)
}

/// The CSAT email's words, by language.
fn wording(lang: &str) -> Wording {
    match base(lang) {
        "ru" => Wording {
            subject: "Оцените, пожалуйста, наш ответ",
            lead: "Ваше обращение решено. Насколько вы довольны помощью? Нажмите на оценку от 1 (плохо) до 5 (отлично):",
            open: "Оценить",
            stop: "Не присылать мне опросы",
        },
        "th" => Wording {
            subject: "โปรดให้คะแนนการช่วยเหลือของเรา",
            lead: "เรื่องของคุณได้รับการแก้ไขแล้ว คุณพอใจกับความช่วยเหลือแค่ไหน กดเลือกคะแนนตั้งแต่ 1 (แย่) ถึง 5 (ดีมาก):",
            open: "ให้คะแนน",
            stop: "ไม่ต้องส่งแบบสำรวจให้ฉันอีก",
        },
        _ => Wording {
            subject: "How did we do?",
            lead: "Your request is solved. How happy are you with the help you got? Choose from 1 (poor) to 5 (great):",
            open: "Rate",
            stop: "Send me no more surveys",
        },
    }
}

/// The NPS email's words, by language.
fn nps_wording(lang: &str) -> Wording {
    match base(lang) {
        "ru" => Wording {
            subject: "Порекомендуете ли вы {brand}?",
            lead: "Насколько вероятно, что вы порекомендуете {brand} друзьям или коллегам? Выберите от 0 (точно нет) до 10 (обязательно):",
            open: "Ответить",
            stop: "Не присылать мне опросы",
        },
        "th" => Wording {
            subject: "คุณจะแนะนำ {brand} ให้คนอื่นไหม",
            lead: "คุณมีแนวโน้มจะแนะนำ {brand} ให้เพื่อนหรือเพื่อนร่วมงานมากแค่ไหน เลือกตั้งแต่ 0 (ไม่แนะนำเลย) ถึง 10 (แนะนำแน่นอน):",
            open: "ตอบแบบสำรวจ",
            stop: "ไม่ต้องส่งแบบสำรวจให้ฉันอีก",
        },
        _ => Wording {
            subject: "Would you recommend {brand}?",
            lead: "How likely are you to recommend {brand} to a friend or colleague? Choose from 0 (not at all) to 10 (extremely likely):",
            open: "Answer",
            stop: "Send me no more surveys",
        },
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

    /// Asks a CSAT survey in its ticket's conversation (the job): the bot's
    /// public message with the link, delivered like any reply. Once: the
    /// message, the survey's `message_id` and `sent_at` are one transaction.
    pub(crate) async fn ask_in_conversation(
        &self,
        ws: WorkspaceId,
        id: SurveyId,
    ) -> Result<(), EngineError> {
        let link = {
            let mut c = self.store.read().await?;
            match db::get(&mut c.conn(), ws, id).await? {
                Some(s) => self.survey_link(&s),
                None => return Ok(()),
            }
        };
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let Some(s) = db::get(&mut tx.conn(), ws, id).await? else {
                        return Ok(());
                    };
                    if s.sent_at.is_some() {
                        return Ok(());
                    }
                    let Some(t) = (match s.ticket_id {
                        Some(t) => store::tickets::get(&mut tx.conn(), ws, t).await?,
                        None => None,
                    }) else {
                        return Ok(());
                    };
                    let text = format!("{}\n{link}", chat_wording(&s.language));
                    let m = crate::rules::post_as(
                        tx,
                        &t,
                        domain::ticket::Visibility::Public,
                        text,
                        Actor::System,
                        domain::ticket::AuthorKind::Bot,
                    )
                    .await?;
                    db::set_message(tx, ws, id, m).await?;
                    let now = tx.now();
                    db::mark_sent(tx, ws, id, now).await?;
                    tx.emit(
                        ws,
                        Actor::System,
                        EventData::SurveySent {
                            survey_id: id,
                            ticket_id: s.ticket_id,
                            customer_id: s.customer_id,
                            survey_kind: s.kind.as_str().into(),
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await
    }

    /// A customer's NPS survey came due (the job): made and queued for
    /// mailing, unless the workspace stopped asking, the customer opted out
    /// or has no address, or they were asked within the interval (then it is
    /// due again at the interval's end).
    pub(crate) async fn nps_due(
        &self,
        ws: WorkspaceId,
        customer: CustomerId,
    ) -> Result<(), EngineError> {
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    let Some(due) = db::take_nps_due(tx, ws, customer).await? else {
                        return Ok(());
                    };
                    if due.millis() > now.millis() + 60_000 {
                        // Not this job's turn: the row's own job comes later.
                        db::schedule_nps(tx, ws, customer, due).await?;
                        return Ok(());
                    }
                    let settings = db::settings(&mut tx.conn(), ws).await?.nps;
                    if !settings.enabled || db::opted_out(&mut tx.conn(), ws, customer).await? {
                        return Ok(());
                    }
                    let Some(c) = store::customers::get(&mut tx.conn(), ws, customer).await? else {
                        return Ok(());
                    };
                    if !c.identities.iter().any(|i| i.kind == IdentityKind::Email) {
                        return Ok(());
                    }
                    let last = db::last_asked(&mut tx.conn(), ws, c.id, SurveyKind::Nps).await?;
                    let next = last.map(|l| l.millis() + settings.every_days * 86_400_000);
                    if let Some(next) = next.filter(|n| *n > now.millis()) {
                        let at = Timestamp::from_millis(next);
                        db::schedule_nps(tx, ws, c.id, at).await?;
                        Job::NpsDue {
                            workspace_id: ws,
                            customer_id: c.id,
                        }
                        .enqueue(tx, at)
                        .await?;
                        return Ok(());
                    }
                    let s = Survey {
                        id: SurveyId::new(),
                        workspace_id: ws,
                        ticket_id: db::last_solved_ticket(&mut tx.conn(), ws, c.id).await?,
                        customer_id: c.id,
                        kind: SurveyKind::Nps,
                        language: language_of(tx, ws, &c).await?,
                        created_at: now,
                        sent_at: None,
                        score: None,
                        comment: None,
                        answered_at: None,
                        message_id: None,
                    };
                    db::insert(tx, &s).await?;
                    Job::SurveyEmail {
                        workspace_id: ws,
                        survey_id: s.id,
                    }
                    .enqueue(tx, now)
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await
    }

    /// Opts the customer a survey link was sent to out of surveys (or back
    /// in), as `survey.opted_out` on their timeline.
    pub async fn survey_opt_out(&self, token: &str, out: bool) -> Result<Survey, EngineError> {
        let s = self.survey_by_token(token).await?;
        let (ws, customer) = (s.workspace_id, s.customer_id);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if db::opted_out(&mut tx.conn(), ws, customer).await? == out {
                        return Ok(());
                    }
                    let at = out.then(|| tx.now());
                    db::set_opt_out(tx, ws, customer, at).await?;
                    if out {
                        // Nothing more is asked: the scheduled NPS goes too.
                        db::take_nps_due(tx, ws, customer).await?;
                    }
                    tx.emit(
                        ws,
                        Actor::Customer(customer),
                        EventData::SurveyOptedOut {
                            customer_id: customer,
                            opted_out: out,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(s)
    }

    /// Whether the customer a survey was sent to opted out of surveys.
    pub async fn survey_opted_out(&self, s: &Survey) -> Result<bool, EngineError> {
        let mut c = self.store.read().await?;
        Ok(db::opted_out(&mut c.conn(), s.workspace_id, s.customer_id).await?)
    }

    /// A survey as the chat widget shows it under its message.
    pub fn survey_ask(&self, s: &Survey) -> crate::chat::SurveyAsk {
        let (low, high) = s.kind.scale();
        crate::chat::SurveyAsk {
            link: self.survey_link(s),
            low,
            high,
            score: s.score,
        }
    }

    /// The survey a conversation message carries, if any.
    pub async fn survey_of_message(
        &self,
        ws: WorkspaceId,
        m: MessageId,
    ) -> Result<Option<Survey>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(db::of_messages(&mut c.conn(), ws, &[m]).await?.pop())
    }

    /// The surveys some conversation messages carry, by message.
    pub async fn surveys_of_messages(
        &self,
        ws: WorkspaceId,
        ms: &[MessageId],
    ) -> Result<std::collections::HashMap<MessageId, Survey>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(db::of_messages(&mut c.conn(), ws, ms)
            .await?
            .into_iter()
            .filter_map(|s| s.message_id.map(|m| (m, s)))
            .collect())
    }

    /// The link buttons under a bot message that asks a survey: a score each
    /// (linking to the page with it chosen), or one to the page.
    pub async fn survey_buttons(
        &self,
        m: &store::tickets::Message,
    ) -> Result<Option<crate::messenger::LinkButtons>, EngineError> {
        if m.author_kind != domain::ticket::AuthorKind::Bot {
            return Ok(None);
        }
        let Some(s) = self.survey_of_message(m.workspace_id, m.id).await? else {
            return Ok(None);
        };
        let link = self.survey_link(&s);
        let (lo, hi) = s.kind.scale();
        Ok(Some(crate::messenger::LinkButtons {
            choices: (lo..=hi)
                .map(|n| crate::messenger::LinkButton {
                    label: n.to_string(),
                    url: format!("{link}?score={n}"),
                })
                .collect(),
            single: crate::messenger::LinkButton {
                label: wording(&s.language).open.to_owned(),
                url: link,
            },
        }))
    }

    /// Sends a CSAT survey by email (the job).
    pub(crate) async fn send_survey(
        &self,
        ws: WorkspaceId,
        id: SurveyId,
    ) -> Result<Delivery, EngineError> {
        let (s, ticket, customer, boxes, workspace) = {
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
            let workspace = store::workspaces::by_id(&mut c.conn(), ws).await?;
            if db::opted_out(&mut c.conn(), ws, s.customer_id).await? {
                return Ok(Delivery::Failed(Code::DeliveryGone.into()));
            }
            (s, ticket, customer, boxes, workspace)
        };
        if s.sent_at.is_some() {
            return Ok(Delivery::Sent);
        }
        // A CSAT survey is about its ticket; an NPS one may outlive it.
        let (Some(customer), Some(workspace)) = (customer, workspace) else {
            return Ok(Delivery::Failed(Code::DeliveryGone.into()));
        };
        if s.kind == SurveyKind::Csat && ticket.is_none() {
            return Ok(Delivery::Failed(Code::DeliveryGone.into()));
        }
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
            .as_ref()
            .and_then(|t| t.account_id)
            .and_then(|id| boxes.iter().filter(sends).find(|b| b.id == id))
            .or_else(|| boxes.iter().find(sends))
            .cloned();
        let Some(account) = account else {
            return Ok(Delivery::Failed(Code::DeliveryNoSmtp.into()));
        };
        let mb = self.open_mailbox(account)?;
        let brand = if workspace.display_name.is_empty() {
            workspace.name.clone()
        } else {
            workspace.display_name.clone()
        };
        let w = match s.kind {
            SurveyKind::Csat => wording(&s.language),
            SurveyKind::Nps => nps_wording(&s.language),
        };
        let lead = w.lead.replace("{brand}", &brand);
        let link = self.survey_link(&s);
        let stop = format!("{link}/stop");
        let (lo, hi) = s.kind.scale();
        let choices: Vec<(i64, String)> = (lo..=hi)
            .map(|n| (n, format!("{link}?score={n}")))
            .collect();
        let about = ticket
            .as_ref()
            .map(|t| format!("#{} {}", t.number, t.subject))
            .unwrap_or_default();
        let text = format!(
            "{lead}\n\n{}\n\n{about}\n\n{} {stop}",
            choices
                .iter()
                .map(|(n, u)| format!("{n} — {u}"))
                .collect::<Vec<_>>()
                .join("\n"),
            w.stop,
        );
        let esc = crate::markdown::escape_attr;
        let html = format!(
            "<p>{}</p><p>{}</p><p><a href=\"{}\">{}</a></p><p style=\"color:#667\">{}</p>\
             <p style=\"color:#667;font-size:12px\"><a href=\"{}\" style=\"color:#667\">{}</a></p>",
            esc(&lead),
            choices
                .iter()
                .map(|(n, u)| format!(
                    "<a href=\"{}\" style=\"display:inline-block;padding:8px 12px;margin:2px;border:1px solid #99a;border-radius:6px;text-decoration:none\">{n}</a>",
                    esc(u)
                ))
                .collect::<String>(),
            esc(&link),
            esc(w.open),
            esc(&about),
            esc(&stop),
            esc(w.stop),
        );
        let subject = match &ticket {
            Some(t) if s.kind == SurveyKind::Csat => format!("{} [#{}]", w.subject, t.number),
            _ => w.subject.replace("{brand}", &brand),
        };
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
            subject,
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
        let kind = s.kind;
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
                            survey_kind: kind.as_str().into(),
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
        s.nps.check()?;
        // A mailed link must reach this server from the customer's inbox.
        if (s.csat.enabled || s.nps.enabled) && self.public_url.is_none() {
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
        assert!(wording("ru").subject.contains("Оцените"));
        assert!(wording("th-TH").subject.contains("คะแนน"));
        assert_eq!(wording("de").subject, "How did we do?");
        for l in ["en", "ru", "th"] {
            assert!(nps_wording(l).lead.contains("{brand}"), "{l}");
            assert!(chat_wording(l).contains('5'), "{l}");
        }
    }
}
