//! The agent workspace and admin screens: server-rendered HTML (askama templates,
//! one struct per page), a small script for live behaviour, assets compiled in.
//!
//! Invariants:
//! - Views call the same engine services as the JSON API; no rule lives here.
//! - Every state-changing request carries the session's CSRF token (`_csrf` form
//!   field or `X-CSRF-Token` header); checked before the handler runs.
//! - Every page is sent with a Content-Security-Policy that allows scripts and
//!   styles from this origin only: no inline script can run, whatever a message holds.
//! - Customer HTML reaches a page only as stored, that is after sanitising at ingest.

pub mod admin;
pub mod assets;
pub mod bot_admin;
pub mod charts;
pub mod chat_admin;
pub mod compose;
pub mod customer;
pub mod field_form;
pub mod i18n;
pub mod journey_map;
pub mod kb_admin;
pub mod live;
pub mod macros_page;
pub mod messenger_admin;
pub mod orders_view;
pub mod orgs;
pub mod outreach_admin;
pub mod prefs;
pub mod quality;
pub mod reports;
pub mod rules_admin;
pub mod ticket;
pub mod views;

use crate::AppState;
use crate::extract::{SESSION_COOKIE, constant_time_eq, cookie_in};
use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use engine::model::{User, Workspace};
use engine::{EngineError, Principal, Via};
use i18n::Tr;
use std::net::SocketAddr;

/// The routes of the UI, mounted at the root.
pub fn routes(state: AppState) -> Router<AppState> {
    let upload_limit = state.engine.limits.max_attachment_bytes
        * state.engine.limits.max_attachments_per_message.min(5)
        + 256 * 1024;
    Router::new()
        .route("/", get(|| async { Redirect::to("/app") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/lang", get(set_lang))
        .route("/assets/{name}", get(assets::serve))
        .route("/app", get(views::inbox))
        .route("/app/bulk", post(views::bulk))
        .route("/app/bulk/undo", post(views::bulk_undo))
        .route("/app/password", get(password_page).post(change_password))
        .route("/app/presence", post(set_presence))
        .route("/app/t/{number}", get(ticket::page))
        .route("/app/t/{number}/props", post(ticket::update))
        .route("/app/t/{number}/macro", post(ticket::apply_macro))
        .route("/app/t/{number}/template", post(ticket::send_template))
        .route("/app/t/{number}/cc", post(ticket::cc))
        .route("/app/t/{number}/followers", post(ticket::followers))
        .route("/app/t/{number}/review", post(ticket::review))
        .route("/app/t/{number}/side", post(ticket::start_side))
        .route("/app/preview", post(ticket::preview))
        .route("/app/t/{number}/side/{side}", post(ticket::side_action))
        .route("/app/t/{number}/escalate", post(ticket::escalate))
        .route("/app/t/{number}/experts", post(ticket::experts))
        .route("/app/t/{number}/solution", post(ticket::solution))
        .route("/app/t/{number}/resend", post(ticket::resend))
        .route("/app/t/{number}/snooze", post(ticket::snooze))
        .route("/app/t/{number}/merge", post(ticket::merge))
        .route("/app/t/{number}/split", post(ticket::split))
        .route("/app/t/{number}/remind", post(ticket::remind))
        .route("/app/reminders/{id}/cancel", post(ticket::cancel_reminder))
        .route("/app/t/{number}/triage", post(ticket::correct_triage))
        .route("/app/t/{number}/order", post(orders_view::link))
        .route(
            "/app/t/{number}/reply",
            post(ticket::reply).layer(axum::extract::DefaultBodyLimit::max(upload_limit)),
        )
        .route("/app/ws", get(live::socket))
        .merge(customer::routes())
        .merge(compose::routes())
        .merge(orgs::routes())
        .merge(reports::routes())
        .merge(quality::routes())
        .merge(prefs::routes())
        .merge(outreach_admin::routes())
        .merge(bot_admin::routes())
        .merge(admin::routes())
        .merge(kb_admin::routes())
        .merge(chat_admin::routes())
        .merge(messenger_admin::routes())
        .merge(rules_admin::routes())
        .merge(macros_page::routes())
        .merge(crate::help::routes())
        .layer(middleware::from_fn(security_headers))
}

/// Headers on every UI response: the CSP that forbids inline script, framing and
/// plugins, and no referrer leaks to links in customer messages.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
             font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
             frame-ancestors 'none'; form-action 'self'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// What every page shows around its content.
pub struct Chrome {
    pub tr: Tr,
    pub csrf: String,
    pub me: User,
    pub ws: Workspace,
    pub is_admin: bool,
    pub can_reply: bool,
    /// A message to confirm the last action (a catalog key under `flash.`).
    pub flash: Option<String>,
    /// What undoes the bulk change the flash confirms (posted back as is).
    pub undo: Option<String>,
    pub title: String,
    /// This page's address, URL-encoded, to come back to (language switch).
    pub next: String,
    /// This page's address as is (a form's `next`).
    pub here: String,
}

impl Chrome {
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        self.tr.t(key)
    }
    pub fn css(&self) -> &'static str {
        assets::url("app.css")
    }
    pub fn js(&self) -> &'static str {
        assets::url("app.js")
    }
    pub fn langs(&self) -> [i18n::Lang; 3] {
        i18n::Lang::ALL
    }
    /// The zone this person reads times in: theirs, else the workspace's.
    pub fn tz(&self) -> &str {
        self.me
            .preferences
            .time_zone
            .as_deref()
            .unwrap_or(&self.ws.time_zone)
    }
}

