//! The answer bot in conversations: in the chat widget and the messengers
//! (and on email when the workspace enables it) it takes the customer's turn
//! before people do. It answers from the FAQ and the articles when it is sure
//! enough and asks whether that helped; a "yes" resolves the conversation, a
//! "no", an unsure guess or a request for a person hands it to people — to
//! the team triage suggests (or the workspace's hand-off team), with its
//! guesses in an internal note.
//!
//! Invariants: the bot's part is a `bot_conversations` row per ticket, created
//! in the transaction that stores the customer's message (so routing, which
//! waits while the bot holds a conversation, never races it) and changed in
//! the transaction that stores what the bot said; a turn is taken once per
//! customer message (`last_message_id`), on any node, after any restart. Once
//! handed off — or once an agent stepped in — the bot says no more there.
//! Answers, "yes", "no" and hand-offs are events (`bot.answered`,
//! `bot.feedback`, `bot.handed_off`) for the containment KPI.

use crate::jobs::Job;
use crate::tickets::{TicketPatch, patch_ticket};
use crate::worker::Outcome;
use crate::{Engine, EngineError};
use domain::assist::{AssistSettings, BotState, HandoffReason, feedback};
use domain::event::{Actor, EventData};
use domain::ids::*;
use domain::ticket::{AuthorKind, Channel, Status, Visibility};
use store::Tx;
use store::bot::{self as db, BotConversation};
use store::tickets::{Message, Ticket};

/// Whether the bot takes customers' turns on `channel` under `s`.
pub fn speaks_on(s: &AssistSettings, channel: Channel) -> bool {
    match channel {
        Channel::Chat | Channel::Telegram | Channel::Whatsapp | Channel::Vk => s.bot_enabled,
        Channel::Email => s.bot_enabled && s.bot_on_email,
        _ => false,
    }
}

/// What the bot tells customers, by language (English when it has not theirs).
fn phrase(kind: &str, lang: &str) -> &'static str {
    let l = lang.split('-').next().unwrap_or(lang);
    match (kind, l) {
        ("ask", "ru") => "Это ответ на ваш вопрос? Ответьте «да» или «нет».",
        ("ask", "th") => "คำตอบนี้ตรงกับคำถามของคุณไหม ตอบ “ใช่” หรือ “ไม่”",
        ("ask", _) => "Did this answer your question? Reply “yes” or “no”.",
        ("thanks", "ru") => "Рады, что помогло! Пишите, если появятся вопросы.",
        ("thanks", "th") => "ยินดีที่ช่วยได้ หากมีคำถามเพิ่มเติม ส่งข้อความมาได้ตลอดเวลา",
        ("thanks", _) => "Glad it helped! Write again any time.",
        ("handoff", "ru") => "Передаю ваш вопрос специалисту — он ответит здесь же.",
        ("handoff", "th") => "กำลังส่งต่อคำถามของคุณให้เจ้าหน้าที่ เจ้าหน้าที่จะตอบกลับในแชทนี้",
        _ => "I'm passing your question to a colleague — they will answer here.",
    }
}

/// The replies a visitor may tap under the bot's `text`: "yes" and "no" in
/// the question's language when it asks whether its answer helped (the
/// words [`domain::assist::feedback`] reads), else none.
pub fn quick_replies(text: &str) -> &'static [&'static str] {
    let t = text.trim_end();
    if t.ends_with(phrase("ask", "ru")) {
        &["Да", "Нет"]
    } else if t.ends_with(phrase("ask", "th")) {
        &["ใช่", "ไม่"]
    } else if t.ends_with(phrase("ask", "en")) {
        &["Yes", "No"]
    } else {
        &[]
    }
}

