//! Telegram bots for admins (`/app/admin/telegram`): connect one with its
//! token, see where its messages arrive, rename it, send its conversations
//! to a team, switch it off and on, give it a new token. And for every agent
//! (`/app/telegram`): link their own Telegram to the workspace's bot, so that
//! rules can notify them there.

use super::admin::admin_only;
use super::{Chrome, Ctx, Form, OrPage, UiError, done, html};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use domain::ids::{AccountId, TeamId};
use engine::telegram::{TelegramChannel, TelegramInput};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/admin/telegram", get(list).post(create))
        .route("/app/admin/telegram/{id}", get(edit).post(save))
        .route("/app/telegram", get(mine).post(unlink))
        .route("/app/admin/whatsapp", get(wa_list).post(wa_create))
        .route("/app/admin/whatsapp/{id}", get(wa_edit).post(wa_save))
        .route("/app/admin/vk", get(vk_list).post(vk_create))
        .route("/app/admin/vk/{id}", get(vk_edit).post(vk_save))
}

#[derive(Template)]
#[template(path = "admin_vk.html")]
pub struct VkListPage {
    pub chrome: Chrome,
    pub section: &'static str,
    /// (id, name, community, active)
    pub groups: Vec<(String, String, String, bool)>,
    pub reachable: bool,
    pub teams: Vec<super::views::Opt>,
    pub default_base: &'static str,
}

#[derive(Template)]
#[template(path = "admin_vk_edit.html")]
pub struct VkEditPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub c: engine::vk::VkChannel,
    pub teams: Vec<super::views::Opt>,
}

async fn vk_list(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let all = app.engine.vk_channels(&ctx.p).await.or_page(ctx.tr)?;
    html(&VkListPage {
        chrome: ctx.chrome(ctx.tr.t("admin.vk")),
        section: "vk",
        groups: all
            .into_iter()
            .map(|c| {
                let shown = c.group_name.clone().unwrap_or_else(|| c.group_id.clone());
                (c.id.to_string(), c.name, shown, c.active)
            })
            .collect(),
        reachable: app.engine.public_url.is_some(),
        teams: teams(&app, &ctx, None).await?,
        default_base: engine::vk::DEFAULT_API_BASE,
    })
}

async fn vk_create(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let c = app
        .engine
        .create_vk_channel(
            &ctx.p,
            engine::vk::VkInput {
                name: f.get("name").map(str::to_owned),
                group_id: given(&f, "group_id"),
                access_token: given(&f, "access_token"),
                secret: given(&f, "secret"),
                confirmation: given(&f, "confirmation"),
                api_base_url: given(&f, "api_base_url"),
                active: Some(true),
                team_id: team_of(&f),
            },
        )
        .await
        .or_page(ctx.tr)?;
    Ok(done(&format!("/app/admin/vk/{}", c.id), "flash.saved"))
}

async fn vk_edit(
    State(app): State<AppState>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let c = app
        .engine
        .vk_channel(&ctx.p, channel_id(&ctx, &id)?)
        .await
        .or_page(ctx.tr)?;
    let teams = teams(&app, &ctx, c.team_id).await?;
    html(&VkEditPage {
        chrome: ctx.chrome(c.name.clone()),
        section: "vk",
        c,
        teams,
    })
}

async fn vk_save(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let id = channel_id(ctx, &id)?;
    app.engine
        .update_vk_channel(
            &ctx.p,
            id,
            engine::vk::VkInput {
                name: f.get("name").map(str::to_owned),
                group_id: None,
                access_token: given(&f, "access_token"),
                secret: given(&f, "secret"),
                confirmation: given(&f, "confirmation"),
                api_base_url: given(&f, "api_base_url"),
                active: Some(f.checked("active")),
                team_id: team_of(&f),
            },
        )
        .await
        .or_page(ctx.tr)?;
    Ok(done(&format!("/app/admin/vk/{id}"), "flash.saved"))
}

