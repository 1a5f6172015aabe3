//! The answer bot over HTTP: its decision for a text
//! (`POST /api/v1/assist/answer`), the workspace's bot settings
//! (`/api/v1/assist/settings`) and its optional model providers
//! (`/api/v1/assist/providers`).

use crate::AppState;
use crate::dto::channel_schema;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathParam, Query};
use axum::extract::State;
use domain::assist::{AssistSettings, ChatProvider, EmbeddingsProvider};
use domain::ids::TeamId;
use domain::ticket::Channel;
use engine::ai::{Probe, ProviderInput, ProvidersInput, ProvidersView};
use engine::assist::{Decision, Source};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

/// A customer's text to decide on.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerIn {
    /// What the customer wrote (1–4,000 characters).
    pub text: String,
    /// The customer's language; detected from the text when null.
    #[serde(default)]
    pub lang: Option<String>,
    /// Where the text came from: on `email` the bot answers only when the
    /// workspace enables it.
    #[serde(default)]
    #[schema(schema_with = channel_schema)]
    pub channel: Option<Channel>,
}

/// An FAQ entry or article an answer was made from.
#[derive(Serialize, ToSchema)]
pub struct AnswerSourceOut {
    pub faq_id: Option<Uuid>,
    pub article_id: Option<Uuid>,
    /// The FAQ question or the article's title.
    pub title: String,
    /// The article in the help center.
    pub url: Option<String>,
}

/// The bot's decision: an answer (from an FAQ entry or an article, with the
/// chance it is right) or a hand-off to a person, with why.
#[derive(Serialize, ToSchema)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum AnswerOut {
    Answer {
        faq_id: Option<Uuid>,
        article_id: Option<Uuid>,
        answer: String,
        /// The article in the help center, when the answer has one.
        url: Option<String>,
        /// The chance the best FAQ entry or article matches (for a generated
        /// answer, below the workspace's threshold).
        confidence: f32,
        lang: String,
        /// Written by the workspace's chat model from `sources`, which the
        /// text cites as `[1]`, `[2]` …; `false`: one entry's own answer.
        generated: bool,
        /// What the answer was made from (for a generated one, in the order
        /// the text cites them).
        sources: Vec<AnswerSourceOut>,
    },
    Handoff {
        /// `low_confidence`, `asked_for_human`, `no_knowledge` or `bot_off`.
        reason: String,
        confidence: f32,
        lang: String,
        suggested_team_id: Option<Uuid>,
    },
    /// A guided flow fits (in a conversation the bot would lead it).
    Flow {
        /// The flow's key.
        flow: String,
        confidence: f32,
        lang: String,
    },
}

fn source_out(s: Source) -> AnswerSourceOut {
    AnswerSourceOut {
        faq_id: s.faq_id.map(|i| i.0),
        article_id: s.article_id.map(|i| i.0),
        title: s.title,
        url: s.url,
    }
}

fn out(d: Decision) -> AnswerOut {
    let round = |c: f32| (c * 1000.0).round() / 1000.0;
    match d {
        Decision::Answer {
            faq_id,
            article_id,
            answer,
            url,
            confidence,
            lang,
            generated,
            sources,
        } => AnswerOut::Answer {
            faq_id: faq_id.map(|i| i.0),
            article_id: article_id.map(|i| i.0),
            answer,
            url,
            confidence: round(confidence),
            lang,
            generated,
            sources: sources.into_iter().map(source_out).collect(),
        },
        Decision::Handoff {
            reason,
            confidence,
            lang,
            suggested_team_id,
        } => AnswerOut::Handoff {
            reason: reason.as_str().to_owned(),
            confidence: round(confidence),
            lang,
            suggested_team_id: suggested_team_id.map(|i| i.0),
        },
        Decision::Flow {
            key,
            confidence,
            lang,
        } => AnswerOut::Flow {
            flow: key,
            confidence: round(confidence),
            lang,
        },
    }
}

