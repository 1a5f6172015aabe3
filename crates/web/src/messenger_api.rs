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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatsappChannelIn {
    pub name: String,
    /// The number's id in Meta's WhatsApp Manager (digits).
    pub phone_number_id: String,
    /// A system user's permanent access token; stored sealed, never shown again.
    pub access_token: String,
    /// The Meta app's secret, which signs every notification; stored sealed.
    pub app_secret: String,
    /// The token Meta sends back when the webhook is verified; you choose it.
    pub verify_token: String,
    /// The Graph API with its version (default `https://graph.facebook.com/v21.0`).
    pub api_base_url: Option<String>,
    /// The WhatsApp Business Account (digits): message templates are read from it.
    pub business_account_id: Option<String>,
    pub active: Option<bool>,
    /// New conversations go to this team's queue.
    pub team_id: Option<Uuid>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchWhatsappChannelIn {
    pub name: Option<String>,
    pub access_token: Option<String>,
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    pub api_base_url: Option<String>,
    #[serde(default, deserialize_with = "crate::dto::double_option")]
    pub business_account_id: Option<Option<String>>,
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "crate::dto::double_option")]
    pub team_id: Option<Option<Uuid>>,
}

#[derive(Serialize, ToSchema)]
pub struct WhatsappChannelOut {
    pub id: Uuid,
    pub name: String,
    pub phone_number_id: String,
    pub business_account_id: Option<String>,
    /// As the Graph API shows the number.
    pub display_phone_number: Option<String>,
    pub verified_name: Option<String>,
    pub api_base_url: String,
    /// The callback URL to give Meta (with the verify token):
    /// `{public_url}/hooks/whatsapp/{id}`.
    pub webhook_url: Option<String>,
    pub team_id: Option<Uuid>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct WhatsappChannelList {
    pub items: Vec<WhatsappChannelOut>,
}

fn whatsapp_out(c: engine::whatsapp::WhatsappChannel) -> WhatsappChannelOut {
    WhatsappChannelOut {
        id: c.id.0,
        name: c.name,
        phone_number_id: c.phone_number_id,
        business_account_id: c.business_account_id,
        display_phone_number: c.display_phone_number,
        verified_name: c.verified_name,
        api_base_url: c.api_base_url,
        webhook_url: c.webhook_url,
        team_id: c.team_id.map(|t| t.0),
        active: c.active,
        created_at: c.created_at.to_rfc3339(),
        updated_at: c.updated_at.to_rfc3339(),
    }
}

#[utoipa::path(get, path = "/api/v1/channels/whatsapp", tag = "channels",
    responses((status = 200, body = WhatsappChannelList), (status = 403, body = Problem, description = "Owners and admins only")))]
pub async fn list_whatsapp(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<WhatsappChannelList>> {
    let items = app
        .engine
        .whatsapp_channels(&p)
        .await?
        .into_iter()
        .map(whatsapp_out)
        .collect();
    Ok(Json(WhatsappChannelList { items }))
}

#[utoipa::path(post, path = "/api/v1/channels/whatsapp", tag = "channels", request_body = WhatsappChannelIn,
    responses((status = 201, body = WhatsappChannelOut, description = "Connected: the token checked against the number; give Meta the webhook_url and the verify token"),
        (status = 403, body = Problem, description = "Owners and admins only"),
        (status = 404, body = Problem, description = "The team is not the workspace's"),
        (status = 409, body = Problem, description = "The server has no public_url, or the number is already connected"),
        (status = 422, body = Problem, description = "An id that is not digits, a secret with spaces, an API address that is not http(s)"),
        (status = 502, body = Problem, description = "The Graph API refused the token or the number, or did not answer within 20 s")))]
pub async fn create_whatsapp(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<WhatsappChannelIn>,
) -> ApiResult<Response> {
    let c = app
        .engine
        .create_whatsapp_channel(
            &p,
            engine::whatsapp::WhatsappInput {
                name: Some(b.name),
                phone_number_id: Some(b.phone_number_id),
                access_token: Some(b.access_token),
                app_secret: Some(b.app_secret),
                verify_token: Some(b.verify_token),
                api_base_url: b.api_base_url,
                business_account_id: Some(b.business_account_id),
                active: b.active,
                team_id: Some(b.team_id.map(domain::ids::TeamId)),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(whatsapp_out(c))).into_response())
}

#[utoipa::path(get, path = "/api/v1/channels/whatsapp/{id}", tag = "channels", params(("id" = Uuid, Path)),
    responses((status = 200, body = WhatsappChannelOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_whatsapp(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
) -> ApiResult<Json<WhatsappChannelOut>> {
    let c = app.engine.whatsapp_channel(&p, id(&cid)?).await?;
    Ok(Json(whatsapp_out(c)))
}

#[utoipa::path(patch, path = "/api/v1/channels/whatsapp/{id}", tag = "channels", params(("id" = Uuid, Path)), request_body = PatchWhatsappChannelIn,
    responses((status = 200, body = WhatsappChannelOut),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "An id that is not digits, a secret with spaces, an API address that is not http(s)"),
        (status = 502, body = Problem, description = "The Graph API refused a new token, or did not answer within 20 s")))]
