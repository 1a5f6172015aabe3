//! A stand-in for the Telegram Bot API on loopback, for tests and benchmarks
//! on machines that cannot reach Telegram. It speaks the documented protocol
//! (<https://core.telegram.org/bots/api>): `getMe`, `setWebhook`,
//! `deleteWebhook`, `sendMessage`, `sendPhoto` and `sendDocument` (multipart),
//! `getFile` and `/file/bot<token>/<path>`; a wrong token is 401 as Telegram
//! answers it. Failures can be scripted per method (a 429 with `retry_after`,
//! a 403 "bot was blocked by the user"), and every call is recorded.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// One call the stand-in received: the method and its arguments (for a file,
/// `chat_id`, the field — `photo` or `document` —, `filename`,
/// `content_type` and `size`).
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub args: Value,
}

#[derive(Default)]
struct Inner {
    token: String,
    calls: Vec<Call>,
    next_id: i64,
    failures: HashMap<String, VecDeque<(usize, u16, Value)>>,
    files: HashMap<String, bytes::Bytes>,
    webhook: Option<(String, String)>,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(s: &Shared) -> MutexGuard<'_, Inner> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running stand-in. Dropping it stops the server.
pub struct StandIn {
    /// `http://127.0.0.1:<port>`: the channel's `api_base_url`.
    pub base: String,
    inner: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    /// Serves one bot whose token is `token`.
    pub async fn start(token: &str) -> std::io::Result<StandIn> {
        let inner: Shared = Arc::new(Mutex::new(Inner {
            token: token.to_owned(),
            next_id: 1000,
            ..Inner::default()
        }));
        let app = axum::Router::new()
            .route("/{bot}/{method}", axum::routing::post(method))
            .route("/file/{bot}/{*path}", axum::routing::get(file))
            .layer(axum::extract::DefaultBodyLimit::max(60 * 1024 * 1024))
            .with_state(inner.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", l.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        Ok(StandIn { base, inner, task })
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.inner).calls.clone()
    }

    /// The arguments of every call of one method, in order.
    pub fn calls_of(&self, method: &str) -> Vec<Value> {
        lock(&self.inner)
            .calls
            .iter()
            .filter(|c| c.method == method)
            .map(|c| c.args.clone())
            .collect()
    }

    /// The webhook's address and secret, as the last `setWebhook` set them.
    pub fn webhook(&self) -> Option<(String, String)> {
        lock(&self.inner).webhook.clone()
    }

    /// A file `getFile` and the download serve.
    pub fn add_file(&self, file_id: &str, bytes: &[u8]) {
        lock(&self.inner)
            .files
            .insert(file_id.to_owned(), bytes::Bytes::copy_from_slice(bytes));
    }

    /// The next call of `method` fails as Telegram fails it: `status` with
    /// `description` and, for 429, `retry_after`.
    pub fn fail_next(
        &self,
        method: &str,
        status: u16,
        description: &str,
        retry_after: Option<u64>,
    ) {
        self.fail_after(method, 0, status, description, retry_after);
    }

    /// As [`StandIn::fail_next`], after `successes` more calls of `method`
    /// have succeeded.
    pub fn fail_after(
        &self,
        method: &str,
        successes: usize,
        status: u16,
        description: &str,
        retry_after: Option<u64>,
    ) {
        let mut body = json!({"ok": false, "error_code": status, "description": description});
        if let Some(s) = retry_after {
            body["parameters"] = json!({"retry_after": s});
        }
        lock(&self.inner)
            .failures
            .entry(method.to_owned())
            .or_default()
            .push_back((successes, status, body));
    }
}

fn answer(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
        .into_response()
}

fn ok(result: Value) -> Response {
    answer(200, json!({"ok": true, "result": result}))
}

/// The arguments of a call: JSON, a form, or multipart with a file.
async fn arguments(headers: &HeaderMap, req: axum::extract::Request) -> Value {
    let kind = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if kind.starts_with("multipart/form-data") {
        let Ok(mut form) =
            <Multipart as axum::extract::FromRequest<()>>::from_request(req, &()).await
        else {
            return Value::Null;
        };
        let mut args = serde_json::Map::new();
        while let Ok(Some(field)) = form.next_field().await {
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                Some(filename) => {
                    let content_type = field.content_type().unwrap_or_default().to_owned();
                    let size = field.bytes().await.map(|b| b.len()).unwrap_or_default();
                    args.insert("field".into(), json!(name));
                    args.insert("filename".into(), json!(filename));
                    args.insert("content_type".into(), json!(content_type));
                    args.insert("size".into(), json!(size));
                }
                None => {
                    let text = field.text().await.unwrap_or_default();
                    let v = text.parse::<i64>().map(Value::from).unwrap_or(json!(text));
                    args.insert(name, v);
                }
            }
        }
        return Value::Object(args);
    }
    let bytes = axum::body::to_bytes(req.into_body(), 1024 * 1024)
        .await
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

async fn method(
    State(s): State<Shared>,
    Path((bot, name)): Path<(String, String)>,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> Response {
    let args = arguments(&headers, req).await;
    let mut st = lock(&s);
    st.calls.push(Call {
        method: name.clone(),
        args: args.clone(),
    });
    if bot.strip_prefix("bot") != Some(st.token.as_str()) {
        return answer(
            401,
            json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
        );
    }
    if let Some(queue) = st.failures.get_mut(&name) {
        match queue.front_mut() {
            Some((0, ..)) => {
                if let Some((_, status, body)) = queue.pop_front() {
                    return answer(status, body);
                }
            }
            Some((n, ..)) => *n -= 1,
            None => {}
        }
    }
    let bot_id: i64 = st
        .token
        .split(':')
        .next()
        .and_then(|i| i.parse().ok())
        .unwrap_or_default();
    match name.as_str() {
        "getMe" => ok(
            json!({"id": bot_id, "is_bot": true, "first_name": "Shop help",
                             "username": "shop_help_bot"}),
        ),
        "setWebhook" => {
            let url = args["url"].as_str().unwrap_or_default().to_owned();
            let secret = args["secret_token"].as_str().unwrap_or_default().to_owned();
            st.webhook = Some((url, secret));
            ok(json!(true))
        }
        "deleteWebhook" => {
            st.webhook = None;
            ok(json!(true))
        }
        "sendMessage" | "sendPhoto" | "sendDocument" => {
            st.next_id += 1;
            ok(json!({"message_id": st.next_id, "date": 0,
                      "chat": {"id": args["chat_id"], "type": "private"}}))
        }
        "getFile" => {
            let id = args["file_id"].as_str().unwrap_or_default();
            match st.files.get(id) {
                Some(b) => ok(json!({"file_id": id, "file_size": b.len(),
                                     "file_path": format!("files/{id}")})),
                None => answer(
                    400,
                    json!({"ok": false, "error_code": 400,
                           "description": "Bad Request: invalid file_id"}),
                ),
            }
        }
        _ => answer(
            404,
            json!({"ok": false, "error_code": 404, "description": "Not Found"}),
        ),
    }
}

async fn file(State(s): State<Shared>, Path((bot, path)): Path<(String, String)>) -> Response {
    let st = lock(&s);
    if bot.strip_prefix("bot") != Some(st.token.as_str()) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match path.strip_prefix("files/").and_then(|id| st.files.get(id)) {
        Some(b) => b.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
