//! Tracked short links over HTTP: made and listed under `/api/v1/links`, a
//! QR code of each as SVG, and the redirect itself at `/l/{code}`.

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathParam, Query, id};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use domain::ids::*;
use engine::tracking::LinkRow;
use engine::tracking::{Follow, Follower, NewLink};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

/// A link to make.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkIn {
    /// Where it leads: an http or https address under one of the workspace's
    /// `link_targets` (journey settings), ≤ 2,000 characters.
    #[schema(max_length = 2000, example = "https://shop.example/spring-sale")]
    pub target: String,
    /// The campaign it belongs to (≤ 100 characters); stage rules can match it
    /// as the attribute `campaign`.
    #[schema(max_length = 100)]
    pub campaign: Option<String>,
    /// A name for people (≤ 200 characters).
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// The customer the link is for, when it goes into a message to them:
    /// clicks on it then count as theirs.
    pub customer_id: Option<Uuid>,
}

/// A tracked link.
#[derive(Serialize, ToSchema)]
pub struct LinkOut {
    pub id: Uuid,
    /// Eight letters and digits.
    pub code: String,
    /// The short address to share: `{server}/l/{code}`.
    pub url: String,
    pub target: String,
    pub campaign: Option<String>,
    pub name: Option<String>,
    pub customer_id: Option<Uuid>,
    /// Clicks counted (a client's repeats within ten minutes are one click;
    /// crawlers and link previews are not counted). Written within seconds.
    pub clicks: i64,
    pub created_at: String,
    /// When it stopped leading anywhere; it then answers 410.
    pub disabled_at: Option<String>,
}

/// Clicks of one customer on a link.
#[derive(Serialize, ToSchema)]
pub struct LinkClicker {
    /// `null`: clicks of no one known (anonymous, or while the workspace
    /// did not track visitors).
    pub customer_id: Option<Uuid>,
    pub clicks: i64,
}

/// A link with its clicks per customer.
#[derive(Serialize, ToSchema)]
pub struct LinkDetail {
    pub link: LinkOut,
    /// At most 50, most clicks first.
    pub customers: Vec<LinkClicker>,
}

fn short_url(app: &AppState, headers: &HeaderMap, code: &str) -> String {
    let base = app
        .engine
        .public_url
        .clone()
        .unwrap_or_else(|| crate::help::origin(headers));
    format!("{base}/l/{code}")
}

fn link_out(app: &AppState, headers: &HeaderMap, l: LinkRow) -> LinkOut {
    LinkOut {
        id: l.id.0,
        url: short_url(app, headers, &l.code),
        code: l.code,
        target: l.target,
        campaign: l.campaign,
        name: l.name,
        customer_id: l.customer_id.map(|c| c.0),
        clicks: l.clicks,
        created_at: l.created_at.to_rfc3339(),
        disabled_at: l.disabled_at.map(|t| t.to_rfc3339()),
    }
}

#[utoipa::path(post, path = "/api/v1/links", tag = "journey", request_body = LinkIn,
    responses((status = 201, body = LinkOut),
        (status = 403, body = Problem, description = "Light agents cannot make links"),
        (status = 404, body = Problem, description = "`customer_id` names no customer of the workspace"),
        (status = 409, body = Problem, description = "The address is not under any of the workspace's `link_targets`"),
        (status = 422, body = Problem, description = "An address that is not http(s), with a user name, spaces or control characters; a field too long")))]
pub async fn create(
    State(app): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    Json(b): Json<LinkIn>,
) -> ApiResult<(StatusCode, Json<LinkOut>)> {
    let l = app
        .engine
        .create_link(
            &p,
            NewLink {
                target: b.target,
                campaign: b.campaign,
                name: b.name,
                customer_id: b.customer_id.map(CustomerId),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(link_out(&app, &headers, l))))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LinkQuery {
    /// Only this campaign's links.
    #[param(max_length = 100)]
    pub campaign: Option<String>,
    /// Items per page: 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    #[param(value_type = Option<Uuid>)]
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/links", tag = "journey", params(LinkQuery),
    responses((status = 200, body = crate::dto::Page<LinkOut>, description = "Newest first"),
        (status = 400, body = Problem, description = "A cursor that is not one, a limit out of 1–200, or a campaign longer than 100 characters"),
        (status = 404, body = Problem, description = "A cursor naming no link")))]
