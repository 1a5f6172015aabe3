//! Optional model providers through OpenAI-compatible endpoints, against a
//! loopback stand-in that speaks the protocol (`POST /v1/embeddings`,
//! `POST /v1/chat/completions`, bearer keys, OpenAI's error shape): keys kept
//! sealed and sent only to their own address; embeddings making the bot's
//! model a hybrid; a chat model answering from the articles found, citing
//! them, or handing off; and a provider that is slow, huge, failing or wrong
//! costing a bounded wait and a hand-off, never a stuck customer.

use crate::helpers::{TestApp, until};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

crate::on_both!(providers_keep_their_keys_sealed_and_are_checked);

const KEY: &str = "sk-test-7f3a91c2e5";
/// Dimensions of the stand-in's embeddings: four concepts, then hashed
/// letter trigrams.
const DIMS: usize = 16;

/// How the stand-in misbehaves.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Mode {
    Normal = 0,
    /// Answers after five seconds.
    Slow = 1,
    /// Answers with 40 MiB.
    Huge = 2,
    /// Answers 500 with OpenAI's error shape.
    Broken = 3,
    /// A chat reply that cites nothing.
    Uncited = 4,
}

#[derive(Default)]
struct Seen {
    embeddings: AtomicUsize,
    chats: AtomicUsize,
    auth: Mutex<Vec<String>>,
    prompts: Mutex<Vec<Value>>,
}

struct StandIn {
    base: String,
    mode: Arc<AtomicU8>,
    seen: Arc<Seen>,
}

impl StandIn {
    fn set(&self, m: Mode) {
        self.mode.store(m as u8, Ordering::SeqCst);
    }
}

