//! Optional model providers: a workspace's OpenAI-compatible embeddings and
//! chat endpoints, their keys (sealed at rest, never shown again), and the two
//! calls made to them.
//!
//! Every call is bounded: the provider's own timeout covers the whole
//! exchange (connecting, sending, reading), at most [`MAX_EMBED_ANSWER`] or
//! [`MAX_CHAT_ANSWER`] bytes of an answer are read, redirects are not
//! followed. A failure is a [`ProviderError`] its caller degrades on — the
//! words-only model, a hand-off to a person — never a customer left waiting.

use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Message;
use domain::assist::{ChatProvider, EmbeddingsProvider, Providers};
use domain::ids::WorkspaceId;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Texts per embeddings request.
pub const EMBED_BATCH: usize = 64;
/// Most dimensions an embedding may have.
pub const MAX_DIMS: usize = 8_192;
/// Most bytes of one embeddings answer: a full batch of the largest
/// embeddings written as JSON numbers.
pub const MAX_EMBED_ANSWER: usize = 32 << 20;
/// Most bytes of one chat answer.
pub const MAX_CHAT_ANSWER: usize = 1 << 20;
/// Most texts one model's training has embedded; a workspace with more
/// trains on words alone.
pub const MAX_EMBEDDED_TEXTS: usize = 20_000;
/// Most floats the embeddings cache keeps on a node (32 MiB).
const CACHE_FLOATS: usize = 8 << 20;
/// How long connecting to a provider may take, within its timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a check of a provider waits.
const CHECK_TIMEOUT_MS: u32 = 10_000;
/// The longest API key kept.
pub const MAX_KEY: usize = 500;

/// What went wrong talking to a provider.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("no answer within {0} ms")]
    Timeout(u32),
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    #[error("the provider answered {status}: {detail}")]
    Status { status: u16, detail: String },
    #[error("the provider's answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the provider's answer does not follow the protocol: {0}")]
    Malformed(String),
}

/// The one client for providers: no redirects, connecting bounded; each
/// request carries its provider's timeout.
fn client() -> Result<&'static reqwest::Client, ProviderError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let c = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Otklik/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ProviderError::Unreachable(format!("no HTTP client: {e}")))?;
    Ok(CLIENT.get_or_init(|| c))
}

/// An error answer's message: OpenAI's `{"error": {"message"}}`, else the
/// start of the body.
fn error_detail(body: &[u8]) -> String {
    let text = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("error"))
                .or_else(|| v.get("detail"))
                .and_then(|m| m.as_str().map(str::to_owned))
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// POSTs `body` to `url` and reads at most `max` bytes of a 2xx answer, all
/// within `timeout_ms`.
async fn post_json(
    url: &str,
    key: Option<&str>,
    body: &serde_json::Value,
    timeout_ms: u32,
    max: usize,
) -> Result<Vec<u8>, ProviderError> {
    let exchange = async {
        let mut req = client()?.post(url).json(body);
        if let Some(k) = key.filter(|k| !k.is_empty()) {
            req = req.bearer_auth(k);
        }
        let mut res = req.send().await.map_err(|e| {
            if e.is_timeout() {
                ProviderError::Timeout(timeout_ms)
            } else {
                ProviderError::Unreachable(e.without_url().to_string())
            }
        })?;
        let status = res.status();
        if res.content_length().is_some_and(|n| n > max as u64) {
            return Err(ProviderError::TooLarge(max));
        }
        let mut buf = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| ProviderError::Unreachable(e.without_url().to_string()))?
        {
            if buf.len() + chunk.len() > max {
                return Err(ProviderError::TooLarge(max));
            }
            buf.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(ProviderError::Status {
                status: status.as_u16(),
                detail: error_detail(&buf),
            });
        }
        Ok(buf)
    };
    tokio::time::timeout(Duration::from_millis(u64::from(timeout_ms)), exchange)
        .await
        .map_err(|_| ProviderError::Timeout(timeout_ms))?
}