pub async fn patch_whatsapp(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
    Json(b): Json<PatchWhatsappChannelIn>,
) -> ApiResult<Json<WhatsappChannelOut>> {
    let c = app
        .engine
        .update_whatsapp_channel(
            &p,
            id(&cid)?,
            engine::whatsapp::WhatsappInput {
                name: b.name,
                phone_number_id: None,
                access_token: b.access_token,
                app_secret: b.app_secret,
                verify_token: b.verify_token,
                api_base_url: b.api_base_url,
                business_account_id: b.business_account_id,
                active: b.active,
                team_id: b.team_id.map(|t| t.map(domain::ids::TeamId)),
            },
        )
        .await?;
    Ok(Json(whatsapp_out(c)))
}

/// Meta's subscription check.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// `subscribe`.
    #[serde(rename = "hub.mode")]
    #[param(rename = "hub.mode")]
    pub mode: Option<String>,
    /// The verify token the channel was given.
    #[serde(rename = "hub.verify_token")]
    #[param(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    /// Echoed back when the token matches.
    #[serde(rename = "hub.challenge")]
    #[param(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// A signed hook's body once its signature held: not JSON is 400, JSON of
/// another shape 422.
pub(crate) fn signed_json<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> ApiResult<T> {
    let raw: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            format!("not JSON: {e}"),
        )
    })?;
    serde_json::from_value(raw).map_err(|e| ApiError::field("body", format!("not {what}: {e}")))
}

pub(crate) fn refusal(r: HookRefusal, what: &str) -> ApiError {
    match r {
        HookRefusal::Unknown => ApiError::not_found(),
        HookRefusal::Unsigned => ApiError::unauthorized(format!("the {what} is missing")),
        HookRefusal::BadSecret => ApiError::forbidden(format!("the {what} is wrong")),
    }
}

#[utoipa::path(get, path = "/hooks/whatsapp/{id}", tag = "hooks", params(("id" = Uuid, Path, description = "The channel"), VerifyQuery),
    security(()),
    responses((status = 200, content_type = "text/plain", body = String, description = "The challenge, when the verify token matches"),
        (status = 401, body = Problem, description = "No verify token or challenge"),
        (status = 403, body = Problem, description = "Not `subscribe`, or the wrong verify token"),
        (status = 404, body = Problem, description = "No such channel, or it is switched off")))]
pub async fn whatsapp_verify(
    State(app): State<AppState>,
    PathParam(cid): PathParam,
    axum::extract::Query(q): axum::extract::Query<VerifyQuery>,
) -> ApiResult<Response> {
    let challenge = app
        .engine
        .whatsapp_verify(
            id(&cid)?,
            q.mode.as_deref(),
            q.verify_token.as_deref(),
            q.challenge.as_deref(),
        )
        .await
        .map_err(|r| refusal(r, "verify token"))?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        challenge,
    )
        .into_response())
}

/// What the WhatsApp webhook answers once the notification is safe.
#[derive(Serialize, ToSchema)]
pub struct WhatsappHookAnswer {
    /// Customers' messages stored by this call (a redelivered one counts 0).
    pub messages: usize,
}

#[utoipa::path(post, path = "/hooks/whatsapp/{id}", tag = "hooks", params(("id" = Uuid, Path, description = "The channel")),
    request_body(content = Object, description = "A Cloud API notification as Meta delivers it (at most 1 MB), signed in X-Hub-Signature-256"),
    security(("whatsapp" = [])),
    responses((status = 200, body = WhatsappHookAnswer, description = "Messages stored and states applied before this answer; media follow from a queued job"),
        (status = 400, body = Problem, description = "The body is not a notification"),
        (status = 401, body = Problem, description = "No X-Hub-Signature-256: nothing is stored"),
        (status = 403, body = Problem, description = "A wrong signature: nothing is stored"),
        (status = 404, body = Problem, description = "No such channel, or it is switched off"),
        (status = 413, body = Problem, description = "Larger than 1 MB")))]
pub async fn whatsapp_hook(
    State(app): State<AppState>,
    PathParam(cid): PathParam,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<WhatsappHookAnswer>> {
    let signature = headers
        .get("x-hub-signature-256")
        .map(|v| v.to_str().unwrap_or_default());
    let (account, number) = app
        .engine
        .whatsapp_hook(id(&cid)?, signature, &body)
        .await
        .map_err(|r| refusal(r, "signature"))?;
    let payload: channels::whatsapp::Payload = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            format!("not a WhatsApp notification: {e}"),
        )
    })?;
    let n = channels::whatsapp::read(&payload, &number);
    let messages = app.engine.whatsapp_inbound(&account, n).await?;
    Ok(Json(WhatsappHookAnswer { messages }))
}

