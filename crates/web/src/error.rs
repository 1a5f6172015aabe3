//! The one error type at the HTTP boundary: every failure becomes an RFC 9457
//! `application/problem+json` answer carrying the request id. Unexpected errors are
//! logged with their whole source chain and answered with an opaque 500.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use engine::EngineError;
use serde::Serialize;
use std::collections::BTreeMap;

/// A problem to report to the client.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Field → message, for validation failures.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, String>,
    /// The id of the request, to quote when asking for help.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

/// An error a handler returns.
#[derive(Debug)]
pub struct ApiError(pub Box<Problem>);

impl ApiError {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> ApiError {
        ApiError(Box::new(Problem {
            kind: format!("urn:otklik:problem:{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: BTreeMap::new(),
            request_id: None,
            retry_after: None,
        }))
    }
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }
    pub fn not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "no such resource in this workspace",
        )
    }
    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }
    pub fn validation(errors: Vec<(String, String)>) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "some fields are invalid",
        );
        e.0.detail = errors
            .iter()
            .map(|(f, m)| format!("{f}: {m}"))
            .collect::<Vec<_>>()
            .join("; ");
        e.0.errors = errors.into_iter().collect();
        e
    }
    pub fn field(field: &str, msg: impl Into<String>) -> ApiError {
        ApiError::validation(vec![(field.to_owned(), msg.into())])
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NotFound => ApiError::not_found(),
            EngineError::Forbidden(m) => ApiError::forbidden(m.to_string()),
            EngineError::Unauthorized => ApiError::unauthorized("invalid credentials"),
            EngineError::WrongPassword => {
                let mut e = ApiError::forbidden("the current password is wrong");
                e.0.errors.insert(
                    "current_password".into(),
                    "is not the current password".into(),
                );
                e
            }
            EngineError::Invalid(errs) => {
                ApiError::validation(errs.into_iter().map(|(f, m)| (f, m.to_string())).collect())
            }
            EngineError::Unknown(field, what) => {
                let mut e = ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not-found",
                    format!("{field}: {what}"),
                );
                e.0.errors.insert(field, what.to_string());
                e
            }
            // A well-formed request that the target's current state refuses.
            EngineError::Rule(m) => ApiError::new(StatusCode::CONFLICT, "rule", m.to_string()),
            EngineError::Conflict(m) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", m.to_string())
            }
            EngineError::Duplicate(k) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", k.describe())
            }
            EngineError::TooLarge(m) => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", m.to_string())
            }
            EngineError::Busy { retry_after_secs } => {
                let mut e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    format!("the server is busy; try again in {retry_after_secs} s"),
                );
                e.0.retry_after = Some(retry_after_secs);
                e
            }
            EngineError::RateLimited { retry_after_secs } => {
                let mut e = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate-limited",
                    format!("too many attempts; try again in {retry_after_secs} s"),
                );
                e.0.retry_after = Some(retry_after_secs);
                e
            }
            EngineError::Upstream(m) => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "upstream",
                format!("the remote service answered: {m}"),
            ),
            other => {
                let mut chain = other.to_string();
                let mut src = std::error::Error::source(&other);
                while let Some(s) = src {
                    chain.push_str(": ");
                    chain.push_str(&s.to_string());
                    src = s.source();
                }
                tracing::error!(error = %chain, "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on our side; quote the request id when reporting it",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = status.into_response();
        if let Some(s) = self.0.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        // The body is written by `finish_problems`, which knows the request id.
        res.extensions_mut().insert(*self.0);
        res
    }
}

/// Middleware: turns a `Problem` left by a handler (or an empty error status left by
/// the framework) into the problem+json body with the request id.
pub async fn finish_problems(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut res = next.run(req).await;
    let problem = res.extensions_mut().remove::<Problem>();
    let status = res.status();
    let problem = match problem {
        Some(p) => p,
        // Errors produced outside handlers (unknown route, wrong method, body limit).
        None if (status.is_client_error() || status.is_server_error())
            && res.headers().get(header::CONTENT_TYPE).is_none_or(|v| {
                // Pages of the UI explain their own errors.
                !v.as_bytes().starts_with(b"application/problem+json")
                    && !v.as_bytes().starts_with(b"text/html")
            }) =>
        {
            let detail = match status {
                StatusCode::NOT_FOUND => "no such resource",
                StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed here",
                StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large",
                StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported content type",
                _ => "the request could not be handled",
            };
            *ApiError::new(status, "http", detail).0
        }
        None => return res,
    };
    let mut p = problem;
    p.request_id = request_id;
    let body = serde_json::to_vec(&p).unwrap_or_default();
    let (mut parts, _) = res.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}
