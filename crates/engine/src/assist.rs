//! The seam to the answer bot. Models live above the engine (the `assist`
//! crate) and are derived data: each node trains its own from the workspace's
//! FAQ entries and published public articles, and a stamp of those rows tells
//! it when to train again. The engine owns the decision around the model:
//! settings, a customer asking for a person, the threshold, which translation
//! to answer with, where a hand-off goes.

use crate::{Engine, EngineError, Principal};
use domain::assist::{AssistSettings, HandoffReason, MAX_TEXT};
use domain::ids::*;
use domain::ticket::Channel;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use store::assist as db;

/// The models a workspace has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// The bot's: FAQ groups and article groups.
    Answers,
    /// Triage's: the workspace's categories.
    Categories,
}

/// One label a model learns, and the texts it is recognised by.
#[derive(Clone, Debug)]
pub struct AnswerDoc {
    /// For answers `faq:{group id}` or `article:{group id}`; for categories
    /// the category's key.
    pub key: String,
    pub texts: Vec<String>,
}

/// A guess among the answers: its key and the chance it is right.
#[derive(Clone, Debug, PartialEq)]
pub struct Guess {
    pub key: String,
    pub confidence: f32,
}

/// A detected language.
#[derive(Clone, Debug, PartialEq)]
pub struct Language {
    pub code: String,
    pub name: String,
    pub confidence: f32,
}

/// What a text says besides its topic.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub language: Option<Language>,
    pub asks_for_human: bool,
    pub urgent: bool,
    pub urgency_confidence: f32,
    /// `negative`, `neutral` or `positive`.
    pub sentiment: String,
    pub sentiment_confidence: f32,
}

/// Models per workspace, as the `assist` crate keeps them.
pub trait Assistant: Send + Sync + 'static {
    /// The stamp of the data the workspace's model was trained on, if any.
    fn stamp(&self, ws: WorkspaceId, kind: ModelKind) -> Option<String>;
    /// Trains the workspace's model on `docs` and keeps it under `stamp`.
    /// CPU-heavy: called on a blocking thread.
    fn train(&self, ws: WorkspaceId, kind: ModelKind, stamp: String, docs: Vec<AnswerDoc>);
    /// The labels most likely meant by `text`, best first. A key of the
    /// model's own (no answer, no category: small talk) may come first.
    fn guesses(&self, ws: WorkspaceId, kind: ModelKind, text: &str, limit: usize) -> Vec<Guess>;
    /// Language, a request for a person, urgency and sentiment.
    fn read(&self, text: &str) -> Reading;
}

/// Models being trained in the background on this node.
#[derive(Clone, Default)]
pub struct Training(Arc<Mutex<HashSet<(WorkspaceId, ModelKind)>>>);

impl Training {
    fn begin(&self, key: (WorkspaceId, ModelKind)) -> bool {
        self.0.lock().map(|mut s| s.insert(key)).unwrap_or(false)
    }
    fn end(&self, key: (WorkspaceId, ModelKind)) {
        if let Ok(mut s) = self.0.lock() {
            s.remove(&key);
        }
    }
}

/// What the bot does with a customer's text.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Answer {
        faq_id: Option<FaqId>,
        article_id: Option<ArticleId>,
        answer: String,
        /// The article's address in the help center, when there is one.
        url: Option<String>,
        confidence: f32,
        lang: String,
    },
    Handoff {
        reason: HandoffReason,
        confidence: f32,
        lang: String,
        suggested_team_id: Option<TeamId>,
    },
    /// A guided flow fits: the bot leads the customer through it.
    Flow {
        key: String,
        confidence: f32,
        lang: String,
    },
}

/// What an FAQ entry or an article answers with, in one language.
struct Answer {
    faq_id: Option<FaqId>,
    article_id: Option<ArticleId>,
    /// The question or the article's title.
    title: String,
    text: String,
    url: Option<String>,
    lang: String,
}

