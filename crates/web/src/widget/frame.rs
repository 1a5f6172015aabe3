//! What a site loads: the loader script (`/widget/v1/{key}/loader.js`, the one
//! `<script>` tag) and the chat's own page, which the loader puts in an iframe
//! (`/widget/v1/{key}/frame`). The page runs under Otklik's Content-Security-
//! Policy — its own scripts and styles only — and may be framed only by the
//! widget's allowed sites.

use super::widget_for;
use crate::AppState;
use crate::ui::assets;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(serde::Deserialize)]
pub struct FrameQuery {
    lang: Option<String>,
}

/// The loader: the same few lines for every widget (the key is read from the
/// script's own address), cached briefly so a fix reaches sites soon.
pub async fn loader() -> Response {
    let Some(a) = assets::ASSETS.iter().find(|a| a.name == "chat-loader.js") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut res = a.bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

/// A language code safe to write into the page: letters and `-`, at most 10.
fn safe_lang(raw: Option<&str>) -> String {
    let l: String = raw
        .unwrap_or("en")
        .chars()
        .take(10)
        .filter(|c| c.is_ascii_alphabetic() || *c == '-')
        .collect();
    if l.len() < 2 { "en".into() } else { l }
}

pub async fn frame(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<FrameQuery>,
    headers: HeaderMap,
) -> Response {
    // The page is fetched by the iframe itself (no Origin): the widget must
    // exist; which sites may frame it is the CSP's frame-ancestors.
    let w = match widget_for(&app, &key, &HeaderMap::new()).await {
        Ok(w) => w,
        Err(e) => return e.into_response(),
    };
    let lang = safe_lang(q.lang.as_deref());
    // The key was found as a stored widget key (URL-safe base64 after `wk_`).
    let page = format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Chat</title><link rel=\"stylesheet\" href=\"{css}\">\
         <script src=\"{js}\" defer></script></head>\
         <body data-key=\"{key}\" data-lang=\"{lang}\"></body></html>\n",
        css = assets::url("chat.css"),
        js = assets::url("chat.js"),
    );
    // The help center (this origin) may always show its workspace's chat.
    let ancestors = if w.settings.allowed_origins.is_empty() {
        "*".to_owned()
    } else {
        format!("'self' {}", w.settings.allowed_origins.join(" "))
    };
    let host = crate::help::origin(&headers);
    let ws_origin = host
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         font-src 'self'; connect-src 'self' {ws_origin}; base-uri 'none'; form-action 'none'; \
         frame-ancestors {ancestors}"
    );
    let mut res = page.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}
