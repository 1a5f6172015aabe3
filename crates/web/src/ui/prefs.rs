//! `/app/preferences`: what a person chooses for themselves — the interface
//! language, the time zone times read in, the signature under their email
//! replies, and which alerts they get (and whether on the desktop).

use super::views::Opt;
use super::{Chrome, Ctx, Form, OrPage, UiError, done, html, i18n};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use engine::people::PreferencesPatch;

pub fn routes() -> Router<AppState> {
    Router::new().route("/app/preferences", get(page).post(save))
}

#[derive(Template)]
#[template(path = "prefs.html")]
pub struct PrefsPage {
    pub chrome: Chrome,
    pub languages: Vec<Opt>,
    pub time_zone: String,
    pub workspace_zone: String,
    pub zones: Vec<String>,
    pub signature: String,
    /// (field name, label, on).
    pub alerts: Vec<(&'static str, String, bool)>,
}

const ALERTS: [&str; 6] = [
    "replied",
    "assigned",
    "mentioned",
    "reminders",
    "desktop",
    "reports",
];

async fn page(ctx: Ctx) -> Result<Response, UiError> {
    let tr = ctx.tr;
    let prefs = &ctx.me.preferences;
    let chosen = prefs.language.as_deref().unwrap_or_default();
    let languages = std::iter::once(Opt {
        value: String::new(),
        label: tr.t("prefs.language_default").to_owned(),
        selected: chosen.is_empty(),
    })
    .chain(i18n::Lang::ALL.iter().map(|l| Opt {
        value: l.code().into(),
        label: l.native_name().into(),
        selected: l.code() == chosen,
    }))
    .collect();
    let n = prefs.notify;
    let on = [
        n.replied,
        n.assigned,
        n.mentioned,
        n.reminders,
        n.desktop,
        n.reports,
    ];
    html(&PrefsPage {
        chrome: ctx.chrome(tr.t("prefs.title")),
        languages,
        time_zone: prefs.time_zone.clone().unwrap_or_default(),
        workspace_zone: ctx.ws.time_zone.clone(),
        zones: domain::calendar::zone_names(),
        signature: prefs.signature.clone(),
        alerts: ALERTS
            .iter()
            .zip(on)
            .map(|(k, on)| (*k, tr.t(&format!("prefs.alert_{k}")).to_owned(), on))
            .collect(),
    })
}

/// Saves the whole form (an unticked alert is off). The language chosen
/// here also becomes this browser's, so it shows at once.
async fn save(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    let text = |k: &str| f.text(k).map(str::to_owned);
    let patch = PreferencesPatch {
        language: Some(text("language")),
        time_zone: Some(text("time_zone")),
        signature: Some(f.get("signature").unwrap_or_default().to_owned()),
        notify_replied: Some(f.checked("replied")),
        notify_assigned: Some(f.checked("assigned")),
        notify_mentioned: Some(f.checked("mentioned")),
        notify_reminders: Some(f.checked("reminders")),
        notify_desktop: Some(f.checked("desktop")),
        notify_reports: Some(f.checked("reports")),
    };
    let me = app
        .engine
        .set_preferences(&ctx.p, patch)
        .await
        .or_page(ctx.tr)?;
    let mut res = done("/app/preferences", "flash.saved");
    let cookie = match me.preferences.language {
        Some(l) => format!(
            "{}={l}; Path=/; Max-Age=31536000; SameSite=Lax",
            i18n::LANG_COOKIE
        ),
        None => format!("{}=; Path=/; Max-Age=0; SameSite=Lax", i18n::LANG_COOKIE),
    };
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}