pub async fn list(
    State(app): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    Query(q): Query<LinkQuery>,
) -> ApiResult<Json<crate::dto::Page<LinkOut>>> {
    let limit = crate::api::api_limit(q.limit)?;
    if q.campaign
        .as_ref()
        .is_some_and(|c| c.chars().count() > engine::tracking::MAX_CAMPAIGN_CHARS)
    {
        return Err(ApiError::bad_request("campaign: at most 100 characters"));
    }
    let items = app
        .engine
        .links(
            &p,
            q.campaign.as_deref(),
            crate::api::cursor_id::<LinkId>(q.cursor.as_deref())?,
            limit,
        )
        .await?;
    let next = crate::api::next_cursor(&items, limit, |l| l.id.to_string());
    Ok(Json(crate::dto::Page {
        items: items
            .into_iter()
            .map(|l| link_out(&app, &headers, l))
            .collect(),
        next_cursor: next,
    }))
}

#[utoipa::path(get, path = "/api/v1/links/{id}", tag = "journey",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = LinkDetail),
        (status = 404, body = Problem, description = "No such link in the workspace")))]
pub async fn get(
    State(app): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    PathParam(lid): PathParam,
) -> ApiResult<Json<LinkDetail>> {
    let (l, by) = app.engine.link(&p, id(&lid)?).await?;
    Ok(Json(LinkDetail {
        link: link_out(&app, &headers, l),
        customers: by
            .into_iter()
            .map(|(c, n)| LinkClicker {
                customer_id: c.map(|c| c.0),
                clicks: n,
            })
            .collect(),
    }))
}

#[utoipa::path(delete, path = "/api/v1/links/{id}", tag = "journey",
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "The link answers 410 from now on (other servers within a minute); its clicks stay"),
        (status = 403, body = Problem, description = "Light agents cannot disable links"),
        (status = 404, body = Problem, description = "No such link in the workspace")))]
pub async fn disable(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(lid): PathParam,
) -> ApiResult<StatusCode> {
    app.engine.disable_link(&p, id(&lid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A QR code of `text` as an SVG document (dark modules on white, a quiet
/// zone around them, scalable).
pub fn qr_svg(text: &str) -> Result<String, ApiError> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .map_err(|e| ApiError::from(engine::EngineError::Internal(format!("QR code: {e}"))))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build())
}

#[utoipa::path(get, path = "/api/v1/links/{id}/qr.svg", tag = "journey",
    params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "image/svg+xml", body = String,
            description = "The short address as a QR code, for print"),
        (status = 404, body = Problem, description = "No such link in the workspace")))]
pub async fn qr(
    State(app): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    PathParam(lid): PathParam,
) -> ApiResult<Response> {
    let (l, _) = app.engine.link(&p, id(&lid)?).await?;
    let svg = qr_svg(&short_url(&app, &headers, &l.code))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        svg,
    )
        .into_response())
}

fn page(status: StatusCode, text: &'static str) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Html(text)).into_response()
}

/// `GET /l/{code}`: a page for people, not part of the API (like `/s/` and
/// the help center): 302 to the link's address, or a short page in three
/// languages — 404 for a code no one made, 410 for a disabled link; 503 when
/// the database cannot be read.
pub async fn follow(
    State(app): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    method: Method,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Response {
    let f = Follower {
        address: crate::client_addr(addr.ip(), &headers, &app.config.trusted_proxies).to_string(),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(500)
            .collect(),
        visitors: crate::widget::visitor_cookies(&headers),
        robot: method == Method::HEAD || crate::help::is_robot(&headers),
    };
    match app.engine.follow_link(&code, f).await {
        Ok(Follow::To(target)) => match HeaderValue::from_str(&target) {
            Ok(location) => (
                StatusCode::FOUND,
                [
                    (header::LOCATION, location),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                    (
                        header::REFERRER_POLICY,
                        HeaderValue::from_static("no-referrer"),
                    ),
                ],
            )
                .into_response(),
            Err(_) => page(StatusCode::NOT_FOUND, NOT_FOUND),
        },
        Ok(Follow::Gone) => page(StatusCode::GONE, GONE),
        Ok(Follow::NotFound) => page(StatusCode::NOT_FOUND, NOT_FOUND),
        Err(e) => {
            tracing::error!(error = %e, "following a link failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

const NOT_FOUND: &str = "<!doctype html><meta charset=utf-8><title>404</title><p>This link does not exist. · Такой ссылки нет. · ไม่มีลิงก์นี้</p>";
const GONE: &str = "<!doctype html><meta charset=utf-8><title>410</title><p>This link is no longer active. · Ссылка больше не действует. · ลิงก์นี้ใช้งานไม่ได้แล้ว</p>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_codes_are_svg_documents() {
        let svg = qr_svg("https://desk.example/l/AbCd1234").expect("qr");
        assert!(
            svg.starts_with("<?xml") || svg.starts_with("<svg"),
            "{}",
            &svg[..40]
        );
        assert!(svg.contains("<svg") && svg.contains("#000000"));
        let long = qr_svg(&"x".repeat(2000)).expect("fits");
        assert!(long.len() > svg.len(), "more data, more modules");
    }
}
