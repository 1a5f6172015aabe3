//! The knowledge base's screens for editors (owners, admins, supervisors):
//! the article list, the editor with a live preview, translations, version
//! history with a line diff and restore, sections and their names, and the
//! help center's analytics. The engine checks the role on every call.

use super::views::Opt;
use super::{Chrome, Ctx, Form, FormLimit, MultipartForm, OrPage, UiError, done, html};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::ids::*;
use domain::kb::{ArticleStatus, Visibility};
use domain::user::Role;
use engine::kb::{ArticleFilter, ArticlePatch, KbArticle, NewArticle};
use std::collections::{BTreeMap, HashMap};

pub fn routes() -> Router<AppState> {
    let big = axum::Extension(FormLimit(engine::kb::MAX_BODY_CHARS * 9 + 64 * 1024));
    Router::new()
        .route("/app/admin/kb", get(list))
        .route("/app/admin/kb/new", get(new_page).post(create).layer(big))
        .route("/app/admin/kb/preview", post(preview).layer(big))
        .route("/app/admin/kb/sections", get(sections).post(save_section))
        .route("/app/admin/kb/stats", get(stats))
        .route(
            "/app/admin/kb/media",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(
                engine::help::MAX_MEDIA_BYTES + 64 * 1024,
            )),
        )
        .route("/app/admin/kb/look", get(look).post(save_look))
        .route("/app/admin/kb/faq", get(faq_list))
        .route("/app/admin/kb/faq/new", get(faq_new).post(faq_create))
        .route("/app/admin/kb/faq/{id}", get(faq_edit).post(faq_save))
        .route("/app/admin/kb/{id}", get(edit_page).post(save).layer(big))
        .route("/app/admin/kb/{id}/diff", get(diff))
        .route("/app/admin/kb/{id}/restore", post(restore))
}

fn editor_only(ctx: &Ctx) -> Result<(), UiError> {
    if matches!(ctx.p.role, Role::Owner | Role::Admin | Role::Supervisor) {
        Ok(())
    } else {
        Err(UiError::Status(
            StatusCode::FORBIDDEN,
            ctx.tr,
            "error.forbidden",
        ))
    }
}

fn invalid(ctx: &Ctx, what: &str) -> UiError {
    UiError::Message(
        StatusCode::UNPROCESSABLE_ENTITY,
        ctx.tr,
        format!("{what}: {}", ctx.tr.t("error.invalid")),
    )
}

/// An article's row in the list.
pub struct Row {
    pub id: String,
    pub title: String,
    pub lang: String,
    pub section: String,
    pub status: String,
    pub internal: bool,
    /// A draft saved over a published version.
    pub unpublished_changes: bool,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "admin_kb.html")]
pub struct ListPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub rows: Vec<Row>,
    pub langs: Vec<Opt>,
    pub lang: String,
    pub ws: String,
}

#[derive(serde::Deserialize)]
pub struct ListQuery {
    lang: Option<String>,
}

async fn section_names(
    app: &AppState,
    ctx: &Ctx,
) -> Result<HashMap<CategoryId, (String, String)>, UiError> {
    let cats = app.engine.kb_categories(&ctx.p).await.or_page(ctx.tr)?;
    let lang = ctx.tr.code();
    Ok(cats
        .into_iter()
        .map(|c| {
            let name = c
                .names
                .get(lang)
                .or_else(|| c.names.get("en"))
                .cloned()
                .unwrap_or_else(|| c.key.clone());
            (c.id, (c.key, name))
        })
        .collect())
}

/// The languages the workspace's knowledge base is written in (its help
/// center's configuration).
async fn kb_languages(app: &AppState, ctx: &Ctx) -> Result<Vec<String>, UiError> {
    Ok(app
        .engine
        .help_settings(ctx.p.workspace_id)
        .await
        .or_page(ctx.tr)?
        .languages)
}

/// A language's name in itself, with its code when that is not obvious.
fn language_label(code: &str) -> String {
    match domain::kb::native_name(code) {
        Some(n) => n.to_owned(),
        None => code.to_owned(),
    }
}

