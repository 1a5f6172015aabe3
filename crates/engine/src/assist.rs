//! The seam to the answer bot. Models live above the engine (the `assist`
//! crate) and are derived data: each node trains its own from the workspace's
//! FAQ entries and published public articles, and a stamp of those rows tells
//! it when to train again. The engine owns the decision around the model:
//! settings, a customer asking for a person, the threshold, which translation
//! to answer with, where a hand-off goes.

use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::assist::{AssistSettings, HandoffReason, MAX_TEXT};
use domain::ids::*;
use domain::message;
use domain::ticket::Channel;
use std::collections::{HashMap, HashSet};
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

/// Texts' embeddings from the workspace's provider (normalised), and how
/// much they count beside the words.
#[derive(Clone, Debug, Default)]
pub struct TextVectors {
    pub by_text: HashMap<String, Arc<[f32]>>,
    pub weight: f32,
}

/// Models per workspace, as the `assist` crate keeps them.
pub trait Assistant: Send + Sync + 'static {
    /// The stamp of the data the workspace's model was trained on, if any.
    fn stamp(&self, ws: WorkspaceId, kind: ModelKind) -> Option<String>;
    /// The texts every model learns as none of its labels (small talk); a
    /// hybrid needs their embeddings too.
    fn background(&self) -> Vec<String>;
    /// Trains the workspace's model on `docs` and keeps it under `stamp`;
    /// with `dense` (every doc's and background text's embedding) a hybrid
    /// of words and embeddings. CPU-heavy: called on a blocking thread.
    fn train(
        &self,
        ws: WorkspaceId,
        kind: ModelKind,
        stamp: String,
        docs: Vec<AnswerDoc>,
        dense: Option<TextVectors>,
    );
    /// Whether the workspace's model reads embeddings beside words.
    fn hybrid(&self, ws: WorkspaceId, kind: ModelKind) -> bool;
    /// The labels most likely meant by `text` (with its embedding, for a
    /// hybrid), best first. A key of the model's own (no answer, no
    /// category: small talk) may come first.
    fn guesses(
        &self,
        ws: WorkspaceId,
        kind: ModelKind,
        text: &str,
        embedding: Option<&[f32]>,
        limit: usize,
    ) -> Vec<Guess>;
    /// Language, a request for a person, urgency and sentiment.
    fn read(&self, text: &str) -> Reading;
}

/// Models being trained in the background on this node, and those trained
/// on words alone because the embeddings provider failed (tried again after
/// [`RETRY_EMBEDDINGS`]).
#[derive(Clone, Default)]
pub struct Training {
    running: Arc<Mutex<HashSet<(WorkspaceId, ModelKind)>>>,
    /// Per model, held while it is trained for a caller that waits for it:
    /// callers that arrive meanwhile find it trained instead of training it
    /// again. One lock per model, so a workspace whose provider is slow never
    /// holds up another's.
    waited: Arc<Mutex<HashMap<(WorkspaceId, ModelKind), Turn>>>,
    degraded: Arc<Mutex<HashMap<(WorkspaceId, ModelKind), std::time::Instant>>>,
}

/// A lock taken by one waited-for training of a model.
type Turn = Arc<tokio::sync::Mutex<()>>;

/// How long a model trained on words alone for want of embeddings waits
/// before the provider is tried again.
const RETRY_EMBEDDINGS: std::time::Duration = std::time::Duration::from_secs(300);

