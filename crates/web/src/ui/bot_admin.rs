//! `/app/admin/bot`: the answer bot and triage — whether the bot speaks (and
//! on email), how sure it must be, where hand-offs go; the categories triage
//! sorts messages into; the guided flows the bot leads (started from
//! templates, edited as phrases and steps); the optional model providers
//! (OpenAI-compatible embeddings and chat endpoints, keys write-only, a check
//! that tries them). Plain forms, no script needed.

use super::admin::admin_only;
use super::views::Opt;
use super::{Chrome, Ctx, Form, OrPage, UiError, done, html};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use domain::assist::{AssistSettings, CategorySpec};
use domain::flow::FlowSpec;
use domain::ids::{FlowId, TeamId, TriageCategoryId};
use domain::ticket::Priority;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/admin/bot", get(page))
        .route("/app/admin/bot/settings", post(save_settings))
        .route("/app/admin/bot/categories", post(save_category))
        .route("/app/admin/bot/flows", post(save_flow))
        .route("/app/admin/bot/providers", post(save_providers))
        .route("/app/admin/bot/providers/check", post(check_providers))
}

/// A provider's form fields as shown.
#[derive(Default)]
pub struct ProviderForm {
    pub on: bool,
    pub base_url: String,
    pub model: String,
    pub key_set: bool,
    pub timeout_ms: u32,
    /// The weight (embeddings) or the most tokens (chat).
    pub extra: String,
}

/// What trying a provider showed: (ok, what to say).
pub type CheckLine = (bool, String);

pub struct CategoryRow {
    pub id: String,
    pub key: String,
    pub name: String,
    pub team: String,
    pub examples: usize,
}

pub struct FlowRow {
    pub id: String,
    pub key: String,
    pub name: String,
    pub active: bool,
    pub steps: usize,
}

#[derive(Template)]
#[template(path = "admin_bot.html")]
pub struct BotPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub bot_enabled: bool,
    pub bot_on_email: bool,
    pub threshold: String,
    pub teams: Vec<Opt>,
    pub categories: Vec<CategoryRow>,
    pub cat_id: String,
    pub cat_key: String,
    pub cat_name: String,
    pub cat_description: String,
    pub cat_examples: String,
    pub cat_teams: Vec<Opt>,
    pub cat_priorities: Vec<Opt>,
    pub flows: Vec<FlowRow>,
    /// Templates not yet added: (key, name).
    pub templates: Vec<(String, String)>,
    pub flow_id: String,
    pub flow_key: String,
    pub flow_name: String,
    pub flow_active: bool,
    pub flow_phrases: String,
    pub flow_steps: String,
    pub embeddings: ProviderForm,
    pub chat: ProviderForm,
    /// Results of trying the providers, when just asked for.
    pub checked: Vec<CheckLine>,
}

#[derive(Deserialize, Default)]
struct PageQuery {
    category: Option<String>,
    flow: Option<String>,
}

fn team_opts(teams: &[engine::model::Team], none: String, picked: Option<TeamId>) -> Vec<Opt> {
    std::iter::once(Opt {
        value: String::new(),
        label: none,
        selected: picked.is_none(),
    })
    .chain(teams.iter().map(|t| Opt {
        value: t.id.to_string(),
        label: t.name.clone(),
        selected: Some(t.id) == picked,
    }))
    .collect()
}

async fn page(
    State(app): State<AppState>,
    uri: axum::http::Uri,
    ctx: Ctx,
) -> Result<Response, UiError> {
    admin_only(&ctx)?;
    let q: PageQuery = Query::try_from_uri(&uri).map(|q| q.0).unwrap_or_default();
    render(&app, &ctx, q, Vec::new()).await
}