/// Choices of language: the configured ones, and the selected one even when
/// it no longer is (an article written before a language was dropped).
fn lang_opts(configured: &[String], selected: &str, with_any: Option<&str>) -> Vec<Opt> {
    let mut v: Vec<Opt> = with_any
        .map(|label| Opt {
            value: String::new(),
            label: label.to_owned(),
            selected: selected.is_empty(),
        })
        .into_iter()
        .collect();
    let extra = (!selected.is_empty() && !configured.iter().any(|l| l == selected))
        .then(|| selected.to_owned());
    for l in configured.iter().chain(extra.as_ref()) {
        v.push(Opt {
            value: l.clone(),
            label: language_label(l),
            selected: selected == l,
        });
    }
    v
}

fn day(t: domain::Timestamp) -> String {
    t.to_rfc3339().get(..10).unwrap_or_default().to_owned()
}

async fn list(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> Result<Response, UiError> {
    editor_only(&ctx)?;
    let lang = q.lang.unwrap_or_default();
    let filter = ArticleFilter {
        lang: (!lang.is_empty()).then(|| lang.clone()),
        ..Default::default()
    };
    let names = section_names(&app, &ctx).await?;
    let articles = app
        .engine
        .articles(&ctx.p, &filter, None, 200)
        .await
        .or_page(ctx.tr)?;
    let rows = articles
        .into_iter()
        .map(|a| Row {
            id: a.id.to_string(),
            section: a
                .category_id
                .and_then(|c| names.get(&c))
                .map(|n| n.1.clone())
                .unwrap_or_default(),
            status: ctx.tr.label("kb.status", a.status.as_str()),
            internal: a.visibility == Visibility::Internal,
            unpublished_changes: a.published_version.is_some_and(|v| v != a.version),
            updated: day(a.updated_at),
            lang: a.lang,
            title: a.title,
        })
        .collect();
    html(&ListPage {
        chrome: ctx.chrome(ctx.tr.t("admin.kb")),
        section: "kb",
        rows,
        langs: lang_opts(
            &kb_languages(&app, &ctx).await?,
            &lang,
            Some(ctx.tr.t("kb.any_language")),
        ),
        lang,
        ws: ctx.ws.name.clone(),
    })
}

/// One version in the history list.
pub struct VersionRow {
    pub version: i64,
    pub title: String,
    pub at: String,
    pub live: bool,
}

#[derive(Template)]
#[template(path = "admin_kb_edit.html")]
pub struct EditPage {
    pub chrome: Chrome,
    pub section: &'static str,
    /// None for a new article.
    pub id: Option<String>,
    pub group_id: String,
    pub title: String,
    pub body: String,
    pub preview: String,
    pub lang: String,
    pub langs: Vec<Opt>,
    pub sections: Vec<Opt>,
    pub published: bool,
    pub internal: bool,
    pub version: i64,
    pub live_version: Option<i64>,
    pub versions: Vec<VersionRow>,
    /// Languages present: (code, article id); and languages still missing.
    pub translations: Vec<(String, String)>,
    pub missing: Vec<String>,
    /// The help-center address of the published article.
    pub public_url: Option<String>,
    /// Markdown for the file just uploaded, to insert.
    pub uploaded: Option<String>,
    /// This page's path, to come back to after an upload.
    pub here: String,
}

impl EditPage {
    fn blank(ctx: &Ctx, sections: Vec<Opt>) -> EditPage {
        EditPage {
            chrome: ctx.chrome(ctx.tr.t("kb.new")),
            section: "kb",
            id: None,
            group_id: String::new(),
            title: String::new(),
            body: String::new(),
            preview: String::new(),
            lang: ctx.tr.code().to_owned(),
            langs: Vec::new(),
            sections,
            published: false,
            internal: false,
            version: 0,
            live_version: None,
            versions: Vec::new(),
            translations: Vec::new(),
            missing: Vec::new(),
            public_url: None,
            uploaded: None,
            here: String::from("/app/admin/kb/new"),
        }
    }
}

async fn section_opts(
    app: &AppState,
    ctx: &Ctx,
    selected: Option<CategoryId>,
) -> Result<Vec<Opt>, UiError> {
    let mut v = vec![Opt {
        value: String::new(),
        label: ctx.tr.t("kb.no_section").to_owned(),
        selected: selected.is_none(),
    }];
    let names = section_names(app, ctx).await?;
    let mut all: Vec<(CategoryId, (String, String))> = names.into_iter().collect();
    all.sort_by(|a, b| a.1.1.cmp(&b.1.1));
    for (id, (key, name)) in all {
        v.push(Opt {
            value: key,
            label: name,
            selected: Some(id) == selected,
        });
    }
    Ok(v)
}

#[derive(serde::Deserialize)]
pub struct NewQuery {
    group: Option<String>,
    lang: Option<String>,
    section: Option<String>,
    media: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct EditQuery {
    media: Option<String>,
}

/// The Markdown of an uploaded file named in the query, when it is this workspace's.
async fn uploaded(app: &AppState, ctx: &Ctx, media: Option<&str>) -> Option<String> {
    let id = media?.parse::<uuid::Uuid>().ok()?;
    let (m, _) = app.engine.help_media(ctx.p.workspace_id, id).await.ok()?;
    Some(media_markdown(&ctx.ws.name, &m))
}

async fn new_page(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NewQuery>,
) -> Result<Response, UiError> {
    editor_only(&ctx)?;
    let mut sections = section_opts(&app, &ctx, None).await?;
    if let Some(s) = q.section.as_deref() {
        for o in &mut sections {
            o.selected = o.value == s;
        }
    }
    let mut page = EditPage::blank(&ctx, sections);
    if let Some(l) = q.lang {
        page.lang = l;
    }
    page.langs = lang_opts(&kb_languages(&app, &ctx).await?, &page.lang, None);
    page.group_id = q.group.unwrap_or_default();
    page.uploaded = uploaded(&app, &ctx, q.media.as_deref()).await;
    html(&page)
}

fn status_of(f: &Form) -> ArticleStatus {
    if f.get("publish").is_some() {
        ArticleStatus::Published
    } else {
        ArticleStatus::Draft
    }
}

fn visibility_of(f: &Form) -> Visibility {
    if f.checked("internal") {
        Visibility::Internal
    } else {
        Visibility::Public
    }
}

async fn create(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    editor_only(ctx)?;
    let group_id = match f.text("group_id") {
        Some(g) => Some(g.parse::<GroupId>().map_err(|_| invalid(ctx, "group_id"))?),
        None => None,
    };
    let a = app
        .engine
        .create_article(
            &ctx.p,
            NewArticle {
                lang: f.get("lang").unwrap_or_default().to_owned(),
                title: f.get("title").unwrap_or_default().to_owned(),
                body: f.get("body").unwrap_or_default().to_owned(),
                category: f.text("category").map(str::to_owned),
                status: status_of(&f),
                visibility: visibility_of(&f),
                group_id,
            },
        )
        .await
        .or_page(ctx.tr)?;
    Ok(done(&format!("/app/admin/kb/{}", a.id), "flash.saved"))
}

async fn article_id(ctx: &Ctx, id: &str) -> Result<ArticleId, UiError> {
    id.parse()
        .map_err(|_| UiError::Status(StatusCode::NOT_FOUND, ctx.tr, "error.not_found"))
}

async fn edit_page(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<EditQuery>,
) -> Result<Response, UiError> {
    editor_only(&ctx)?;
    let id = article_id(&ctx, &id).await?;
    let a: KbArticle = app.engine.article(&ctx.p, id).await.or_page(ctx.tr)?;
    let versions = app
        .engine
        .article_versions(&ctx.p, id)
        .await
        .or_page(ctx.tr)?;
    let group = app
        .engine
        .article_translations(&ctx.p, id)
        .await
        .or_page(ctx.tr)?;
    let sections = section_opts(&app, &ctx, a.category_id).await?;
    let mut page = EditPage::blank(&ctx, sections);
    page.chrome = ctx.chrome(a.title.clone());
    page.id = Some(a.id.to_string());
    page.group_id = a.group_id.to_string();
    page.preview = engine::markdown::to_html(&a.body, &a.title);
    let configured = kb_languages(&app, &ctx).await?;
    page.langs = lang_opts(&configured, &a.lang, None);
    page.published = a.status == ArticleStatus::Published;
    page.internal = a.visibility == Visibility::Internal;
    page.version = a.version;
    page.live_version = a.published_version;
    page.versions = versions
        .iter()
        .map(|v| VersionRow {
            version: v.version,
            title: v.title.clone(),
            at: v
                .created_at
                .to_rfc3339()
                .get(..16)
                .unwrap_or_default()
                .replace('T', " "),
            live: Some(v.version) == a.published_version,
        })
        .collect();
    page.translations = group
        .iter()
        .filter(|t| t.id != a.id)
        .map(|t| (t.lang.clone(), t.id.to_string()))
        .collect();
    page.missing = configured
        .into_iter()
        .filter(|l| !group.iter().any(|t| t.lang == *l))
        .collect();
    page.public_url = (a.published_version.is_some() && a.visibility == Visibility::Public)
        .then(|| crate::help::article_path(&ctx.ws.name, &a.lang, a.id, &a.slug));
    page.uploaded = uploaded(&app, &ctx, q.media.as_deref()).await;
    page.here = format!("/app/admin/kb/{}", a.id);
    page.title = a.title;
    page.body = a.body;
    page.lang = a.lang;
    html(&page)
}

async fn save(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    editor_only(ctx)?;
    let id = article_id(ctx, &id).await?;
    let patch = ArticlePatch {
        title: f.get("title").map(str::to_owned),
        body: f.get("body").map(str::to_owned),
        category: Some(f.text("category").map(str::to_owned)),
        status: Some(status_of(&f)),
        visibility: Some(visibility_of(&f)),
    };
    app.engine
        .update_article(&ctx.p, id, patch)
        .await
        .or_page(ctx.tr)?;
    Ok(done(&format!("/app/admin/kb/{id}"), "flash.saved"))
}

async fn restore(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    editor_only(ctx)?;
    let id = article_id(ctx, &id).await?;
    let version: i64 = f
        .text("version")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| invalid(ctx, "version"))?;
    app.engine
        .restore_article_version(&ctx.p, id, version)
        .await
        .or_page(ctx.tr)?;
    Ok(done(&format!("/app/admin/kb/{id}"), "flash.saved"))
}

/// The preview of the editor's text, rendered and sanitised as readers will see it.
async fn preview(f: Form) -> Result<Response, UiError> {
    editor_only(&f.ctx)?;
    let body = f.get("body").unwrap_or_default();
    if body.chars().count() > engine::kb::MAX_BODY_CHARS {
        return Err(invalid(&f.ctx, "body"));
    }
    let title = f.get("title").unwrap_or_default();
    Ok(axum::response::Html(engine::markdown::to_html(body, title)).into_response())
}

/// One line of a diff: `+`, `-` or ` `, and the text.
pub struct DiffLine {
    pub tag: char,
    pub text: String,
}

#[derive(Template)]
#[template(path = "admin_kb_diff.html")]
pub struct DiffPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub id: String,
    pub from: i64,
    pub to: i64,
    pub title_from: String,
    pub title_to: String,
    pub lines: Vec<DiffLine>,
}