#[utoipa::path(post, path = "/api/v1/assist/answer", tag = "assist", request_body = AnswerIn,
    responses((status = 200, body = AnswerOut), (status = 422, body = Problem)))]
pub async fn answer(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<AnswerIn>,
) -> ApiResult<Json<AnswerOut>> {
    let d = app
        .engine
        .assist_answer(&p, &b.text, b.lang, b.channel)
        .await?;
    Ok(Json(out(d)))
}

/// How the workspace's bot behaves.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssistSettingsIo {
    /// The bot speaks first in chat and the messengers.
    pub bot_enabled: bool,
    /// The bot also answers email tickets.
    pub bot_on_email: bool,
    /// The least confidence (0–1, the chance an answer is right) the bot
    /// answers at; below it, it hands off.
    pub threshold: f32,
    /// The team hand-offs go to when triage suggests none.
    pub handoff_team_id: Option<Uuid>,
}

fn settings_out(s: AssistSettings) -> AssistSettingsIo {
    AssistSettingsIo {
        bot_enabled: s.bot_enabled,
        bot_on_email: s.bot_on_email,
        threshold: s.threshold,
        handoff_team_id: s.handoff_team_id.map(|i| i.0),
    }
}

#[utoipa::path(get, path = "/api/v1/assist/settings", tag = "assist",
    responses((status = 200, body = AssistSettingsIo)))]
pub async fn get_settings(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<AssistSettingsIo>> {
    Ok(Json(settings_out(app.engine.assist_settings(&p).await?)))
}

#[utoipa::path(put, path = "/api/v1/assist/settings", tag = "assist", request_body = AssistSettingsIo,
    responses((status = 200, body = AssistSettingsIo), (status = 403, body = Problem, description = "Admins only"),
        (status = 404, body = Problem, description = "No such team"), (status = 422, body = Problem)))]