/// The signed-in person on a page: their principal, language and workspace.
pub struct Ctx {
    pub p: Principal,
    pub tr: Tr,
    pub csrf: String,
    pub me: User,
    pub ws: Workspace,
    pub path: String,
    pub query: Option<String>,
    /// `scheme://host` as the request names it, for links sent to customers.
    pub origin: String,
    is_get: bool,
}

impl Ctx {
    /// The zone this person reads times in: theirs, else the workspace's.
    pub fn zone(&self) -> &str {
        self.me
            .preferences
            .time_zone
            .as_deref()
            .unwrap_or(&self.ws.time_zone)
    }

    pub fn chrome(&self, title: impl Into<String>) -> Chrome {
        let flash = self.query.as_deref().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "ok")
                .map(|(_, v)| v.into_owned())
                .filter(|v| v.starts_with("flash.") && self.tr.has(v))
        });
        Chrome {
            tr: self.tr,
            csrf: self.csrf.clone(),
            me: self.me.clone(),
            ws: self.ws.clone(),
            is_admin: self.p.role.can_administer(),
            can_reply: self.p.role.can_work_tickets(),
            undo: flash
                .as_deref()
                .filter(|f| f.starts_with("flash.bulk_"))
                .and_then(|_| {
                    form_urlencoded::parse(self.query.as_deref().unwrap_or_default().as_bytes())
                        .find(|(k, _)| k == "undo")
                        .map(|(_, v)| v.into_owned())
                })
                .filter(|u| u.len() <= 20_000),
            flash,
            title: title.into(),
            next: form_urlencoded::byte_serialize(self.here().as_bytes()).collect(),
            here: self.here(),
        }
    }

    /// This page's path and query, without a confirmation message. A page shown
    /// in answer to a form (an error, say) has no address of its own to return to.
    pub fn here(&self) -> String {
        if !self.is_get {
            return "/app".to_owned();
        }
        let kept: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                form_urlencoded::parse(self.query.as_deref().unwrap_or_default().as_bytes())
                    .filter(|(k, _)| k != "ok" && k != "undo"),
            )
            .finish();
        if kept.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{kept}", self.path)
        }
    }
}