#[derive(Serialize, ToSchema)]
pub struct TemplateOut {
    pub name: String,
    pub language: String,
    pub category: String,
    /// With `{{1}}` … where the parameters go.
    pub body: String,
    pub parameters: usize,
}

#[derive(Serialize, ToSchema)]
pub struct TicketTemplates {
    /// When free-form replies stop being accepted (24 hours after the
    /// customer's last message); null when the customer never wrote.
    pub window_closes_at: Option<String>,
    /// The window is open now.
    pub window_open: bool,
    pub items: Vec<TemplateOut>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateIn {
    pub name: String,
    pub language: String,
    /// The body's parameters in order, one line each.
    #[serde(default)]
    pub parameters: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/templates", tag = "tickets", params(("id" = String, Path, description = "Ticket id or number")),
    responses((status = 200, body = TicketTemplates, description = "The approved templates of the conversation's WhatsApp number, and its window"),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "Not a WhatsApp conversation, or its channel has no business_account_id"),
        (status = 502, body = Problem, description = "The Graph API refused or did not answer within 20 s")))]
pub async fn ticket_templates(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(tid): PathParam,
) -> ApiResult<Json<TicketTemplates>> {
    let r = crate::api::ticket_ref(&tid)?;
    let items = app.engine.ticket_templates(&p, r).await?;
    let t = app.engine.ticket(&p, r).await?;
    let closes = app.engine.whatsapp_window(&p, t.id).await?;
    let now = app.engine.now();
    Ok(Json(TicketTemplates {
        window_closes_at: closes.map(|c| c.to_rfc3339()),
        window_open: closes.is_some_and(|c| c > now),
        items: items
            .into_iter()
            .map(|t| TemplateOut {
                parameters: t.parameters(),
                name: t.name,
                language: t.language,
                category: t.category,
                body: t.body,
            })
            .collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/templates", tag = "tickets", params(("id" = String, Path, description = "Ticket id or number")),
    request_body = TemplateIn,
    responses((status = 201, body = crate::dto::MessageOut, description = "The template's text as the customer reads it, queued for delivery"),
        (status = 404, body = Problem, description = "No such ticket, or no such approved template"),
        (status = 409, body = Problem, description = "Not a WhatsApp conversation, its channel has no business_account_id, or the ticket is closed"),
        (status = 422, body = Problem, description = "Not as many parameters as the template takes"),
        (status = 502, body = Problem, description = "The Graph API refused or did not answer within 20 s")))]
pub async fn send_template(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(tid): PathParam,
    Json(b): Json<TemplateIn>,
) -> ApiResult<Response> {
    let r = crate::api::ticket_ref(&tid)?;
    let posted = app
        .engine
        .send_whatsapp_template(
            &p,
            r,
            engine::whatsapp::TemplateChoice {
                name: b.name,
                language: b.language,
                parameters: b.parameters,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(crate::dto::MessageOut::from(posted.message)),
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VkChannelIn {
    pub name: String,
    /// The community's id (digits).
    pub group_id: String,
    /// A community access token with the messages, photos and docs rights;
    /// stored sealed, never shown again.
    pub access_token: String,
    /// The secret key set in the community's Callback API settings.
    pub secret: String,
    /// The string VK expects back when it confirms the address.
    pub confirmation: String,
    /// VK's API (default `https://api.vk.com/method`).
    pub api_base_url: Option<String>,
    pub active: Option<bool>,
    /// New conversations go to this team's queue.
    pub team_id: Option<Uuid>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchVkChannelIn {
    pub name: Option<String>,
    pub access_token: Option<String>,
    pub secret: Option<String>,
    pub confirmation: Option<String>,
    pub api_base_url: Option<String>,
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "crate::dto::double_option")]
    pub team_id: Option<Option<Uuid>>,
}

#[derive(Serialize, ToSchema)]
pub struct VkChannelOut {
    pub id: Uuid,
    pub name: String,
    pub group_id: String,
    /// As `groups.getById` names the community.
    pub group_name: Option<String>,
    pub screen_name: Option<String>,
    pub api_base_url: String,
    /// The Callback API address to give VK: `{public_url}/hooks/vk/{id}`.
    pub webhook_url: Option<String>,
    pub team_id: Option<Uuid>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct VkChannelList {
    pub items: Vec<VkChannelOut>,
}

fn vk_out(c: engine::vk::VkChannel) -> VkChannelOut {
    VkChannelOut {
        id: c.id.0,
        name: c.name,
        group_id: c.group_id,
        group_name: c.group_name,
        screen_name: c.screen_name,
        api_base_url: c.api_base_url,
        webhook_url: c.webhook_url,
        team_id: c.team_id.map(|t| t.0),
        active: c.active,
        created_at: c.created_at.to_rfc3339(),
        updated_at: c.updated_at.to_rfc3339(),
    }
}

#[utoipa::path(get, path = "/api/v1/channels/vk", tag = "channels",
    responses((status = 200, body = VkChannelList), (status = 403, body = Problem, description = "Owners and admins only")))]
pub async fn list_vk(State(app): State<AppState>, Auth(p): Auth) -> ApiResult<Json<VkChannelList>> {
    let items = app
        .engine
        .vk_channels(&p)
        .await?
        .into_iter()
        .map(vk_out)
        .collect();
    Ok(Json(VkChannelList { items }))
}

#[utoipa::path(post, path = "/api/v1/channels/vk", tag = "channels", request_body = VkChannelIn,
    responses((status = 201, body = VkChannelOut, description = "Connected: the token checked with groups.getById; give VK the webhook_url, the secret key and the confirmation"),
        (status = 403, body = Problem, description = "Owners and admins only"),
        (status = 404, body = Problem, description = "The team is not the workspace's"),
        (status = 409, body = Problem, description = "The server has no public_url, or the community is already connected"),
        (status = 422, body = Problem, description = "A group id that is not digits, a secret with spaces, an API address that is not http(s)"),
        (status = 502, body = Problem, description = "VK refused the token, or did not answer within 20 s")))]
pub async fn create_vk(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<VkChannelIn>,
) -> ApiResult<Response> {
    let c = app
        .engine
        .create_vk_channel(
            &p,
            engine::vk::VkInput {
                name: Some(b.name),
                group_id: Some(b.group_id),
                access_token: Some(b.access_token),
                secret: Some(b.secret),
                confirmation: Some(b.confirmation),
                api_base_url: b.api_base_url,
                active: b.active,
                team_id: Some(b.team_id.map(domain::ids::TeamId)),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(vk_out(c))).into_response())
}

#[utoipa::path(get, path = "/api/v1/channels/vk/{id}", tag = "channels", params(("id" = Uuid, Path)),
    responses((status = 200, body = VkChannelOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_vk(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
) -> ApiResult<Json<VkChannelOut>> {
    Ok(Json(vk_out(app.engine.vk_channel(&p, id(&cid)?).await?)))
}

#[utoipa::path(patch, path = "/api/v1/channels/vk/{id}", tag = "channels", params(("id" = Uuid, Path)), request_body = PatchVkChannelIn,
    responses((status = 200, body = VkChannelOut),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "A secret with spaces, an API address that is not http(s)"),
        (status = 502, body = Problem, description = "VK refused a new token, or did not answer within 20 s")))]