pub async fn put_settings(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<AssistSettingsIo>,
) -> ApiResult<Json<AssistSettingsIo>> {
    let s = app
        .engine
        .save_assist_settings(
            &p,
            AssistSettings {
                bot_enabled: b.bot_enabled,
                bot_on_email: b.bot_on_email,
                threshold: b.threshold,
                handoff_team_id: b.handoff_team_id.map(TeamId::from),
            },
        )
        .await?;
    Ok(Json(settings_out(s)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReplySuggestionQuery {
    /// How many suggestions: 1–20, default 5.
    #[param(minimum = 1, maximum = 20)]
    pub limit: Option<i64>,
}

/// A reply an agent may start from.
#[derive(Serialize, ToSchema)]
pub struct ReplySuggestionOut {
    /// `solution` (marked on a similar ticket), `reply` (the last reply on a
    /// similar solved ticket), `faq` or `article`.
    pub kind: String,
    /// The ticket's subject, the FAQ question or the article's title.
    pub title: String,
    /// What to insert into the reply, as plain text (at most 4,000 characters).
    pub text: String,
    /// The ticket a solution or reply comes from.
    pub ticket_id: Option<Uuid>,
    pub ticket_number: Option<i64>,
    pub message_id: Option<Uuid>,
    /// The FAQ entry or article.
    pub faq_id: Option<Uuid>,
    pub article_id: Option<Uuid>,
    /// A public article in the help center.
    pub url: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReplySuggestionList {
    pub items: Vec<ReplySuggestionOut>,
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/suggestions", tag = "assist",
    params(("id" = String, Path, description = "Id or number"), ReplySuggestionQuery),
    responses((status = 200, body = ReplySuggestionList, description = "Suggested replies: solutions marked on similar tickets, FAQ answers and articles, and replies that solved similar tickets, the kinds taken in turn"),
        (status = 403, body = Problem, description = "Only those who work tickets"),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn suggestions(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(t): PathParam,
    Query(q): Query<ReplySuggestionQuery>,
) -> ApiResult<Json<ReplySuggestionList>> {
    use engine::suggestions::{MAX_SUGGESTIONS, SuggestionKind};
    let limit = match q.limit {
        None => 5,
        Some(n) if (1..=MAX_SUGGESTIONS as i64).contains(&n) => n as usize,
        Some(_) => {
            return Err(ApiError::field(
                "limit",
                format!("from 1 to {MAX_SUGGESTIONS}"),
            ));
        }
    };
    let base = app.engine.public_url.clone().unwrap_or_default();
    let items = app
        .engine
        .ticket_suggestions(&p, crate::api::ticket_ref(&t)?, limit)
        .await?
        .into_iter()
        .map(|s| {
            let kb = s.kb_id.as_deref().and_then(|i| i.parse::<Uuid>().ok());
            ReplySuggestionOut {
                kind: s.kind.as_str().to_owned(),
                title: s.title,
                text: s.text,
                ticket_id: s.ticket.map(|x| x.0.0),
                ticket_number: s.ticket.map(|x| x.1),
                message_id: s.ticket.map(|x| x.2.0),
                faq_id: kb.filter(|_| s.kind == SuggestionKind::Faq),
                article_id: kb.filter(|_| s.kind == SuggestionKind::Article),
                url: s.path.map(|p| format!("{base}{p}")),
            }
        })
        .collect();
    Ok(Json(ReplySuggestionList { items }))
}

fn default_embeddings_timeout() -> u32 {
    10_000
}
fn default_chat_timeout() -> u32 {
    30_000
}
fn default_weight() -> f64 {
    4.0
}
fn default_max_tokens() -> u32 {
    500
}

/// An OpenAI-compatible embeddings endpoint as set.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingsProviderIn {
    /// The API's base (`{base_url}/embeddings` is called), e.g.
    /// `https://api.openai.com/v1` or a self-hosted server's.
    pub base_url: String,
    /// The model's name as the provider spells it.
    pub model: String,
    /// The key sent as `Authorization: Bearer …`: omitted or null keeps the
    /// stored one while `base_url` stays the same; `""` means none.
    #[serde(default)]
    pub api_key: Option<String>,
    /// How long one request may take (500–60,000 ms; default 10,000).
    #[serde(
        default = "default_embeddings_timeout",
        deserialize_with = "domain::number::whole"
    )]
    pub timeout_ms: u32,
    /// How much the embedding counts beside the words (0.1–16; default 4).
    #[serde(default = "default_weight")]
    pub weight: f64,
}

/// An OpenAI-compatible chat endpoint as set.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatProviderIn {
    /// The API's base (`{base_url}/chat/completions` is called).
    pub base_url: String,
    pub model: String,
    /// As for embeddings: omitted or null keeps the stored key while
    /// `base_url` stays; `""` means none.
    #[serde(default)]
    pub api_key: Option<String>,
    /// How long one answer may take (500–60,000 ms; default 30,000).
    #[serde(
        default = "default_chat_timeout",
        deserialize_with = "domain::number::whole"
    )]
    pub timeout_ms: u32,
    /// The longest reply asked for (16–4,000 tokens; default 500).
    #[serde(
        default = "default_max_tokens",
        deserialize_with = "domain::number::whole"
    )]
    pub max_tokens: u32,
}

/// The workspace's model providers: null switches one off.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvidersIn {
    #[serde(default)]
    pub embeddings: Option<EmbeddingsProviderIn>,
    #[serde(default)]
    pub chat: Option<ChatProviderIn>,
}

#[derive(Serialize, ToSchema)]
pub struct EmbeddingsProviderOut {
    pub base_url: String,
    pub model: String,
    /// Whether a key is stored (it is never shown again).
    pub api_key_set: bool,
    pub timeout_ms: u32,
    pub weight: f32,
}

#[derive(Serialize, ToSchema)]
pub struct ChatProviderOut {
    pub base_url: String,
    pub model: String,
    pub api_key_set: bool,
    pub timeout_ms: u32,
    pub max_tokens: u32,
}

/// The workspace's model providers; null: not used (the bot and triage work
/// offline).
#[derive(Serialize, ToSchema)]
pub struct ProvidersOut {
    pub embeddings: Option<EmbeddingsProviderOut>,
    pub chat: Option<ChatProviderOut>,
}

