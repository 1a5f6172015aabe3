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
        .route("/app/admin/phone", get(phone_list).post(phone_create))
        .route("/app/admin/phone/{id}", get(phone_edit).post(phone_save))
}

#[derive(Template)]
#[template(path = "admin_phone.html")]
pub struct PhoneListPage {
    pub chrome: Chrome,
    pub section: &'static str,
    /// (id, name, lines, active)
    pub channels: Vec<(String, String, usize, bool)>,
}

/// One line's row: (number, name, teams with the line's selected).
pub type LineRow = (String, String, Vec<super::views::Opt>);

#[derive(Template)]
#[template(path = "admin_phone_edit.html")]
pub struct PhoneEditPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub c: engine::phone::PhoneChannel,
    /// The lines, and one empty row to add a line.
    pub lines: Vec<LineRow>,
    /// The signing secret, right after it was made.
    pub secret: Option<String>,
}

async fn phone_list(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let all = app.engine.phone_channels(&ctx.p).await.or_page(ctx.tr)?;
    html(&PhoneListPage {
        chrome: ctx.chrome(ctx.tr.t("admin.phone")),
        section: "phone",
        channels: all
            .into_iter()
            .map(|c| (c.id.to_string(), c.name, c.lines.len(), c.active))
            .collect(),
    })
}

async fn phone_page(
    app: &AppState,
    ctx: &Ctx,
    c: engine::phone::PhoneChannel,
    secret: Option<String>,
) -> Result<PhoneEditPage, UiError> {
    let mut lines = Vec::new();
    for l in c.lines.iter().map(Some).chain([None]) {
        lines.push((
            l.map(|l| l.number.clone()).unwrap_or_default(),
            l.map(|l| l.name.clone()).unwrap_or_default(),
            teams(app, ctx, l.and_then(|l| l.team_id)).await?,
        ));
    }
    Ok(PhoneEditPage {
        chrome: ctx.chrome(c.name.clone()),
        section: "phone",
        c,
        lines,
        secret,
    })
}

async fn phone_create(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let (c, secret) = app
        .engine
        .create_phone_channel(
            &ctx.p,
            engine::phone::PhoneInput {
                name: f.get("name").map(str::to_owned),
                lines: Some(Vec::new()),
                active: Some(true),
                rotate_secret: false,
            },
        )
        .await
        .or_page(ctx.tr)?;
    // The secret is shown this once: on the page that answers the creation.
    html(&phone_page(&app, ctx, c, Some(secret)).await?)
}

async fn phone_edit(
    State(app): State<AppState>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let c = app
        .engine
        .phone_channel(&ctx.p, channel_id(&ctx, &id)?)
        .await
        .or_page(ctx.tr)?;
    html(&phone_page(&app, &ctx, c, None).await?)
}

/// Saves the name, the lines (rows with a number) and on/off; with
/// `rotate`, issues a new secret and shows it.
async fn phone_save(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let id = channel_id(ctx, &id)?;
    let numbers: Vec<&str> = f.all("line_number").collect();
    let names: Vec<&str> = f.all("line_name").collect();
    let line_teams: Vec<&str> = f.all("line_team").collect();
    let lines = numbers
        .iter()
        .enumerate()
        .filter(|(_, n)| !n.trim().is_empty())
        .map(|(i, n)| engine::phone::Line {
            number: (*n).to_owned(),
            name: names.get(i).copied().unwrap_or_default().to_owned(),
            team_id: line_teams.get(i).and_then(|t| t.parse().ok()),
        })
        .collect();
    let rotate = f.get("rotate").is_some();
    let (c, secret) = app
        .engine
        .update_phone_channel(
            &ctx.p,
            id,
            engine::phone::PhoneInput {
                name: f.get("name").map(str::to_owned),
                lines: Some(lines),
                active: Some(f.checked("active")),
                rotate_secret: rotate,
            },
        )
        .await
        .or_page(ctx.tr)?;
    if secret.is_some() {
        return html(&phone_page(&app, ctx, c, secret).await?);
    }
    Ok(done(&format!("/app/admin/phone/{id}"), "flash.saved"))
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