async fn render(
    app: &AppState,
    ctx: &Ctx,
    q: PageQuery,
    checked: Vec<CheckLine>,
) -> Result<Response, UiError> {
    let tr = ctx.tr;
    let providers = app.engine.assist_providers(&ctx.p).await.or_page(tr)?;
    let embeddings = match &providers.providers.embeddings {
        Some(e) => ProviderForm {
            on: true,
            base_url: e.base_url.clone(),
            model: e.model.clone(),
            key_set: providers.embeddings_key_set,
            timeout_ms: e.timeout_ms,
            extra: format!("{}", e.weight),
        },
        None => ProviderForm {
            timeout_ms: 10_000,
            extra: "4".into(),
            ..Default::default()
        },
    };
    let chat = match &providers.providers.chat {
        Some(c) => ProviderForm {
            on: true,
            base_url: c.base_url.clone(),
            model: c.model.clone(),
            key_set: providers.chat_key_set,
            timeout_ms: c.timeout_ms,
            extra: c.max_tokens.to_string(),
        },
        None => ProviderForm {
            timeout_ms: 30_000,
            extra: "500".into(),
            ..Default::default()
        },
    };
    let settings = app.engine.assist_settings(&ctx.p).await.or_page(tr)?;
    let teams = app
        .engine
        .teams(&ctx.p, None, Some(200))
        .await
        .or_page(tr)?;
    let categories = app.engine.triage_categories(&ctx.p).await.or_page(tr)?;
    let flows = app.engine.flows(&ctx.p).await.or_page(tr)?;
    let cat = q
        .category
        .as_deref()
        .and_then(|c| c.parse::<TriageCategoryId>().ok())
        .and_then(|id| categories.iter().find(|c| c.id == id));
    let flow = q
        .flow
        .as_deref()
        .and_then(|f| f.parse::<FlowId>().ok())
        .and_then(|id| flows.iter().find(|f| f.id == id));
    let team_name = |id: Option<TeamId>| {
        id.and_then(|id| teams.iter().find(|t| t.id == id))
            .map(|t| t.name.clone())
            .unwrap_or_default()
    };
    let none = tr.t("bot.no_team").to_owned();
    let picked_priority = cat.and_then(|c| c.spec.priority);
    let page = BotPage {
        chrome: ctx.chrome(tr.t("admin.bot")),
        section: "bot",
        bot_enabled: settings.bot_enabled,
        bot_on_email: settings.bot_on_email,
        threshold: format!("{:.2}", settings.threshold),
        teams: team_opts(&teams, none.clone(), settings.handoff_team_id),
        categories: categories
            .iter()
            .map(|c| CategoryRow {
                id: c.id.to_string(),
                key: c.spec.key.clone(),
                name: c.spec.name.clone(),
                team: team_name(c.spec.team_id),
                examples: c.spec.examples.len(),
            })
            .collect(),
        cat_id: cat.map(|c| c.id.to_string()).unwrap_or_default(),
        cat_key: cat.map(|c| c.spec.key.clone()).unwrap_or_default(),
        cat_name: cat.map(|c| c.spec.name.clone()).unwrap_or_default(),
        cat_description: cat.map(|c| c.spec.description.clone()).unwrap_or_default(),
        cat_examples: cat.map(|c| c.spec.examples.join("\n")).unwrap_or_default(),
        cat_teams: team_opts(&teams, none, cat.and_then(|c| c.spec.team_id)),
        cat_priorities: std::iter::once(Opt {
            value: String::new(),
            label: tr.t("bot.no_priority").to_owned(),
            selected: picked_priority.is_none(),
        })
        .chain(Priority::ALL.iter().map(|p| Opt {
            value: p.as_str().into(),
            label: tr.label("priority", p.as_str()),
            selected: Some(*p) == picked_priority,
        }))
        .collect(),
        flows: flows
            .iter()
            .map(|f| FlowRow {
                id: f.id.to_string(),
                key: f.spec.key.clone(),
                name: f.spec.name.clone(),
                active: f.spec.active,
                steps: f.spec.steps.len(),
            })
            .collect(),
        templates: engine::flows::templates(None)
            .into_iter()
            .filter(|t| !flows.iter().any(|f| f.spec.key == t.key))
            .map(|t| (t.key, t.name))
            .collect(),
        flow_id: flow.map(|f| f.id.to_string()).unwrap_or_default(),
        flow_key: flow.map(|f| f.spec.key.clone()).unwrap_or_default(),
        flow_name: flow.map(|f| f.spec.name.clone()).unwrap_or_default(),
        flow_active: flow.is_none_or(|f| f.spec.active),
        flow_phrases: flow.map(|f| f.spec.phrases.join("\n")).unwrap_or_default(),
        flow_steps: flow
            .and_then(|f| serde_json::to_string_pretty(&f.spec.steps).ok())
            .unwrap_or_else(|| "[]".into()),
        embeddings,
        chat,
        checked,
    };
    html(&page)
}