/// Called where a customer's message is stored: the bot takes the turn when
/// it speaks on the channel and no person has the conversation yet.
pub(crate) async fn customer_wrote(
    tx: &mut Tx,
    t: &Ticket,
    m: &Message,
) -> Result<(), EngineError> {
    let ws = t.workspace_id;
    let settings = store::assist::settings(&mut tx.conn(), ws).await?;
    if !speaks_on(&settings, t.channel) {
        return Ok(());
    }
    let now = tx.now();
    let conv = db::get(&mut tx.conn(), ws, t.id).await?;
    let state = match conv.as_ref().map(|c| c.state) {
        Some(BotState::HandedOff) => return Ok(()),
        Some(s) => s,
        None => {
            if t.assignee_id.is_some() || db::agent_replied(&mut tx.conn(), ws, t.id).await? {
                return Ok(());
            }
            BotState::Bot
        }
    };
    // A resolved conversation the customer comes back to is the bot's again
    // (until it decides, routing waits).
    if conv.is_none() || state == BotState::Resolved {
        db::put(
            tx,
            &BotConversation {
                ticket_id: t.id,
                workspace_id: ws,
                state: BotState::Bot,
                last_message_id: conv.as_ref().and_then(|c| c.last_message_id),
                answer_key: conv.as_ref().and_then(|c| c.answer_key.clone()),
                flow: conv.as_ref().and_then(|c| c.flow.clone()),
                created_at: conv.as_ref().map_or(now, |c| c.created_at),
                updated_at: now,
            },
        )
        .await?;
    }
    Job::BotTurn {
        workspace_id: ws,
        message_id: m.id,
    }
    .enqueue(tx, now)
    .await?;
    Ok(())
}

/// Whether the bot holds the ticket's conversation (routing waits).
pub(crate) async fn holds(tx: &mut Tx, ws: WorkspaceId, t: TicketId) -> Result<bool, EngineError> {
    Ok(db::get(&mut tx.conn(), ws, t)
        .await?
        .is_some_and(|c| c.state.holds()))
}

/// What the bot does with one customer message.
enum Turn {
    Helpful,
    Answer {
        faq_id: Option<FaqId>,
        article_id: Option<ArticleId>,
        text: String,
        confidence: f32,
        key: Option<String>,
    },
    Handoff {
        reason: HandoffReason,
        confidence: f32,
        lang: String,
        guesses: Vec<(String, f32)>,
    },
    /// A guided flow: started (`start`: its key) or moved on by the reply.
    Flow {
        start: Option<String>,
        reply: Option<String>,
        confidence: f32,
        lang: String,
    },
}