#[derive(serde::Deserialize)]
pub struct DiffQuery {
    from: Option<i64>,
    to: Option<i64>,
}

/// Longest text compared line by line (beyond it, the diff says so).
const DIFF_MAX_LINES: usize = 5000;

async fn diff(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<DiffQuery>,
) -> Result<Response, UiError> {
    editor_only(&ctx)?;
    let id = article_id(&ctx, &id).await?;
    let versions = app
        .engine
        .article_versions(&ctx.p, id)
        .await
        .or_page(ctx.tr)?;
    let newest = versions.first().map_or(1, |v| v.version);
    let to = q.to.unwrap_or(newest);
    let from = q.from.unwrap_or(to - 1);
    let find = |n: i64| versions.iter().find(|v| v.version == n);
    let (Some(a), Some(b)) = (find(from), find(to)) else {
        return Err(UiError::Status(
            StatusCode::NOT_FOUND,
            ctx.tr,
            "error.not_found",
        ));
    };
    let mut lines = Vec::new();
    if a.body.lines().count() + b.body.lines().count() <= DIFF_MAX_LINES {
        let d = similar::TextDiff::from_lines(&a.body, &b.body);
        for change in d.iter_all_changes() {
            let tag = match change.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => ' ',
            };
            lines.push(DiffLine {
                tag,
                text: change.value().trim_end_matches('\n').to_owned(),
            });
        }
    }
    html(&DiffPage {
        chrome: ctx.chrome(format!("{} · v{from} → v{to}", b.title)),
        section: "kb",
        id: id.to_string(),
        from,
        to,
        title_from: a.title.clone(),
        title_to: b.title.clone(),
        lines,
    })
}