/// Sentences of an article's Markdown the bot learns it by: the lines, markup
/// left out, cut at sentence ends, the short ones dropped.
pub fn article_sentences(title: &str, markdown: &str, most: usize) -> Vec<String> {
    let mut out = vec![title.to_owned()];
    for line in markdown.lines() {
        let line = line
            .trim()
            .trim_start_matches(['#', '>', '-', '*', '+', ' '])
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ')')
            .replace(['*', '_', '`'], "");
        for s in line.split_inclusive(['.', '!', '?']) {
            let s = s.trim();
            if s.split_whitespace().count() >= 3 || s.chars().count() >= 12 {
                out.push(s.to_owned());
            }
            if out.len() > most {
                return out;
            }
        }
    }
    out
}

/// Sentences per article the bot learns from.
const ARTICLE_SENTENCES: usize = 30;
/// The longest answer made from an article: its title and opening.
const ARTICLE_ANSWER_CHARS: usize = 300;

fn cut(text: &str, chars: usize) -> &str {
    match text.char_indices().nth(chars) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

impl Engine {
    pub async fn assist_settings(&self, p: &Principal) -> Result<AssistSettings, EngineError> {
        let mut c = self.store.read().await?;
        Ok(db::settings(&mut c.conn(), p.workspace_id).await?)
    }

    pub async fn save_assist_settings(
        &self,
        p: &Principal,
        s: AssistSettings,
    ) -> Result<AssistSettings, EngineError> {
        p.require_admin()?;
        let s = s.validated()?;
        if let Some(team) = s.handoff_team_id {
            self.team(p, team).await?;
        }
        let ws = p.workspace_id;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    db::put_settings(tx, ws, &s).await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(s)
    }

    /// What the bot learns from: each FAQ group's questions and phrasings in
    /// every language, each article group's titles and sentences.
    async fn answer_docs(&self, ws: WorkspaceId) -> Result<Vec<AnswerDoc>, EngineError> {
        let mut c = self.store.read().await?;
        let faqs = db::faq_texts(&mut c.conn(), ws).await?;
        let articles = db::article_texts(&mut c.conn(), ws).await?;
        let mut docs: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for f in faqs {
            let texts = docs.entry(format!("faq:{}", f.group_id)).or_default();
            texts.push(f.question);
            texts.extend(f.phrasings);
        }
        for a in articles {
            docs.entry(format!("article:{}", a.group_id))
                .or_default()
                .extend(article_sentences(&a.title, &a.body, ARTICLE_SENTENCES));
        }
        for f in store::flows::list(&mut c.conn(), ws).await? {
            if f.spec.active {
                let texts = docs.entry(format!("flow:{}", f.spec.key)).or_default();
                texts.push(f.spec.name);
                texts.extend(f.spec.phrases);
            }
        }
        Ok(docs
            .into_iter()
            .map(|(key, texts)| AnswerDoc { key, texts })
            .collect())
    }

    /// What a model of `kind` learns from, with its stamp.
    async fn model_stamp(&self, ws: WorkspaceId, kind: ModelKind) -> Result<String, EngineError> {
        let mut c = self.store.read().await?;
        Ok(match kind {
            ModelKind::Answers => format!(
                "{}:{}",
                db::stamp(&mut c.conn(), ws).await?,
                store::flows::stamp(&mut c.conn(), ws).await?
            ),
            ModelKind::Categories => store::triage::stamp(&mut c.conn(), ws).await?,
        })
    }

    async fn model_docs(
        &self,
        ws: WorkspaceId,
        kind: ModelKind,
    ) -> Result<Vec<AnswerDoc>, EngineError> {
        match kind {
            ModelKind::Answers => self.answer_docs(ws).await,
            ModelKind::Categories => self.category_docs(ws).await,
        }
    }

    /// Makes sure this node has a model of `kind` for `ws`: trains one now if
    /// it has none, or when the data changed since — at once if `fresh` (a
    /// job that can wait for it), else in the background, answering meanwhile
    /// from the one it has (a customer waiting). `false` when no assistant is
    /// installed.
    pub async fn ensure_model(
        &self,
        ws: WorkspaceId,
        kind: ModelKind,
        fresh: bool,
    ) -> Result<bool, EngineError> {
        let Some(a) = self.assistant.clone() else {
            return Ok(false);
        };
        let stamp = self.model_stamp(ws, kind).await?;
        let current = a.stamp(ws, kind);
        if current.as_deref() == Some(stamp.as_str()) {
            return Ok(true);
        }
        if current.is_some() && !fresh {
            if self.assist_training.begin((ws, kind)) {
                let engine = self.clone();
                tokio::spawn(async move {
                    if let Err(e) = engine.train_model(ws, kind, stamp).await {
                        tracing::warn!(error = %e, "training a model failed");
                    }
                    engine.assist_training.end((ws, kind));
                });
            }
            return Ok(true);
        }
        self.train_model(ws, kind, stamp).await?;
        Ok(true)
    }

    async fn train_model(
        &self,
        ws: WorkspaceId,
        kind: ModelKind,
        stamp: String,
    ) -> Result<(), EngineError> {
        let Some(a) = self.assistant.clone() else {
            return Ok(());
        };
        let docs = self.model_docs(ws, kind).await?;
        let started = std::time::Instant::now();
        let n = docs.len();
        tokio::task::spawn_blocking(move || a.train(ws, kind, stamp, docs))
            .await
            .map_err(|e| EngineError::Internal(format!("training a model: {e}")))?;
        tracing::info!(workspace = %ws, ?kind, labels = n, ms = started.elapsed().as_millis() as u64, "model trained");
        Ok(())
    }

    /// Language, a request for a person, urgency and sentiment of `text`.
    pub fn read_text(&self, text: &str) -> Option<Reading> {
        self.assistant.as_ref().map(|a| a.read(cut(text, MAX_TEXT)))
    }

    /// The bot's decision for a customer's `text` on `channel`, in `lang`
    /// (detected when `None`).
    pub async fn assist_answer(
        &self,
        p: &Principal,
        text: &str,
        lang: Option<String>,
        channel: Option<Channel>,
    ) -> Result<Decision, EngineError> {
        let ws = p.workspace_id;
        if text.chars().count() > MAX_TEXT {
            return Err(EngineError::invalid(
                "text",
                format!("at most {MAX_TEXT} characters"),
            ));
        }
        let visible =
            |c: char| !c.is_whitespace() && !c.is_control() && !domain::text::is_bidi_control(c);
        if !text.chars().any(visible) {
            return Err(EngineError::invalid("text", "the customer's words"));
        }
        let cleaned = domain::text::clean_body(text);
        let text = cleaned.trim();
        let lang = match lang {
            Some(l) => Some(
                domain::identity::normalize_language(&l)
                    .map_err(|e| EngineError::invalid("lang", e.to_string()))?,
            ),
            None => None,
        };
        Ok(self.decide(ws, text, lang, channel).await?.0)
    }

    /// The bot's decision for `text` in workspace `ws`, with its best guesses
    /// (what each would answer with, and the chance) for the people it may
    /// hand off to.
    pub(crate) async fn decide(
        &self,
        ws: WorkspaceId,
        text: &str,
        lang: Option<String>,
        channel: Option<Channel>,
    ) -> Result<(Decision, Vec<(String, f32)>), EngineError> {
        let settings = {
            let mut c = self.store.read().await?;
            db::settings(&mut c.conn(), ws).await?
        };
        let reading = self.read_text(text);
        let lang = lang
            .or_else(|| {
                reading
                    .as_ref()
                    .and_then(|r| r.language.as_ref().map(|l| l.code.clone()))
            })
            .unwrap_or_else(|| "en".to_owned());
        let handoff = |reason, confidence| Decision::Handoff {
            reason,
            confidence,
            lang: lang.clone(),
            suggested_team_id: settings.handoff_team_id,
        };
        let on = match channel {
            Some(Channel::Email) => settings.bot_on_email,
            _ => settings.bot_enabled,
        };
        if !on {
            return Ok((handoff(HandoffReason::BotOff, 0.0), Vec::new()));
        }
        let asked = reading.as_ref().is_some_and(|r| r.asks_for_human);
        if !self.ensure_model(ws, ModelKind::Answers, false).await? {
            let why = if asked {
                HandoffReason::AskedForHuman
            } else {
                HandoffReason::NoKnowledge
            };
            return Ok((handoff(why, f32::from(u8::from(asked))), Vec::new()));
        }
        let found = self
            .assistant
            .as_ref()
            .map(|a| a.guesses(ws, ModelKind::Answers, text, 3))
            .unwrap_or_default();
        // A key without a kind is the model's own "none of these" (small talk).
        let mut guesses = Vec::new();
        for g in found.iter().filter(|g| g.key.contains(':')) {
            if let Some(a) = self.answer_for(ws, &g.key, &lang).await? {
                guesses.push((a.title, g.confidence));
            }
        }
        if asked {
            return Ok((handoff(HandoffReason::AskedForHuman, 1.0), guesses));
        }
        let Some(best) = found.into_iter().next() else {
            return Ok((handoff(HandoffReason::NoKnowledge, 0.0), guesses));
        };
        if !best.key.contains(':') {
            return Ok((handoff(HandoffReason::LowConfidence, 0.0), guesses));
        }
        if best.confidence < settings.threshold {
            return Ok((
                handoff(HandoffReason::LowConfidence, best.confidence),
                guesses,
            ));
        }
        if let Some(key) = best.key.strip_prefix("flow:") {
            return Ok((
                Decision::Flow {
                    key: key.to_owned(),
                    confidence: best.confidence,
                    lang,
                },
                guesses,
            ));
        }
        let decision = match self.answer_for(ws, &best.key, &lang).await? {
            Some(a) => Decision::Answer {
                faq_id: a.faq_id,
                article_id: a.article_id,
                answer: a.text,
                url: a.url,
                confidence: best.confidence,
                lang: a.lang,
            },
            // Removed since the model was trained: nothing to answer with.
            None => handoff(HandoffReason::LowConfidence, 0.0),
        };
        Ok((decision, guesses))
    }

    /// The answer behind a model's key, in `lang` when it is translated.
    async fn answer_for(
        &self,
        ws: WorkspaceId,
        key: &str,
        lang: &str,
    ) -> Result<Option<Answer>, EngineError> {
        let Some((kind, group)) = key.split_once(':') else {
            return Ok(None);
        };
        let Ok(group) = group.parse::<uuid::Uuid>().map(GroupId::from) else {
            return Ok(None);
        };
        let mut c = self.store.read().await?;
        let workspace = store::workspaces::by_id(&mut c.conn(), ws).await?;
        let ws_name = workspace
            .as_ref()
            .map(|w| w.name.clone())
            .unwrap_or_default();
        let fallback = workspace.map(|w| w.default_language).unwrap_or_default();
        let pick = |langs: &[String]| -> Option<usize> {
            langs
                .iter()
                .position(|l| l == lang)
                .or_else(|| langs.iter().position(|l| *l == fallback))
                .or(if langs.is_empty() { None } else { Some(0) })
        };
        let articles = db::article_texts(&mut c.conn(), ws).await?;
        let url = |a: &db::ArticleText| {
            format!(
                "{}/help/{ws_name}/{}/articles/{}-{}",
                self.public_url.as_deref().unwrap_or(""),
                a.lang,
                a.id,
                a.slug
            )
        };
        match kind {
            "faq" => {
                let faqs: Vec<db::FaqText> = db::faq_texts(&mut c.conn(), ws)
                    .await?
                    .into_iter()
                    .filter(|f| f.group_id == group)
                    .collect();
                let langs: Vec<String> = faqs.iter().map(|f| f.lang.clone()).collect();
                let Some(f) = pick(&langs).and_then(|i| faqs.get(i)) else {
                    return Ok(None);
                };
                let link = f
                    .article_id
                    .and_then(|id| articles.iter().find(|a| a.id == id))
                    .map(url);
                Ok(Some(Answer {
                    faq_id: Some(f.id),
                    article_id: f.article_id,
                    title: f.question.clone(),
                    text: f.answer.clone(),
                    url: link,
                    lang: f.lang.clone(),
                }))
            }
            "article" => {
                let group: Vec<&db::ArticleText> =
                    articles.iter().filter(|a| a.group_id == group).collect();
                let langs: Vec<String> = group.iter().map(|a| a.lang.clone()).collect();
                let Some(a) = pick(&langs).and_then(|i| group.get(i)) else {
                    return Ok(None);
                };
                let opening = article_sentences("", &a.body, 3)
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                let answer = format!("{}: {}", a.title, cut(&opening, ARTICLE_ANSWER_CHARS));
                Ok(Some(Answer {
                    faq_id: None,
                    article_id: Some(a.id),
                    title: a.title.clone(),
                    text: answer,
                    url: Some(url(a)),
                    lang: a.lang.clone(),
                }))
            }
            _ => Ok(None),
        }
    }
}