impl Engine {
    /// The bot's turn on a customer's message (the `bot_turn` job).
    pub(crate) async fn bot_turn(
        &self,
        ws: WorkspaceId,
        id: MessageId,
    ) -> Result<Outcome, EngineError> {
        let (message, ticket, conv, language) = {
            let mut c = self.store.read().await?;
            let Some(m) = store::tickets::message(&mut c.conn(), ws, id).await? else {
                return Ok(Outcome::Done);
            };
            let Some(t) = store::tickets::get(&mut c.conn(), ws, m.ticket_id).await? else {
                return Ok(Outcome::Done);
            };
            let conv = db::get(&mut c.conn(), ws, t.id).await?;
            let language = store::customers::language(&mut c.conn(), ws, t.customer_id).await?;
            (m, t, conv, language)
        };
        // One turn per message; a turn on a later message (jobs of a burst
        // may run in any order) stands for the earlier ones.
        let Some(conv) =
            conv.filter(|c| c.state.holds() && c.last_message_id.is_none_or(|l| l < id))
        else {
            return Ok(Outcome::Done);
        };
        // Triage first: a hand-off goes to the team it suggests.
        if let Err(e) = self.triage_message(ws, id).await {
            tracing::warn!(message = %id, error = %e, "triage before the bot's turn failed");
        }
        let text = message.body_text.trim().to_owned();
        let lang = language.clone().unwrap_or_else(|| "en".into());
        let in_flow = conv.flow.is_some();
        let asks = self.read_text(&text).is_some_and(|r| r.asks_for_human);
        let turn = match (conv.state, feedback(&text)) {
            // In a flow, a reply answers its question — unless it asks for a
            // person, which is possible at every step.
            _ if in_flow && asks => Turn::Handoff {
                reason: HandoffReason::AskedForHuman,
                confidence: 1.0,
                lang,
                guesses: Vec::new(),
            },
            _ if in_flow => Turn::Flow {
                start: None,
                reply: Some(text.clone()),
                confidence: 1.0,
                lang,
            },
            (BotState::AwaitingFeedback, Some(true)) => Turn::Helpful,
            (BotState::AwaitingFeedback, Some(false)) => Turn::Handoff {
                reason: HandoffReason::NotHelpful,
                confidence: 0.0,
                lang,
                guesses: Vec::new(),
            },
            // A photo or a file without words: nothing the bot can read;
            // people take it, quietly.
            _ if text.is_empty() => Turn::Handoff {
                reason: HandoffReason::NoKnowledge,
                confidence: 0.0,
                lang,
                guesses: Vec::new(),
            },
            _ => {
                let (d, guesses) = self
                    .decide(ws, &text, language, Some(ticket.channel))
                    .await?;
                match d {
                    crate::assist::Decision::Answer {
                        faq_id,
                        article_id,
                        answer,
                        url,
                        confidence,
                        lang,
                        generated,
                        sources,
                    } => {
                        let mut text = answer;
                        if generated {
                            // The reply cites its sources by number: say which.
                            for (i, s) in sources.iter().enumerate() {
                                text.push_str(&format!("\n[{}] {}", i + 1, s.title));
                                if let Some(u) = &s.url {
                                    text.push_str(" — ");
                                    text.push_str(u);
                                }
                            }
                        } else if let Some(u) = url {
                            text.push_str("\n\n");
                            text.push_str(&u);
                        }
                        text.push_str("\n\n");
                        text.push_str(phrase("ask", &lang));
                        Turn::Answer {
                            faq_id,
                            article_id,
                            text,
                            confidence,
                            key: faq_id
                                .map(|f| format!("faq:{f}"))
                                .or(article_id.map(|a| format!("article:{a}"))),
                        }
                    }
                    crate::assist::Decision::Handoff {
                        reason,
                        confidence,
                        lang,
                        ..
                    } => Turn::Handoff {
                        reason,
                        confidence,
                        lang,
                        guesses,
                    },
                    crate::assist::Decision::Flow {
                        key,
                        confidence,
                        lang,
                    } => Turn::Flow {
                        start: Some(key),
                        reply: None,
                        confidence,
                        lang,
                    },
                }
            }
        };
        self.store
            .write(move |tx| Box::pin(async move { take(tx, ws, ticket.id, id, turn).await }))
            .await?;
        Ok(Outcome::Done)
    }

    /// The bot's turn failed for good: people take the conversation, so it is
    /// never left waiting for a bot that will not answer.
    pub(crate) async fn bot_gave_up(
        &self,
        ws: WorkspaceId,
        id: MessageId,
    ) -> Result<(), EngineError> {
        let ticket = {
            let mut c = self.store.read().await?;
            store::tickets::message(&mut c.conn(), ws, id)
                .await?
                .map(|m| m.ticket_id)
        };
        let Some(ticket) = ticket else { return Ok(()) };
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let turn = Turn::Handoff {
                        reason: HandoffReason::LowConfidence,
                        confidence: 0.0,
                        lang: "en".into(),
                        guesses: Vec::new(),
                    };
                    take(tx, ws, ticket, id, turn).await
                })
            })
            .await
    }
}