/// Words of a text, lower case, letters and digits.
fn words(t: &str) -> Vec<String> {
    t.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A stand-in for a sentence-embedding model: what a word means (delivery,
/// returns, payment, opening hours — in English and Russian) and, faintly,
/// how it is spelt.
fn embedding(text: &str) -> Vec<f32> {
    const CONCEPTS: [&[&str]; 4] = [
        &[
            "delivery",
            "deliver",
            "shipping",
            "ship",
            "parcel",
            "package",
            "courier",
            "arrive",
            "доставка",
            "посылка",
            "курьер",
        ],
        &["return", "refund", "exchange", "возврат", "вернуть"],
        &["pay", "payment", "card", "charged", "оплата", "карта"],
        &["open", "hours", "closing", "schedule", "работаете"],
    ];
    let mut v = vec![0f32; DIMS];
    for w in words(text) {
        for (d, c) in CONCEPTS.iter().enumerate() {
            if c.contains(&w.as_str()) {
                v[d] += 1.0;
            }
        }
        let chars: Vec<char> = format!(" {w} ").chars().collect();
        for t in chars.windows(3) {
            let h = t
                .iter()
                .fold(7u32, |h, c| h.wrapping_mul(31).wrapping_add(*c as u32));
            v[4 + (h as usize % (DIMS - 4))] += 0.1;
        }
    }
    v
}

/// A stand-in for a chat model told to answer from numbered sources: it
/// quotes the first sentence of the source sharing most words (of four
/// letters or more) with the question and cites it, or says `NO_ANSWER`.
fn chat_reply(system: &str, question: &str, mode: Mode) -> String {
    let asked: Vec<String> = words(question)
        .into_iter()
        .filter(|w| w.chars().count() >= 4)
        .collect();
    let mut best: Option<(usize, usize, String)> = None;
    let mut rest = system.split_once("Sources:").map_or("", |s| s.1);
    while let Some(open) = rest.find("\n[") {
        rest = &rest[open + 2..];
        let Some((n, after)) = rest.split_once("] ") else {
            break;
        };
        let Ok(n) = n.parse::<usize>() else { continue };
        let body = after.split("\n[").next().unwrap_or_default();
        let shared = words(body).iter().filter(|w| asked.contains(w)).count();
        if shared > 0 && best.as_ref().is_none_or(|b| shared > b.0) {
            let text = body.lines().skip(1).collect::<Vec<_>>().join(" ");
            let first = text
                .split_inclusive('.')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned();
            best = Some((shared, n, first));
        }
    }
    match (best, mode) {
        (Some((_, _, s)), Mode::Uncited) => s,
        (Some((_, n, s)), _) => format!("{s} [{n}]"),
        (None, _) => "NO_ANSWER".into(),
    }
}

async fn stand_in(key: Option<&'static str>) -> StandIn {
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    type S = (Arc<AtomicU8>, Arc<Seen>, Option<&'static str>);

    async fn gate(s: &S, headers: &HeaderMap) -> Result<Mode, Response> {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        s.1.auth.lock().unwrap().push(auth.clone());
        if let Some(k) = s.2
            && auth != format!("Bearer {k}")
        {
            let e = json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}});
            return Err((StatusCode::UNAUTHORIZED, axum::Json(e)).into_response());
        }
        let mode = match s.0.load(Ordering::SeqCst) {
            1 => Mode::Slow,
            2 => Mode::Huge,
            3 => Mode::Broken,
            4 => Mode::Uncited,
            _ => Mode::Normal,
        };
        match mode {
            Mode::Slow => tokio::time::sleep(Duration::from_secs(5)).await,
            Mode::Huge => {
                return Err((StatusCode::OK, vec![b' '; 40 << 20]).into_response());
            }
            Mode::Broken => {
                let e = json!({"error": {"message": "The server had an error", "type": "server_error"}});
                return Err((StatusCode::INTERNAL_SERVER_ERROR, axum::Json(e)).into_response());
            }
            _ => {}
        }
        Ok(mode)
    }
    async fn embeddings(
        State(s): State<S>,
        headers: HeaderMap,
        axum::Json(b): axum::Json<Value>,
    ) -> Response {
        s.1.embeddings.fetch_add(1, Ordering::SeqCst);
        if let Err(r) = gate(&s, &headers).await {
            return r;
        }
        let input: Vec<String> = match &b["input"] {
            Value::String(t) => vec![t.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => return (StatusCode::BAD_REQUEST, "input").into_response(),
        };
        let data: Vec<Value> = input
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": embedding(t)}))
            .collect();
        axum::Json(json!({"object": "list", "data": data, "model": b["model"]})).into_response()
    }
    async fn chat(
        State(s): State<S>,
        headers: HeaderMap,
        axum::Json(b): axum::Json<Value>,
    ) -> Response {
        s.1.chats.fetch_add(1, Ordering::SeqCst);
        s.1.prompts.lock().unwrap().push(b.clone());
        let mode = match gate(&s, &headers).await {
            Ok(m) => m,
            Err(r) => return r,
        };
        let system = b["messages"][0]["content"].as_str().unwrap_or_default();
        let question = b["messages"][1]["content"].as_str().unwrap_or_default();
        let reply = chat_reply(system, question, mode);
        axum::Json(json!({"object": "chat.completion", "model": b["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}]}))
        .into_response()
    }
    let mode = Arc::new(AtomicU8::new(0));
    let seen = Arc::new(Seen::default());
    let app = axum::Router::new()
        .route("/v1/embeddings", axum::routing::post(embeddings))
        .route("/v1/chat/completions", axum::routing::post(chat))
        .with_state((mode.clone(), seen.clone(), key));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    StandIn { base, mode, seen }
}

async fn put(app: &TestApp, body: Value) -> crate::helpers::Res {
    app.req("PUT", "/api/v1/assist/providers", &app.token, Some(body))
        .await
}

async fn check(app: &TestApp) -> Value {
    app.post("/api/v1/assist/providers/check", json!({}))
        .await
        .expect(200)
}

async fn providers_keep_their_keys_sealed_and_are_checked(app: TestApp) {
    let ai = stand_in(Some(KEY)).await;
    assert_eq!(
        app.get("/api/v1/assist/providers").await.expect(200),
        json!({"embeddings": null, "chat": null}),
        "offline by default"
    );
    let (_, agent) = app.user("agent@alpha.test", "agent").await;
    app.req("GET", "/api/v1/assist/providers", &agent, None)
        .await
        .problem(403);
    app.req("PUT", "/api/v1/assist/providers", &agent, Some(json!({})))
        .await
        .problem(403);

    let set = put(&app, json!({
        "embeddings": {"base_url": ai.base, "model": "multilingual-e5-small", "api_key": KEY, "timeout_ms": 2000},
        "chat": {"base_url": format!("{}/", ai.base), "model": "llama3.1:8b", "api_key": KEY}
    }))
    .await
    .expect(200);
    assert_eq!(set["embeddings"]["api_key_set"], true, "{set}");
    assert_eq!(set["embeddings"]["weight"], 4.0, "{set}");
    assert_eq!(
        set["chat"]["base_url"],
        ai.base.as_str(),
        "a trailing slash is dropped: {set}"
    );
    assert_eq!(
        (
            set["chat"]["timeout_ms"].as_u64(),
            set["chat"]["max_tokens"].as_u64()
        ),
        (Some(30_000), Some(500))
    );
    let shown = app.get("/api/v1/assist/providers").await.expect(200);
    assert_eq!(shown, set);
    assert!(!shown.to_string().contains(KEY), "{shown}");

    let c = check(&app).await;
    assert_eq!(c["embeddings"]["ok"], true, "{c}");
    assert_eq!(
        c["embeddings"]["dimensions"].as_u64(),
        Some(DIMS as u64),
        "{c}"
    );
    assert_eq!(c["chat"]["ok"], true, "{c}");
    assert!(
        ai.seen
            .auth
            .lock()
            .unwrap()
            .iter()
            .all(|a| *a == format!("Bearer {KEY}"))
    );

    // The row keeps the key sealed only.
    {
        let mut c = app.store.read().await.unwrap();
        let row: (String, Vec<u8>) = c
            .conn()
            .fetch_one(&store::query(
                "SELECT settings, secrets FROM assist_providers",
            ))
            .await
            .unwrap();
        assert!(
            !row.0.contains(KEY) && row.0.contains("multilingual-e5-small"),
            "{}",
            row.0
        );
        assert!(!String::from_utf8_lossy(&row.1).contains(KEY));
    }

    // Saved again without the key at the same address: the key stays. Chat
    // left out is switched off.
    let again = put(&app, json!({"embeddings": {"base_url": ai.base, "model": "multilingual-e5-small", "weight": 2.5}}))
        .await
        .expect(200);
    assert_eq!(
        (
            again["embeddings"]["api_key_set"].as_bool(),
            again["embeddings"]["weight"].as_f64()
        ),
        (Some(true), Some(2.5))
    );
    assert_eq!(again["chat"], Value::Null);
    assert_eq!(check(&app).await["embeddings"]["ok"], true);

    // The stored key is never sent to another address.
    let moved = put(&app, json!({"embeddings": {"base_url": "http://127.0.0.1:9/v1", "model": "multilingual-e5-small"}}))
        .await
        .problem(409);
    assert!(
        moved["detail"].as_str().unwrap().contains("api_key"),
        "{moved}"
    );
    assert_eq!(
        app.get("/api/v1/assist/providers").await.expect(200)["embeddings"]["base_url"],
        ai.base.as_str()
    );

    for (bad, field) in [
        (
            json!({"base_url": "ftp://127.0.0.1/v1", "model": "m"}),
            "base_url",
        ),
        (json!({"base_url": ai.base, "model": "two words"}), "model"),
        (
            json!({"base_url": ai.base, "model": "m", "timeout_ms": 100}),
            "timeout_ms",
        ),
        (
            json!({"base_url": ai.base, "model": "m", "weight": 16.5}),
            "weight",
        ),
        (
            json!({"base_url": ai.base, "model": "m", "api_key": "has space"}),
            "api_key",
        ),
    ] {
        let p = put(&app, json!({"embeddings": bad})).await.problem(422);
        assert!(p.to_string().contains(field), "{field}: {p}");
    }

    // A wrong key: the provider's own message. A slow provider: the
    // provider's timeout, not the provider's pace.
    put(
        &app,
        json!({"embeddings": {"base_url": ai.base, "model": "m", "api_key": "sk-wrong"}}),
    )
    .await
    .expect(200);
    let c = check(&app).await;
    assert_eq!(c["embeddings"]["ok"], false);
    assert!(
        c["embeddings"]["error"]
            .as_str()
            .unwrap()
            .contains("401: Incorrect API key provided"),
        "{c}"
    );
    put(
        &app,
        json!({
            "embeddings": {"base_url": ai.base, "model": "m", "api_key": KEY, "timeout_ms": 600},
            "chat": {"base_url": ai.base, "model": "m", "api_key": KEY, "timeout_ms": 600}
        }),
    )
    .await
    .expect(200);
    ai.set(Mode::Slow);
    let started = Instant::now();
    let c = check(&app).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    for kind in ["embeddings", "chat"] {
        assert_eq!(c[kind]["error"], "no answer within 600 ms", "{c}");
    }
    ai.set(Mode::Huge);
    let c = check(&app).await;
    assert!(
        c["embeddings"]["error"]
            .as_str()
            .unwrap()
            .contains("larger than"),
        "{c}"
    );
    assert!(
        c["chat"]["error"].as_str().unwrap().contains("larger than"),
        "{c}"
    );

    // The admin screen: the same settings as a form, the key write-only.
    ai.set(Mode::Normal);
    use crate::ui::Agent;
    let a = Agent::login(&app, "owner@alpha.test", "alpha-password").await;
    let form = [
        ("emb_on", "on"),
        ("emb_base_url", ai.base.as_str()),
        ("emb_model", "multilingual-e5-small"),
        ("emb_api_key", ""),
        ("emb_timeout_ms", "1500"),
        ("emb_weight", "3,5"),
        ("chat_base_url", ""),
        ("chat_model", ""),
        ("chat_timeout_ms", "30000"),
        ("chat_max_tokens", "500"),
    ];
    assert_eq!(
        a.post("/app/admin/bot/providers", &form, false)
            .await
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        a.post("/app/admin/bot/providers", &form, true)
            .await
            .status()
            .as_u16(),
        303
    );
    let v = app.get("/api/v1/assist/providers").await.expect(200);
    assert_eq!(
        (
            v["embeddings"]["timeout_ms"].as_u64(),
            v["embeddings"]["weight"].as_f64(),
            v["embeddings"]["api_key_set"].as_bool(),
            &v["chat"]
        ),
        (Some(1500), Some(3.5), Some(true), &Value::Null),
        "an empty key field keeps the key: {v}"
    );
    let page = a.page("/app/admin/bot").await;
    assert!(
        page.contains("stored — leave empty to keep")
            && page.contains(&ai.base)
            && !page.contains(KEY),
        "{page}"
    );
    let r = a.post("/app/admin/bot/providers/check", &[], true).await;
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Embeddings — answers") && page.contains("16 dimensions"),
        "{page}"
    );

    // Another workspace has none of it.
    let beta = app.workspace("beta").await;
    assert_eq!(
        app.req("GET", "/api/v1/assist/providers", &beta, None)
            .await
            .expect(200),
        json!({"embeddings": null, "chat": null})
    );
    let c = app
        .req("POST", "/api/v1/assist/providers/check", &beta, None)
        .await
        .expect(200);
    assert_eq!(c, json!({"embeddings": null, "chat": null}));
}

async fn faq(app: &TestApp, question: &str, phrasings: &[&str], answer: &str) -> String {
    let f = app
        .post(
            "/api/v1/kb/faq",
            json!({"lang": "en", "question": question, "phrasings": phrasings, "answer": answer}),
        )
        .await
        .expect(201);
    f["id"].as_str().unwrap().to_owned()
}

async fn ask(app: &TestApp, text: &str) -> Value {
    app.post(
        "/api/v1/assist/answer",
        json!({"text": text, "lang": "en", "channel": "chat"}),
    )
    .await
    .expect(200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_make_the_bot_read_meaning_beside_words() {
    let app = crate::helpers::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let ai = stand_in(None).await;
    let delivery = faq(
        &app,
        "How long does delivery take?",
        &[
            "delivery time",
            "how fast do you ship",
            "shipping time to my city",
            "when do you deliver orders",
        ],
        "Delivery takes two to three days.",
    )
    .await;
    faq(
        &app,
        "How do I return an item?",
        &[
            "return policy",
            "I want a refund",
            "can I get my money back",
            "how to exchange a product",
        ],
        "Returns are accepted within 14 days.",
    )
    .await;
    faq(
        &app,
        "Which payment methods do you accept?",
        &[
            "can I pay by card",
            "payment options",
            "was I charged twice",
            "pay with a credit card",
        ],
        "We accept cards and bank transfers.",
    )
    .await;
    faq(
        &app,
        "What are your opening hours?",
        &[
            "when are you open",
            "closing time",
            "working hours on weekends",
            "your schedule",
        ],
        "We are open 9 to 18 every day.",
    )
    .await;
    // None of these words is in the entries: only what they mean is.
    let paraphrase = "the courier has not brought my parcel";
    let words_only = ask(&app, paraphrase).await;
    assert_eq!(words_only["decision"], "handoff", "{words_only}");

    put(
        &app,
        json!({"embeddings": {"base_url": ai.base, "model": "stand-in-e5", "weight": 4}}),
    )
    .await
    .expect(200);
    let d = until("the hybrid model answers", 20, async || {
        let d = ask(&app, paraphrase).await;
        (d["decision"] == "answer").then_some(d)
    })
    .await;
    assert_eq!(d["faq_id"], delivery.as_str(), "{d}");
    assert_eq!(d["generated"], false, "{d}");
    let trained = ai.seen.embeddings.load(Ordering::SeqCst);
    assert!(
        trained >= 2,
        "the model's texts and the question were embedded: {trained}"
    );
    // Known texts are not embedded again: one request for a new question.
    ask(&app, "my parcel is late").await;
    assert_eq!(ai.seen.embeddings.load(Ordering::SeqCst), trained + 1);

    // A provider that fails costs its timeout and leaves words alone: what
    // the words say is still answered.
    put(&app, json!({"embeddings": {"base_url": ai.base, "model": "stand-in-e5", "weight": 4, "timeout_ms": 700}})).await.expect(200);
    until("retrained with the new timeout", 20, async || {
        let d = ask(&app, paraphrase).await;
        (d["decision"] == "answer").then_some(())
    })
    .await;
    ai.set(Mode::Slow);
    let started = Instant::now();
    let d = ask(&app, "how fast do you ship orders").await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        (d["decision"].as_str(), d["faq_id"].as_str()),
        (Some("answer"), Some(delivery.as_str())),
        "{d}"
    );
    ai.set(Mode::Broken);
    let d = ask(&app, "a parcel the courier lost").await;
    assert_eq!(
        d["decision"], "handoff",
        "meaning alone is not enough without the provider: {d}"
    );

    // Triage reads embeddings too: categories learnt through the provider.
    ai.set(Mode::Normal);
    let before = ai.seen.embeddings.load(Ordering::SeqCst);
    for (key, examples) in [
        (
            "delivery",
            vec!["where is my order", "shipping is slow", "delivery is late"],
        ),
        (
            "billing",
            vec![
                "I was charged twice",
                "card payment failed",
                "wrong invoice",
            ],
        ),
    ] {
        app.post(
            "/api/v1/triage/categories",
            json!({"key": key, "name": key, "examples": examples}),
        )
        .await
        .expect(201);
    }
    let t = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "?", "customer": {"name": "Ann", "email": "ann@example.com"},
            "message": {"body": "The courier never came with my package"}}),
        )
        .await
        .expect(201);
    let triage = crate::assist::triaged(&app, t["id"].as_str().unwrap(), 1).await;
    assert_eq!(triage[0]["category"], "delivery", "{triage:?}");
    assert!(ai.seen.embeddings.load(Ordering::SeqCst) > before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_model_answers_from_articles_citing_them_or_hands_off() {
    let app = crate::helpers::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let ai = stand_in(Some(KEY)).await;
    faq(
        &app,
        "Where is my order?",
        &["track my order", "order status"],
        "Open My orders and press Track.",
    )
    .await;
    faq(
        &app,
        "How do I return an item?",
        &["return policy", "I want a refund"],
        "Returns within 14 days.",
    )
    .await;
    let gift = app
        .post("/api/v1/kb/articles", json!({"lang": "en", "title": "Gift cards",
            "body": "A gift card is valid for one year from purchase.\n\nGift cards pay for any product in the shop, delivery included.",
            "status": "published"}))
        .await
        .expect(201);
    let question = "how long is a present card good for";
    // Without a chat model the bot hands this off (no entry is sure enough).
    let d = until("the article is learnt", 20, async || {
        let d = ask(&app, question).await;
        (d["decision"] == "handoff").then_some(d)
    })
    .await;
    assert_eq!(d["reason"], "low_confidence", "{d}");

    put(&app, json!({"chat": {"base_url": ai.base, "model": "stand-in-chat", "api_key": KEY, "timeout_ms": 800}}))
        .await
        .expect(200);
    let d = until("the chat model answers", 20, async || {
        let d = ask(&app, question).await;
        (d["decision"] == "answer").then_some(d)
    })
    .await;
    assert_eq!(d["generated"], true, "{d}");
    assert_eq!(
        d["answer"], "A gift card is valid for one year from purchase. [1]",
        "{d}"
    );
    assert_eq!(d["sources"][0]["article_id"], gift["id"], "{d}");
    assert!(
        d["sources"][0]["url"]
            .as_str()
            .unwrap()
            .contains("/help/alpha/en/articles/"),
        "{d}"
    );
    assert_eq!(
        d["sources"].as_array().unwrap().len(),
        1,
        "only what it cites: {d}"
    );
    // The model read the article and the customer's words, apart.
    let prompt = ai.seen.prompts.lock().unwrap().last().cloned().unwrap();
    assert_eq!(prompt["messages"][0]["role"], "system");
    assert!(
        prompt["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("valid for one year"),
        "{prompt}"
    );
    assert_eq!(prompt["messages"][1]["content"], question);
    assert_eq!(prompt["temperature"], 0);

    // Nothing relevant: the model is not asked, or says so; either way a person takes it.
    let chats = ai.seen.chats.load(Ordering::SeqCst);
    let d = ask(&app, "Quantum chromodynamics lecture notes").await;
    assert_eq!(
        (d["decision"].as_str(), d["reason"].as_str()),
        (Some("handoff"), Some("low_confidence")),
        "{d}"
    );
    assert!(ai.seen.chats.load(Ordering::SeqCst) <= chats + 1);
    // An FAQ entry it is sure of answers as written, without the model.
    let chats = ai.seen.chats.load(Ordering::SeqCst);
    let d = ask(&app, "track my order").await;
    assert_eq!(
        (d["decision"].as_str(), d["generated"].as_bool()),
        (Some("answer"), Some(false)),
        "{d}"
    );
    assert_eq!(ai.seen.chats.load(Ordering::SeqCst), chats);

    // A reply citing nothing, a slow model, an answer too large, a failing
    // model: each a hand-off, none a wait past the timeout.
    for mode in [Mode::Uncited, Mode::Slow, Mode::Huge, Mode::Broken] {
        ai.set(mode);
        let started = Instant::now();
        let d = ask(&app, question).await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(d["decision"], "handoff", "{d}");
    }

    // In a chat conversation the bot posts the answer with its sources.
    ai.set(Mode::Normal);
    use crate::chat::{SHOP, channel, from_site, visitor};
    let (key, _) = channel(&app, json!([])).await;
    let token = visitor(&app, &key, json!({"name": "Ann", "lang": "en"})).await;
    from_site(
        &app,
        "POST",
        &format!("/widget/v1/{key}/messages"),
        SHOP,
        Some(&token),
        Some(json!({"client_id": "g-1", "text": question})),
    )
    .await
    .expect(201);
    app.drain_jobs().await;
    let log = crate::assist::chat_log(&app, &key, &token).await;
    let bot = log
        .iter()
        .rev()
        .find(|(who, _)| who == "bot")
        .map(|(_, t)| t.clone())
        .unwrap_or_default();
    assert!(
        bot.contains("valid for one year from purchase. [1]")
            && bot.contains("[1] Gift cards — /help/alpha/en/articles/"),
        "{log:?}"
    );
}