pub async fn patch_vk(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
    Json(b): Json<PatchVkChannelIn>,
) -> ApiResult<Json<VkChannelOut>> {
    let c = app
        .engine
        .update_vk_channel(
            &p,
            id(&cid)?,
            engine::vk::VkInput {
                name: b.name,
                group_id: None,
                access_token: b.access_token,
                secret: b.secret,
                confirmation: b.confirmation,
                api_base_url: b.api_base_url,
                active: b.active,
                team_id: b.team_id.map(|t| t.map(domain::ids::TeamId)),
            },
        )
        .await?;
    Ok(Json(vk_out(c)))
}

#[utoipa::path(post, path = "/hooks/vk/{id}", tag = "hooks", params(("id" = Uuid, Path, description = "The channel")),
    request_body(content = Object, description = "A Callback API event as VK posts it (at most 1 MB), with the community's secret key in `secret`"),
    security(()),
    responses((status = 200, content_type = "text/plain", body = String, description = "`ok` once the message is stored (VK retries anything else); for `confirmation`, the community's confirmation string"),
        (status = 400, body = Problem, description = "The body is not a callback"),
        (status = 401, body = Problem, description = "No secret key: nothing is stored"),
        (status = 403, body = Problem, description = "The wrong secret key or community: nothing is stored"),
        (status = 404, body = Problem, description = "No such channel, or it is switched off"),
        (status = 413, body = Problem, description = "Larger than 1 MB")))]