impl<S> FromRequestParts<S> for Ctx
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let path = parts.uri.path().to_owned();
        let query = parts.uri.query().map(str::to_owned);
        let is_get = parts.method == Method::GET;
        let back = match &query {
            Some(q) if is_get => format!("{path}?{q}"),
            _ if is_get => path.clone(),
            _ => "/app".to_owned(),
        };
        let Some(secret) = cookie_in(&parts.headers, SESSION_COOKIE).filter(|s| s.len() <= 200)
        else {
            return Err(UiError::Login(back));
        };
        let p = match app.engine.authenticate_session(secret).await {
            Ok(p) => p,
            Err(EngineError::Unauthorized) => return Err(UiError::Login(back)),
            Err(e) => return Err(UiError::engine(e, Tr::for_request(&parts.headers, None))),
        };
        let Via::Session { csrf, .. } = &p.via else {
            return Err(UiError::Login(back));
        };
        let csrf = csrf.clone();
        // Two independent reads, in parallel.
        let (me, ws) = match futures::join!(app.engine.me(&p), app.engine.workspace(&p)) {
            (Ok(me), Ok(ws)) => (me, ws),
            (Err(e), _) | (_, Err(e)) => {
                return Err(UiError::engine(e, Tr::for_request(&parts.headers, None)));
            }
        };
        let tr = Tr::for_person(
            &parts.headers,
            me.preferences.language.as_deref(),
            Some(&ws.default_language),
        );
        // Every state change from a page proves it came from one: the header here,
        // or the `_csrf` field that `Form` checks.
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            let header_ok = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|sent| constant_time_eq(sent.as_bytes(), csrf.as_bytes()));
            if header_ok {
                parts.extensions.insert(CsrfChecked);
            }
        }
        Ok(Ctx {
            p,
            tr,
            csrf,
            me,
            ws,
            path,
            query,
            is_get,
            origin: crate::help::origin(&parts.headers),
        })
    }
}

/// Marks a request whose CSRF header was valid.
#[derive(Clone, Copy)]
struct CsrfChecked;

/// A submitted form from a signed-in page, its CSRF token verified.
/// A larger body limit for the forms of a route (an article's editor), set as
/// a request extension; others take 256 KiB.
#[derive(Clone, Copy)]
pub struct FormLimit(pub usize);

pub struct Form {
    pub ctx: Ctx,
    pairs: Vec<(String, String)>,
}

impl Form {
    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// A field's value, trimmed; empty counts as absent.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|s| !s.is_empty())
    }
    /// Every value of a repeated field.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// Whether any field's name starts with `prefix`.
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k.starts_with(prefix))
    }
    /// A checkbox.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v == "on" || v == "true" || v == "1")
    }
}

impl<S> FromRequest<S> for Form
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = UiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let ctx = Ctx::from_request_parts(&mut parts, state).await?;
        let header_ok = parts.extensions.get::<CsrfChecked>().is_some();
        let limit = parts
            .extensions
            .get::<FormLimit>()
            .map_or(256 * 1024, |l| l.0);
        let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
            UiError::Status(StatusCode::PAYLOAD_TOO_LARGE, ctx.tr, "error.too_large")
        })?;
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&bytes)
            .take(2000)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let field_ok = pairs
            .iter()
            .find(|(k, _)| k == "_csrf")
            .is_some_and(|(_, v)| constant_time_eq(v.as_bytes(), ctx.csrf.as_bytes()));
        if !(header_ok || field_ok) {
            return Err(UiError::Status(StatusCode::FORBIDDEN, ctx.tr, "error.csrf"));
        }
        Ok(Form { ctx, pairs })
    }
}

/// Whether a request comes from a page of this server: its `Origin` names the
/// `Host` it was sent to. Without an `Origin` header the answer is `absent_ok`.
pub fn same_origin(headers: &HeaderMap, uri: &axum::http::Uri, absent_ok: bool) -> bool {
    // HTTP/2 carries the authority in the URI instead of a Host header.
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        host,
    ) {
        (Some(o), Some(h)) => o
            .split_once("://")
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(h)),
        (Some(_), None) => false,
        (None, _) => absent_ok,
    }
}

/// A small multipart form (a settings form with a file), read whole within the
/// route's body limit and accepted only with the session's CSRF token.
pub struct MultipartForm {
    texts: Vec<(String, String)>,
    /// (field name, file name, bytes) of each non-empty file part.
    pub files: Vec<(String, String, bytes::Bytes)>,
}