/// `v` scaled to length 1 (a zero vector stays zero).
fn normalized(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
    v
}

/// The cosine of two normalised vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The embeddings of `texts` (one request; at most [`EMBED_BATCH`] texts),
/// each normalised to length 1.
pub async fn embed(
    p: &EmbeddingsProvider,
    key: Option<&str>,
    texts: &[&str],
) -> Result<Vec<Vec<f32>>, ProviderError> {
    #[derive(Deserialize)]
    struct Item {
        embedding: Vec<f32>,
        #[serde(default)]
        index: Option<usize>,
    }
    #[derive(Deserialize)]
    struct Answer {
        data: Vec<Item>,
    }
    let body = serde_json::json!({ "model": p.model, "input": texts, "encoding_format": "float" });
    let raw = post_json(
        &format!("{}/embeddings", p.base_url),
        key,
        &body,
        p.timeout_ms,
        MAX_EMBED_ANSWER,
    )
    .await?;
    let answer: Answer =
        serde_json::from_slice(&raw).map_err(|e| ProviderError::Malformed(e.to_string()))?;
    if answer.data.len() != texts.len() {
        return Err(ProviderError::Malformed(format!(
            "{} embeddings for {} texts",
            answer.data.len(),
            texts.len()
        )));
    }
    let mut out: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
    for (i, item) in answer.data.into_iter().enumerate() {
        let at = item.index.unwrap_or(i);
        let slot = out
            .get_mut(at)
            .ok_or_else(|| ProviderError::Malformed(format!("an embedding for index {at}")))?;
        *slot = Some(item.embedding);
    }
    let out: Vec<Vec<f32>> = out
        .into_iter()
        .collect::<Option<_>>()
        .ok_or_else(|| ProviderError::Malformed("two embeddings for one index".into()))?;
    let dims = out.first().map_or(0, Vec::len);
    if !(1..=MAX_DIMS).contains(&dims)
        || out
            .iter()
            .any(|v| v.len() != dims || v.iter().any(|x| !x.is_finite()))
    {
        return Err(ProviderError::Malformed(format!(
            "embeddings of 1 to {MAX_DIMS} finite numbers, all of one length"
        )));
    }
    Ok(out.into_iter().map(normalized).collect())
}

/// One message of a chat.
#[derive(Clone, Debug, Serialize)]
pub struct ChatMessage {
    pub role: &'static str,
    pub content: String,
}

/// The model's reply to `messages`.
pub async fn complete(
    p: &ChatProvider,
    key: Option<&str>,
    messages: &[ChatMessage],
) -> Result<String, ProviderError> {
    let body = serde_json::json!({
        "model": p.model,
        "messages": messages,
        "max_tokens": p.max_tokens,
        "temperature": 0,
    });
    let raw = post_json(
        &format!("{}/chat/completions", p.base_url),
        key,
        &body,
        p.timeout_ms,
        MAX_CHAT_ANSWER,
    )
    .await?;
    let v: serde_json::Value =
        serde_json::from_slice(&raw).map_err(|e| ProviderError::Malformed(e.to_string()))?;
    v.pointer("/choices/0/message/content")
        .and_then(|c| c.as_str())
        .map(str::to_owned)
        .ok_or_else(|| ProviderError::Malformed("no choices[0].message.content".into()))
}

/// The keys as sealed together.
#[derive(Default, Serialize, Deserialize)]
struct Keys {
    #[serde(default)]
    embeddings: Option<String>,
    #[serde(default)]
    chat: Option<String>,
}