pub async fn vk_hook(
    State(app): State<AppState>,
    PathParam(cid): PathParam,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let cid = id(&cid)?;
    let raw: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            format!("not JSON: {e}"),
        )
    })?;
    // The channel and its secret first: a caller without it learns nothing
    // about what the body should have been.
    let (account, confirmation) = app
        .engine
        .vk_hook(cid, raw["secret"].as_str(), raw["group_id"].as_i64())
        .await
        .map_err(|r| refusal(r, "secret key"))?;
    let cb: channels::vk::Callback = serde_json::from_value(raw).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            format!("not a VK callback: {e}"),
        )
    })?;
    let text = match channels::vk::read(&cb) {
        engine::vk::Event::Confirmation => confirmation,
        engine::vk::Event::Message(m) => {
            app.engine.vk_inbound(&account, m).await?;
            "ok".to_owned()
        }
        engine::vk::Event::Other => "ok".to_owned(),
    };
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct PhoneLineIo {
    /// The number, E.164 (`+74951234567`).
    pub number: String,
    /// What agents see: `Доставка`, `Возвраты`.
    pub name: String,
    /// The team that takes this line's calls.
    pub team_id: Option<Uuid>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneChannelIn {
    pub name: String,
    #[serde(default)]
    pub lines: Vec<PhoneLineIo>,
    pub active: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchPhoneChannelIn {
    pub name: Option<String>,
    /// Replaces the lines.
    pub lines: Option<Vec<PhoneLineIo>>,
    pub active: Option<bool>,
    /// Issue a new signing secret (returned once); the old one stops at once.
    pub rotate_secret: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct PhoneChannelOut {
    pub id: Uuid,
    pub name: String,
    pub lines: Vec<PhoneLineIo>,
    /// Where the telephony service posts call events: `{public_url}/hooks/phone/{id}`.
    pub events_url: Option<String>,
    /// The key call events are signed with (HMAC-SHA256): shown only when
    /// created or rotated.
    pub signing_secret: Option<String>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct PhoneChannelList {
    pub items: Vec<PhoneChannelOut>,
}

fn lines_in(v: Vec<PhoneLineIo>) -> Vec<engine::phone::Line> {
    v.into_iter()
        .map(|l| engine::phone::Line {
            number: l.number,
            name: l.name,
            team_id: l.team_id.map(domain::ids::TeamId),
        })
        .collect()
}

fn phone_out(c: engine::phone::PhoneChannel, secret: Option<String>) -> PhoneChannelOut {
    PhoneChannelOut {
        id: c.id.0,
        name: c.name,
        lines: c
            .lines
            .into_iter()
            .map(|l| PhoneLineIo {
                number: l.number,
                name: l.name,
                team_id: l.team_id.map(|t| t.0),
            })
            .collect(),
        events_url: c.events_url,
        signing_secret: secret,
        active: c.active,
        created_at: c.created_at.to_rfc3339(),
        updated_at: c.updated_at.to_rfc3339(),
    }
}

#[utoipa::path(get, path = "/api/v1/channels/phone", tag = "channels",
    responses((status = 200, body = PhoneChannelList), (status = 403, body = Problem, description = "Owners and admins only")))]
pub async fn list_phone(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<PhoneChannelList>> {
    let items = app
        .engine
        .phone_channels(&p)
        .await?
        .into_iter()
        .map(|c| phone_out(c, None))
        .collect();
    Ok(Json(PhoneChannelList { items }))
}

#[utoipa::path(post, path = "/api/v1/channels/phone", tag = "channels", request_body = PhoneChannelIn,
    responses((status = 201, body = PhoneChannelOut, description = "The channel, with its signing secret shown this once"),
        (status = 403, body = Problem, description = "Owners and admins only"),
        (status = 404, body = Problem, description = "A line's team is not the workspace's"),
        (status = 422, body = Problem, description = "A number that is not E.164, a number listed twice, more than 100 lines")))]
pub async fn create_phone(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<PhoneChannelIn>,
) -> ApiResult<Response> {
    let (c, secret) = app
        .engine
        .create_phone_channel(
            &p,
            engine::phone::PhoneInput {
                name: Some(b.name),
                lines: Some(lines_in(b.lines)),
                active: b.active,
                rotate_secret: false,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(phone_out(c, Some(secret)))).into_response())
}

#[utoipa::path(get, path = "/api/v1/channels/phone/{id}", tag = "channels", params(("id" = Uuid, Path)),
    responses((status = 200, body = PhoneChannelOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_phone(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
) -> ApiResult<Json<PhoneChannelOut>> {
    Ok(Json(phone_out(
        app.engine.phone_channel(&p, id(&cid)?).await?,
        None,
    )))
}

#[utoipa::path(patch, path = "/api/v1/channels/phone/{id}", tag = "channels", params(("id" = Uuid, Path)), request_body = PatchPhoneChannelIn,
    responses((status = 200, body = PhoneChannelOut, description = "The channel; with `rotate_secret`, the new secret shown this once"),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "A number that is not E.164, a number listed twice, more than 100 lines")))]
