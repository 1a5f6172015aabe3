//! Triage: every customer message is read for its language, the category it
//! is about (a model trained on the workspace's categories and the messages
//! agents sorted), urgency and sentiment, and given a suggested team and
//! priority. The `triage` consumer turns each customer message into a `triage`
//! job (so training and reading never hold the writer); the job stores the
//! result on the message and says so with `message.triaged`. An agent's
//! correction — or a ticket's category set by hand — is a label the next
//! model learns from.

use crate::assist::{AnswerDoc, ModelKind, article_sentences};
use crate::consumers::{Consumer, Start};
use crate::jobs::Job;
use crate::model::EventRecord;
use crate::tickets::TicketRef;
use crate::worker::Outcome;
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Message;
use domain::assist::{CategorySpec, MAX_CATEGORIES, MAX_TEXT, suggested_priority};
use domain::event::{Actor, EventData};
use domain::ids::*;
use domain::message;
use domain::ticket::AuthorKind;
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use store::Tx;
use store::triage::{self as db, Category, Triage};

/// Below this chance the category is left empty (the best guess is not
/// worth showing as the message's category).
const CATEGORY_FLOOR: f32 = 0.3;

pub struct Triager;

impl Consumer for Triager {
    fn name(&self) -> &'static str {
        "triage"
    }

    fn start(&self) -> Start {
        Start::Now
    }

    fn handle<'t>(
        &'t self,
        tx: &'t mut Tx,
        event: &'t EventRecord,
    ) -> BoxFuture<'t, Result<(), EngineError>> {
        Box::pin(async move {
            let ws = event.workspace_id;
            match &event.data {
                EventData::MessageAdded {
                    message_id,
                    author_kind: AuthorKind::Customer,
                    ..
                } => {
                    let now = tx.now();
                    Job::Triage {
                        workspace_id: ws,
                        message_id: *message_id,
                    }
                    .enqueue(tx, now)
                    .await?;
                    Ok(())
                }
                // An agent sorting a ticket by hand labels its first message.
                EventData::TicketUpdated { ticket_id, changes }
                    if matches!(event.actor, Actor::User(_)) =>
                {
                    let Some(to) = changes
                        .iter()
                        .find(|c| c.field == "category")
                        .and_then(|c| c.to.as_str().map(str::to_owned))
                    else {
                        return Ok(());
                    };
                    let first = store::tickets::messages(&mut tx.conn(), ws, *ticket_id, None, 20)
                        .await?
                        .into_iter()
                        .find(|m| m.author_kind == AuthorKind::Customer);
                    if let Some(m) = first {
                        let now = tx.now();
                        let text = cut(&m.body_text);
                        db::put_label(tx, ws, m.id, &to, text, now).await?;
                    }
                    Ok(())
                }
                _ => Ok(()),
            }
        })
    }
}