fn invalid(tr: super::i18n::Tr) -> UiError {
    UiError::Status(StatusCode::UNPROCESSABLE_ENTITY, tr, "error.invalid")
}

fn team_of(f: &Form, name: &str, tr: super::i18n::Tr) -> Result<Option<TeamId>, UiError> {
    match f.text(name) {
        Some(t) => t.parse().map(Some).map_err(|_| invalid(tr)),
        None => Ok(None),
    }
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `POST /app/admin/bot/settings`.
async fn save_settings(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let tr = ctx.tr;
    let threshold = f
        .get("threshold")
        .unwrap_or_default()
        .trim()
        .replace(',', ".")
        .parse::<f32>()
        .map_err(|_| invalid(tr))?;
    let s = AssistSettings {
        bot_enabled: f.checked("bot_enabled"),
        bot_on_email: f.checked("bot_on_email"),
        threshold,
        handoff_team_id: team_of(&f, "handoff_team", tr)?,
    };
    app.engine
        .save_assist_settings(&ctx.p, s)
        .await
        .or_page(tr)?;
    Ok(done("/app/admin/bot", "flash.saved"))
}

/// `POST /app/admin/bot/categories`: creates, replaces (`id`) or deletes
/// (`delete`) a triage category.
async fn save_category(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let tr = ctx.tr;
    let id = match f.text("id") {
        Some(i) => Some(i.parse::<TriageCategoryId>().map_err(|_| invalid(tr))?),
        None => None,
    };
    if let (Some(id), true) = (id, f.checked("delete")) {
        app.engine
            .delete_triage_category(&ctx.p, id)
            .await
            .or_page(tr)?;
        return Ok(done("/app/admin/bot#categories", "flash.saved"));
    }
    let priority = match f.text("priority") {
        Some(p) => Some(Priority::parse(p).map_err(|_| invalid(tr))?),
        None => None,
    };
    let spec = CategorySpec {
        key: f.get("key").unwrap_or_default().to_owned(),
        name: f.get("name").unwrap_or_default().to_owned(),
        description: f.get("description").unwrap_or_default().to_owned(),
        examples: lines(f.get("examples").unwrap_or_default()),
        team_id: team_of(&f, "team", tr)?,
        priority,
    };
    app.engine
        .save_triage_category(&ctx.p, id, spec)
        .await
        .or_page(tr)?;
    Ok(done("/app/admin/bot#categories", "flash.saved"))
}

/// `POST /app/admin/bot/flows`: adds a template (`template`), creates,
/// replaces (`id`) or deletes (`delete`) a flow.
async fn save_flow(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let tr = ctx.tr;
    if let Some(key) = f.text("template") {
        let returns = team_of(&f, "team", tr)?;
        let spec = engine::flows::templates(returns)
            .into_iter()
            .find(|t| t.key == key)
            .ok_or_else(|| invalid(tr))?;
        app.engine.save_flow(&ctx.p, None, spec).await.or_page(tr)?;
        return Ok(done("/app/admin/bot#flows", "flash.saved"));
    }
    let id = match f.text("id") {
        Some(i) => Some(i.parse::<FlowId>().map_err(|_| invalid(tr))?),
        None => None,
    };
    if let (Some(id), true) = (id, f.checked("delete")) {
        app.engine.delete_flow(&ctx.p, id).await.or_page(tr)?;
        return Ok(done("/app/admin/bot#flows", "flash.saved"));
    }
    let steps: Vec<domain::flow::Step> =
        serde_json::from_str(f.get("steps").unwrap_or("[]")).map_err(|_| invalid(tr))?;
    let spec = FlowSpec {
        key: f.get("key").unwrap_or_default().to_owned(),
        name: f.get("name").unwrap_or_default().to_owned(),
        active: f.checked("active"),
        phrases: lines(f.get("phrases").unwrap_or_default()),
        steps,
    };
    app.engine.save_flow(&ctx.p, id, spec).await.or_page(tr)?;
    Ok(done("/app/admin/bot#flows", "flash.saved"))
}

/// A provider as the form gives it: address, model, key (as the engine
/// takes it), timeout.
type ProviderFields = (String, String, Option<String>, u32);

/// One provider's fields (`{prefix}_on`, `_base_url`, `_model`, `_api_key`,
/// `_remove_key`, `_timeout_ms`) as the engine takes them.
fn provider_fields(
    f: &Form,
    prefix: &str,
    tr: super::i18n::Tr,
) -> Result<Option<ProviderFields>, UiError> {
    if !f.checked(&format!("{prefix}_on")) {
        return Ok(None);
    }
    let field = |n: &str| {
        f.text(&format!("{prefix}_{n}"))
            .unwrap_or_default()
            .to_owned()
    };
    let timeout = field("timeout_ms")
        .parse::<u32>()
        .map_err(|_| invalid(tr))?;
    let key = if f.checked(&format!("{prefix}_remove_key")) {
        Some(String::new())
    } else {
        f.text(&format!("{prefix}_api_key")).map(str::to_owned)
    };
    Ok(Some((field("base_url"), field("model"), key, timeout)))
}

/// `POST /app/admin/bot/providers`.
async fn save_providers(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    use engine::ai::{ProviderInput, ProvidersInput};
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let tr = ctx.tr;
    let number = |n: &str| {
        f.get(n)
            .unwrap_or_default()
            .trim()
            .replace(',', ".")
            .parse::<f32>()
            .map_err(|_| invalid(tr))
    };
    let mut input = ProvidersInput::default();
    if let Some((base_url, model, api_key, timeout_ms)) = provider_fields(&f, "emb", tr)? {
        input.embeddings = Some(ProviderInput {
            provider: domain::assist::EmbeddingsProvider {
                base_url,
                model,
                timeout_ms,
                weight: number("emb_weight")?,
            },
            api_key,
        });
    }
    if let Some((base_url, model, api_key, timeout_ms)) = provider_fields(&f, "chat", tr)? {
        let max_tokens = f
            .get("chat_max_tokens")
            .unwrap_or_default()
            .trim()
            .parse::<u32>()
            .map_err(|_| invalid(tr))?;
        input.chat = Some(ProviderInput {
            provider: domain::assist::ChatProvider {
                base_url,
                model,
                timeout_ms,
                max_tokens,
            },
            api_key,
        });
    }
    app.engine
        .save_assist_providers(&ctx.p, input)
        .await
        .or_page(tr)?;
    Ok(done("/app/admin/bot#providers", "flash.saved"))
}

/// `POST /app/admin/bot/providers/check`: the page again, with what trying
/// each provider showed.
async fn check_providers(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    admin_only(ctx)?;
    let tr = ctx.tr;
    let (embeddings, chat) = app
        .engine
        .check_assist_providers(&ctx.p)
        .await
        .or_page(tr)?;
    let mut lines = Vec::new();
    for (label, probe) in [("bot.embeddings", embeddings), ("bot.chat_model", chat)] {
        let Some(p) = probe else { continue };
        let what = match (&p.error, p.dimensions) {
            (Some(e), _) => format!("{}: {e}", tr.t("bot.check_failed")),
            (None, Some(d)) => format!(
                "{} · {} ms · {d} {}",
                tr.t("bot.check_ok"),
                p.millis,
                tr.t("bot.dimensions")
            ),
            (None, None) => format!("{} · {} ms", tr.t("bot.check_ok"), p.millis),
        };
        lines.push((p.ok, format!("{} — {what}", tr.t(label))));
    }
    if lines.is_empty() {
        lines.push((false, tr.t("bot.no_providers").to_owned()));
    }
    render(&app, ctx, PageQuery::default(), lines).await
}