pub async fn patch_phone(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
    Json(b): Json<PatchPhoneChannelIn>,
) -> ApiResult<Json<PhoneChannelOut>> {
    let (c, secret) = app
        .engine
        .update_phone_channel(
            &p,
            id(&cid)?,
            engine::phone::PhoneInput {
                name: b.name,
                lines: b.lines.map(lines_in),
                active: b.active,
                rotate_secret: b.rotate_secret.unwrap_or(false),
            },
        )
        .await?;
    Ok(Json(phone_out(c, secret)))
}

/// A call event as the telephony service posts it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallEventIn {
    /// The service's id of the call, the same in all its events.
    pub call_id: String,
    /// `ringing`, `answered`, `ended` (after an answer) or `missed`.
    pub event: String,
    /// The caller's number.
    pub from: String,
    /// The number called.
    pub to: String,
    /// The line, when it is not `to`.
    pub line: Option<String>,
    /// Who answered: an agent's email address.
    pub agent: Option<String>,
    /// Talk time, for `ended`.
    pub duration_s: Option<i64>,
    pub recording_url: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CallEventAnswer {
    /// `popped` (shown to `agents`), `recorded` (on `ticket_id`), or `noted`.
    pub outcome: String,
    pub agents: Option<usize>,
    pub ticket_id: Option<Uuid>,
    /// The same call was reported before.
    pub duplicate: bool,
}

#[utoipa::path(post, path = "/hooks/phone/{id}", tag = "hooks", params(("id" = Uuid, Path, description = "The channel"),
        ("X-Otklik-Timestamp" = String, Header, description = "Unix seconds, within 5 minutes of the server's clock")),
    request_body = CallEventIn,
    security(("phone" = [])),
    responses((status = 200, body = CallEventAnswer, description = "Shown, or recorded before this answer"),
        (status = 400, body = Problem, description = "The body is not JSON"),
        (status = 401, body = Problem, description = "No timestamp or signature: nothing is stored"),
        (status = 403, body = Problem, description = "A wrong signature or a stale timestamp: nothing is stored"),
        (status = 404, body = Problem, description = "No such channel, or it is switched off"),
        (status = 413, body = Problem, description = "Larger than 1 MB"),
        (status = 422, body = Problem, description = "A field the call event does not have, a number that is not E.164")))]