/// A section with its names, for the sections page.
pub struct SectionRow {
    pub key: String,
    pub parent: Vec<Opt>,
    pub names: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "admin_kb_sections.html")]
pub struct SectionsPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub rows: Vec<SectionRow>,
    pub parents: Vec<Opt>,
    pub langs: Vec<String>,
}

async fn sections(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    editor_only(&ctx)?;
    let cats = app.engine.kb_categories(&ctx.p).await.or_page(ctx.tr)?;
    let by_id: HashMap<CategoryId, String> = cats.iter().map(|c| (c.id, c.key.clone())).collect();
    let parent_opts = |own: Option<&str>, selected: Option<&str>| -> Vec<Opt> {
        let mut v = vec![Opt {
            value: String::new(),
            label: ctx.tr.t("kb.top_level").to_owned(),
            selected: selected.is_none(),
        }];
        for c in &cats {
            if Some(c.key.as_str()) != own {
                v.push(Opt {
                    value: c.key.clone(),
                    label: c.key.clone(),
                    selected: Some(c.key.as_str()) == selected,
                });
            }
        }
        v
    };
    let langs = kb_languages(&app, &ctx).await?;
    let rows = cats
        .iter()
        .map(|c| SectionRow {
            key: c.key.clone(),
            parent: parent_opts(
                Some(&c.key),
                c.parent_id.and_then(|p| by_id.get(&p)).map(String::as_str),
            ),
            names: langs
                .iter()
                .map(|l| (l.clone(), c.names.get(l).cloned().unwrap_or_default()))
                .collect(),
        })
        .collect();
    html(&SectionsPage {
        chrome: ctx.chrome(ctx.tr.t("kb.sections")),
        section: "kb",
        rows,
        parents: parent_opts(None, None),
        langs,
    })
}