fn cut(text: &str) -> &str {
    match text.char_indices().nth(MAX_TEXT) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

impl Engine {
    /// What triage learns from: each category's name, description and
    /// examples, the messages agents filed under it, and the first messages of
    /// tickets people gave a category.
    pub(crate) async fn category_docs(
        &self,
        ws: WorkspaceId,
    ) -> Result<Vec<AnswerDoc>, EngineError> {
        let mut c = self.store.read().await?;
        let categories = db::categories(&mut c.conn(), ws).await?;
        let mut labels = db::labels(&mut c.conn(), ws).await?;
        labels.extend(db::ticket_labels(&mut c.conn(), ws).await?);
        let mut docs: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for cat in categories {
            let texts = docs.entry(cat.spec.key.clone()).or_default();
            texts.push(cat.spec.name.clone());
            texts.extend(
                article_sentences("", &cat.spec.description, 20)
                    .into_iter()
                    .filter(|s| !s.is_empty()),
            );
            texts.extend(cat.spec.examples);
        }
        for (category, text) in labels {
            // A label of a category since removed teaches nothing.
            if let Some(texts) = docs.get_mut(&category) {
                texts.push(text);
            }
        }
        Ok(docs
            .into_iter()
            .map(|(key, texts)| AnswerDoc { key, texts })
            .collect())
    }

    /// Reads one customer message (the `triage` job).
    pub(crate) async fn triage_message(
        &self,
        ws: WorkspaceId,
        id: MessageId,
    ) -> Result<Outcome, EngineError> {
        let (message, categories) = {
            let mut c = self.store.read().await?;
            if db::of_message(&mut c.conn(), ws, id).await?.is_some() {
                return Ok(Outcome::Done);
            }
            let m = store::tickets::message(&mut c.conn(), ws, id).await?;
            (m, db::categories(&mut c.conn(), ws).await?)
        };
        let Some(message) = message else {
            return Ok(Outcome::Done);
        };
        let Some(reading) = self.read_text(&message.body_text) else {
            return Ok(Outcome::Done);
        };
        let text = cut(&message.body_text);
        let mut best: Option<(String, f32)> = None;
        let active = self.active_providers(ws).await?;
        if !categories.is_empty()
            && self
                .ensure_model_with(ws, ModelKind::Categories, true, &active)
                .await?
        {
            best = self
                .model_guesses(ws, ModelKind::Categories, text, &active, 1)
                .await
                .0
                .into_iter()
                .next()
                .filter(|g| g.confidence >= CATEGORY_FLOOR)
                .filter(|g| categories.iter().any(|c| c.spec.key == g.key))
                .map(|g| (g.key, g.confidence));
        }
        let category = best
            .as_ref()
            .and_then(|(key, _)| categories.iter().find(|c| c.spec.key == *key));
        let negative = reading.sentiment == "negative";
        let priority = suggested_priority(
            category.and_then(|c| c.spec.priority),
            reading.urgent,
            negative,
        );
        let team_id = category.and_then(|c| c.spec.team_id);
        let lang = reading.language.as_ref().map(|l| l.code.clone());
        let round = |c: f32| (f64::from(c) * 1000.0).round() / 1000.0;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    let t = Triage {
                        message_id: message.id,
                        workspace_id: ws,
                        ticket_id: message.ticket_id,
                        lang: lang.clone(),
                        lang_confidence: round(
                            reading.language.as_ref().map_or(0.0, |l| l.confidence),
                        ),
                        category: best.as_ref().map(|b| b.0.clone()),
                        category_confidence: round(best.as_ref().map_or(0.0, |b| b.1)),
                        urgent: reading.urgent,
                        urgency_confidence: round(reading.urgency_confidence),
                        sentiment: reading.sentiment.clone(),
                        sentiment_confidence: round(reading.sentiment_confidence),
                        team_id,
                        priority,
                        corrected_by: None,
                        created_at: now,
                        updated_at: now,
                    };
                    if db::insert(tx, &t).await? {
                        tx.emit(
                            ws,
                            Actor::System,
                            EventData::MessageTriaged {
                                ticket_id: t.ticket_id,
                                message_id: t.message_id,
                                lang: t.lang.clone(),
                                category: t.category.clone(),
                                confidence: t.category_confidence,
                                urgent: t.urgent,
                                sentiment: t.sentiment.clone(),
                            },
                        )
                        .await?;
                    }
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(Outcome::Done)
    }

    /// Reads customers' messages triage has not (those written before it was
    /// set up, or before the consumer first ran), newest first, at most
    /// `limit`; how many it read.
    pub async fn triage_backlog(&self, p: &Principal, limit: usize) -> Result<usize, EngineError> {
        p.require_admin()?;
        let ws = p.workspace_id;
        let ids = {
            let mut c = self.store.read().await?;
            db::untriaged(&mut c.conn(), ws, limit.min(100_000) as i64).await?
        };
        for id in &ids {
            self.triage_message(ws, *id).await?;
        }
        Ok(ids.len())
    }

    pub async fn triage_categories(&self, p: &Principal) -> Result<Vec<Category>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(db::categories(&mut c.conn(), p.workspace_id).await?)
    }

    /// Creates a category (`id` None) or replaces one.
    pub async fn save_triage_category(
        &self,
        p: &Principal,
        id: Option<TriageCategoryId>,
        spec: CategorySpec,
    ) -> Result<Category, EngineError> {
        p.require_admin()?;
        let spec = spec.validated()?;
        if let Some(team) = spec.team_id {
            self.team(p, team).await?;
        }
        let existing = self.triage_categories(p).await?;
        if existing
            .iter()
            .any(|c| c.spec.key == spec.key && Some(c.id) != id)
        {
            return Err(EngineError::Conflict(
                Message::new(Code::TriageKeyTaken).with("key", format!("{:?}", spec.key)),
            ));
        }
        let current = match id {
            Some(id) => Some(
                existing
                    .iter()
                    .find(|c| c.id == id)
                    .cloned()
                    .ok_or(EngineError::NotFound)?,
            ),
            None if existing.len() >= MAX_CATEGORIES => {
                return Err(EngineError::Conflict(
                    Message::new(Code::CategoriesLimit).with("max_categories", MAX_CATEGORIES),
                ));
            }
            None => None,
        };
        let ws = p.workspace_id;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    let c = match current {
                        Some(mut c) => {
                            c.spec = spec;
                            c.updated_at = now;
                            db::update_category(tx, &c).await?;
                            c
                        }
                        None => {
                            let c = Category {
                                id: TriageCategoryId::new(),
                                workspace_id: ws,
                                spec,
                                created_at: now,
                                updated_at: now,
                            };
                            db::insert_category(tx, &c).await?;
                            c
                        }
                    };
                    Ok::<_, EngineError>(c)
                })
            })
            .await
    }

    pub async fn delete_triage_category(
        &self,
        p: &Principal,
        id: TriageCategoryId,
    ) -> Result<(), EngineError> {
        p.require_admin()?;
        let ws = p.workspace_id;
        let gone = self
            .store
            .write(move |tx| {
                Box::pin(
                    async move { Ok::<_, EngineError>(db::delete_category(tx, ws, id).await?) },
                )
            })
            .await?;
        if gone {
            Ok(())
        } else {
            Err(EngineError::NotFound)
        }
    }

    /// What triage read in a ticket's customer messages, oldest first.
    pub async fn ticket_triage(
        &self,
        p: &Principal,
        r: TicketRef,
    ) -> Result<Vec<Triage>, EngineError> {
        let ticket = self.ticket(p, r).await?.id;
        let mut c = self.store.read().await?;
        Ok(db::of_ticket(&mut c.conn(), p.workspace_id, ticket).await?)
    }

    /// An agent says what a message is about: the triage shows it, and the
    /// next model learns it.
    pub async fn correct_triage(
        &self,
        p: &Principal,
        r: TicketRef,
        message: MessageId,
        category: &str,
    ) -> Result<Triage, EngineError> {
        p.require_ticket_work()?;
        let ticket = self.ticket(p, r).await?.id;
        let ws = p.workspace_id;
        let categories = self.triage_categories(p).await?;
        if category.chars().count() > 200 {
            return Err(EngineError::invalid("category", message::max_chars(200)));
        }
        let key = domain::ticket::normalize_tag(category)
            .map_err(|_| EngineError::invalid("category", Code::TriageCategoryKey))?;
        let Some(cat) = categories.into_iter().find(|c| c.spec.key == key) else {
            return Err(EngineError::Conflict(
                Message::new(Code::NoCategory).with("key", format!("{:?}", key)),
            ));
        };
        let m = self.message(p, message).await?;
        if m.ticket_id != ticket {
            return Err(EngineError::NotFound);
        }
        let current = {
            let mut c = self.store.read().await?;
            db::of_message(&mut c.conn(), ws, message).await?
        };
        let Some(current) = current else {
            return Err(EngineError::Conflict(Code::NotTriaged.into()));
        };
        let by = p.user_id;
        let actor = p.actor();
        let text = cut(&m.body_text).to_owned();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    db::correct(tx, ws, message, &cat.spec.key, cat.spec.team_id, by, now).await?;
                    db::put_label(tx, ws, message, &cat.spec.key, &text, now).await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::TriageCorrected {
                            ticket_id: ticket,
                            message_id: message,
                            from: current.category.clone(),
                            to: cat.spec.key.clone(),
                        },
                    )
                    .await?;
                    let mut c = tx.conn();
                    db::of_message(&mut c, ws, message)
                        .await?
                        .ok_or(EngineError::NotFound)
                })
            })
            .await
    }
}
