//! The chat client API, `/widget/v1/{widget_key}/…`: open and versioned — the
//! widget uses nothing else, so an app can build its own chat on it.
//!
//! Visitors authenticate with their token (`Authorization: Bearer vt_…`, or
//! `?token=` on the websocket, which browsers cannot give headers). Browsers
//! may call it only from the widget's allowed sites: CORS answers those
//! origins alone and a request from any other is refused (the websocket too,
//! which CORS does not cover). Requests are limited per visitor and per client
//! address.

mod frame;
pub mod hub;
mod socket;

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, Query};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use domain::ids::*;
use engine::EngineError;
use engine::chat::Visitor;
use engine::chat::{NewVisitor, VisibleMessage, VisitorMessage, Widget};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

/// Visitors one client address may start in a minute.
pub const VISITORS_PER_MINUTE: usize = 20;
/// Requests one visitor may make in a minute (messages, reads, history).
pub const REQUESTS_PER_MINUTE: usize = 120;
/// How long a widget's settings are reused before they are read again.
const WIDGET_TTL: Duration = Duration::from_secs(10);
/// Most widgets kept in the cache.
const MAX_CACHED: usize = 10_000;

/// The chat side of the application: widgets by key, budgets, live routing.
pub struct ChatState {
    widgets: Mutex<HashMap<String, (Instant, Arc<Widget>)>>,
    /// Agents online and expected wait per widget: every page load of every
    /// shop asks, anonymously, so the database answers at most every 30 s.
    status: Mutex<HashMap<AccountId, (Instant, engine::chat::WidgetStatus)>>,
    pub visitors_per_address: crate::throttle::Throttle,
    pub per_visitor: crate::throttle::Throttle,
    pub hub: Arc<hub::ChatHub>,
}

impl Default for ChatState {
    fn default() -> Self {
        ChatState {
            widgets: Mutex::new(HashMap::new()),
            status: Mutex::new(HashMap::new()),
            visitors_per_address: crate::throttle::Throttle::new(
                VISITORS_PER_MINUTE,
                Duration::from_secs(60),
            ),
            per_visitor: crate::throttle::Throttle::new(
                REQUESTS_PER_MINUTE,
                Duration::from_secs(60),
            ),
            hub: Arc::new(hub::ChatHub::default()),
        }
    }
}

/// How long a widget's status is reused.
const STATUS_TTL: Duration = Duration::from_secs(30);

impl ChatState {
    /// The widget's status, read at most every 30 s.
    async fn status(
        &self,
        app: &AppState,
        w: &Widget,
    ) -> Result<engine::chat::WidgetStatus, EngineError> {
        let id = w.account.id;
        if let Ok(cache) = self.status.lock()
            && let Some((at, s)) = cache.get(&id)
            && at.elapsed() < STATUS_TTL
        {
            return Ok(s.clone());
        }
        let s = app.engine.widget_status(w).await?;
        if let Ok(mut cache) = self.status.lock() {
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(id, (Instant::now(), s.clone()));
        }
        Ok(s)
    }

    /// The widget a key names, read at most every ten seconds.
    pub async fn widget(&self, app: &AppState, key: &str) -> Result<Arc<Widget>, EngineError> {
        if let Ok(cache) = self.widgets.lock()
            && let Some((at, w)) = cache.get(key)
            && at.elapsed() < WIDGET_TTL
        {
            return Ok(w.clone());
        }
        let w = Arc::new(app.engine.widget(key).await?);
        if let Ok(mut cache) = self.widgets.lock() {
            if cache.len() >= MAX_CACHED {
                cache.retain(|_, (at, _)| at.elapsed() < WIDGET_TTL);
                if cache.len() >= MAX_CACHED {
                    cache.clear();
                }
            }
            cache.insert(key.to_owned(), (Instant::now(), w.clone()));
        }
        Ok(w)
    }
}