#[derive(Template)]
#[template(path = "admin_whatsapp.html")]
pub struct WaListPage {
    pub chrome: Chrome,
    pub section: &'static str,
    /// (id, name, number as shown, active)
    pub numbers: Vec<(String, String, String, bool)>,
    pub reachable: bool,
    pub teams: Vec<super::views::Opt>,
    pub default_base: &'static str,
}

#[derive(Template)]
#[template(path = "admin_whatsapp_edit.html")]
pub struct WaEditPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub c: engine::whatsapp::WhatsappChannel,
    pub teams: Vec<super::views::Opt>,
}

async fn wa_list(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let all = app.engine.whatsapp_channels(&ctx.p).await.or_page(ctx.tr)?;
    html(&WaListPage {
        chrome: ctx.chrome(ctx.tr.t("admin.whatsapp")),
        section: "whatsapp",
        numbers: all
            .into_iter()
            .map(|c| {
                let shown = c
                    .display_phone_number
                    .clone()
                    .unwrap_or_else(|| c.phone_number_id.clone());
                (c.id.to_string(), c.name, shown, c.active)
            })
            .collect(),
        reachable: app.engine.public_url.is_some(),
        teams: teams(&app, &ctx, None).await?,
        default_base: engine::whatsapp::DEFAULT_API_BASE,
    })
}

/// A form field that, when left empty, keeps what is stored.
fn given(f: &Form, name: &str) -> Option<String> {
    f.text(name).map(|v| v.trim().to_owned())
}

async fn wa_create(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let c = app
        .engine
        .create_whatsapp_channel(
            &ctx.p,
            engine::whatsapp::WhatsappInput {
                name: f.get("name").map(str::to_owned),
                phone_number_id: given(&f, "phone_number_id"),
                access_token: given(&f, "access_token"),
                app_secret: given(&f, "app_secret"),
                verify_token: given(&f, "verify_token"),
                api_base_url: given(&f, "api_base_url"),
                business_account_id: Some(given(&f, "business_account_id")),
                active: Some(true),
                team_id: team_of(&f),
            },
        )
        .await
        .or_page(ctx.tr)?;
    Ok(done(
        &format!("/app/admin/whatsapp/{}", c.id),
        "flash.saved",
    ))
}

async fn wa_edit(
    State(app): State<AppState>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let c = app
        .engine
        .whatsapp_channel(&ctx.p, channel_id(&ctx, &id)?)
        .await
        .or_page(ctx.tr)?;
    let teams = teams(&app, &ctx, c.team_id).await?;
    html(&WaEditPage {
        chrome: ctx.chrome(c.name.clone()),
        section: "whatsapp",
        c,
        teams,
    })
}

async fn wa_save(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let id = channel_id(ctx, &id)?;
    app.engine
        .update_whatsapp_channel(
            &ctx.p,
            id,
            engine::whatsapp::WhatsappInput {
                name: f.get("name").map(str::to_owned),
                phone_number_id: None,
                access_token: given(&f, "access_token"),
                app_secret: given(&f, "app_secret"),
                verify_token: given(&f, "verify_token"),
                api_base_url: given(&f, "api_base_url"),
                business_account_id: Some(given(&f, "business_account_id")),
                active: Some(f.checked("active")),
                team_id: team_of(&f),
            },
        )
        .await
        .or_page(ctx.tr)?;
    Ok(done(&format!("/app/admin/whatsapp/{id}"), "flash.saved"))
}

#[derive(Template)]
#[template(path = "telegram_link.html")]
pub struct LinkPage {
    pub chrome: Chrome,
    /// When the agent's chat was linked.
    pub linked_at: Option<String>,
    /// Opens the bot with a one-time code (none: no active bot).
    pub link: Option<String>,
}

async fn mine(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    let linked = app.engine.telegram_link(&ctx.p).await.or_page(ctx.tr)?;
    let link = app.engine.telegram_link_url(&ctx.p).await.or_page(ctx.tr)?;
    html(&LinkPage {
        chrome: ctx.chrome(ctx.tr.t("telegram.mine")),
        linked_at: linked.map(|l| l.linked_at.to_rfc3339()),
        link,
    })
}

async fn unlink(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    app.engine
        .unlink_telegram(&f.ctx.p)
        .await
        .or_page(f.ctx.tr)?;
    Ok(done("/app/telegram", "flash.saved"))
}