async fn save_section(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    editor_only(ctx)?;
    let key = f.text("key").ok_or_else(|| invalid(ctx, "key"))?;
    // Names in languages the form does not show (no longer configured) stay.
    let mut names: BTreeMap<String, String> = app
        .engine
        .kb_categories(&ctx.p)
        .await
        .or_page(ctx.tr)?
        .into_iter()
        .find(|c| c.key == key)
        .map(|c| c.names)
        .unwrap_or_default();
    for l in kb_languages(&app, ctx).await? {
        match f.text(&format!("name_{l}")) {
            Some(n) => names.insert(l, n.to_owned()),
            None => names.remove(&l),
        };
    }
    app.engine
        .save_kb_category(&ctx.p, key, names, f.text("parent").map(str::to_owned))
        .await
        .or_page(ctx.tr)?;
    Ok(done("/app/admin/kb/sections", "flash.saved"))
}

/// A bar of a chart: a label, the value and its width in per cent of the largest.
pub struct Bar {
    pub label: String,
    pub href: String,
    pub value: i64,
    pub width: i64,
    pub note: String,
}

fn bars(items: Vec<(String, String, i64, String)>) -> Vec<Bar> {
    let max = items.iter().map(|i| i.2).max().unwrap_or(0).max(1);
    items
        .into_iter()
        .map(|(label, href, value, note)| Bar {
            label,
            href,
            value,
            width: (value * 100 / max).max(1),
            note,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin_kb_stats.html")]
pub struct StatsPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub from: String,
    pub to: String,
    pub days: i64,
    pub periods: Vec<Opt>,
    pub langs: Vec<Opt>,
    pub lang: String,
    pub views: Vec<Bar>,
    pub searches: Vec<Bar>,
    pub gaps: Vec<Bar>,
    pub comments: Vec<(String, String, bool, String)>,
}

impl StatsPage {
    fn charts(&self) -> [(&str, &Vec<Bar>); 3] {
        [
            (self.chrome.t("kb.views"), &self.views),
            (self.chrome.t("kb.searches"), &self.searches),
            (self.chrome.t("kb.gaps"), &self.gaps),
        ]
    }
}

#[derive(serde::Deserialize)]
pub struct StatsQuery {
    days: Option<i64>,
    lang: Option<String>,
}

async fn stats(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<StatsQuery>,
) -> Result<Response, UiError> {
    editor_only(&ctx)?;
    let days = q.days.unwrap_or(30);
    let lang = q.lang.unwrap_or_default();
    let r = app
        .engine
        .kb_report(&ctx.p, days, (!lang.is_empty()).then_some(lang.as_str()))
        .await
        .or_page(ctx.tr)?;
    let day_of = |d: i64| {
        domain::Timestamp::from_millis(d * 24 * 3600 * 1000)
            .to_rfc3339()
            .get(..10)
            .unwrap_or_default()
            .to_owned()
    };
    let tr = ctx.tr;
    let views = bars(
        r.articles
            .iter()
            .take(20)
            .map(|a| {
                let votes = a.helpful + a.unhelpful;
                let note = if votes > 0 {
                    format!(
                        "{} {}% ({votes})",
                        tr.t("kb.helpful"),
                        a.helpful * 100 / votes
                    )
                } else {
                    String::new()
                };
                (
                    format!("{} [{}]", a.title, a.lang),
                    format!("/app/admin/kb/{}", a.article_id),
                    a.views,
                    note,
                )
            })
            .collect(),
    );
    let search_bars = |v: &[engine::kb_activity::SearchStats], empty: bool| {
        bars(
            v.iter()
                .take(20)
                .map(|s| {
                    (
                        format!("{} [{}]", s.query, s.lang),
                        String::new(),
                        if empty { s.empty } else { s.searches },
                        if empty || s.empty == 0 {
                            String::new()
                        } else {
                            format!("{}: {}", tr.t("kb.no_result"), s.empty)
                        },
                    )
                })
                .collect(),
        )
    };
    let periods = [7, 30, 90, 365]
        .into_iter()
        .map(|d| Opt {
            value: d.to_string(),
            label: format!("{d} {}", tr.t("kb.days")),
            selected: d == days,
        })
        .collect();
    html(&StatsPage {
        chrome: ctx.chrome(tr.t("kb.stats")),
        section: "kb",
        from: day_of(r.from_day),
        to: day_of(r.to_day),
        days,
        periods,
        langs: lang_opts(
            &kb_languages(&app, &ctx).await?,
            &lang,
            Some(tr.t("kb.any_language")),
        ),
        lang,
        searches: search_bars(&r.searches, false),
        gaps: search_bars(&r.no_results, true),
        views,
        comments: r
            .comments
            .into_iter()
            .map(|c| (c.article_id.to_string(), c.title, c.helpful, c.comment))
            .collect(),
    })
}

/// Uploads an image or PDF for articles (multipart: `_csrf` first, then `file`;
/// `next` is where to return). The editor then shows the Markdown to insert.
async fn upload(
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
    ctx: Ctx,
    mp: axum::extract::Multipart,
) -> Result<Response, UiError> {
    editor_only(&ctx)?;
    let form = MultipartForm::read(&ctx, &headers, mp).await?;
    // Back to one of these screens only.
    let next = form
        .get("next")
        .filter(|n| n.starts_with("/app/admin/kb") && !n.contains("//") && !n.contains('\\'))
        .unwrap_or("/app/admin/kb/new");
    let Some((filename, bytes)) = form.file("file") else {
        return Err(invalid(&ctx, "file"));
    };
    let m = app
        .engine
        .upload_kb_media(&ctx.p, filename, bytes.to_vec())
        .await
        .or_page(ctx.tr)?;
    let next = next.split('?').next().unwrap_or_default();
    Ok(axum::response::Redirect::to(&format!("{next}?media={}", m.id)).into_response())
}

/// The Markdown that shows an uploaded file in an article.
pub fn media_markdown(ws: &str, m: &engine::help::KbMedia) -> String {
    let url = crate::help::media_path(ws, m.id, &m.filename);
    let label: String = m
        .filename
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | '(' | ')'))
        .collect();
    if m.content_type.starts_with("image/") {
        format!("![{label}]({url})")
    } else {
        format!("[{label}]({url})")
    }
}