impl Training {
    fn begin(&self, key: (WorkspaceId, ModelKind)) -> bool {
        self.running
            .lock()
            .map(|mut s| s.insert(key))
            .unwrap_or(false)
    }
    fn end(&self, key: (WorkspaceId, ModelKind)) {
        if let Ok(mut s) = self.running.lock() {
            s.remove(&key);
        }
    }
    /// The lock a waited-for training of `key` takes.
    fn turn(&self, key: (WorkspaceId, ModelKind)) -> Turn {
        match self.waited.lock() {
            Ok(mut m) => m.entry(key).or_default().clone(),
            // A poisoned map only loses the sharing: train under a lock of one's own.
            Err(_) => Arc::default(),
        }
    }
    fn set_degraded(&self, key: (WorkspaceId, ModelKind), degraded: bool) {
        if let Ok(mut d) = self.degraded.lock() {
            if degraded {
                d.insert(key, std::time::Instant::now());
            } else {
                d.remove(&key);
            }
        }
    }
    /// Whether a model trained without its embeddings is due another try.
    fn retry_due(&self, key: (WorkspaceId, ModelKind)) -> bool {
        self.degraded
            .lock()
            .map(|d| d.get(&key).is_some_and(|t| t.elapsed() >= RETRY_EMBEDDINGS))
            .unwrap_or(false)
    }
}

/// An FAQ entry or article an answer was made from.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    pub faq_id: Option<FaqId>,
    pub article_id: Option<ArticleId>,
    pub title: String,
    pub url: Option<String>,
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
        /// Written by the workspace's chat model from `sources` (cited in
        /// the text as `[1]`, `[2]` …), not taken from one entry.
        generated: bool,
        sources: Vec<Source>,
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
    /// The whole answer or article (Markdown), for a chat model to read.
    body: String,
    url: Option<String>,
    lang: String,
}

/// Most sources a generated answer is written from, and how much of each
/// the chat model reads.
const MAX_SOURCES: usize = 3;
const SOURCE_CHARS: usize = 2_000;
/// The least confidence at which one of the model's guesses is a source for a
/// generated answer (a lexical match in the knowledge base is one anyway).
const SOURCE_FLOOR: f32 = 0.1;
/// What a chat model answers when the sources do not say.
const NO_ANSWER: &str = "NO_ANSWER";
/// The longest generated answer kept.
const MAX_GENERATED: usize = 3_000;

/// The language's English name, for a chat model's instructions.
fn language_name(code: &str) -> &str {
    match code {
        "ru" => "Russian",
        "en" => "English",
        "th" => "Thai",
        "uk" => "Ukrainian",
        "de" => "German",
        "fr" => "French",
        "es" => "Spanish",
        other => other,
    }
}

/// The numbers `[n]` (1 ≤ n ≤ `count`) a reply cites, in order, each once.
fn citations(reply: &str, count: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut rest = reply;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else { break };
        for part in rest[..close].split(',') {
            if let Ok(n) = part.trim().parse::<usize>()
                && (1..=count).contains(&n)
                && !out.contains(&n)
            {
                out.push(n);
            }
        }
        rest = &rest[close..];
    }
    out
}

