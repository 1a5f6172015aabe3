//! The chat channel's admin API: widget channels (`/api/v1/channels/chat`),
//! their look, pre-chat form, allowed sites and identity secret.

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathParam, id};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::chat::{PrechatField, PrechatKind, WidgetSettings};
use engine::chat::{ChatChannel, ChatInput};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

/// One field of the pre-chat form.
#[derive(Serialize, Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct PrechatFieldIo {
    /// `name`, `email` or `phone`.
    pub field: String,
    pub required: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatChannelIn {
    pub name: String,
    /// Sites the widget may run on (`https://shop.example`); empty or absent: any.
    pub allowed_origins: Option<Vec<String>>,
    /// The widget's accent colour, `#rrggbb`.
    pub color: Option<String>,
    /// The greeting per language code.
    pub greeting: Option<BTreeMap<String, String>>,
    /// Fields asked before the first message.
    pub prechat: Option<Vec<PrechatFieldIo>>,
    /// With no agent online, ask for an email address so that answers follow by
    /// email (default true).
    pub offline_email: Option<bool>,
    pub active: Option<bool>,
    /// New conversations go to this team's queue.
    pub team_id: Option<Uuid>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchChatChannelIn {
    pub name: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    pub color: Option<String>,
    pub greeting: Option<BTreeMap<String, String>>,
    pub prechat: Option<Vec<PrechatFieldIo>>,
    pub offline_email: Option<bool>,
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "crate::dto::double_option")]
    pub team_id: Option<Option<Uuid>>,
    /// Issue a new identity secret (returned once); the old one stops verifying.
    pub rotate_identity_secret: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct ChatChannelOut {
    pub id: Uuid,
    pub name: String,
    /// The public key the widget and apps use (`/widget/v1/{widget_key}/…`).
    pub widget_key: String,
    pub allowed_origins: Vec<String>,
    pub color: String,
    pub greeting: BTreeMap<String, String>,
    pub prechat: Vec<PrechatFieldIo>,
    pub offline_email: bool,
    pub active: bool,
    pub team_id: Option<Uuid>,
    pub identity_secret_set: bool,
    /// The key sites sign their user ids with (HMAC-SHA256, hex): shown only
    /// when created or rotated.
    pub identity_secret: Option<String>,
    /// The `<script>` tag to paste into the site.
    pub snippet: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ChatChannelList {
    pub items: Vec<ChatChannelOut>,
}

fn prechat_out(f: &PrechatField) -> PrechatFieldIo {
    PrechatFieldIo {
        field: f.field.as_str().to_owned(),
        required: f.required,
    }
}

fn prechat_in(v: Vec<PrechatFieldIo>) -> ApiResult<Vec<PrechatField>> {
    v.into_iter()
        .map(|f| {
            let field = PrechatKind::ALL
                .into_iter()
                .find(|k| k.as_str() == f.field)
                .ok_or_else(|| {
                    ApiError::from(engine::EngineError::invalid(
                        "prechat.field",
                        domain::Code::PrechatField,
                    ))
                })?;
            Ok(PrechatField {
                field,
                required: f.required,
            })
        })
        .collect()
}

pub(crate) fn channel_out(c: ChatChannel, secret: Option<String>, origin: &str) -> ChatChannelOut {
    ChatChannelOut {
        id: c.id.0,
        snippet: engine::chat::snippet(origin, &c.widget_key),
        name: c.name,
        widget_key: c.widget_key,
        prechat: c.settings.prechat.iter().map(prechat_out).collect(),
        allowed_origins: c.settings.allowed_origins,
        color: c.settings.color,
        greeting: c.settings.greeting,
        offline_email: c.settings.offline_email,
        team_id: c.settings.team_id.map(|t| t.0),
        active: c.active,
        identity_secret_set: c.identity_secret_set,
        identity_secret: secret,
        created_at: c.created_at.to_rfc3339(),
        updated_at: c.updated_at.to_rfc3339(),
    }
}

#[utoipa::path(get, path = "/api/v1/channels/chat", tag = "channels",
    responses((status = 200, body = ChatChannelList), (status = 403, body = Problem, description = "Owners and admins only")))]