impl MultipartForm {
    pub async fn read(
        ctx: &Ctx,
        headers: &HeaderMap,
        mut mp: axum::extract::Multipart,
    ) -> Result<MultipartForm, UiError> {
        let tr = ctx.tr;
        let mut form = MultipartForm {
            texts: Vec::new(),
            files: Vec::new(),
        };
        loop {
            let field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(UiError::Message(e.status(), tr, e.body_text())),
            };
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                Some(file) => {
                    let bytes = field
                        .bytes()
                        .await
                        .map_err(|e| UiError::Message(e.status(), tr, e.body_text()))?;
                    if !bytes.is_empty() {
                        form.files.push((name, file, bytes));
                    }
                }
                None => {
                    let text = field
                        .text()
                        .await
                        .map_err(|e| UiError::Message(e.status(), tr, e.body_text()))?;
                    form.texts.push((name, text));
                }
            }
        }
        if !csrf_ok(ctx, headers, form.get("_csrf")) {
            return Err(UiError::Status(StatusCode::FORBIDDEN, tr, "error.csrf"));
        }
        Ok(form)
    }

    /// The first value of a text field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.texts
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first file sent as `name`: its file name and bytes.
    pub fn file(&self, name: &str) -> Option<(&str, &bytes::Bytes)> {
        self.files
            .iter()
            .find(|(k, _, _)| k == name)
            .map(|(_, f, b)| (f.as_str(), b))
    }
}

/// Checks a CSRF token given outside a url-encoded form (multipart uploads).
pub fn csrf_ok(ctx: &Ctx, headers: &HeaderMap, field: Option<&str>) -> bool {
    let header = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    [header, field]
        .into_iter()
        .flatten()
        .any(|sent| constant_time_eq(sent.as_bytes(), ctx.csrf.as_bytes()))
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum UiError {
    /// Not signed in: go to the login page, then back to this path.
    Login(String),
    /// A status with a catalog key explaining it.
    Status(StatusCode, Tr, &'static str),
    /// A rule or input problem, in the engine's words.
    Message(StatusCode, Tr, String),
    /// Too many attempts (429) or too busy (503), with `Retry-After` in seconds.
    Throttled(StatusCode, Tr, String, u64),
    Template(askama::Error),
}

impl UiError {
    /// A page for an engine error: "not found" and "forbidden" in the person's
    /// language, rule and input problems in the engine's words, a lost session
    /// back to the login.
    pub fn engine(e: EngineError, tr: Tr) -> UiError {
        match e {
            EngineError::RateLimited { retry_after_secs } => {
                let m = describe(&e, &tr).unwrap_or_else(|| e.to_string());
                return UiError::Throttled(StatusCode::TOO_MANY_REQUESTS, tr, m, retry_after_secs);
            }
            EngineError::Busy { retry_after_secs } => {
                let m = tr.message(
                    &domain::Message::new(domain::Code::Busy).with("seconds", retry_after_secs),
                );
                return UiError::Throttled(
                    StatusCode::SERVICE_UNAVAILABLE,
                    tr,
                    m,
                    retry_after_secs,
                );
            }
            _ => {}
        }
        let detail = describe(&e, &tr);
        let status = StatusCode::from_u16(crate::error::ApiError::from(e).0.status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match (status, detail) {
            (StatusCode::UNAUTHORIZED, _) => UiError::Login("/app".into()),
            (StatusCode::NOT_FOUND, Some(d)) => UiError::Message(status, tr, d),
            (StatusCode::NOT_FOUND, _) => UiError::Status(status, tr, "error.not_found"),
            (StatusCode::FORBIDDEN, _) => UiError::Status(status, tr, "error.forbidden"),
            (s, _) if s.is_server_error() => UiError::Status(s, tr, "error.internal"),
            (s, Some(d)) => UiError::Message(s, tr, d),
            (s, None) => UiError::Status(s, tr, "error.invalid"),
        }
    }
}

/// Maps engine errors in a handler to pages, keeping rule messages.
pub trait OrPage<T> {
    fn or_page(self, tr: Tr) -> Result<T, UiError>;
}

impl<T> OrPage<T> for Result<T, EngineError> {
    fn or_page(self, tr: Tr) -> Result<T, UiError> {
        self.map_err(|e| UiError::engine(e, tr))
    }
}

/// An error a person can fix, in their language: the engine's message for its
/// code, after the field it concerns (a custom field by its key).
pub fn describe(e: &EngineError, tr: &Tr) -> Option<String> {
    let field = |f: &str| f.strip_prefix("custom_fields.").unwrap_or(f).to_owned();
    match e {
        EngineError::Invalid(v) => Some(
            v.iter()
                .map(|(f, m)| format!("{}: {}", field(f), tr.message(m)))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        EngineError::Unknown(f, m) => Some(format!("{}: {}", field(f), tr.message(m))),
        EngineError::Rule(m)
        | EngineError::Conflict(m)
        | EngineError::TooLarge(m)
        | EngineError::Forbidden(m) => Some(tr.message(m)),
        EngineError::Duplicate(k) => Some(tr.message(&k.code().into())),
        EngineError::Upstream(why) => {
            Some(tr.message(&domain::Message::new(domain::Code::Upstream).with("reason", why)))
        }
        EngineError::RateLimited { retry_after_secs } => Some(tr.message(
            &domain::Message::new(domain::Code::RateLimited).with("seconds", retry_after_secs),
        )),
        EngineError::WrongPassword => Some(tr.t("password.wrong").to_owned()),
        _ => None,
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    tr: Tr,
    status: u16,
    message: &'a str,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let mut retry_after = None;
        let (status, tr, message) = match self {
            UiError::Login(back) => {
                let target = format!(
                    "/login?next={}",
                    form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
                );
                return Redirect::to(&target).into_response();
            }
            UiError::Status(s, tr, key) => (s, tr, tr.t(key).to_owned()),
            UiError::Message(s, tr, m) => (s, tr, m),
            UiError::Throttled(status, tr, m, secs) => {
                retry_after = Some(secs);
                (status, tr, m)
            }
            UiError::Template(e) => {
                tracing::error!(error = %e, "template failed");
                let tr = Tr::new(i18n::Lang::En);
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    tr,
                    tr.t("error.internal").to_owned(),
                )
            }
        };
        let page = ErrorPage {
            tr,
            status: status.as_u16(),
            message: &message,
        };
        let mut res = match page.render() {
            Ok(html) => (status, axum::response::Html(html)).into_response(),
            Err(_) => (status, message).into_response(),
        };
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        res
    }
}

impl From<askama::Error> for UiError {
    fn from(e: askama::Error) -> Self {
        UiError::Template(e)
    }
}

/// Renders a page template.
pub fn html(t: &impl Template) -> Result<Response, UiError> {
    Ok(axum::response::Html(t.render()?).into_response())
}

/// A path to return to after an action: same-origin paths only.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.len() < 2000
                // Browsers drop tabs and newlines from URLs: "/\t/evil" means "//evil".
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n
        }
        _ => "/app",
    }
}