/// A provider as an admin sets it: its settings and, when given, its key
/// (`None` keeps the stored one while the address stays; `""` means none).
#[derive(Clone, Debug)]
pub struct ProviderInput<P> {
    pub provider: P,
    pub api_key: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct ProvidersInput {
    pub embeddings: Option<ProviderInput<EmbeddingsProvider>>,
    pub chat: Option<ProviderInput<ChatProvider>>,
}

/// A workspace's providers as admins see them: keys only as "set or not".
#[derive(Clone, Debug, PartialEq)]
pub struct ProvidersView {
    pub providers: Providers,
    pub embeddings_key_set: bool,
    pub chat_key_set: bool,
}

/// A workspace's providers with their keys, as calls need them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Active {
    pub embeddings: Option<(EmbeddingsProvider, Option<String>)>,
    pub chat: Option<(ChatProvider, Option<String>)>,
}

impl Active {
    /// What a model trained with these embeddings is told apart by: a
    /// change of provider, model or weight trains it again.
    pub fn embeddings_stamp(&self) -> String {
        match &self.embeddings {
            Some((p, _)) => format!("emb:{}|{}|{}", p.base_url, p.model, p.weight),
            None => "words".into(),
        }
    }
}

/// What trying a provider showed.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    pub ok: bool,
    pub millis: u64,
    /// The embeddings' length (embeddings only).
    pub dimensions: Option<usize>,
    pub error: Option<String>,
}

/// Texts' embeddings already asked for on this node, per workspace and
/// provider, the oldest forgotten first past [`CACHE_FLOATS`].
#[derive(Clone, Default)]
pub struct EmbeddingCache(Arc<Mutex<Cache>>);

type CacheKey = (WorkspaceId, String, String);

#[derive(Default)]
struct Cache {
    map: HashMap<CacheKey, Arc<[f32]>>,
    order: VecDeque<CacheKey>,
    floats: usize,
}

impl EmbeddingCache {
    fn get(&self, key: &CacheKey) -> Option<Arc<[f32]>> {
        self.0.lock().ok().and_then(|c| c.map.get(key).cloned())
    }

    fn put(&self, key: CacheKey, v: Arc<[f32]>) {
        let Ok(mut c) = self.0.lock() else { return };
        let n = v.len();
        if c.map.insert(key.clone(), v).is_none() {
            c.order.push_back(key);
            c.floats += n;
        }
        while c.floats > CACHE_FLOATS {
            let Some(old) = c.order.pop_front() else {
                break;
            };
            if let Some(gone) = c.map.remove(&old) {
                c.floats -= gone.len();
            }
        }
    }
}

fn checked_key(field: &str, key: &str) -> Result<(), EngineError> {
    if key.len() > MAX_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(EngineError::invalid(
            field,
            Message::new(Code::ApiKeyShape).with("max_key", MAX_KEY),
        ));
    }
    Ok(())
}

/// The key to keep for a provider: the given one, or the stored one while
/// the address stays (a new address needs its key again: the old one is
/// never sent elsewhere).
fn key_for(
    field: &str,
    given: Option<String>,
    stored: Option<String>,
    same_address: bool,
) -> Result<Option<String>, EngineError> {
    match given {
        Some(k) if k.is_empty() => Ok(None),
        Some(k) => {
            checked_key(field, &k)?;
            Ok(Some(k))
        }
        None if same_address => Ok(stored),
        None if stored.is_some() => Err(EngineError::Conflict(
            Message::new(Code::KeyForNewAddress).with("field", field),
        )),
        None => Ok(None),
    }
}

impl Engine {
    fn open_keys(&self, sealed: Option<&[u8]>) -> Keys {
        sealed
            .and_then(|s| self.secret.open(s).ok())
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .unwrap_or_default()
    }

    pub async fn assist_providers(&self, p: &Principal) -> Result<ProvidersView, EngineError> {
        p.require_admin()?;
        let (providers, sealed) = {
            let mut c = self.store.read().await?;
            store::assist::providers(&mut c.conn(), p.workspace_id).await?
        };
        let keys = self.open_keys(sealed.as_deref());
        Ok(ProvidersView {
            embeddings_key_set: providers.embeddings.is_some() && keys.embeddings.is_some(),
            chat_key_set: providers.chat.is_some() && keys.chat.is_some(),
            providers,
        })
    }

