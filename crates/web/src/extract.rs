//! Request extractors: the caller's identity, strict JSON bodies and queries.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, header};
use engine::{Principal, Via};
use serde::de::DeserializeOwned;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "otklik_session";

/// The `Set-Cookie` value of a new session: lasting `max_age` seconds when the
/// person asked to be remembered, else until the browser closes.
pub fn session_cookie(secret: &str, max_age: Option<i64>, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax{}{}",
        max_age
            .map(|s| format!("; Max-Age={s}"))
            .unwrap_or_default(),
        if secure { "; Secure" } else { "" }
    )
}

/// The authenticated caller. Bearer tokens for integrations; session cookies for the
/// browser, where every state-changing request must also send the session's CSRF
/// token in `X-CSRF-Token`.
pub struct Auth(pub Principal);

pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    cookie_in(&parts.headers, name)
}

/// A cookie's value from request headers.
pub fn cookie_in<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

impl<S> FromRequestParts<S> for Auth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        if let Some(h) = parts.headers.get(header::AUTHORIZATION) {
            let h = h
                .to_str()
                .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
            let token = h
                .strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
                .ok_or_else(|| ApiError::unauthorized("use Authorization: Bearer <token>"))?;
            if token.len() > 200 {
                return Err(ApiError::unauthorized("invalid token"));
            }
            let p = app
                .engine
                .authenticate_token(token.trim())
                .await
                .map_err(|e| match e {
                    engine::EngineError::Unauthorized => {
                        ApiError::unauthorized("invalid or revoked token")
                    }
                    e => e.into(),
                })?;
            return Ok(Auth(p));
        }
        if let Some(secret) = cookie(parts, SESSION_COOKIE) {
            if secret.len() > 200 {
                return Err(ApiError::unauthorized("invalid session"));
            }
            let p = app
                .engine
                .authenticate_session(secret)
                .await
                .map_err(|e| match e {
                    engine::EngineError::Unauthorized => {
                        ApiError::unauthorized("the session has ended; log in again")
                    }
                    e => e.into(),
                })?;
            if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
                let sent = parts
                    .headers
                    .get("x-csrf-token")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                let Via::Session { csrf, .. } = &p.via else {
                    return Err(ApiError::forbidden("CSRF check failed"));
                };
                if !constant_time_eq(sent.as_bytes(), csrf.as_bytes()) {
                    return Err(ApiError::forbidden(
                        "missing or wrong X-CSRF-Token for this session",
                    ));
                }
            }
            return Ok(Auth(p));
        }
        Err(ApiError::unauthorized(
            "log in, or send Authorization: Bearer <token>",
        ))
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A JSON body whose every failure is a problem+json answer: 415 for the wrong
/// content type, 400 for malformed JSON or invalid UTF-8, 422 for wrong types or
/// unknown enum values, 413 past the body limit.
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| crate::extract::media_type_is(v, "application/json"));
        if !is_json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content-type",
                "send Content-Type: application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), "body", e.body_text()))?;
        parse_json(&bytes).map(Json)
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// A query string whose failures are problem+json answers.
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError::new(axum::http::StatusCode::BAD_REQUEST, "query", e.body_text()))
    }
}

/// A path parameter, as text: each handler parses it into the id it expects, so a
/// malformed id is a 404 like any unknown one.
pub struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map(|p| PathParam(p.0))
            .map_err(|_| ApiError::not_found())
    }
}

/// Whether a `Content-Type` value names `essence` (parameters such as
/// `charset` allowed; `application/jsonfoo` is not `application/json`).
pub fn media_type_is(value: &str, essence: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(essence))
}

/// Two path parameters (an object and one of its parts), as text.
pub struct PathPair(pub String, pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathPair {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map(|p| PathPair(p.0.0, p.0.1))
            .map_err(|_| ApiError::not_found())
    }
}

/// Parses an id from a path segment; anything else is "not found".
pub fn id<T: std::str::FromStr>(s: &str) -> Result<T, ApiError> {
    s.parse().map_err(|_| ApiError::not_found())
}

/// Parses a JSON body: malformed JSON or invalid UTF-8 is 400, JSON of the wrong
/// shape (wrong types, unknown fields or enum values, missing fields) is 422.
/// A JSON value read only to find an object with a repeated key.
struct NoDuplicates;

impl<'de> serde::Deserialize<'de> for NoDuplicates {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicatesVisitor)
    }
}

struct NoDuplicatesVisitor;

impl<'de> serde::de::Visitor<'de> for NoDuplicatesVisitor {
    type Value = NoDuplicates;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_i64<E>(self, _: i64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_u64<E>(self, _: u64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_f64<E>(self, _: f64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_str<E>(self, _: &str) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_unit<E>(self) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<NoDuplicates, A::Error> {
        while seq.next_element::<NoDuplicates>()?.is_some() {}
        Ok(NoDuplicates)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<NoDuplicates, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if !seen.insert(key.to_string()) {
                return Err(serde::de::Error::custom(format!(
                    "the key {key:?} appears twice in one object"
                )));
            }
            map.next_value::<NoDuplicates>()?;
        }
        Ok(NoDuplicates)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every body is an object; serde would also read a struct from an array of
    // its fields in order, which no client means.
    if let Some(&first) = bytes.iter().find(|b| !b.is_ascii_whitespace())
        && first != b'{'
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
    {
        return Err(ApiError::validation(vec![(
            "body".into(),
            "must be a JSON object".into(),
        )]));
    }
    // The common case pays for nothing more than parsing; the path-tracking parser
    // runs only to say where a rejected body went wrong.
    if let Ok(v) = serde_json::from_slice::<T>(bytes) {
        // Objects with a key twice (which serde reads as "the last one wins" in
        // maps) are refused: the sender meant one of them, and we cannot know which.
        if let Err(e) = serde_json::from_slice::<NoDuplicates>(bytes) {
            return Err(ApiError::validation(vec![("body".into(), e.to_string())]));
        }
        return Ok(v);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            // A shape error in a body that is not JSON at all is reported as malformed.
            serde_json::error::Category::Data
                if serde_json::from_slice::<serde_json::Value>(bytes).is_err() =>
            {
                ApiError::bad_request("malformed JSON: the body is not one JSON value")
            }
            serde_json::error::Category::Data => {
                let field = if path == "." || path.is_empty() {
                    "body".to_owned()
                } else {
                    path
                };
                ApiError::validation(vec![(field, inner.to_string())])
            }
            _ => ApiError::bad_request(format!("malformed JSON: {inner}")),
        }
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?;
    Ok(v)
}
