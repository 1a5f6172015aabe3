//! A stand-in for VK's API on loopback, for tests on machines that cannot
//! reach VK: `groups.getById`, `messages.send` (dropping a repeated
//! `random_id`, as VK does), photo and document uploads through an upload
//! server and their `save` calls, files served by address; a wrong token is
//! VK's error 5. Failures can be scripted per method and every call is
//! recorded; `callback` builds the bodies VK posts.

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// One call: the method (`messages.send`, `upload:photo` …) and its
/// arguments (the form; for an upload, `field`, `filename`, `size`).
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub args: Value,
}

#[derive(Default)]
struct Inner {
    group_id: i64,
    token: String,
    root: String,
    calls: Vec<Call>,
    next_id: i64,
    sent_random: HashMap<i64, i64>,
    failures: HashMap<String, VecDeque<(i64, String)>>,
    files: HashMap<String, bytes::Bytes>,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(s: &Shared) -> MutexGuard<'_, Inner> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running stand-in. Dropping it stops the server.
pub struct StandIn {
    /// `http://127.0.0.1:<port>/method`: the channel's `api_base_url`.
    pub base: String,
    /// `http://127.0.0.1:<port>`: where its files are served.
    pub root: String,
    inner: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    pub async fn start(group_id: i64, token: &str) -> std::io::Result<StandIn> {
        let inner: Shared = Arc::new(Mutex::new(Inner {
            group_id,
            token: token.to_owned(),
            next_id: 500,
            ..Inner::default()
        }));
        let app = axum::Router::new()
            .route("/method/{name}", axum::routing::post(method))
            .route("/upload/{kind}", axum::routing::post(upload))
            .route("/files/{name}", axum::routing::get(file))
            .layer(axum::extract::DefaultBodyLimit::max(60 * 1024 * 1024))
            .with_state(inner.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let root = format!("http://{}", l.local_addr()?);
        lock(&inner).root = root.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        Ok(StandIn {
            base: format!("{root}/method"),
            root,
            inner,
            task,
        })
    }

    pub fn calls_of(&self, method: &str) -> Vec<Value> {
        lock(&self.inner)
            .calls
            .iter()
            .filter(|c| c.method == method)
            .map(|c| c.args.clone())
            .collect()
    }

    /// A file served at `{root}/files/{name}`; returns its address.
    pub fn add_file(&self, name: &str, bytes: &[u8]) -> String {
        let mut st = lock(&self.inner);
        st.files
            .insert(name.to_owned(), bytes::Bytes::copy_from_slice(bytes));
        format!("{}/files/{name}", st.root)
    }

    /// The next call of `method` answers VK's error `code`.
    pub fn fail_next(&self, method: &str, code: i64, message: &str) {
        lock(&self.inner)
            .failures
            .entry(method.to_owned())
            .or_default()
            .push_back((code, message.to_owned()));
    }
}

/// The body VK posts for a private message.
pub fn message_new(
    group_id: i64,
    secret: &str,
    from: i64,
    id: i64,
    text: &str,
    attachments: Value,
) -> Value {
    json!({"type": "message_new", "event_id": format!("ev{id}"), "v": "5.199", "group_id": group_id, "secret": secret,
        "object": {"message": {"id": id, "date": 1_795_000_000, "from_id": from, "peer_id": from, "out": 0,
            "text": text, "attachments": attachments, "conversation_message_id": id, "fwd_messages": [], "important": false},
            "client_info": {"button_actions": ["text"], "keyboard": true, "inline_keyboard": true, "lang_id": 0}}})
}

fn error(code: i64, message: &str) -> Response {
    axum::Json(json!({"error": {"error_code": code, "error_msg": message, "request_params": []}}))
        .into_response()
}

fn ok(v: Value) -> Response {
    axum::Json(json!({"response": v})).into_response()
}

async fn method(
    State(s): State<Shared>,
    Path(name): Path<String>,
    axum::extract::Form(form): axum::extract::Form<HashMap<String, String>>,
) -> Response {
    let mut st = lock(&s);
    let args: serde_json::Map<String, Value> = form
        .iter()
        .filter(|(k, _)| k.as_str() != "access_token")
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    st.calls.push(Call {
        method: name.clone(),
        args: Value::Object(args),
    });
    if form.get("access_token") != Some(&st.token) {
        return error(5, "User authorization failed: invalid access_token (4).");
    }
    if let Some((code, msg)) = st.failures.get_mut(&name).and_then(VecDeque::pop_front) {
        return error(code, &msg);
    }
    let root = st.root.clone();
    match name.as_str() {
        "groups.getById" => ok(
            json!({"groups": [{"id": st.group_id, "name": "Магазин «Колонка»",
            "screen_name": "kolonka_shop", "type": "group"}], "profiles": []}),
        ),
        "messages.send" => {
            let random: i64 = form
                .get("random_id")
                .and_then(|r| r.parse().ok())
                .unwrap_or_default();
            // VK ignores a repeated random_id and answers the first message's id.
            if random != 0
                && let Some(id) = st.sent_random.get(&random)
            {
                return ok(json!(*id));
            }
            st.next_id += 1;
            let id = st.next_id;
            if random != 0 {
                st.sent_random.insert(random, id);
            }
            ok(json!(id))
        }
        "photos.getMessagesUploadServer" => {
            ok(json!({"upload_url": format!("{root}/upload/photo"),
            "album_id": -64, "group_id": st.group_id}))
        }
        "docs.getMessagesUploadServer" => ok(json!({"upload_url": format!("{root}/upload/doc")})),
        "photos.saveMessagesPhoto" => {
            st.next_id += 1;
            ok(json!([{"id": st.next_id, "owner_id": -st.group_id, "access_key": "k3y"}]))
        }
        "docs.save" => {
            st.next_id += 1;
            ok(
                json!({"type": "doc", "doc": {"id": st.next_id, "owner_id": -st.group_id,
                "title": form.get("title")}}),
            )
        }
        _ => error(3, "Unknown method passed."),
    }
}

async fn upload(
    State(s): State<Shared>,
    Path(kind): Path<String>,
    mut form: Multipart,
) -> Response {
    let mut args = serde_json::Map::new();
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().unwrap_or_default().to_owned();
        let size = field.bytes().await.map(|b| b.len()).unwrap_or_default();
        args.insert("field".into(), json!(name));
        args.insert("filename".into(), json!(filename));
        args.insert("size".into(), json!(size));
    }
    lock(&s).calls.push(Call {
        method: format!("upload:{kind}"),
        args: Value::Object(args),
    });
    match kind.as_str() {
        "photo" => {
            axum::Json(json!({"server": 842_128, "photo": "[{\"photo\":\"abc\"}]", "hash": "h4sh"}))
                .into_response()
        }
        _ => axum::Json(json!({"file": "doc-file-token"})).into_response(),
    }
}

async fn file(State(s): State<Shared>, Path(name): Path<String>) -> Response {
    let st = lock(&s);
    match st.files.get(&name) {
        Some(b) => b.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