fn providers_out(v: ProvidersView) -> ProvidersOut {
    ProvidersOut {
        embeddings: v.providers.embeddings.map(|e| EmbeddingsProviderOut {
            base_url: e.base_url,
            model: e.model,
            api_key_set: v.embeddings_key_set,
            timeout_ms: e.timeout_ms,
            weight: e.weight,
        }),
        chat: v.providers.chat.map(|c| ChatProviderOut {
            base_url: c.base_url,
            model: c.model,
            api_key_set: v.chat_key_set,
            timeout_ms: c.timeout_ms,
            max_tokens: c.max_tokens,
        }),
    }
}

#[utoipa::path(get, path = "/api/v1/assist/providers", tag = "assist",
    responses((status = 200, body = ProvidersOut), (status = 403, body = Problem, description = "Admins only")))]
pub async fn get_providers(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<ProvidersOut>> {
    Ok(Json(providers_out(app.engine.assist_providers(&p).await?)))
}

#[utoipa::path(put, path = "/api/v1/assist/providers", tag = "assist", request_body = ProvidersIn,
    responses((status = 200, body = ProvidersOut),
        (status = 403, body = Problem, description = "Admins only"),
        (status = 409, body = Problem, description = "A new base_url without its api_key: a stored key is never sent to another address"),
        (status = 422, body = Problem)))]
pub async fn put_providers(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<ProvidersIn>,
) -> ApiResult<Json<ProvidersOut>> {
    // Compared before narrowing: 16.0000001 is over the limit though it
    // reads as 16 in single precision.
    if let Some(e) = &b.embeddings
        && !(0.1..=16.0).contains(&e.weight)
    {
        return Err(ApiError::field("weight", "a number from 0.1 to 16"));
    }
    let input = ProvidersInput {
        embeddings: b.embeddings.map(|e| ProviderInput {
            provider: EmbeddingsProvider {
                base_url: e.base_url,
                model: e.model,
                timeout_ms: e.timeout_ms,
                weight: e.weight as f32,
            },
            api_key: e.api_key,
        }),
        chat: b.chat.map(|c| ProviderInput {
            provider: ChatProvider {
                base_url: c.base_url,
                model: c.model,
                timeout_ms: c.timeout_ms,
                max_tokens: c.max_tokens,
            },
            api_key: c.api_key,
        }),
    };
    Ok(Json(providers_out(
        app.engine.save_assist_providers(&p, input).await?,
    )))
}

/// What one small request to a provider showed.
#[derive(Serialize, ToSchema)]
pub struct ProviderProbeOut {
    pub ok: bool,
    /// How long it took.
    pub millis: u64,
    /// The embeddings' length (embeddings only).
    pub dimensions: Option<usize>,
    /// Why it failed: a timeout, a refused connection, the provider's own
    /// error message, an answer off the protocol.
    pub error: Option<String>,
}

/// Each configured provider tried once; null: not configured.
#[derive(Serialize, ToSchema)]
pub struct ProvidersCheckOut {
    pub embeddings: Option<ProviderProbeOut>,
    pub chat: Option<ProviderProbeOut>,
}

fn probe_out(p: Probe) -> ProviderProbeOut {
    ProviderProbeOut {
        ok: p.ok,
        millis: p.millis,
        dimensions: p.dimensions,
        error: p.error,
    }
}

#[utoipa::path(post, path = "/api/v1/assist/providers/check", tag = "assist",
    responses((status = 200, body = ProvidersCheckOut, description = "Each provider asked once (an embedding of one sentence, a one-word reply), each within its timeout and at most 10 s"),
        (status = 403, body = Problem, description = "Admins only")))]
pub async fn check_providers(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<ProvidersCheckOut>> {
    let (embeddings, chat) = app.engine.check_assist_providers(&p).await?;
    Ok(Json(ProvidersCheckOut {
        embeddings: embeddings.map(probe_out),
        chat: chat.map(probe_out),
    }))
}