pub async fn phone_hook(
    State(app): State<AppState>,
    PathParam(cid): PathParam,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<CallEventAnswer>> {
    let header = |n: &str| headers.get(n).map(|v| v.to_str().unwrap_or_default());
    let account = app
        .engine
        .phone_hook(
            id(&cid)?,
            header("x-otklik-timestamp"),
            header("x-otklik-signature"),
            &body,
        )
        .await
        .map_err(|r| refusal(r, "signature"))?;
    let event: engine::phone::CallEvent = signed_json(&body, "a call event")?;
    let answer = match app.engine.phone_event(&account, event).await? {
        engine::phone::CallOutcome::Popped(n) => CallEventAnswer {
            outcome: "popped".into(),
            agents: Some(n),
            ticket_id: None,
            duplicate: false,
        },
        engine::phone::CallOutcome::Recorded {
            ticket_id,
            duplicate,
        } => CallEventAnswer {
            outcome: "recorded".into(),
            agents: None,
            ticket_id: Some(ticket_id.0),
            duplicate,
        },
        engine::phone::CallOutcome::Noted => CallEventAnswer {
            outcome: "noted".into(),
            agents: None,
            ticket_id: None,
            duplicate: false,
        },
    };
    Ok(Json(answer))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiChannelIn {
    pub name: String,
    /// Where replies are POSTed, signed; none: read them from the event stream.
    pub webhook_url: Option<String>,
    pub team_id: Option<Uuid>,
    pub active: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchApiChannelIn {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::dto::double_option")]
    pub webhook_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::dto::double_option")]
    pub team_id: Option<Option<Uuid>>,
    pub active: Option<bool>,
    /// Issue a new signing secret (returned once); the old one stops at once.
    pub rotate_secret: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct ApiChannelOut {
    pub id: Uuid,
    pub name: String,
    pub webhook_url: Option<String>,
    pub team_id: Option<Uuid>,
    /// The key replies are signed with (HMAC-SHA256 of `timestamp.body`):
    /// shown only when created or rotated.
    pub signing_secret: Option<String>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApiChannelList {
    pub items: Vec<ApiChannelOut>,
}

fn api_out(c: engine::api_channel::ApiChannel, secret: Option<String>) -> ApiChannelOut {
    ApiChannelOut {
        id: c.id.0,
        name: c.name,
        webhook_url: c.webhook_url,
        team_id: c.team_id.map(|t| t.0),
        signing_secret: secret,
        active: c.active,
        created_at: c.created_at.to_rfc3339(),
        updated_at: c.updated_at.to_rfc3339(),
    }
}

#[utoipa::path(get, path = "/api/v1/channels/api", tag = "channels",
    responses((status = 200, body = ApiChannelList), (status = 403, body = Problem, description = "Owners and admins only")))]
pub async fn list_api(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<ApiChannelList>> {
    let items = app
        .engine
        .api_channels(&p)
        .await?
        .into_iter()
        .map(|c| api_out(c, None))
        .collect();
    Ok(Json(ApiChannelList { items }))
}

#[utoipa::path(post, path = "/api/v1/channels/api", tag = "channels", request_body = ApiChannelIn,
    responses((status = 201, body = ApiChannelOut, description = "The channel, with its signing secret shown this once"),
        (status = 403, body = Problem, description = "Owners and admins only"),
        (status = 404, body = Problem, description = "The team is not the workspace's"),
        (status = 422, body = Problem, description = "A webhook address that is not http(s)")))]
pub async fn create_api(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<ApiChannelIn>,
) -> ApiResult<Response> {
    let (c, secret) = app
        .engine
        .create_api_channel(
            &p,
            engine::api_channel::ApiChannelInput {
                name: Some(b.name),
                webhook_url: Some(b.webhook_url),
                team_id: Some(b.team_id.map(domain::ids::TeamId)),
                active: b.active,
                rotate_secret: false,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(api_out(c, Some(secret)))).into_response())
}

#[utoipa::path(get, path = "/api/v1/channels/api/{id}", tag = "channels", params(("id" = Uuid, Path)),
    responses((status = 200, body = ApiChannelOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_api(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
) -> ApiResult<Json<ApiChannelOut>> {
    Ok(Json(api_out(
        app.engine.api_channel(&p, id(&cid)?).await?,
        None,
    )))
}

#[utoipa::path(patch, path = "/api/v1/channels/api/{id}", tag = "channels", params(("id" = Uuid, Path)), request_body = PatchApiChannelIn,
    responses((status = 200, body = ApiChannelOut, description = "The channel; with `rotate_secret`, the new secret shown this once"),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "A webhook address that is not http(s)")))]
pub async fn patch_api(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(cid): PathParam,
    Json(b): Json<PatchApiChannelIn>,
) -> ApiResult<Json<ApiChannelOut>> {
    let (c, secret) = app
        .engine
        .update_api_channel(
            &p,
            id(&cid)?,
            engine::api_channel::ApiChannelInput {
                name: b.name,
                webhook_url: b.webhook_url,
                team_id: b.team_id.map(|t| t.map(domain::ids::TeamId)),
                active: b.active,
                rotate_secret: b.rotate_secret.unwrap_or(false),
            },
        )
        .await?;
    Ok(Json(api_out(c, secret)))
}

/// Who wrote, as the source knows them: at least one of `id`, `email`, `phone`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiSenderIn {
    /// The person's id in the source.
    pub id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiMessageIn {
    /// The API channel the message came through.
    pub channel_id: Uuid,
    /// The source's id of the message: the same id again is the same message.
    pub external_id: String,
    pub sender: ApiSenderIn,
    /// The subject of a new conversation.
    pub subject: Option<String>,
    #[serde(default)]
    pub text: String,
    /// Files uploaded first with `POST /api/v1/attachments`.
    #[serde(default)]
    pub attachments: Vec<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct ApiMessageOut {
    pub ticket_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    /// The same `external_id` was taken before: nothing new was stored.
    pub duplicate: bool,
}

#[utoipa::path(post, path = "/api/v1/channels/api/messages", tag = "channels", request_body = ApiMessageIn,
    responses((status = 201, body = ApiMessageOut, description = "Stored: a new ticket or the conversation continued"),
        (status = 200, body = ApiMessageOut, description = "The same external_id again: the message stored before"),
        (status = 404, body = Problem, description = "No such API channel, or an attachment that is not waiting to be sent"),
        (status = 409, body = Problem, description = "The channel is switched off"),
        (status = 422, body = Problem, description = "No sender id, email or phone; an address or number that is not one")))]