pub async fn list(
    State(app): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
) -> ApiResult<Json<ChatChannelList>> {
    let origin = crate::help::origin(&headers);
    let items = app
        .engine
        .chat_channels(&p)
        .await?
        .into_iter()
        .map(|c| channel_out(c, None, &origin))
        .collect();
    Ok(Json(ChatChannelList { items }))
}

#[utoipa::path(post, path = "/api/v1/channels/chat", tag = "channels", request_body = ChatChannelIn,
    responses((status = 201, body = ChatChannelOut, description = "The channel, with its identity secret shown this once"),
        (status = 403, body = Problem, description = "Owners and admins only"),
        (status = 422, body = Problem, description = "A site that is not an origin, a colour that is not #rrggbb, a field asked twice")))]
pub async fn create(
    State(app): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    Json(b): Json<ChatChannelIn>,
) -> ApiResult<Response> {
    let defaults = WidgetSettings::default();
    let settings = WidgetSettings {
        allowed_origins: b.allowed_origins.unwrap_or_default(),
        color: b.color.unwrap_or(defaults.color),
        greeting: b.greeting.unwrap_or_default(),
        prechat: prechat_in(b.prechat.unwrap_or_default())?,
        offline_email: b.offline_email.unwrap_or(defaults.offline_email),
        team_id: b.team_id.map(domain::ids::TeamId),
    };
    let (c, secret) = app
        .engine
        .create_chat_channel(
            &p,
            ChatInput {
                name: Some(b.name),
                settings: Some(settings),
                active: b.active,
                rotate_identity_secret: false,
            },
        )
        .await?;
    let out = channel_out(c, Some(secret), &crate::help::origin(&headers));
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[utoipa::path(get, path = "/api/v1/channels/chat/{id}", tag = "channels", params(("id" = Uuid, Path)),
    responses((status = 200, body = ChatChannelOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    PathParam(cid): PathParam,
) -> ApiResult<Json<ChatChannelOut>> {
    let c = app.engine.chat_channel(&p, id(&cid)?).await?;
    Ok(Json(channel_out(c, None, &crate::help::origin(&headers))))
}

#[utoipa::path(patch, path = "/api/v1/channels/chat/{id}", tag = "channels", params(("id" = Uuid, Path)), request_body = PatchChatChannelIn,
    responses((status = 200, body = ChatChannelOut, description = "The channel; with `rotate_identity_secret`, the new secret shown this once"),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn patch(
    State(app): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    PathParam(cid): PathParam,
    Json(b): Json<PatchChatChannelIn>,
) -> ApiResult<Json<ChatChannelOut>> {
    let cid = id(&cid)?;
    let current = app.engine.chat_channel(&p, cid).await?;
    let s = current.settings;
    let settings = WidgetSettings {
        allowed_origins: b.allowed_origins.unwrap_or(s.allowed_origins),
        color: b.color.unwrap_or(s.color),
        greeting: b.greeting.unwrap_or(s.greeting),
        prechat: match b.prechat {
            Some(v) => prechat_in(v)?,
            None => s.prechat,
        },
        offline_email: b.offline_email.unwrap_or(s.offline_email),
        team_id: match b.team_id {
            Some(t) => t.map(domain::ids::TeamId),
            None => s.team_id,
        },
    };
    let (c, secret) = app
        .engine
        .update_chat_channel(
            &p,
            cid,
            ChatInput {
                name: b.name,
                settings: Some(settings),
                active: b.active,
                rotate_identity_secret: b.rotate_identity_secret.unwrap_or(false),
            },
        )
        .await?;
    Ok(Json(channel_out(c, secret, &crate::help::origin(&headers))))
}