/// Redirects after a successful action, with a confirmation to show.
pub fn done(to: &str, flash: &str) -> Response {
    let sep = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{to}{sep}ok={flash}")).into_response()
}

// ---- login, logout, password, language ----

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    tr: Tr,
    workspace: String,
    email: String,
    next: String,
    error: Option<String>,
    css: &'static str,
}

impl LoginPage {
    fn langs(&self) -> [i18n::Lang; 3] {
        i18n::Lang::ALL
    }
}

async fn default_workspace(app: &AppState) -> String {
    // One workspace (the usual self-hosted case) is filled in for the person.
    match app.engine.workspace_names(2).await {
        Ok(mut names) if names.len() == 1 => names.pop().unwrap_or_default(),
        _ => String::new(),
    }
}

async fn login_page(
    State(app): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, UiError> {
    let tr = Tr::for_request(&headers, None);
    html(&LoginPage {
        tr,
        workspace: default_workspace(&app).await,
        email: String::new(),
        next: safe_next(q.get("next").map(String::as_str)).to_owned(),
        error: None,
        css: assets::url("app.css"),
    })
}

async fn login(
    State(app): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let tr = Tr::for_request(&headers, None);
    // Login has no session to bind a token to; a cross-site form posting here
    // (to sign the victim into another account) is refused by its Origin.
    if !same_origin(&headers, &uri, true) {
        return Err(UiError::Status(StatusCode::FORBIDDEN, tr, "error.csrf"));
    }
    let field = |name: &str| {
        form_urlencoded::parse(&body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (workspace, email, password) = (field("workspace"), field("email"), field("password"));
    let remember = field("remember") == "on";
    let next = safe_next(Some(&field("next"))).to_owned();
    if workspace.len() > 100 || email.len() > 320 || password.len() > 1024 {
        return Err(UiError::Status(
            StatusCode::PAYLOAD_TOO_LARGE,
            tr,
            "error.too_large",
        ));
    }
    match app
        .engine
        .login(
            &workspace,
            &email,
            &password,
            remember,
            &crate::client_addr(addr.ip(), &headers, &app.config.trusted_proxies).to_string(),
        )
        .await
    {
        Ok(s) => {
            let mut res = Redirect::to(&next).into_response();
            let max_age = (s.expires_at.millis() - app.engine.now().millis()) / 1000;
            let cookie = crate::extract::session_cookie(
                &s.secret,
                remember.then_some(max_age),
                app.config.secure_cookies,
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            Ok(res)
        }
        Err(e) => {
            let (status, key, retry_after) = match e {
                EngineError::Unauthorized => (StatusCode::UNAUTHORIZED, "login.failed", None),
                EngineError::RateLimited { retry_after_secs } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "login.throttled",
                    Some(retry_after_secs),
                ),
                e => return Err(UiError::engine(e, tr)),
            };
            let page = LoginPage {
                tr,
                workspace,
                email,
                next,
                error: Some(tr.t(key).to_owned()),
                css: assets::url("app.css"),
            };
            let mut res = (status, axum::response::Html(page.render()?)).into_response();
            if let Some(secs) = retry_after {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
            }
            Ok(res)
        }
    }
}

async fn logout(
    State(app): State<AppState>,
    headers: HeaderMap,
    f: Form,
) -> Result<Response, UiError> {
    if let Some(secret) = cookie_in(&headers, SESSION_COOKIE) {
        app.engine.logout(secret).await.or_page(f.ctx.tr)?;
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("otklik_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(res)
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    chrome: Chrome,
    error: Option<String>,
}

async fn password_page(ctx: Ctx) -> Result<Response, UiError> {
    html(&PasswordPage {
        chrome: ctx.chrome(ctx.tr.t("password.title")),
        error: None,
    })
}

async fn change_password(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let tr = f.ctx.tr;
    let current = f.get("current").unwrap_or_default();
    let new = f.get("new").unwrap_or_default();
    let error = if new != f.get("confirm").unwrap_or_default() {
        Some(tr.t("password.mismatch").to_owned())
    } else {
        match app.engine.change_password(&f.ctx.p, current, new).await {
            Ok(()) => return Ok(done("/app/password", "flash.password_changed")),
            Err(EngineError::WrongPassword) => Some(tr.t("password.wrong").to_owned()),
            Err(e) => match describe(&e, &tr) {
                Some(d) => Some(d),
                None => return Err(UiError::engine(e, tr)),
            },
        }
    };
    let page = PasswordPage {
        chrome: f.ctx.chrome(tr.t("password.title")),
        error,
    };
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::response::Html(page.render()?),
    )
        .into_response())
}

/// Sets the interface language (a cookie for a year) and returns to the page.
async fn set_lang(
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let lang = q.get("set").and_then(|l| i18n::Lang::from_tag(l));
    let mut res = Redirect::to(safe_next(q.get("next").map(String::as_str))).into_response();
    if let Some(l) = lang
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            i18n::LANG_COOKIE,
            l.code()
        ))
    {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// `POST /app/presence`: the person sets their own presence.
async fn set_presence(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let presence = f
        .get("presence")
        .filter(|p| admin::PRESENCE.contains(p))
        .ok_or(UiError::Status(
            StatusCode::UNPROCESSABLE_ENTITY,
            ctx.tr,
            "error.invalid",
        ))?;
    app.engine
        .update_user(
            &ctx.p,
            ctx.p.user_id,
            engine::people::UserPatch {
                presence: Some(presence.to_owned()),
                ..Default::default()
            },
        )
        .await
        .or_page(ctx.tr)?;
    let back = f
        .get("next")
        .and_then(|n| {
            form_urlencoded::parse(format!("n={n}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_else(|| "/app".into());
    Ok(done(safe_next(Some(&back)), "flash.saved"))
}