#[derive(Template)]
#[template(path = "admin_kb_look.html")]
pub struct LookPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub color: String,
    pub logo: Option<String>,
    pub help: String,
    /// The configured languages, space-separated.
    pub languages: String,
}

async fn look(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    editor_only(&ctx)?;
    let s = app
        .engine
        .help_settings(ctx.p.workspace_id)
        .await
        .or_page(ctx.tr)?;
    html(&LookPage {
        chrome: ctx.chrome(ctx.tr.t("kb.look")),
        section: "kb",
        color: s.color.unwrap_or_else(|| "#1f6feb".into()),
        logo: s
            .logo_id
            .map(|id| crate::help::media_path(&ctx.ws.name, id, "logo")),
        help: format!("/help/{}", ctx.ws.name),
        languages: s.languages.join(" "),
    })
}

/// The help center's colour and logo (multipart: the logo is a file).
async fn save_look(
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
    ctx: Ctx,
    mp: axum::extract::Multipart,
) -> Result<Response, UiError> {
    editor_only(&ctx)?;
    let tr = ctx.tr;
    let form = MultipartForm::read(&ctx, &headers, mp).await?;
    let color = form
        .get("color")
        .filter(|c| !c.trim().is_empty())
        .map(str::to_owned);
    let drop_logo = form.get("remove_logo").is_some();
    let logo = match form.file("logo") {
        Some((filename, bytes)) => Some(
            app.engine
                .upload_kb_media(&ctx.p, filename, bytes.to_vec())
                .await
                .or_page(tr)?,
        ),
        None => None,
    };
    let current = app
        .engine
        .help_settings(ctx.p.workspace_id)
        .await
        .or_page(tr)?;
    let logo_id = match (logo, drop_logo) {
        (Some(m), _) => Some(m.id),
        (None, true) => None,
        (None, false) => current.logo_id,
    };
    let languages = match form.get("languages") {
        Some(l) => l
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        None => current.languages,
    };
    app.engine
        .save_help_settings(
            &ctx.p,
            engine::help::HelpSettings {
                color,
                logo_id,
                languages,
            },
        )
        .await
        .or_page(tr)?;
    Ok(done("/app/admin/kb/look", "flash.saved"))
}

