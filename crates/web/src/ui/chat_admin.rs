//! Chat widgets for admins (`/app/admin/chat`): create one, set its look,
//! greeting, pre-chat form, allowed sites and offline behaviour, copy the
//! snippet, and issue a new identity secret (shown once).

use super::admin::admin_only;
use super::{Chrome, Ctx, Form, OrPage, UiError, done, html};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use domain::chat::{PrechatField, PrechatKind, WidgetSettings};
use domain::ids::AccountId;
use engine::chat::{ChatChannel, ChatInput};
use std::collections::BTreeMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/admin/chat", get(list).post(create))
        .route("/app/admin/chat/{id}", get(edit).post(save))
        .route("/app/admin/chat/{id}/rotate", post(rotate))
}

/// Languages the greeting is written in on this screen.
const GREETING_LANGS: [&str; 3] = ["ru", "en", "th"];

#[derive(Template)]
#[template(path = "admin_chat.html")]
pub struct ListPage {
    pub chrome: Chrome,
    pub section: &'static str,
    /// (id, name, key, active)
    pub channels: Vec<(String, String, String, bool)>,
}

/// One pre-chat field's row: (field, label, asked, required).
pub type PrechatRow = (&'static str, String, bool, bool);

#[derive(Template)]
#[template(path = "admin_chat_edit.html")]
pub struct EditPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub id: String,
    pub name: String,
    pub active: bool,
    pub color: String,
    pub origins: String,
    /// (language, greeting)
    pub greetings: Vec<(&'static str, String)>,
    pub prechat: Vec<PrechatRow>,
    pub offline_email: bool,
    pub snippet: String,
    /// The identity secret, right after it was made.
    pub secret: Option<String>,
    /// Teams new conversations may go to; the selected one is the channel's.
    pub teams: Vec<super::views::Opt>,
}

async fn edit_page(
    app: &AppState,
    ctx: &Ctx,
    c: ChatChannel,
    secret: Option<String>,
) -> Result<EditPage, UiError> {
    let chosen = c.settings.team_id;
    let teams = app
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
        .collect();
    Ok(edit_page_with(ctx, c, secret, teams))
}

fn edit_page_with(
    ctx: &Ctx,
    c: ChatChannel,
    secret: Option<String>,
    teams: Vec<super::views::Opt>,
) -> EditPage {
    let prechat = PrechatKind::ALL
        .iter()
        .map(|k| {
            let f = c.settings.prechat.iter().find(|f| f.field == *k);
            (
                k.as_str(),
                ctx.tr.label("chat.field", k.as_str()),
                f.is_some(),
                f.is_some_and(|f| f.required),
            )
        })
        .collect();
    EditPage {
        chrome: ctx.chrome(c.name.clone()),
        section: "chat",
        id: c.id.to_string(),
        snippet: engine::chat::snippet(&ctx.origin, &c.widget_key),
        active: c.active,
        color: c.settings.color.clone(),
        origins: c.settings.allowed_origins.join("\n"),
        greetings: GREETING_LANGS
            .iter()
            .map(|l| (*l, c.settings.greeting.get(*l).cloned().unwrap_or_default()))
            .collect(),
        prechat,
        offline_email: c.settings.offline_email,
        name: c.name,
        secret,
        teams,
    }
}

async fn list(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let all = app.engine.chat_channels(&ctx.p).await.or_page(ctx.tr)?;
    html(&ListPage {
        chrome: ctx.chrome(ctx.tr.t("admin.chat")),
        section: "chat",
        channels: all
            .into_iter()
            .map(|c| (c.id.to_string(), c.name, c.widget_key, c.active))
            .collect(),
    })
}

/// The settings a form describes, on top of `base` (greetings in languages the
/// form does not show are kept).
fn settings_of(f: &Form, base: WidgetSettings) -> WidgetSettings {
    let mut greeting: BTreeMap<String, String> = base.greeting;
    for l in GREETING_LANGS {
        match f.text(&format!("greeting_{l}")) {
            Some(g) => greeting.insert(l.to_owned(), g.to_owned()),
            None => greeting.remove(l),
        };
    }
    WidgetSettings {
        allowed_origins: f
            .get("origins")
            .unwrap_or_default()
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        color: f.get("color").unwrap_or(&base.color).to_owned(),
        greeting,
        prechat: PrechatKind::ALL
            .iter()
            .filter(|k| f.checked(&format!("ask_{}", k.as_str())))
            .map(|k| PrechatField {
                field: *k,
                required: f.checked(&format!("require_{}", k.as_str())),
            })
            .collect(),
        offline_email: f.checked("offline_email"),
        team_id: match f.get("team") {
            Some(t) => t.parse().ok(),
            None => base.team_id,
        },
    }
}

async fn create(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let (c, secret) = app
        .engine
        .create_chat_channel(
            &ctx.p,
            ChatInput {
                name: f.get("name").map(str::to_owned),
                settings: Some(WidgetSettings {
                    allowed_origins: f
                        .get("origins")
                        .unwrap_or_default()
                        .split(|c: char| c.is_whitespace() || c == ',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    ..WidgetSettings::default()
                }),
                active: Some(true),
                rotate_identity_secret: false,
            },
        )
        .await
        .or_page(ctx.tr)?;
    // The secret is shown this once: on the page that answers the creation.
    html(&edit_page(&app, ctx, c, Some(secret)).await?)
}

fn channel_id(ctx: &Ctx, id: &str) -> Result<AccountId, UiError> {
    id.parse()
        .map_err(|_| UiError::Status(StatusCode::NOT_FOUND, ctx.tr, "error.not_found"))
}

async fn edit(
    State(app): State<AppState>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let c = app
        .engine
        .chat_channel(&ctx.p, channel_id(&ctx, &id)?)
        .await
        .or_page(ctx.tr)?;
    html(&edit_page(&app, &ctx, c, None).await?)
}

async fn save(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let id = channel_id(ctx, &id)?;
    let current = app.engine.chat_channel(&ctx.p, id).await.or_page(ctx.tr)?;
    let settings = settings_of(&f, current.settings);
    app.engine
        .update_chat_channel(
            &ctx.p,
            id,
            ChatInput {
                name: f.get("name").map(str::to_owned),
                settings: Some(settings),
                active: Some(f.checked("active")),
                rotate_identity_secret: false,
            },
        )
        .await
        .or_page(ctx.tr)?;
    Ok(done(&format!("/app/admin/chat/{id}"), "flash.saved"))
}

async fn rotate(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let id = channel_id(ctx, &id)?;
    let (c, secret) = app
        .engine
        .update_chat_channel(
            &ctx.p,
            id,
            ChatInput {
                rotate_identity_secret: true,
                ..ChatInput::default()
            },
        )
        .await
        .or_page(ctx.tr)?;
    html(&edit_page(&app, ctx, c, secret).await?)
}