pub async fn api_message(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<ApiMessageIn>,
) -> ApiResult<Response> {
    let got = app
        .engine
        .api_inbound(
            &p,
            engine::api_channel::ApiMessage {
                channel_id: domain::ids::AccountId(b.channel_id),
                external_id: b.external_id,
                sender: engine::api_channel::ApiSender {
                    id: b.sender.id,
                    name: b.sender.name,
                    email: b.sender.email,
                    phone: b.sender.phone,
                },
                subject: b.subject,
                text: b.text,
                attachments: b
                    .attachments
                    .into_iter()
                    .map(domain::ids::AttachmentId)
                    .collect(),
            },
        )
        .await?;
    let status = if got.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(ApiMessageOut {
            ticket_id: got.ticket_id.map(|t| t.0),
            message_id: got.message_id.map(|m| m.0),
            duplicate: got.duplicate,
        }),
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// Where events are POSTed, signed.
    pub url: String,
    /// Event kinds (`ticket.created`, `message.added` …), or `["*"]` for all.
    pub events: Vec<String>,
    pub active: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchWebhookIn {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// On again after it was switched off: its failures start over.
    pub active: Option<bool>,
    /// Issue a new signing secret (returned once); the old one stops at once.
    pub rotate_secret: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookOut {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    /// Deliveries in a row that failed for good (at 5 it is switched off).
    pub failures: i64,
    /// Why it was switched off.
    pub disabled_reason: Option<String>,
    /// The key deliveries are signed with: shown only when created or rotated.
    pub secret: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<WebhookOut>,
}

fn webhook_out(w: engine::subscriptions::Subscription, secret: Option<String>) -> WebhookOut {
    WebhookOut {
        id: w.id.0,
        url: w.url,
        events: w.events,
        active: w.active,
        failures: w.failures,
        disabled_reason: w.disabled_reason,
        secret,
        created_at: w.created_at.to_rfc3339(),
        updated_at: w.updated_at.to_rfc3339(),
    }
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = WebhookList), (status = 403, body = Problem, description = "Owners and admins only")))]
pub async fn list_webhooks(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<WebhookList>> {
    let items = app
        .engine
        .webhooks(&p)
        .await?
        .into_iter()
        .map(|w| webhook_out(w, None))
        .collect();
    Ok(Json(WebhookList { items }))
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = WebhookIn,
    responses((status = 201, body = WebhookOut, description = "The subscription, with its signing secret shown this once"),
        (status = 403, body = Problem, description = "Owners and admins only"),
        (status = 409, body = Problem, description = "The workspace has 50 already"),
        (status = 422, body = Problem, description = "An address that is not http(s), an unknown event kind")))]
pub async fn create_webhook(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<WebhookIn>,
) -> ApiResult<Response> {
    let (w, secret) = app
        .engine
        .create_webhook(
            &p,
            engine::subscriptions::SubscriptionInput {
                url: Some(b.url),
                events: Some(b.events),
                active: b.active,
                rotate_secret: false,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(webhook_out(w, Some(secret)))).into_response())
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_webhook(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(wid): PathParam,
) -> ApiResult<Json<WebhookOut>> {
    Ok(Json(webhook_out(
        app.engine.webhook(&p, id(&wid)?).await?,
        None,
    )))
}

#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)), request_body = PatchWebhookIn,
    responses((status = 200, body = WebhookOut, description = "The subscription; with `rotate_secret`, the new secret shown this once"),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "An address that is not http(s), an unknown event kind")))]
pub async fn patch_webhook(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(wid): PathParam,
    Json(b): Json<PatchWebhookIn>,
) -> ApiResult<Json<WebhookOut>> {
    let (w, secret) = app
        .engine
        .update_webhook(
            &p,
            id(&wid)?,
            engine::subscriptions::SubscriptionInput {
                url: b.url,
                events: b.events,
                active: b.active,
                rotate_secret: b.rotate_secret.unwrap_or(false),
            },
        )
        .await?;
    Ok(Json(webhook_out(w, secret)))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted with its delivery log"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_webhook(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(wid): PathParam,
) -> ApiResult<StatusCode> {
    app.engine.delete_webhook(&p, id(&wid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct WebhookDeliveryOut {
    pub id: Uuid,
    /// The event's kind.
    pub event: String,
    /// `pending` (waiting for its next attempt), `delivered`, `failed`.
    pub state: String,
    pub attempts: i64,
    /// The receiver's last answer: its status and the start of its body.
    pub response_status: Option<i64>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookDeliveries {
    pub items: Vec<WebhookDeliveryOut>,
    /// Pass as `before` for older ones.
    pub next_cursor: Option<Uuid>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Deliveries older than this one.
    pub before: Option<Uuid>,
    /// 1 to 100 (default 50).
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = Uuid, Path), DeliveriesQuery),
    responses((status = 200, body = WebhookDeliveries, description = "Newest first"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn webhook_deliveries(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(wid): PathParam,
    crate::extract::Query(q): crate::extract::Query<DeliveriesQuery>,
) -> ApiResult<Json<WebhookDeliveries>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 100);
    let items = app
        .engine
        .webhook_deliveries(&p, id(&wid)?, q.before.map(domain::ids::DeliveryId), limit)
        .await?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|d| d.id.0))
        .flatten();
    Ok(Json(WebhookDeliveries {
        items: items
            .into_iter()
            .map(|d| WebhookDeliveryOut {
                id: d.id.0,
                event: d.kind,
                state: d.state,
                attempts: d.attempts,
                response_status: d.response_status,
                response_body: d.response_body,
                error: d.error,
                created_at: d.created_at.to_rfc3339(),
                updated_at: d.updated_at.to_rfc3339(),
            })
            .collect(),
        next_cursor,
    }))
}
