//! A stand-in for the WhatsApp Cloud API (Graph API) on loopback, for tests
//! on machines that cannot reach Meta. It speaks the documented calls under
//! one version prefix (`/v21.0`): `GET /{phone_number_id}`, `POST
//! /{phone_number_id}/messages`, `POST /{phone_number_id}/media` (multipart),
//! `GET /{media_id}` and the media's address, `GET
//! /{waba_id}/message_templates`; a wrong token is Graph's 401 `OAuthException`
//! (code 190). Failures can be scripted per call, every call is recorded, and
//! it can sign and deliver notifications to a webhook as Meta does.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// The version prefix the stand-in serves.
pub const VERSION: &str = "v21.0";

/// One call the stand-in received: the method (`messages`, `media`, `phone`,
/// `media_info`, `media_bytes`, `templates`) and its arguments (the JSON body,
/// with `_wamid`, the id it answered, for a message sent; for an upload,
/// `type`, `filename`, `content_type` and `size`).
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub args: Value,
}

#[derive(Default)]
struct Inner {
    phone_number_id: String,
    token: String,
    base: String,
    calls: Vec<Call>,
    next_id: u64,
    failures: HashMap<String, VecDeque<(u16, Value)>>,
    media: HashMap<String, (String, bytes::Bytes)>,
    templates: Vec<Value>,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(s: &Shared) -> MutexGuard<'_, Inner> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running stand-in. Dropping it stops the server.
pub struct StandIn {
    /// `http://127.0.0.1:<port>/v21.0`: the channel's `api_base_url`.
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
    /// Serves one business number with one access token.
    pub async fn start(phone_number_id: &str, token: &str) -> std::io::Result<StandIn> {
        let inner: Shared = Arc::new(Mutex::new(Inner {
            phone_number_id: phone_number_id.to_owned(),
            token: token.to_owned(),
            next_id: 100,
            ..Inner::default()
        }));
        let app = axum::Router::new()
            .route(
                &format!("/{VERSION}/{{id}}"),
                axum::routing::get(get_object),
            )
            .route(
                &format!("/{VERSION}/{{id}}/{{edge}}"),
                axum::routing::get(get_edge).post(post_edge),
            )
            .route("/media-bytes/{id}", axum::routing::get(media_bytes))
            .layer(axum::extract::DefaultBodyLimit::max(110 * 1024 * 1024))
            .with_state(inner.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let root = format!("http://{}", l.local_addr()?);
        lock(&inner).base = root.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        Ok(StandIn {
            base: format!("{root}/{VERSION}"),
            inner,
            task,
        })
    }

    pub fn calls(&self) -> Vec<Call> {
        lock(&self.inner).calls.clone()
    }

    /// The bodies of every call of one method, in order.
    pub fn calls_of(&self, method: &str) -> Vec<Value> {
        lock(&self.inner)
            .calls
            .iter()
            .filter(|c| c.method == method)
            .map(|c| c.args.clone())
            .collect()
    }

    /// A customer's media the media endpoint serves.
    pub fn add_media(&self, id: &str, mime: &str, bytes: &[u8]) {
        lock(&self.inner).media.insert(
            id.to_owned(),
            (mime.to_owned(), bytes::Bytes::copy_from_slice(bytes)),
        );
    }

    /// An approved template (`{{1}}` … in `body`).
    pub fn add_template(&self, name: &str, language: &str, body: &str) {
        lock(&self.inner).templates.push(json!({
            "name": name, "language": language, "status": "APPROVED", "category": "UTILITY",
            "id": format!("tpl-{name}-{language}"),
            "components": [{"type": "BODY", "text": body}]
        }));
    }

    /// The next call of `method` fails as the Graph API fails: `status` with
    /// an error `code` and message.
    pub fn fail_next(&self, method: &str, status: u16, code: i64, message: &str) {
        lock(&self.inner)
            .failures
            .entry(method.to_owned())
            .or_default()
            .push_back((
                status,
                json!({"error": {"message": message, "type": "OAuthException", "code": code,
                                 "fbtrace_id": "AbCdEf"}}),
            ));
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `app_secret`, as Meta
/// signs a notification.
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = match Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// A notification with one customer's messages for a number, as Meta sends it.
pub fn notification(phone_number_id: &str, wa_id: &str, name: &str, messages: Vec<Value>) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": messages}}]}]})
}

/// A notification with states of our messages.
pub fn statuses(phone_number_id: &str, statuses: Vec<Value>) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
            "statuses": statuses}}]}]})
}