/// Writes the bot's turn, if it is still the bot's to take.
async fn take(
    tx: &mut Tx,
    ws: WorkspaceId,
    ticket: TicketId,
    message: MessageId,
    turn: Turn,
) -> Result<(), EngineError> {
    // Turns on two messages of one chat may run on two nodes at once: the
    // ticket's row orders them, so each sees what the other wrote.
    store::sla::lock_ticket(tx, ws, ticket).await?;
    let Some(mut conv) = db::get(&mut tx.conn(), ws, ticket).await? else {
        return Ok(());
    };
    if !conv.state.holds() || conv.last_message_id.is_some_and(|l| l >= message) {
        return Ok(());
    }
    let Some(t) = store::tickets::get(&mut tx.conn(), ws, ticket).await? else {
        return Ok(());
    };
    let now = tx.now();
    conv.last_message_id = Some(message);
    conv.updated_at = now;
    // An agent stepped in while the bot was thinking: it steps back, quietly.
    let agent_in = t.assignee_id.is_some() || db::agent_replied(&mut tx.conn(), ws, t.id).await?;
    let turn = if agent_in {
        Turn::Handoff {
            reason: HandoffReason::AgentJoined,
            confidence: 0.0,
            lang: String::new(),
            guesses: Vec::new(),
        }
    } else {
        turn
    };
    match turn {
        Turn::Helpful => {
            let lang = store::customers::language(&mut tx.conn(), ws, t.customer_id)
                .await?
                .unwrap_or_else(|| "en".into());
            crate::rules::post_as(
                tx,
                &t,
                Visibility::Public,
                phrase("thanks", &lang).to_owned(),
                Actor::Bot,
                AuthorKind::Bot,
            )
            .await?;
            tx.emit(
                ws,
                Actor::Bot,
                EventData::BotFeedback {
                    ticket_id: t.id,
                    helpful: true,
                },
            )
            .await?;
            conv.state = BotState::Resolved;
            db::put(tx, &conv).await?;
            if matches!(t.status, Status::New | Status::Open | Status::Pending) {
                let patch = TicketPatch {
                    status: Some(Status::Solved),
                    ..TicketPatch::default()
                }
                .checked()?;
                patch_ticket(tx, ws, t.id, Actor::Bot, patch).await?;
            }
        }
        Turn::Answer {
            faq_id,
            article_id,
            text,
            confidence,
            key,
        } => {
            let m = crate::rules::post_as(
                tx,
                &t,
                Visibility::Public,
                text,
                Actor::Bot,
                AuthorKind::Bot,
            )
            .await?;
            tx.emit(
                ws,
                Actor::Bot,
                EventData::BotAnswered {
                    ticket_id: t.id,
                    message_id: m,
                    faq_id,
                    article_id,
                    flow: None,
                    confidence: f64::from((confidence * 1000.0).round() / 1000.0),
                },
            )
            .await?;
            conv.state = BotState::AwaitingFeedback;
            conv.answer_key = key;
            db::put(tx, &conv).await?;
        }
        Turn::Flow {
            start,
            reply,
            confidence,
            lang,
        } => {
            let mut st = match (start, conv.flow.take()) {
                (Some(key), _) => domain::flow::FlowState {
                    key,
                    ..Default::default()
                },
                (None, Some(st)) => st,
                (None, None) => return Ok(()),
            };
            let spec = crate::flows::active(&mut tx.conn(), ws, &st.key).await?;
            let Some(spec) = spec else {
                // Switched off or removed mid-conversation: people take over.
                conv.state = BotState::HandedOff;
                db::put(tx, &conv).await?;
                return hand_off(
                    tx,
                    &t,
                    message,
                    HandoffReason::LowConfidence,
                    0.0,
                    &lang,
                    &[],
                    None,
                    true,
                )
                .await;
            };
            let name = store::customers::get(&mut tx.conn(), ws, t.customer_id)
                .await?
                .map(|c| domain::template::first_name(&c.name))
                .unwrap_or_default();
            let next =
                crate::flows::advance(tx, &t, &spec, &mut st, reply.as_deref(), &lang, &name)
                    .await?;
            let say =
                async |tx: &mut Tx, said: &[String]| -> Result<Option<MessageId>, EngineError> {
                    let mut last = None;
                    for text in said.iter().filter(|x| !x.trim().is_empty()) {
                        last = Some(
                            crate::rules::post_as(
                                tx,
                                &t,
                                Visibility::Public,
                                text.clone(),
                                Actor::Bot,
                                AuthorKind::Bot,
                            )
                            .await?,
                        );
                    }
                    Ok(last)
                };
            match next {
                crate::flows::Next::Wait(said) => {
                    say(tx, &said).await?;
                    conv.flow = Some(st);
                    conv.state = BotState::Bot;
                    db::put(tx, &conv).await?;
                }
                crate::flows::Next::Done { said, filed } => {
                    let mut said = said;
                    if !filed {
                        said.push(phrase("ask", &lang).to_owned());
                    }
                    let last = say(tx, &said).await?;
                    conv.flow = None;
                    if filed {
                        conv.state = BotState::HandedOff;
                        db::put(tx, &conv).await?;
                        let t = store::tickets::get(&mut tx.conn(), ws, t.id)
                            .await?
                            .ok_or(EngineError::NotFound)?;
                        hand_off(
                            tx,
                            &t,
                            message,
                            HandoffReason::FlowFiled,
                            confidence,
                            &lang,
                            &[],
                            None,
                            false,
                        )
                        .await?;
                    } else {
                        conv.state = BotState::AwaitingFeedback;
                        conv.answer_key = Some(format!("flow:{}", st.key));
                        db::put(tx, &conv).await?;
                        if let Some(m) = last {
                            tx.emit(
                                ws,
                                Actor::Bot,
                                EventData::BotAnswered {
                                    ticket_id: t.id,
                                    message_id: m,
                                    faq_id: None,
                                    article_id: None,
                                    flow: Some(st.key.clone()),
                                    confidence: f64::from((confidence * 1000.0).round() / 1000.0),
                                },
                            )
                            .await?;
                        }
                    }
                }
                crate::flows::Next::Handoff { said, team, stuck } => {
                    say(tx, &said).await?;
                    conv.flow = None;
                    conv.state = BotState::HandedOff;
                    db::put(tx, &conv).await?;
                    let reason = if stuck {
                        HandoffReason::LowConfidence
                    } else {
                        HandoffReason::AskedForHuman
                    };
                    hand_off(tx, &t, message, reason, confidence, &lang, &[], team, stuck).await?;
                }
            }
        }
        Turn::Handoff {
            reason,
            confidence,
            lang,
            guesses,
        } => {
            if reason == HandoffReason::NotHelpful {
                tx.emit(
                    ws,
                    Actor::Bot,
                    EventData::BotFeedback {
                        ticket_id: t.id,
                        helpful: false,
                    },
                )
                .await?;
            }
            conv.state = BotState::HandedOff;
            db::put(tx, &conv).await?;
            conv.flow = None;
            db::put(tx, &conv).await?;
            hand_off(
                tx, &t, message, reason, confidence, &lang, &guesses, None, true,
            )
            .await?;
        }
    }
    Ok(())
}