pub fn routes(file_limit: usize) -> Router<AppState> {
    let api = Router::new()
        .route("/widget/v1/{key}/config", get(config))
        .route("/widget/v1/{key}/visitors", post(create_visitor))
        .route(
            "/widget/v1/{key}/visitor",
            get(get_visitor).patch(patch_visitor),
        )
        .route(
            "/widget/v1/{key}/messages",
            get(list_messages).post(send_message),
        )
        .route("/widget/v1/{key}/read", post(read))
        .route("/widget/v1/{key}/files/{id}", get(download))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .merge(
            Router::new()
                .route("/widget/v1/{key}/files", post(upload))
                .layer(axum::extract::DefaultBodyLimit::max(file_limit)),
        )
        .layer(middleware::from_fn(cors));
    Router::new()
        .merge(api)
        .route("/widget/v1/{key}/ws", get(socket::upgrade))
        .route("/widget/v1/{key}/loader.js", get(frame::loader))
        .route("/widget/v1/{key}/frame", get(frame::frame))
}

/// The `Origin` of a browser's request.
fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|o| o.to_str().ok())
}

/// CORS for the client API: preflights are answered, and every answer to a
/// browser names its origin. Whether the origin is allowed is the widget's
/// business, checked in the handlers (they know the widget).
async fn cors(req: axum::extract::Request, next: middleware::Next) -> Response {
    let from = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| HeaderValue::from_bytes(o.as_bytes()).ok());
    if req.method() == Method::OPTIONS {
        let mut res = StatusCode::NO_CONTENT.into_response();
        let h = res.headers_mut();
        if let Some(o) = from {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        }
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PATCH"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        return res;
    }
    let mut res = next.run(req).await;
    if let Some(o) = from {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    res
}

/// The widget, when this request may use it: it exists and is active, and a
/// browser's page is on one of its allowed sites.
async fn widget_for(app: &AppState, key: &str, headers: &HeaderMap) -> ApiResult<Arc<Widget>> {
    let w = app.chat.widget(app, key).await?;
    // The widget's own frame is served from here: its requests name this origin.
    let own = origin(headers).is_some_and(|o| o == crate::help::origin(headers));
    if !own && !w.settings.allows(origin(headers)) {
        return Err(ApiError::forbidden(
            "this site is not one of the widget's allowed origins",
        ));
    }
    Ok(w)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The widget and the visitor whose token the request carries, within the
/// visitor's request budget.
async fn visitor_for(
    app: &AppState,
    key: &str,
    headers: &HeaderMap,
) -> ApiResult<(Arc<Widget>, Visitor)> {
    let w = widget_for(app, key, headers).await?;
    let token =
        bearer(headers).ok_or_else(|| ApiError::unauthorized("a visitor token is needed"))?;
    let v = app.engine.visitor_by_token(&w, token).await?;
    if let Err(wait) = app.chat.per_visitor.check(&v.id.to_string()) {
        return Err(EngineError::RateLimited {
            retry_after_secs: wait,
        }
        .into());
    }
    Ok((w, v))
}

#[derive(Serialize, ToSchema)]
pub struct PrechatOut {
    pub field: String,
    pub required: bool,
}

#[derive(Serialize, ToSchema)]
pub struct WidgetConfig {
    /// The channel's name.
    pub name: String,
    pub color: String,
    /// Greetings per language code.
    pub greeting: BTreeMap<String, String>,
    pub prechat: Vec<PrechatOut>,
    /// Whether to ask for an email address when nobody is online.
    pub offline_email: bool,
    /// Agents available now: those whose presence is `online`, or more when
    /// more have the agent workspace open.
    pub agents_online: i64,
    /// The median wait for a first answer in the last seven days, in seconds;
    /// null without data.
    pub expected_wait_s: Option<i64>,
}

#[utoipa::path(get, path = "/widget/v1/{key}/config", tag = "chat client",
    params(("key" = String, Path, description = "The widget key (`wk_…`)", max_length = 100)),
    security(()),
    responses((status = 200, body = WidgetConfig, description = "How the widget looks and whether anyone is online"),
        (status = 403, body = Problem, description = "The page's site is not allowed"),
        (status = 404, body = Problem, description = "No active widget has this key")))]