fn answer(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
        .into_response()
}

/// Records the call; answers Graph's error when the token is wrong or a
/// failure was scripted.
fn enter(st: &mut Inner, headers: &HeaderMap, method: &str, args: Value) -> Option<Response> {
    st.calls.push(Call {
        method: method.to_owned(),
        args,
    });
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer != Some(st.token.as_str()) {
        return Some(answer(
            401,
            json!({"error": {"message": "Invalid OAuth access token - Cannot parse access token",
                             "type": "OAuthException", "code": 190, "fbtrace_id": "AbCdEf"}}),
        ));
    }
    st.failures
        .get_mut(method)
        .and_then(VecDeque::pop_front)
        .map(|(status, body)| answer(status, body))
}

async fn get_object(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut st = lock(&s);
    if let Some((mime, bytes)) = st.media.get(&id).cloned() {
        if let Some(r) = enter(&mut st, &headers, "media_info", json!({"id": id})) {
            return r;
        }
        return answer(
            200,
            json!({"messaging_product": "whatsapp", "id": id, "mime_type": mime,
                   "sha256": "", "file_size": bytes.len(),
                   "url": format!("{}/media-bytes/{id}", st.base)}),
        );
    }
    if id == st.phone_number_id {
        if let Some(r) = enter(&mut st, &headers, "phone", json!({"id": id})) {
            return r;
        }
        return answer(
            200,
            json!({"id": id, "display_phone_number": "+1 555-078-3881", "verified_name": "Shop Support"}),
        );
    }
    let _ = enter(&mut st, &headers, "unknown", json!({"id": id}));
    answer(
        400,
        json!({"error": {"message": "Unsupported get request.", "type": "GraphMethodException", "code": 100}}),
    )
}

async fn get_edge(
    State(s): State<Shared>,
    Path((id, edge)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut st = lock(&s);
    if edge != "message_templates" {
        return answer(
            404,
            json!({"error": {"message": "Unknown path", "code": 100}}),
        );
    }
    if let Some(r) = enter(&mut st, &headers, "templates", json!({"waba": id})) {
        return r;
    }
    answer(200, json!({"data": st.templates, "paging": {}}))
}

async fn post_edge(
    State(s): State<Shared>,
    Path((id, edge)): Path<(String, String)>,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> Response {
    let args = if edge == "media" {
        let Ok(mut form) =
            <Multipart as axum::extract::FromRequest<()>>::from_request(req, &()).await
        else {
            return answer(
                400,
                json!({"error": {"message": "multipart expected", "code": 100}}),
            );
        };
        let mut args = serde_json::Map::new();
        while let Ok(Some(field)) = form.next_field().await {
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                Some(filename) => {
                    let content_type = field.content_type().unwrap_or_default().to_owned();
                    let size = field.bytes().await.map(|b| b.len()).unwrap_or_default();
                    args.insert("filename".into(), json!(filename));
                    args.insert("content_type".into(), json!(content_type));
                    args.insert("size".into(), json!(size));
                }
                None => {
                    args.insert(name, json!(field.text().await.unwrap_or_default()));
                }
            }
        }
        Value::Object(args)
    } else {
        let bytes = axum::body::to_bytes(req.into_body(), 1024 * 1024)
            .await
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    let mut st = lock(&s);
    if let Some(r) = enter(&mut st, &headers, &edge, args.clone()) {
        return r;
    }
    if id != st.phone_number_id {
        return answer(
            400,
            json!({"error": {"message": "Unsupported post request.", "code": 100}}),
        );
    }
    st.next_id += 1;
    let n = st.next_id;
    if edge == "messages"
        && let Some(c) = st.calls.last_mut()
    {
        // What the sender is told, kept beside what it sent.
        c.args["_wamid"] = json!(format!("wamid.OUT{n}"));
    }
    match edge.as_str() {
        "messages" => answer(
            200,
            json!({"messaging_product": "whatsapp",
                   "contacts": [{"input": args["to"], "wa_id": args["to"]}],
                   "messages": [{"id": format!("wamid.OUT{n}")}]}),
        ),
        "media" => answer(200, json!({"id": format!("media-{n}")})),
        _ => answer(
            404,
            json!({"error": {"message": "Unknown path", "code": 100}}),
        ),
    }
}

async fn media_bytes(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut st = lock(&s);
    if let Some(r) = enter(&mut st, &headers, "media_bytes", json!({"id": id})) {
        return r;
    }
    match st.media.get(&id) {
        Some((_, b)) => b.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