/// Gives the conversation to people: tells the customer (unless the bot never
/// really spoke: nothing to answer from, or an agent already there), leaves
/// agents a note with what it guessed, moves the ticket to the suggested team
/// and lets routing have it.
#[allow(clippy::too_many_arguments)]
async fn hand_off(
    tx: &mut Tx,
    t: &Ticket,
    message: MessageId,
    reason: HandoffReason,
    confidence: f32,
    lang: &str,
    guesses: &[(String, f32)],
    to: Option<TeamId>,
    line: bool,
) -> Result<(), EngineError> {
    let ws = t.workspace_id;
    let settings = store::assist::settings(&mut tx.conn(), ws).await?;
    let triage = store::triage::of_message(&mut tx.conn(), ws, message).await?;
    let team = to
        .or(triage.as_ref().and_then(|x| x.team_id))
        .or(settings.handoff_team_id);
    // A flow that filed the conversation said and noted all there was.
    let spoke = !matches!(
        reason,
        HandoffReason::NoKnowledge | HandoffReason::AgentJoined | HandoffReason::FlowFiled
    );
    if spoke {
        if line {
            crate::rules::post_as(
                tx,
                t,
                Visibility::Public,
                phrase("handoff", lang).to_owned(),
                Actor::Bot,
                AuthorKind::Bot,
            )
            .await?;
        }
        let mut note = format!("Bot → people: {}.", reason.as_str().replace('_', " "));
        if !guesses.is_empty() {
            note.push_str(" Best guesses: ");
            let list: Vec<String> = guesses
                .iter()
                .map(|(title, c)| format!("“{title}” {:.0} %", c * 100.0))
                .collect();
            note.push_str(&list.join("; "));
            note.push('.');
        }
        if let Some(x) = &triage {
            if let Some(cat) = &x.category {
                note.push_str(&format!(
                    " Triage: {cat} {:.0} %",
                    x.category_confidence * 100.0
                ));
            } else {
                note.push_str(" Triage: no category");
            }
            note.push_str(&format!(
                ", {}{}, priority {}.",
                x.sentiment,
                if x.urgent { ", urgent" } else { "" },
                x.priority.as_str()
            ));
        }
        crate::rules::post_as(
            tx,
            t,
            Visibility::Internal,
            note,
            Actor::Bot,
            AuthorKind::Bot,
        )
        .await?;
    }
    let moved = match team {
        Some(team) if t.team_id.is_none() && t.assignee_id.is_none() => {
            let exists = store::people::team_by_id(&mut tx.conn(), ws, team)
                .await?
                .is_some();
            if exists {
                let patch = TicketPatch {
                    team_id: Some(Some(team)),
                    ..TicketPatch::default()
                }
                .checked()?;
                patch_ticket(tx, ws, t.id, Actor::Bot, patch).await?;
            }
            exists
        }
        _ => false,
    };
    // A team change reaches routing as an event; otherwise it is asked here.
    if !moved {
        crate::routing::route_now(tx, ws, t.id).await?;
    }
    if reason != HandoffReason::NoKnowledge {
        let team_id = store::tickets::get(&mut tx.conn(), ws, t.id)
            .await?
            .and_then(|x| x.team_id);
        tx.emit(
            ws,
            Actor::Bot,
            EventData::BotHandedOff {
                ticket_id: t.id,
                reason: reason.as_str().to_owned(),
                team_id,
                confidence: f64::from((confidence * 1000.0).round() / 1000.0),
            },
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bot_speaks_where_it_is_let() {
        let on = AssistSettings::default();
        assert!(speaks_on(&on, Channel::Chat) && speaks_on(&on, Channel::Telegram));
        assert!(!speaks_on(&on, Channel::Email), "email only when enabled");
        assert!(!speaks_on(&on, Channel::Phone));
        let email = AssistSettings {
            bot_on_email: true,
            ..on
        };
        assert!(speaks_on(&email, Channel::Email));
        let off = AssistSettings {
            bot_enabled: false,
            bot_on_email: true,
            ..on
        };
        assert!(!speaks_on(&off, Channel::Chat) && !speaks_on(&off, Channel::Email));
    }

    #[test]
    fn the_feedback_question_offers_replies_the_bot_reads() {
        for lang in ["ru", "th", "en"] {
            let replies = quick_replies(&format!("Ответ.\n\n{}", phrase("ask", lang)));
            assert_eq!(replies.len(), 2, "{lang}");
            assert_eq!(domain::assist::feedback(replies[0]), Some(true), "{lang}");
            assert_eq!(domain::assist::feedback(replies[1]), Some(false), "{lang}");
        }
        assert!(quick_replies("Передаю ваш вопрос специалисту").is_empty());
    }

    #[test]
    fn phrases_fall_back_to_english() {
        assert!(phrase("ask", "ru-RU").contains("да"));
        assert!(phrase("ask", "de").contains("yes"));
        assert!(phrase("handoff", "th").contains("เจ้าหน้าที่"));
    }
}