pub async fn config(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<WidgetConfig>> {
    let w = widget_for(&app, &key, &headers).await?;
    let status = app.chat.status(&app, &w).await?;
    Ok(Json(WidgetConfig {
        name: w.name.clone(),
        color: w.settings.color.clone(),
        greeting: w.settings.greeting.clone(),
        prechat: w
            .settings
            .prechat
            .iter()
            .map(|f| PrechatOut {
                field: f.field.as_str().to_owned(),
                required: f.required,
            })
            .collect(),
        offline_email: w.settings.offline_email,
        // Those who said they are online, or those with the workspace open.
        agents_online: status
            .agents_online
            .max(app.live.agents_online(w.account.workspace_id) as i64),
        expected_wait_s: status.expected_wait_s,
    }))
}

/// The site's word for who a visitor is.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityIn {
    /// The site's own id for its signed-in user.
    pub user_id: String,
    /// HMAC-SHA256 of `user_id` with the channel's identity secret, in hex,
    /// computed by the site's server.
    pub hmac: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorIn {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The visitor's language (`ru`, `en`, `th` …).
    pub lang: Option<String>,
    pub identity: Option<IdentityIn>,
    /// The page the visitor is on, shown to agents.
    pub page_url: Option<String>,
    pub page_title: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct VisitorCreated {
    pub visitor_id: Uuid,
    /// Keep it (the widget keeps it in the site's storage): it is the only way
    /// back to this conversation.
    pub visitor_token: String,
}

#[utoipa::path(post, path = "/widget/v1/{key}/visitors", tag = "chat client",
    params(("key" = String, Path, description = "The widget key (`wk_…`)", max_length = 100)),
    security(()),
    request_body = VisitorIn,
    responses((status = 201, body = VisitorCreated,
            headers(("Set-Cookie" = String, description = "`otklik_visitor_{key}`: the token again, HttpOnly and SameSite=Lax, so the workspace's help center and tracked links know an identified visitor (only while the workspace tracks visitors)"))),
        (status = 403, body = Problem, description = "The page's site is not allowed, or the identity's signature does not match"),
        (status = 404, body = Problem, description = "No active widget has this key"),
        (status = 422, body = Problem, description = "A required pre-chat field is missing, or a field is not valid"),
        (status = 429, body = Problem, description = "Too many new visitors from this address; see Retry-After")))]
pub async fn create_visitor(
    State(app): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(key): Path<String>,
    headers: HeaderMap,
    Json(b): Json<VisitorIn>,
) -> ApiResult<Response> {
    let w = widget_for(&app, &key, &headers).await?;
    let client = crate::client_addr(addr.ip(), &headers, &app.config.trusted_proxies);
    if let Err(wait) = app.chat.visitors_per_address.check(&client.to_string()) {
        return Err(EngineError::RateLimited {
            retry_after_secs: wait,
        }
        .into());
    }
    let (v, token) = app
        .engine
        .create_visitor(
            &w,
            NewVisitor {
                name: b.name,
                email: b.email,
                phone: b.phone,
                lang: b.lang,
                identity: b.identity.map(|i| (i.user_id, i.hmac)),
                page_url: b.page_url,
                page_title: b.page_title,
            },
        )
        .await?;
    let cookie = visitor_cookie(&key, &token, app.config.secure_cookies);
    let mut res = (
        StatusCode::CREATED,
        Json(VisitorCreated {
            visitor_id: v.id.0,
            visitor_token: token,
        }),
    )
        .into_response();
    if let Some(c) = cookie {
        res.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// Prefix of the cookie that tells the help center and tracked links which
/// chat visitor a browser is (one per widget key).
const VISITOR_COOKIE: &str = "otklik_visitor_";
/// How long a browser keeps it: half a year, like the widget's stored token.
const VISITOR_COOKIE_DAYS: i64 = 183;

/// The cookie carrying a new visitor's token. HttpOnly (no script reads it)
/// and SameSite=Lax: sent when the visitor opens the help center or follows
/// a tracked link, not on other sites' requests. The widget's API never
/// reads it — it takes the token from the Authorization header — so the
/// cookie cannot be used to act as the visitor. `None` when the key cannot
/// be a cookie's name.
fn visitor_cookie(key: &str, token: &str, secure: bool) -> Option<HeaderValue> {
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return None;
    }
    HeaderValue::from_str(&format!(
        "{VISITOR_COOKIE}{key}={token}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}",
        VISITOR_COOKIE_DAYS * 86_400,
        if secure { "; Secure" } else { "" }
    ))
    .ok()
}

/// The chat visitors a request's cookies name: (widget key, token), at most four.
pub(crate) fn visitor_cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for h in headers.get_all(header::COOKIE).iter().take(8) {
        let Ok(s) = h.to_str() else { continue };
        for part in s.split(';') {
            let Some((name, value)) = part.trim().split_once('=') else {
                continue;
            };
            if let Some(key) = name.strip_prefix(VISITOR_COOKIE)
                && !key.is_empty()
                && key.len() <= 100
                && !value.is_empty()
                && value.len() <= 200
                && out.len() < 4
            {
                out.push((key.to_owned(), value.to_owned()));
            }
        }
    }
    out
}