/// `reply` with its citations renumbered: source `cited[i]` becomes `[i+1]`
/// (the sources kept are the cited ones, in the order first cited).
fn renumber(reply: &str, cited: &[usize]) -> String {
    let mut out = String::with_capacity(reply.len());
    let mut rest = reply;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else { break };
        let inner = &rest[..close];
        let mapped: Option<Vec<String>> = inner
            .split(',')
            .map(|p| {
                p.trim()
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| cited.iter().position(|c| *c == n))
                    .map(|i| (i + 1).to_string())
            })
            .collect();
        match mapped {
            Some(m) => out.push_str(&m.join(", ")),
            None => out.push_str(inner),
        }
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// The instructions a chat model answers under: the sources only, cited, or
/// the refusal word.
fn grounded_prompt(workspace: &str, lang: &str, sources: &[(Source, String)]) -> String {
    let mut p = format!(
        "You answer customers of {workspace} on its support chat. Answer the customer's \
         message using ONLY the numbered sources below. Cite every source you use as [1], \
         [2] and so on. If the sources do not answer the message, or it is not a question \
         the sources are about, reply with exactly {NO_ANSWER} and nothing else. Never make \
         up facts, prices, dates or links. Reply in {}, in at most five sentences.\n\nSources:\n",
        language_name(lang)
    );
    for (i, (s, body)) in sources.iter().enumerate() {
        p.push_str(&format!("\n[{}] {}\n{}\n", i + 1, s.title, body));
    }
    p
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
    ///
    /// An article that one FAQ group links to is learnt as part of that
    /// group, not as a label of its own: the two give the same answer (the
    /// entry, with the article's link), and as rivals they split the margin
    /// — an article titled as the entry's question left the question itself
    /// under the threshold. An article several groups link to stays a label
    /// of its own: joining it to one of them would answer the others' questions
    /// with it.
    async fn answer_docs(&self, ws: WorkspaceId) -> Result<Vec<AnswerDoc>, EngineError> {
        let mut c = self.store.read().await?;
        let faqs = db::faq_texts(&mut c.conn(), ws).await?;
        let articles = db::article_texts(&mut c.conn(), ws).await?;
        let group_of: HashMap<ArticleId, GroupId> =
            articles.iter().map(|a| (a.id, a.group_id)).collect();
        // The one FAQ group linking each article group; `None` once a second
        // group links it too.
        let mut sole: HashMap<GroupId, Option<GroupId>> = HashMap::new();
        for f in &faqs {
            if let Some(g) = f.article_id.and_then(|a| group_of.get(&a)) {
                let by = sole.entry(*g).or_insert(Some(f.group_id));
                if *by != Some(f.group_id) {
                    *by = None;
                }
            }
        }
        let mut docs: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for f in faqs {
            let texts = docs.entry(format!("faq:{}", f.group_id)).or_default();
            texts.push(f.question);
            texts.extend(f.phrasings);
        }
        for a in articles {
            let key = match sole.get(&a.group_id) {
                Some(Some(faq)) => format!("faq:{faq}"),
                _ => format!("article:{}", a.group_id),
            };
            docs.entry(key).or_default().extend(article_sentences(
                &a.title,
                &a.body,
                ARTICLE_SENTENCES,
            ));
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

    /// What a model of `kind` learns from, with its stamp; the embeddings
    /// it reads are part of it.
    async fn model_stamp(
        &self,
        ws: WorkspaceId,
        kind: ModelKind,
        active: &crate::ai::Active,
    ) -> Result<String, EngineError> {
        let mut c = self.store.read().await?;
        let data = match kind {
            ModelKind::Answers => format!(
                "{}:{}",
                db::stamp(&mut c.conn(), ws).await?,
                store::flows::stamp(&mut c.conn(), ws).await?
            ),
            ModelKind::Categories => store::triage::stamp(&mut c.conn(), ws).await?,
        };
        Ok(format!("{data}|{}", active.embeddings_stamp()))
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
        let active = self.active_providers(ws).await?;
        self.ensure_model_with(ws, kind, fresh, &active).await
    }

    /// [`Engine::ensure_model`] with the workspace's providers at hand.
    pub(crate) async fn ensure_model_with(
        &self,
        ws: WorkspaceId,
        kind: ModelKind,
        fresh: bool,
        active: &crate::ai::Active,
    ) -> Result<bool, EngineError> {
        let Some(a) = self.assistant.clone() else {
            return Ok(false);
        };
        let stamp = self.model_stamp(ws, kind, active).await?;
        let current = a.stamp(ws, kind);
        let retry = self.assist_training.retry_due((ws, kind));
        if current.as_deref() == Some(stamp.as_str()) && !retry {
            return Ok(true);
        }
        if current.is_some() && (!fresh || retry) {
            if self.assist_training.begin((ws, kind)) {
                let engine = self.clone();
                let active = active.clone();
                tokio::spawn(async move {
                    if let Err(e) = engine.train_model(ws, kind, stamp, &active).await {
                        tracing::warn!(error = %e, "training a model failed");
                    }
                    engine.assist_training.end((ws, kind));
                });
            }
            return Ok(true);
        }
        let turn = self.assist_training.turn((ws, kind));
        let _turn = turn.lock().await;
        if a.stamp(ws, kind).as_deref() == Some(stamp.as_str())
            && !self.assist_training.retry_due((ws, kind))
        {
            return Ok(true);
        }
        self.train_model(ws, kind, stamp, active).await?;
        Ok(true)
    }

    /// Trains a model of `kind`: a hybrid of words and embeddings when the
    /// workspace has an embeddings provider that answers, else words alone
    /// (and the provider is tried again later).
    async fn train_model(
        &self,
        ws: WorkspaceId,
        kind: ModelKind,
        stamp: String,
        active: &crate::ai::Active,
    ) -> Result<(), EngineError> {
        let Some(a) = self.assistant.clone() else {
            return Ok(());
        };
        let docs = self.model_docs(ws, kind).await?;
        let started = std::time::Instant::now();
        let mut dense = None;
        if let Some(provider) = &active.embeddings {
            let texts: Vec<String> = docs
                .iter()
                .flat_map(|d| d.texts.iter().cloned())
                .chain(a.background())
                .collect();
            if texts.len() > crate::ai::MAX_EMBEDDED_TEXTS {
                tracing::warn!(workspace = %ws, texts = texts.len(), "too many texts to embed; the model reads words alone");
            } else {
                match self.embeddings_of(ws, provider, &texts).await {
                    Ok(by_text) => {
                        dense = Some(TextVectors {
                            by_text,
                            weight: provider.0.weight,
                        });
                    }
                    Err(e) => {
                        tracing::warn!(workspace = %ws, ?kind, error = %e, "embedding the model's texts failed; it reads words alone for now");
                    }
                }
            }
        }
        let degraded = active.embeddings.is_some() && dense.is_none();
        let n = docs.len();
        tokio::task::spawn_blocking(move || a.train(ws, kind, stamp, docs, dense))
            .await
            .map_err(|e| EngineError::Internal(format!("training a model: {e}")))?;
        self.assist_training.set_degraded((ws, kind), degraded);
        tracing::info!(workspace = %ws, ?kind, labels = n, hybrid = active.embeddings.is_some() && !degraded, ms = started.elapsed().as_millis() as u64, "model trained");
        Ok(())
    }

    /// The model's guesses for `text`, with its embedding when the model is
    /// a hybrid (words alone when the provider fails), and that embedding.
    pub(crate) async fn model_guesses(
        &self,
        ws: WorkspaceId,
        kind: ModelKind,
        text: &str,
        active: &crate::ai::Active,
        limit: usize,
    ) -> (Vec<Guess>, Option<Arc<[f32]>>) {
        let Some(a) = self.assistant.clone() else {
            return (Vec::new(), None);
        };
        let embedding = match &active.embeddings {
            Some(p) if a.hybrid(ws, kind) => self.embedding_of(ws, p, text).await,
            _ => None,
        };
        (
            a.guesses(ws, kind, text, embedding.as_deref(), limit),
            embedding,
        )
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
            return Err(EngineError::invalid("text", message::max_chars(MAX_TEXT)));
        }
        let visible =
            |c: char| !c.is_whitespace() && !c.is_control() && !domain::text::is_bidi_control(c);
        if !text.chars().any(visible) {
            return Err(EngineError::invalid("text", Code::CustomerWords));
        }
        let cleaned = domain::text::clean_body(text);
        let text = cleaned.trim();
        let lang = match lang {
            Some(l) => Some(
                domain::identity::normalize_language(&l)
                    .map_err(|e| EngineError::invalid("lang", e.message()))?,
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
        let active = self.active_providers(ws).await?;
        if !self
            .ensure_model_with(ws, ModelKind::Answers, false, &active)
            .await?
        {
            let why = if asked {
                HandoffReason::AskedForHuman
            } else {
                HandoffReason::NoKnowledge
            };
            return Ok((handoff(why, f32::from(u8::from(asked))), Vec::new()));
        }
        let (found, embedding) = self
            .model_guesses(ws, ModelKind::Answers, text, &active, 5)
            .await;
        // A key without a kind is the model's own "none of these" (small talk).
        let mut guesses = Vec::new();
        for g in found.iter().filter(|g| g.key.contains(':')).take(3) {
            if let Some(a) = self.answer_for(ws, &g.key, &lang).await? {
                guesses.push((a.title, g.confidence));
            }
        }
        if asked {
            return Ok((handoff(HandoffReason::AskedForHuman, 1.0), guesses));
        }
        let Some(best) = found.first().cloned() else {
            return Ok((handoff(HandoffReason::NoKnowledge, 0.0), guesses));
        };
        if !best.key.contains(':') || best.confidence < settings.threshold {
            let confidence = if best.key.contains(':') {
                best.confidence
            } else {
                0.0
            };
            if let Some(chat) = &active.chat
                && let Some(d) = self
                    .generate(ws, text, &lang, &found, embedding.as_deref(), &active, chat)
                    .await?
            {
                return Ok((d, guesses));
            }
            return Ok((handoff(HandoffReason::LowConfidence, confidence), guesses));
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
                sources: vec![Source {
                    faq_id: a.faq_id,
                    article_id: a.article_id,
                    title: a.title,
                    url: a.url.clone(),
                }],
                faq_id: a.faq_id,
                article_id: a.article_id,
                answer: a.text,
                url: a.url,
                confidence: best.confidence,
                lang: a.lang,
                generated: false,
            },
            // Removed since the model was trained: nothing to answer with.
            None => handoff(HandoffReason::LowConfidence, 0.0),
        };
        Ok((decision, guesses))
    }

    /// An answer written by the workspace's chat model from the FAQ entries
    /// and articles found for `text` — the model's guesses and the knowledge
    /// base's lexical matches, ordered by embedding similarity too when the
    /// workspace has embeddings — citing them. `None` (a hand-off) when
    /// nothing relevant was found, the model says the sources do not answer,
    /// cites none of them, or fails.
    #[allow(clippy::too_many_arguments)]
    async fn generate(
        &self,
        ws: WorkspaceId,
        text: &str,
        lang: &str,
        found: &[Guess],
        embedding: Option<&[f32]>,
        active: &crate::ai::Active,
        chat: &(domain::assist::ChatProvider, Option<String>),
    ) -> Result<Option<Decision>, EngineError> {
        let mut keys: Vec<String> = found
            .iter()
            .filter(|g| {
                (g.key.starts_with("faq:") || g.key.starts_with("article:"))
                    && g.confidence >= SOURCE_FLOOR
            })
            .map(|g| g.key.clone())
            .collect();
        if let Some(search) = self.search.clone() {
            let (q, l) = (text.to_owned(), lang.to_owned());
            let hits = tokio::task::spawn_blocking(move || search.kb(ws, &q, Some(&l), true, 5))
                .await
                .map_err(|e| EngineError::Internal(e.to_string()))?;
            match hits {
                Ok(hits) => {
                    for h in hits {
                        let key = format!("{}:{}", h.kind, h.group_id);
                        if !keys.contains(&key) {
                            keys.push(key);
                        }
                    }
                }
                Err(e) => tracing::warn!(workspace = %ws, error = %e, "searching sources failed"),
            }
        }
        let mut sources: Vec<(Source, String)> = Vec::new();
        for key in &keys {
            if let Some(a) = self.answer_for(ws, key, lang).await? {
                let body = cut(&a.body, SOURCE_CHARS).to_owned();
                sources.push((
                    Source {
                        faq_id: a.faq_id,
                        article_id: a.article_id,
                        title: a.title,
                        url: a.url,
                    },
                    body,
                ));
            }
        }
        if let (Some(query), Some(provider)) = (embedding, &active.embeddings)
            && sources.len() > 1
        {
            let texts: Vec<String> = sources
                .iter()
                .map(|(s, b)| format!("{}\n{}", s.title, cut(b, 500)))
                .collect();
            match self.embeddings_of(ws, provider, &texts).await {
                Ok(vectors) => {
                    // Reciprocal-rank fusion of the lexical order and the
                    // embeddings' (Cormack et al., SIGIR 2009; k = 60).
                    let mut by_cosine: Vec<(usize, f32)> = texts
                        .iter()
                        .enumerate()
                        .map(|(i, t)| {
                            let c = vectors.get(t).map_or(0.0, |v| crate::ai::cosine(query, v));
                            (i, c)
                        })
                        .collect();
                    by_cosine.sort_by(|a, b| b.1.total_cmp(&a.1));
                    let mut fused: Vec<(usize, f32)> = (0..sources.len())
                        .map(|i| {
                            let semantic = by_cosine.iter().position(|(j, _)| *j == i).unwrap_or(i);
                            (i, 1.0 / (61.0 + i as f32) + 1.0 / (61.0 + semantic as f32))
                        })
                        .collect();
                    fused.sort_by(|a, b| b.1.total_cmp(&a.1));
                    let mut taken: Vec<Option<(Source, String)>> =
                        sources.into_iter().map(Some).collect();
                    sources = fused
                        .iter()
                        .filter_map(|(i, _)| taken.get_mut(*i).and_then(Option::take))
                        .collect();
                }
                Err(e) => tracing::warn!(workspace = %ws, error = %e, "embedding sources failed"),
            }
        }
        sources.truncate(MAX_SOURCES);
        if sources.is_empty() {
            return Ok(None);
        }
        let workspace = {
            let mut c = self.store.read().await?;
            store::workspaces::by_id(&mut c.conn(), ws)
                .await?
                .map(|w| w.name)
                .unwrap_or_default()
        };
        let messages = [
            crate::ai::ChatMessage {
                role: "system",
                content: grounded_prompt(&workspace, lang, &sources),
            },
            crate::ai::ChatMessage {
                role: "user",
                content: text.to_owned(),
            },
        ];
        let reply = match crate::ai::complete(&chat.0, chat.1.as_deref(), &messages).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(workspace = %ws, error = %e, "the chat model failed; handing off");
                return Ok(None);
            }
        };
        let reply = domain::text::clean_body(&reply);
        let reply = cut(reply.trim(), MAX_GENERATED).trim().to_owned();
        let cited = citations(&reply, sources.len());
        if reply.is_empty() || reply.contains(NO_ANSWER) || cited.is_empty() {
            return Ok(None);
        }
        let reply = renumber(&reply, &cited);
        let cited: Vec<Source> = cited
            .into_iter()
            .filter_map(|n| sources.get(n - 1).map(|(s, _)| s.clone()))
            .collect();
        let first = cited.first().cloned();
        let confidence = found
            .iter()
            .find(|g| g.key.contains(':'))
            .map_or(0.0, |g| g.confidence);
        Ok(Some(Decision::Answer {
            faq_id: first.as_ref().and_then(|s| s.faq_id),
            article_id: first.as_ref().and_then(|s| s.article_id),
            url: first.and_then(|s| s.url),
            answer: reply,
            confidence,
            lang: lang.to_owned(),
            generated: true,
            sources: cited,
        }))
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
                    body: f.answer.clone(),
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
                    body: a.body.clone(),
                    url: Some(url(a)),
                    lang: a.lang.clone(),
                }))
            }
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citations_are_the_sources_a_reply_names() {
        assert_eq!(
            citations("Track it in My orders [2]. Returns take 14 days [1][2].", 3),
            [2, 1]
        );
        assert_eq!(citations("See [1, 3] and [7].", 3), [1, 3]);
        assert!(citations("No sources here [a] [0]", 3).is_empty());
        assert!(citations("unclosed [1", 3).is_empty());
        assert_eq!(
            renumber("Track it [3]. Returns [1, 3], see [x] [", &[3, 1]),
            "Track it [1]. Returns [2, 1], see [x] ["
        );
    }

    #[test]
    fn the_prompt_numbers_its_sources_and_names_the_refusal() {
        let s = |t: &str| Source {
            faq_id: None,
            article_id: None,
            title: t.into(),
            url: None,
        };
        let p = grounded_prompt(
            "Kolonka",
            "th",
            &[
                (s("Delivery"), "3 days".into()),
                (s("Returns"), "14 days".into()),
            ],
        );
        assert!(p.contains("[1] Delivery\n3 days") && p.contains("[2] Returns\n14 days"));
        assert!(p.contains(NO_ANSWER) && p.contains("Reply in Thai"));
    }
}
