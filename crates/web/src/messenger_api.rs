//! Messenger channels: the admin API (`/api/v1/channels/telegram`) and the
//! webhooks the providers call (`/hooks/telegram/{id}`).
//!
//! A webhook checks the provider's secret before it reads the body, takes the
//! message in (durably, before it answers) and leaves the slow part —
//! fetching files from the provider — to a queued job. A call without the
//! secret is 401, with a wrong one 403, and stores nothing.

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathParam, id};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use engine::telegram::{HookRefusal, TelegramChannel, TelegramInput};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

/// The header Telegram repeats the webhook's secret in.
pub const TELEGRAM_SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TelegramChannelIn {
    pub name: String,
    /// The token BotFather gave (`123456:ABC…`); stored sealed, never shown again.
    pub bot_token: String,
    /// The Bot API's address (default `https://api.telegram.org`).
    pub api_base_url: Option<String>,
    pub active: Option<bool>,
    /// New conversations go to this team's queue.
    pub team_id: Option<Uuid>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTelegramChannelIn {
    pub name: Option<String>,
    /// A new token of the same bot (after revoking the old one in BotFather).
    pub bot_token: Option<String>,
    pub api_base_url: Option<String>,
    /// Off deletes the bot's webhook (Telegram keeps the updates for a day);
    /// on sets it again.
    pub active: Option<bool>,
    /// `null` stops sending new conversations to a team.
    #[serde(default, deserialize_with = "crate::dto::double_option")]
    pub team_id: Option<Option<Uuid>>,
}

#[derive(Serialize, ToSchema)]
pub struct TelegramChannelOut {
    pub id: Uuid,
    pub name: String,
    /// The bot's Telegram id (the token's first part).
    pub bot_id: i64,
    /// `@username` without the `@`, as `getMe` told it.
    pub bot_username: Option<String>,
    pub api_base_url: String,
    /// Where Telegram delivers the bot's updates: `{public_url}/hooks/telegram/{id}`.
    pub webhook_url: Option<String>,
    pub team_id: Option<Uuid>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct TelegramChannelList {
    pub items: Vec<TelegramChannelOut>,
}

fn telegram_out(c: TelegramChannel) -> TelegramChannelOut {
    TelegramChannelOut {
        id: c.id.0,
        name: c.name,
        bot_id: c.bot_id,
        bot_username: c.bot_username,
        api_base_url: c.api_base_url,
        webhook_url: c.webhook_url,
        team_id: c.team_id.map(|t| t.0),
        active: c.active,
        created_at: c.created_at.to_rfc3339(),
        updated_at: c.updated_at.to_rfc3339(),
    }
}

#[utoipa::path(get, path = "/api/v1/channels/telegram", tag = "channels",
    responses((status = 200, body = TelegramChannelList), (status = 403, body = Problem, description = "Owners and admins only")))]
pub async fn list_telegram(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<TelegramChannelList>> {
    let items = app
        .engine
        .telegram_channels(&p)
        .await?
        .into_iter()
        .map(telegram_out)
        .collect();
    Ok(Json(TelegramChannelList { items }))
}

#[utoipa::path(post, path = "/api/v1/channels/telegram", tag = "channels", request_body = TelegramChannelIn,
    responses((status = 201, body = TelegramChannelOut, description = "Connected: the token checked with getMe, the webhook set with a secret token"),
        (status = 403, body = Problem, description = "Owners and admins only"),
        (status = 409, body = Problem, description = "The server has no public_url, or the bot is already connected"),
        (status = 404, body = Problem, description = "The team is not the workspace's"),
        (status = 422, body = Problem, description = "A token that is not a bot token, an API address that is not http(s)"),
        (status = 502, body = Problem, description = "Telegram refused the token or the webhook, or did not answer within 20 s")))]
pub async fn create_telegram(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<TelegramChannelIn>,
) -> ApiResult<Response> {
    let c = app
        .engine
        .create_telegram_channel(
            &p,
            TelegramInput {
                name: Some(b.name),
                bot_token: Some(b.bot_token),
                api_base_url: b.api_base_url,
                active: b.active,
                team_id: Some(b.team_id.map(domain::ids::TeamId)),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(telegram_out(c))).into_response())
}

#[utoipa::path(get, path = "/api/v1/channels/telegram/{id}", tag = "channels", params(("id" = Uuid, Path)),
    responses((status = 200, body = TelegramChannelOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_telegram(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
) -> ApiResult<Json<TelegramChannelOut>> {
    let c = app.engine.telegram_channel(&p, id(&cid)?).await?;
    Ok(Json(telegram_out(c)))
}

#[utoipa::path(patch, path = "/api/v1/channels/telegram/{id}", tag = "channels", params(("id" = Uuid, Path)), request_body = PatchTelegramChannelIn,
    responses((status = 200, body = TelegramChannelOut),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "Turning the channel on needs the server's public_url"),
        (status = 422, body = Problem, description = "A token of another bot, an API address that is not http(s)"),
        (status = 502, body = Problem, description = "Telegram refused the change or did not answer within 20 s")))]
pub async fn patch_telegram(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
    Json(b): Json<PatchTelegramChannelIn>,
) -> ApiResult<Json<TelegramChannelOut>> {
    let c = app
        .engine
        .update_telegram_channel(
            &p,
            id(&cid)?,
            TelegramInput {
                name: b.name,
                bot_token: b.bot_token,
                api_base_url: b.api_base_url,
                active: b.active,
                team_id: b.team_id.map(|t| t.map(domain::ids::TeamId)),
            },
        )
        .await?;
    Ok(Json(telegram_out(c)))
}

/// What a webhook answers once the update is safe.
#[derive(Serialize, ToSchema)]
pub struct HookAnswer {
    /// The update carried a message for the inbox and it is stored (or was
    /// already); false: nothing in it is for the inbox (a group, a bot, a
    /// member update).
    pub accepted: bool,
}

#[utoipa::path(post, path = "/hooks/telegram/{id}", tag = "hooks", params(("id" = Uuid, Path, description = "The channel")),
    request_body(content = Object, description = "A Telegram `Update` as the Bot API delivers it (at most 1 MB)"),
    security(("telegram" = [])),
    responses((status = 200, body = HookAnswer, description = "Stored before this answer; files follow from a queued job"),
        (status = 400, body = Problem, description = "The body is not an update"),
        (status = 401, body = Problem, description = "No X-Telegram-Bot-Api-Secret-Token: nothing is stored"),
        (status = 403, body = Problem, description = "The wrong secret: nothing is stored"),
        (status = 404, body = Problem, description = "No such channel, or it is switched off"),
        (status = 413, body = Problem, description = "Larger than 1 MB")))]
pub async fn telegram_hook(
    State(app): State<AppState>,
    PathParam(cid): PathParam,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<HookAnswer>> {
    let secret = headers
        .get(TELEGRAM_SECRET_HEADER)
        .map(|v| v.to_str().unwrap_or_default());
    let account = app
        .engine
        .telegram_hook(id(&cid)?, secret)
        .await
        .map_err(|r| match r {
            HookRefusal::Unknown => ApiError::not_found(),
            HookRefusal::Unsigned => ApiError::unauthorized("the secret token header is missing"),
            HookRefusal::BadSecret => ApiError::forbidden("the secret token is wrong"),
        })?;
    let update: channels::telegram::Update = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            format!("not a Telegram update: {e}"),
        )
    })?;
    let Some(received) = channels::telegram::read(&update) else {
        return Ok(Json(HookAnswer { accepted: false }));
    };
    app.engine.telegram_inbound(&account, received).await?;
    Ok(Json(HookAnswer { accepted: true }))
}