/// One bot as the list shows it.
pub struct Row {
    pub id: String,
    pub name: String,
    pub username: Option<String>,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "admin_telegram.html")]
pub struct ListPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub bots: Vec<Row>,
    /// The server has a public address: bots can be connected.
    pub reachable: bool,
    pub teams: Vec<super::views::Opt>,
    pub default_base: &'static str,
}

#[derive(Template)]
#[template(path = "admin_telegram_edit.html")]
pub struct EditPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub id: String,
    pub name: String,
    pub username: Option<String>,
    pub webhook_url: Option<String>,
    pub api_base_url: String,
    pub active: bool,
    pub teams: Vec<super::views::Opt>,
}

async fn teams(
    app: &AppState,
    ctx: &Ctx,
    chosen: Option<TeamId>,
) -> Result<Vec<super::views::Opt>, UiError> {
    Ok(app
        .engine
        .teams(&ctx.p, None, Some(200))
        .await
        .or_page(ctx.tr)?
        .into_iter()
        .map(|t| super::views::Opt {
            selected: Some(t.id) == chosen,
            value: t.id.to_string(),
            label: t.name,
        })
        .collect())
}

async fn list(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let bots = app.engine.telegram_channels(&ctx.p).await.or_page(ctx.tr)?;
    html(&ListPage {
        chrome: ctx.chrome(ctx.tr.t("admin.telegram")),
        section: "telegram",
        bots: bots
            .into_iter()
            .map(|c| Row {
                id: c.id.to_string(),
                name: c.name,
                username: c.bot_username,
                active: c.active,
            })
            .collect(),
        reachable: app.engine.public_url.is_some(),
        teams: teams(&app, &ctx, None).await?,
        default_base: engine::telegram::DEFAULT_API_BASE,
    })
}

fn team_of(f: &Form) -> Option<Option<TeamId>> {
    f.get("team").map(|t| t.parse().ok())
}

async fn create(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let c = app
        .engine
        .create_telegram_channel(
            &ctx.p,
            TelegramInput {
                name: f.get("name").map(str::to_owned),
                bot_token: f.get("token").map(|t| t.trim().to_owned()),
                api_base_url: f.text("api_base_url").map(str::to_owned),
                active: Some(true),
                team_id: team_of(&f),
            },
        )
        .await
        .or_page(ctx.tr)?;
    Ok(done(
        &format!("/app/admin/telegram/{}", c.id),
        "flash.saved",
    ))
}

fn channel_id(ctx: &Ctx, id: &str) -> Result<AccountId, UiError> {
    id.parse()
        .map_err(|_| UiError::Status(StatusCode::NOT_FOUND, ctx.tr, "error.not_found"))
}

async fn edit_page(app: &AppState, ctx: &Ctx, c: TelegramChannel) -> Result<EditPage, UiError> {
    Ok(EditPage {
        chrome: ctx.chrome(c.name.clone()),
        section: "telegram",
        id: c.id.to_string(),
        teams: teams(app, ctx, c.team_id).await?,
        name: c.name,
        username: c.bot_username,
        webhook_url: c.webhook_url,
        api_base_url: c.api_base_url,
        active: c.active,
    })
}

async fn edit(
    State(app): State<AppState>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let c = app
        .engine
        .telegram_channel(&ctx.p, channel_id(&ctx, &id)?)
        .await
        .or_page(ctx.tr)?;
    html(&edit_page(&app, &ctx, c).await?)
}

async fn save(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let id = channel_id(ctx, &id)?;
    app.engine
        .update_telegram_channel(
            &ctx.p,
            id,
            TelegramInput {
                name: f.get("name").map(str::to_owned),
                bot_token: f.text("token").map(|t| t.trim().to_owned()),
                api_base_url: f.text("api_base_url").map(str::to_owned),
                active: Some(f.checked("active")),
                team_id: team_of(&f),
            },
        )
        .await
        .or_page(ctx.tr)?;
    Ok(done(&format!("/app/admin/telegram/{id}"), "flash.saved"))
}