#[derive(Serialize, ToSchema)]
pub struct VisitorOut {
    pub id: Uuid,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub lang: Option<String>,
    /// Whether the site vouched for this visitor (identity verification).
    pub verified: bool,
    pub created_at: String,
}

fn visitor_out(v: &Visitor) -> VisitorOut {
    VisitorOut {
        id: v.id.0,
        name: v.name.clone(),
        email: v.email.clone(),
        phone: v.phone.clone(),
        lang: v.lang.clone(),
        verified: v.external_user_id.is_some(),
        created_at: v.created_at.to_rfc3339(),
    }
}

#[utoipa::path(get, path = "/widget/v1/{key}/visitor", tag = "chat client",
    params(("key" = String, Path, description = "The widget key (`wk_…`)", max_length = 100)),
    security(("visitor" = [])),
    responses((status = 200, body = VisitorOut), (status = 401, body = Problem, description = "No or an unknown visitor token"),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn get_visitor(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<VisitorOut>> {
    let (_, v) = visitor_for(&app, &key, &headers).await?;
    Ok(Json(visitor_out(&v)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchVisitorIn {
    pub name: Option<String>,
    /// An address links the visitor to the customer who has it.
    pub email: Option<String>,
    pub phone: Option<String>,
    pub lang: Option<String>,
    pub page_url: Option<String>,
    pub page_title: Option<String>,
}

#[utoipa::path(patch, path = "/widget/v1/{key}/visitor", tag = "chat client",
    params(("key" = String, Path, description = "The widget key (`wk_…`)", max_length = 100)),
    security(("visitor" = [])),
    request_body = PatchVisitorIn,
    responses((status = 200, body = VisitorOut, description = "The visitor as changed; an address links them to the customer who has it"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn patch_visitor(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    Json(b): Json<PatchVisitorIn>,
) -> ApiResult<Json<VisitorOut>> {
    let (_, v) = visitor_for(&app, &key, &headers).await?;
    let v = app
        .engine
        .update_visitor(
            &v,
            NewVisitor {
                name: b.name,
                email: b.email,
                phone: b.phone,
                lang: b.lang,
                identity: None,
                page_url: b.page_url,
                page_title: b.page_title,
            },
        )
        .await?;
    Ok(Json(visitor_out(&v)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatMessageIn {
    /// Chosen by the client (a UUID): sending the same id again is the same
    /// message, so a retry after a lost answer never doubles it.
    pub client_id: String,
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct ChatMessageCreated {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub created_at: String,
}

#[utoipa::path(post, path = "/widget/v1/{key}/messages", tag = "chat client",
    params(("key" = String, Path, description = "The widget key (`wk_…`)", max_length = 100)),
    security(("visitor" = [])),
    request_body = ChatMessageIn,
    responses((status = 201, body = ChatMessageCreated, description = "Sent: the first message opens a conversation, later ones continue it"),
        (status = 200, body = ChatMessageCreated, description = "This client_id was sent before: the same message"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "Empty, longer than 10,000 characters, or a client_id over 100 characters"),
        (status = 429, body = Problem)))]
pub async fn send_message(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    Json(b): Json<ChatMessageIn>,
) -> ApiResult<Response> {
    let (w, v) = visitor_for(&app, &key, &headers).await?;
    let r = app
        .engine
        .visitor_send(
            &w,
            &v,
            VisitorMessage {
                client_id: b.client_id,
                text: b.text,
                attachments: Vec::new(),
            },
        )
        .await?;
    sent(&app, &v, r).await
}

#[utoipa::path(post, path = "/widget/v1/{key}/files", tag = "chat client",
    params(("key" = String, Path, description = "The widget key (`wk_…`)", max_length = 100)),
    security(("visitor" = [])),
    request_body(content_type = "multipart/form-data", description = "Parts: `client_id` (as for messages), optional `text`, and one `file` (at most the server's attachment limit, 25 MB by default)"),
    responses((status = 201, body = ChatMessageCreated, description = "Sent as a message carrying the file"),
        (status = 200, body = ChatMessageCreated, description = "This client_id was sent before: the same message"),
        (status = 400, body = Problem, description = "Not a multipart body with those parts"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 413, body = Problem, description = "The file is larger than the limit"),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn upload(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    mut mp: axum::extract::Multipart,
) -> ApiResult<Response> {
    let (w, v) = visitor_for(&app, &key, &headers).await?;
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", e.body_text())
        } else {
            ApiError::bad_request(e.body_text())
        }
    };
    let (mut client_id, mut text, mut file) = (None, String::new(), None);
    while let Some(field) = mp.next_field().await.map_err(too_large)? {
        match field.name() {
            Some("client_id") => client_id = Some(field.text().await.map_err(too_large)?),
            Some("text") => text = field.text().await.map_err(too_large)?,
            Some("file") if file.is_none() => {
                let filename = field.file_name().unwrap_or("file").to_owned();
                let ct = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                file = Some((filename, ct, field.bytes().await.map_err(too_large)?));
            }
            _ => {
                return Err(ApiError::field(
                    "body",
                    "send client_id, text and one file, and nothing else",
                ));
            }
        }
    }
    let (Some(client_id), Some(file)) = (client_id, file) else {
        return Err(ApiError::field("body", "client_id and file are required"));
    };
    let r = app
        .engine
        .visitor_send(
            &w,
            &v,
            VisitorMessage {
                client_id,
                text,
                attachments: vec![file],
            },
        )
        .await?;
    sent(&app, &v, r).await
}

/// The answer to a visitor's send: 201 for a new message, 200 for a repeat.
async fn sent(app: &AppState, v: &Visitor, r: engine::ingest::Ingested) -> ApiResult<Response> {
    let (Some(mid), Some(tid)) = (r.message_id, r.ticket_id) else {
        return Err(ApiError::from(EngineError::Internal(
            "a chat message was not stored as a message".into(),
        )));
    };
    app.chat.hub.track(tid, v.id);
    let created = app
        .engine
        .visitor_message(v, mid)
        .await?
        .map_or_else(|| app.engine.now(), |m| m.message.created_at)
        .to_rfc3339();
    let status = if r.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(ChatMessageCreated {
            id: mid.0,
            ticket_id: tid.0,
            created_at: created,
        }),
    )
        .into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileQuery {
    /// The visitor token, for links a browser opens (they carry no header).
    pub token: Option<String>,
}

#[utoipa::path(get, path = "/widget/v1/{key}/files/{id}", tag = "chat client",
    params(("key" = String, Path, description = "The widget key (`wk_…`)", max_length = 100),
        ("id" = Uuid, Path, description = "The attachment"), FileQuery),
    security(("visitor" = [])),
    responses((status = 200, description = "The file, as a download", content_type = "application/octet-stream"),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem, description = "No such file in the visitor's conversations"), (status = 429, body = Problem)))]
pub async fn download(
    State(app): State<AppState>,
    Path((key, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<FileQuery>,
) -> ApiResult<Response> {
    let mut headers = headers;
    if let Some(t) = q.token.filter(|_| bearer(&headers).is_none())
        && let Ok(v) = HeaderValue::from_str(&format!("Bearer {t}"))
    {
        headers.insert(header::AUTHORIZATION, v);
    }
    let (_, v) = visitor_for(&app, &key, &headers).await?;
    let id: AttachmentId = id.parse().map_err(|_| ApiError::not_found())?;
    let (a, bytes) = app.engine.visitor_attachment(&v, id).await?;
    Ok(crate::api::file_response(&a, bytes))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// Only messages after this one (the last the client holds).
    pub after: Option<Uuid>,
    /// At most this many (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ChatAuthor {
    /// `visitor`, `agent` or `bot`.
    pub kind: String,
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ChatAttachmentOut {
    pub id: Uuid,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ChatMessageOut {
    pub id: Uuid,
    pub ticket_id: Uuid,
    /// The `client_id` the visitor sent it with (their own messages only), so a
    /// client recognises its own message coming back.
    pub client_id: Option<String>,
    pub author: ChatAuthor,
    pub text: String,
    pub attachments: Vec<ChatAttachmentOut>,
    /// Replies to the visitor: `sent`, `delivered` or `read`.
    pub delivery_state: Option<String>,
    pub created_at: String,
    /// Replies the visitor may send with one tap (the bot asking whether its
    /// answer helped: yes, no in the visitor's language); sent as a message's
    /// `text`. Empty for most messages.
    pub quick_replies: Vec<String>,
    /// A satisfaction survey the message asks (after the conversation was
    /// solved): show a button per score; a form POST of `score` to `url`
    /// (the survey's public page, same origin) answers it, and a second
    /// answer replaces the first.
    pub survey: Option<ChatSurveyOut>,
}

/// A survey asked in the conversation.
#[derive(Serialize, ToSchema)]
pub struct ChatSurveyOut {
    /// The survey's page: opened, it takes a comment too.
    pub url: String,
    /// The lowest and highest score (CSAT: 1–5).
    pub low: i64,
    pub high: i64,
    /// The visitor's answer so far.
    pub score: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ChatMessages {
    pub items: Vec<ChatMessageOut>,
}

pub(crate) fn message_out(m: VisibleMessage) -> ChatMessageOut {
    ChatMessageOut {
        id: m.message.id.0,
        ticket_id: m.message.ticket_id.0,
        client_id: (m.author == "visitor")
            .then(|| {
                m.message
                    .external_id
                    .as_deref()
                    .and_then(|e| e.split_once(':'))
                    .map(|(_, c)| c.to_owned())
            })
            .flatten(),
        author: ChatAuthor {
            kind: m.author.to_owned(),
            name: m.author_name,
        },
        quick_replies: m.quick_replies.iter().map(|r| (*r).to_owned()).collect(),
        survey: m.survey.map(|s| ChatSurveyOut {
            url: s.link,
            low: s.low,
            high: s.high,
            score: s.score,
        }),
        text: m.message.body_text,
        attachments: m
            .message
            .attachments
            .into_iter()
            .map(|a| ChatAttachmentOut {
                id: a.id.0,
                filename: a.filename,
                content_type: a.content_type,
                size: a.size,
            })
            .collect(),
        delivery_state: m.message.delivery_state.map(|s| s.as_str().to_owned()),
        created_at: m.message.created_at.to_rfc3339(),
    }
}

#[utoipa::path(get, path = "/widget/v1/{key}/messages", tag = "chat client",
    params(("key" = String, Path, description = "The widget key (`wk_…`)", max_length = 100), MessagesQuery),
    security(("visitor" = [])),
    responses((status = 200, body = ChatMessages, description = "The public messages of the visitor's own conversations, oldest first: never internal notes, never another visitor's"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "A limit outside 1–200"), (status = 429, body = Problem)))]
pub async fn list_messages(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    Query(q): Query<MessagesQuery>,
) -> ApiResult<Json<ChatMessages>> {
    let limit = match q.limit {
        None => 50,
        Some(l) if (1..=engine::chat::MAX_PAGE).contains(&l) => l,
        Some(_) => return Err(ApiError::field("limit", "1 to 200")),
    };
    let (_, v) = visitor_for(&app, &key, &headers).await?;
    let items = app
        .engine
        .visitor_messages(&v, q.after.map(MessageId), limit)
        .await?
        .into_iter()
        .map(message_out)
        .collect();
    Ok(Json(ChatMessages { items }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadIn {
    /// The newest message the visitor has seen.
    pub up_to: Uuid,
}

#[utoipa::path(post, path = "/widget/v1/{key}/read", tag = "chat client",
    params(("key" = String, Path, description = "The widget key (`wk_…`)", max_length = 100)),
    security(("visitor" = [])),
    request_body = ReadIn,
    responses((status = 204, description = "Agents' replies up to that message are marked read"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn read(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    Json(b): Json<ReadIn>,
) -> ApiResult<StatusCode> {
    let (_, v) = visitor_for(&app, &key, &headers).await?;
    app.engine.visitor_read(&v, MessageId(b.up_to)).await?;
    Ok(StatusCode::NO_CONTENT)
}