// ---- FAQ ----

#[derive(Template)]
#[template(path = "admin_kb_faq.html")]
pub struct FaqListPage {
    pub chrome: Chrome,
    pub section: &'static str,
    /// (id, question, language, phrasings count)
    pub rows: Vec<(String, String, String, usize)>,
    pub langs: Vec<Opt>,
}

async fn faq_list(
    State(app): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> Result<Response, UiError> {
    editor_only(&ctx)?;
    let lang = q.lang.unwrap_or_default();
    let all = app
        .engine
        .faqs(
            &ctx.p,
            (!lang.is_empty()).then_some(lang.as_str()),
            None,
            200,
        )
        .await
        .or_page(ctx.tr)?;
    html(&FaqListPage {
        chrome: ctx.chrome(ctx.tr.t("kb.faq")),
        section: "kb",
        rows: all
            .into_iter()
            .map(|f| (f.id.to_string(), f.question, f.lang, f.phrasings.len()))
            .collect(),
        langs: lang_opts(
            &kb_languages(&app, &ctx).await?,
            &lang,
            Some(ctx.tr.t("kb.any_language")),
        ),
    })
}

#[derive(Template)]
#[template(path = "admin_kb_faq_edit.html")]
pub struct FaqEditPage {
    pub chrome: Chrome,
    pub section: &'static str,
    pub id: Option<String>,
    pub langs: Vec<Opt>,
    pub question: String,
    pub phrasings: String,
    pub answer: String,
    pub sections: Vec<Opt>,
    pub articles: Vec<Opt>,
}

async fn article_opts(
    app: &AppState,
    ctx: &Ctx,
    lang: Option<&str>,
    selected: Option<ArticleId>,
) -> Result<Vec<Opt>, UiError> {
    let filter = ArticleFilter {
        lang: lang.map(str::to_owned),
        ..Default::default()
    };
    let mut v = vec![Opt {
        value: String::new(),
        label: "—".into(),
        selected: selected.is_none(),
    }];
    for a in app
        .engine
        .articles(&ctx.p, &filter, None, 200)
        .await
        .or_page(ctx.tr)?
    {
        v.push(Opt {
            value: a.id.to_string(),
            label: format!("{} [{}]", a.title, a.lang),
            selected: Some(a.id) == selected,
        });
    }
    Ok(v)
}

async fn faq_new(State(app): State<AppState>, ctx: Ctx) -> Result<Response, UiError> {
    editor_only(&ctx)?;
    html(&FaqEditPage {
        chrome: ctx.chrome(ctx.tr.t("kb.new_faq")),
        section: "kb",
        id: None,
        langs: lang_opts(&kb_languages(&app, &ctx).await?, ctx.tr.code(), None),
        question: String::new(),
        phrasings: String::new(),
        answer: String::new(),
        sections: section_opts(&app, &ctx, None).await?,
        articles: article_opts(&app, &ctx, None, None).await?,
    })
}

fn lines(f: &Form, name: &str) -> Vec<String> {
    f.get(name)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn article_of(f: &Form) -> Result<Option<ArticleId>, UiError> {
    f.text("article_id")
        .map(|a| a.parse().map_err(|_| invalid(&f.ctx, "article_id")))
        .transpose()
}

async fn faq_create(State(app): State<AppState>, f: Form) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    editor_only(ctx)?;
    let made = app
        .engine
        .create_faq(
            &ctx.p,
            engine::kb::NewFaq {
                lang: f.get("lang").unwrap_or_default().to_owned(),
                question: f.get("question").unwrap_or_default().to_owned(),
                phrasings: lines(&f, "phrasings"),
                answer: f.get("answer").unwrap_or_default().to_owned(),
                category: f.text("category").map(str::to_owned),
                article_id: article_of(&f)?,
                group_id: None,
            },
        )
        .await
        .or_page(ctx.tr)?;
    Ok(done(
        &format!("/app/admin/kb/faq/{}", made.id),
        "flash.saved",
    ))
}

async fn faq_edit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    editor_only(&ctx)?;
    let id: FaqId = id
        .parse()
        .map_err(|_| UiError::Status(StatusCode::NOT_FOUND, ctx.tr, "error.not_found"))?;
    let f = app.engine.faq(&ctx.p, id).await.or_page(ctx.tr)?;
    html(&FaqEditPage {
        chrome: ctx.chrome(f.question.clone()),
        section: "kb",
        id: Some(f.id.to_string()),
        langs: lang_opts(&kb_languages(&app, &ctx).await?, &f.lang, None),
        sections: section_opts(&app, &ctx, f.category_id).await?,
        articles: article_opts(&app, &ctx, Some(&f.lang), f.article_id).await?,
        question: f.question,
        phrasings: f.phrasings.join("\n"),
        answer: f.answer,
    })
}

async fn faq_save(
    State(app): State<AppState>,
    Path(id): Path<String>,
    f: Form,
) -> Result<Response, UiError> {
    let ctx = &f.ctx;
    editor_only(ctx)?;
    let id: FaqId = id.parse().map_err(|_| invalid(ctx, "id"))?;
    let patch = engine::kb::FaqPatch {
        question: f.get("question").map(str::to_owned),
        phrasings: Some(lines(&f, "phrasings")),
        answer: f.get("answer").map(str::to_owned),
        category: Some(f.text("category").map(str::to_owned)),
        article_id: Some(article_of(&f)?),
    };
    app.engine
        .update_faq(&ctx.p, id, patch)
        .await
        .or_page(ctx.tr)?;
    Ok(done(&format!("/app/admin/kb/faq/{id}"), "flash.saved"))
}