    /// Replaces the workspace's providers (an absent one is switched off).
    pub async fn save_assist_providers(
        &self,
        p: &Principal,
        input: ProvidersInput,
    ) -> Result<ProvidersView, EngineError> {
        p.require_admin()?;
        let ws = p.workspace_id;
        let (old, sealed) = {
            let mut c = self.store.read().await?;
            store::assist::providers(&mut c.conn(), ws).await?
        };
        let stored = self.open_keys(sealed.as_deref());
        let mut keys = Keys::default();
        let mut providers = Providers::default();
        if let Some(e) = input.embeddings {
            let mut provider = e.provider.validated()?;
            provider.base_url = crate::messenger::parse_base_as("base_url", &provider.base_url)?;
            let same = old
                .embeddings
                .as_ref()
                .is_some_and(|o| o.base_url == provider.base_url);
            keys.embeddings = key_for("api_key", e.api_key, stored.embeddings, same)?;
            providers.embeddings = Some(provider);
        }
        if let Some(c) = input.chat {
            let mut provider = c.provider.validated()?;
            provider.base_url = crate::messenger::parse_base_as("base_url", &provider.base_url)?;
            let same = old
                .chat
                .as_ref()
                .is_some_and(|o| o.base_url == provider.base_url);
            keys.chat = key_for("api_key", c.api_key, stored.chat, same)?;
            providers.chat = Some(provider);
        }
        let sealed = if keys.embeddings.is_some() || keys.chat.is_some() {
            Some(self.seal_json(&keys)?)
        } else {
            None
        };
        let view = ProvidersView {
            embeddings_key_set: keys.embeddings.is_some(),
            chat_key_set: keys.chat.is_some(),
            providers: providers.clone(),
        };
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    store::assist::put_providers(tx, ws, &providers, sealed).await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(view)
    }

    /// The workspace's providers with their keys.
    pub(crate) async fn active_providers(&self, ws: WorkspaceId) -> Result<Active, EngineError> {
        let (providers, sealed) = {
            let mut c = self.store.read().await?;
            store::assist::providers(&mut c.conn(), ws).await?
        };
        let keys = self.open_keys(sealed.as_deref());
        Ok(Active {
            embeddings: providers.embeddings.map(|p| (p, keys.embeddings)),
            chat: providers.chat.map(|p| (p, keys.chat)),
        })
    }

    /// Tries each configured provider with one small request.
    pub async fn check_assist_providers(
        &self,
        p: &Principal,
    ) -> Result<(Option<Probe>, Option<Probe>), EngineError> {
        p.require_admin()?;
        let mut active = self.active_providers(p.workspace_id).await?;
        if let Some((e, _)) = &mut active.embeddings {
            e.timeout_ms = e.timeout_ms.min(CHECK_TIMEOUT_MS);
        }
        if let Some((c, _)) = &mut active.chat {
            c.timeout_ms = c.timeout_ms.min(CHECK_TIMEOUT_MS);
            c.max_tokens = 16;
        }
        let probe = |started: Instant, r: Result<Option<usize>, ProviderError>| match r {
            Ok(dimensions) => Probe {
                ok: true,
                millis: started.elapsed().as_millis() as u64,
                dimensions,
                error: None,
            },
            Err(e) => Probe {
                ok: false,
                millis: started.elapsed().as_millis() as u64,
                dimensions: None,
                error: Some(e.to_string()),
            },
        };
        let embeddings = match &active.embeddings {
            Some((e, key)) => {
                let started = Instant::now();
                let r = embed(e, key.as_deref(), &["Where is my order?"])
                    .await
                    .map(|v| v.first().map(Vec::len));
                Some(probe(started, r))
            }
            None => None,
        };
        let chat = match &active.chat {
            Some((c, key)) => {
                let started = Instant::now();
                let messages = [ChatMessage {
                    role: "user",
                    content: "Reply with the word OK.".into(),
                }];
                let r = complete(c, key.as_deref(), &messages).await.map(|_| None);
                Some(probe(started, r))
            }
            None => None,
        };
        Ok((embeddings, chat))
    }

    /// The embeddings of `texts` under the workspace's provider, from this
    /// node's cache where it has them, the rest asked for in batches.
    pub(crate) async fn embeddings_of(
        &self,
        ws: WorkspaceId,
        provider: &(EmbeddingsProvider, Option<String>),
        texts: &[String],
    ) -> Result<HashMap<String, Arc<[f32]>>, ProviderError> {
        let (p, key) = provider;
        let id = format!("{}|{}", p.base_url, p.model);
        let mut out: HashMap<String, Arc<[f32]>> = HashMap::new();
        let mut todo: Vec<&str> = Vec::new();
        for t in texts {
            if out.contains_key(t) || todo.contains(&t.as_str()) {
                continue;
            }
            match self.embedding_cache.get(&(ws, id.clone(), t.clone())) {
                Some(v) => {
                    out.insert(t.clone(), v);
                }
                None => todo.push(t),
            }
        }
        for chunk in todo.chunks(EMBED_BATCH) {
            let vectors = embed(p, key.as_deref(), chunk).await?;
            for (t, v) in chunk.iter().zip(vectors) {
                let v: Arc<[f32]> = v.into();
                self.embedding_cache
                    .put((ws, id.clone(), (*t).to_owned()), v.clone());
                out.insert((*t).to_owned(), v);
            }
        }
        Ok(out)
    }

    /// One text's embedding, or `None` (logged) when the provider fails.
    pub(crate) async fn embedding_of(
        &self,
        ws: WorkspaceId,
        provider: &(EmbeddingsProvider, Option<String>),
        text: &str,
    ) -> Option<Arc<[f32]>> {
        match self.embeddings_of(ws, provider, &[text.to_owned()]).await {
            Ok(mut m) => m.remove(text),
            Err(e) => {
                tracing::warn!(workspace = %ws, error = %e, "embedding a message failed; words alone are read");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_key_follows_its_address_only() {
        let kept = key_for("api_key", None, Some("sk-1".into()), true);
        assert_eq!(kept.ok().flatten().as_deref(), Some("sk-1"));
        assert!(matches!(
            key_for("api_key", None, Some("sk-1".into()), false),
            Err(EngineError::Conflict(_))
        ));
        assert_eq!(
            key_for("api_key", Some(String::new()), Some("sk-1".into()), true).ok(),
            Some(None)
        );
        assert!(key_for("api_key", Some("has space".into()), None, true).is_err());
        assert_eq!(
            key_for("api_key", None, None, false).ok(),
            Some(None),
            "nothing stored, nothing to give again"
        );
    }

    #[test]
    fn the_cache_forgets_the_oldest_past_its_size() {
        let cache = EmbeddingCache::default();
        let ws = WorkspaceId::new();
        let big: Arc<[f32]> = vec![0.0; CACHE_FLOATS / 2].into();
        for t in ["a", "b", "c"] {
            cache.put((ws, "p".into(), t.into()), big.clone());
        }
        assert!(cache.get(&(ws, "p".into(), "a".into())).is_none());
        assert!(cache.get(&(ws, "p".into(), "c".into())).is_some());
        assert!(
            cache
                .get(&(WorkspaceId::new(), "p".into(), "c".into()))
                .is_none()
        );
    }

    #[test]
    fn error_details_are_short_and_plain() {
        assert_eq!(
            error_detail(br#"{"error": {"message": "Invalid API key\n"}}"#),
            "Invalid API key"
        );
        assert_eq!(error_detail(&[b'x'; 500]).len(), 200);
    }
}
