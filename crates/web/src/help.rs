//! The public help center at `/help/{workspace}`: sections, articles and search
//! in the reader's language, server-rendered so that it works without script,
//! on a phone and for search engines (clean URLs, `sitemap.xml`, canonical and
//! Open Graph tags). Only what the engine's `help_*` reads return is shown:
//! published, public articles.
//!
//! A help center is published in the languages its workspace configures (ru,
//! en and th unless set otherwise); a page in a language the interface has no
//! catalog for shows its content in that language and its frame in English.
//!
//! URLs: `/help/{ws}` picks a language and redirects; `/help/{ws}/{lang}` is the
//! home page, `/help/{ws}/{lang}/sections/{key}` a section,
//! `/help/{ws}/{lang}/articles/{id}-{slug}` an article (another slug redirects to
//! the current one), `/help/{ws}/{lang}/search?q=` the results.

use crate::AppState;
use crate::ui::i18n::{Lang, Tr};
use crate::ui::{UiError, assets, html};
use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use domain::ids::{ArticleId, CategoryId};
use engine::EngineError;
use engine::help::{HelpArticle, HelpSettings};
use engine::kb::KbCategory as Category;
use engine::model::Workspace;
use std::net::SocketAddr;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/help/{ws}", get(pick_language))
        .route("/help/{ws}/sitemap.xml", get(sitemap))
        .route("/help/{ws}/theme.css", get(theme))
        .route("/help/{ws}/media/{id}/{name}", get(media))
        .route("/help/{ws}/{lang}", get(home))
        .route("/help/{ws}/{lang}/search", get(search))
        .route("/help/{ws}/{lang}/sections/{key}", get(section))
        .route("/help/{ws}/{lang}/articles/{article}", get(article))
        .route(
            "/help/{ws}/{lang}/articles/{article}/feedback",
            axum::routing::post(feedback).layer(axum::extract::DefaultBodyLimit::max(16 * 1024)),
        )
}

/// Most articles a section lists on the home page.
const HOME_PER_SECTION: usize = 6;
/// Most search results on a page.
const RESULTS: usize = 20;

/// A section with its articles, for the home and section pages.
pub struct SectionView {
    pub key: String,
    pub name: String,
    pub articles: Vec<HelpArticle>,
    pub total: usize,
}

/// A top-level category and the sections filed under it.
pub struct CategoryView {
    pub name: String,
    pub key: String,
    pub sections: Vec<SectionView>,
}

/// What every help-center page shows around its content.
pub struct Frame {
    pub tr: Tr,
    pub ws: String,
    pub site: String,
    /// The content's language code (`ru`, `de`, `pt-br` …).
    pub lang: String,
    /// Its name in itself, for the switcher.
    pub lang_name: String,
    /// `ltr` or `rtl`.
    pub dir: &'static str,
    pub title: String,
    pub description: String,
    /// Path of this page, for the canonical link and the language switcher.
    pub path: String,
    /// `scheme://host` of the request, for absolute canonical and Open Graph URLs.
    pub origin: String,
    pub q: String,
    /// Other languages of this page.
    pub alternates: Vec<Alternate>,
    pub css: &'static str,
    pub js: &'static str,
    /// Addresses readers may write to.
    pub contacts: Vec<String>,
    /// The chat widget's key, when the workspace has a chat.
    pub chat: Option<String>,
    /// The workspace's stylesheet (its accent colour), when it has one.
    pub theme: Option<String>,
    pub logo: Option<String>,
}

/// This page in another language.
pub struct Alternate {
    pub code: String,
    pub name: String,
    pub path: String,
}

impl Alternate {
    fn new(code: &str, path: String) -> Alternate {
        Alternate {
            code: code.to_owned(),
            name: language_name(code),
            path,
        }
    }
}

/// A language's name in itself, or its code when the table has none.
fn language_name(code: &str) -> String {
    domain::kb::native_name(code)
        .or_else(|| domain::kb::native_name(code.split('-').next().unwrap_or_default()))
        .map_or_else(|| code.to_owned(), str::to_owned)
}

impl Frame {
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        self.tr.t(key)
    }
    pub fn home(&self) -> String {
        format!("/help/{}/{}", self.ws, self.lang)
    }
}

#[derive(Template)]
#[template(path = "help_home.html")]
struct HomePage {
    f: Frame,
    categories: Vec<CategoryView>,
    popular: Vec<HelpArticle>,
    recent: Vec<HelpArticle>,
}

#[derive(Template)]
#[template(path = "help_section.html")]
struct SectionPage {
    f: Frame,
    section: SectionView,
}

#[derive(Template)]
#[template(path = "help_article.html")]
struct ArticlePage {
    f: Frame,
    article: HelpArticle,
    body_html: String,
    updated: String,
    trail: Vec<(String, String)>,
    related: Vec<HelpArticle>,
    /// The reader has just voted: thank them instead of asking.
    voted: bool,
}

#[derive(Template)]
#[template(path = "help_search.html")]
struct SearchPage {
    f: Frame,
    hits: Vec<engine::help::KbHit>,
}

#[derive(Template)]
#[template(path = "help_missing.html")]
struct MissingPage {
    f: Frame,
}

/// The public address of an article's image or file.
pub fn media_path(ws: &str, id: uuid::Uuid, filename: &str) -> String {
    let name: String = filename
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = if name.is_empty() {
        "file".to_owned()
    } else {
        name
    };
    percent_encode(&format!("/help/{ws}/media/{id}/{name}"))
}

/// The path of an article in the help center.
pub fn article_path(ws: &str, lang: &str, id: ArticleId, slug: &str) -> String {
    format!("/help/{ws}/{lang}/articles/{id}-{slug}")
}

/// The interface language for a page in `code`: its own when the interface
/// speaks it, English otherwise.
fn ui_lang(code: &str) -> Lang {
    Lang::from_tag(code).unwrap_or(Lang::En)
}

/// A language the help center is published in, and what its pages are
/// framed in.
struct Reading {
    code: String,
    ui: Lang,
}

/// What every page of one help center in one language starts from.
struct Site {
    w: Workspace,
    look: HelpSettings,
    r: Reading,
}

type Page = Result<Response, UiError>;

/// The workspace, its help-center settings, and the language asked for when
/// the help center is published in it; a 404 page otherwise.
async fn open(app: &AppState, ws: &str, lang: &str) -> Result<Site, Page> {
    let guess = ui_lang(lang);
    let w = workspace(app, ws).await.map_err(|e| fail(e, ws, guess))?;
    let look = app
        .engine
        .help_settings(w.id)
        .await
        .map_err(|e| fail(e, ws, guess))?;
    if !look.languages.iter().any(|l| l == lang) {
        return Err(missing(ws, guess));
    }
    let r = Reading {
        code: lang.to_owned(),
        ui: guess,
    };
    Ok(Site { w, look, r })
}

async fn workspace(app: &AppState, name: &str) -> Result<Workspace, EngineError> {
    if name.len() > 100 {
        return Err(EngineError::NotFound);
    }
    app.engine.workspace_by_name(name).await
}

async fn framed(
    app: &AppState,
    site: &Site,
    path: String,
    headers: &HeaderMap,
) -> Result<Frame, EngineError> {
    let ws = &site.w;
    let look = &site.look;
    let mut f = frame(ws, &site.r, path, headers);
    f.contacts = app.engine.help_contacts(ws.id).await?;
    f.chat = app.engine.help_chat(ws.id).await?;
    // The colour is in the address so that a change is fetched at once.
    f.theme = look.color.as_ref().map(|c| {
        format!(
            "/help/{}/theme.css?c={}",
            ws.name,
            c.trim_start_matches('#')
        )
    });
    f.logo = look.logo_id.map(|id| media_path(&ws.name, id, "logo"));
    Ok(f)
}

fn frame(ws: &Workspace, r: &Reading, path: String, headers: &HeaderMap) -> Frame {
    Frame {
        tr: Tr::new(r.ui),
        ws: ws.name.clone(),
        site: if ws.display_name.is_empty() {
            ws.name.clone()
        } else {
            ws.display_name.clone()
        },
        lang: r.code.clone(),
        lang_name: language_name(&r.code),
        dir: if domain::kb::is_rtl(&r.code) {
            "rtl"
        } else {
            "ltr"
        },
        title: String::new(),
        description: String::new(),
        path,
        origin: origin(headers),
        q: String::new(),
        alternates: Vec::new(),
        css: assets::url("help.css"),
        js: assets::url("help.js"),
        contacts: Vec::new(),
        chat: None,
        theme: None,
        logo: None,
    }
}

/// A 404 page in the reader's language (or the browser's).
fn missing(ws: &str, lang: Lang) -> Page {
    let mut f = Frame {
        tr: Tr::new(lang),
        ws: ws.to_owned(),
        site: ws.to_owned(),
        lang: lang.code().to_owned(),
        lang_name: lang.native_name().to_owned(),
        dir: "ltr",
        title: String::new(),
        description: String::new(),
        path: format!("/help/{ws}/{}", lang.code()),
        origin: String::new(),
        q: String::new(),
        alternates: Vec::new(),
        css: assets::url("help.css"),
        js: assets::url("help.js"),
        contacts: Vec::new(),
        chat: None,
        theme: None,
        logo: None,
    };
    f.title = f.t("help.not_found").to_owned();
    let mut res = html(&MissingPage { f })?;
    *res.status_mut() = StatusCode::NOT_FOUND;
    Ok(res)
}

fn fail(e: EngineError, ws: &str, lang: Lang) -> Page {
    match e {
        EngineError::NotFound | EngineError::Unknown(..) => missing(ws, lang),
        e => Err(UiError::engine(e, Tr::new(lang))),
    }
}

/// The help center's other languages, each with this page's path in it.
fn others(site: &Site, path: impl Fn(&str) -> String) -> Vec<Alternate> {
    site.look
        .languages
        .iter()
        .filter(|x| **x != site.r.code)
        .map(|x| Alternate::new(x, path(x)))
        .collect()
}

/// Help pages may be cached briefly by browsers and proxies: they are public.
fn cacheable(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    res
}

async fn pick_language(
    State(app): State<AppState>,
    Path(ws): Path<String>,
    headers: HeaderMap,
) -> Page {
    let fallback = Tr::for_request(&headers, None).lang;
    let w = match workspace(&app, &ws).await {
        Ok(w) => w,
        Err(e) => return fail(e, &ws, fallback),
    };
    let look = match app.engine.help_settings(w.id).await {
        Ok(l) => l,
        Err(e) => return fail(e, &ws, fallback),
    };
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let lang = best_language(accept, &look.languages)
        .or_else(|| look.languages.iter().find(|l| **l == w.default_language))
        .or_else(|| look.languages.first())
        .map_or("en", String::as_str);
    Ok(Redirect::to(&format!("/help/{}/{lang}", w.name)).into_response())
}

/// The configured language an `Accept-Language` header prefers: the tag itself
/// (`pt-br`) or its primary language (`de-AT` → `de`), by q-value.
fn best_language<'a>(accept: &str, configured: &'a [String]) -> Option<&'a String> {
    let mut best: Option<(&String, f32)> = None;
    for item in accept.split(',').take(20) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or_default();
        let found = configured
            .iter()
            .find(|c| **c == tag)
            .or_else(|| configured.iter().find(|c| *c == primary));
        if let Some(c) = found
            && q > 0.0
            && best.is_none_or(|(_, bq)| q > bq)
        {
            best = Some((c, q));
        }
    }
    best.map(|(c, _)| c)
}

fn top_name(c: &Category, lang: &str) -> String {
    c.names
        .get(lang)
        .or_else(|| c.names.get("en"))
        .cloned()
        .unwrap_or_else(|| c.key.clone())
}

/// Sections with their articles, grouped under their top-level categories.
/// Articles filed under a top-level category directly form a section of it.
fn arrange(
    cats: &[Category],
    articles: &[HelpArticle],
    lang: &str,
    per_section: usize,
) -> Vec<CategoryView> {
    let section_of = |id: CategoryId| -> SectionView {
        let all: Vec<&HelpArticle> = articles
            .iter()
            .filter(|a| a.category_id == Some(id))
            .collect();
        let c = cats.iter().find(|c| c.id == id);
        SectionView {
            key: c.map(|c| c.key.clone()).unwrap_or_default(),
            name: c.map(|c| top_name(c, lang)).unwrap_or_default(),
            total: all.len(),
            articles: all.into_iter().take(per_section).cloned().collect(),
        }
    };
    let mut out = Vec::new();
    for top in cats.iter().filter(|c| c.parent_id.is_none()) {
        let mut sections: Vec<SectionView> = Vec::new();
        let own = section_of(top.id);
        if own.total > 0 {
            sections.push(own);
        }
        // Second and third levels are both shown as sections of the top.
        for child in cats.iter().filter(|c| c.parent_id == Some(top.id)) {
            for id in std::iter::once(child.id).chain(
                cats.iter()
                    .filter(|g| g.parent_id == Some(child.id))
                    .map(|g| g.id),
            ) {
                let s = section_of(id);
                if s.total > 0 {
                    sections.push(s);
                }
            }
        }
        if !sections.is_empty() {
            out.push(CategoryView {
                name: top_name(top, lang),
                key: top.key.clone(),
                sections,
            });
        }
    }
    let filed: Vec<CategoryId> = cats.iter().map(|c| c.id).collect();
    let loose: Vec<HelpArticle> = articles
        .iter()
        .filter(|a| a.category_id.is_none_or(|c| !filed.contains(&c)))
        .cloned()
        .collect();
    if !loose.is_empty() {
        out.push(CategoryView {
            name: String::new(),
            key: String::new(),
            sections: vec![SectionView {
                key: String::new(),
                name: String::new(),
                total: loose.len(),
                articles: loose.into_iter().take(per_section).collect(),
            }],
        });
    }
    out
}

async fn home(
    State(app): State<AppState>,
    Path((ws, lang)): Path<(String, String)>,
    headers: HeaderMap,
) -> Page {
    let site = match open(&app, &ws, &lang).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let (w, l) = (&site.w, site.r.ui);
    let (cats, mut articles, top) = match tokio::try_join!(
        app.engine.help_sections(w.id),
        app.engine.help_articles(w.id, &lang),
        app.engine.help_popular(w.id, 200)
    ) {
        Ok(v) => v,
        Err(e) => return fail(e, &ws, l),
    };
    articles.sort_by(|a, b| a.title.cmp(&b.title));
    let popular: Vec<HelpArticle> = top
        .iter()
        .filter_map(|id| articles.iter().find(|a| a.id == *id))
        .take(5)
        .cloned()
        .collect();
    let mut recent = articles.clone();
    recent.sort_by_key(|a| std::cmp::Reverse(a.updated_at));
    recent.truncate(5);
    let mut f = match framed(&app, &site, format!("/help/{}/{lang}", w.name), &headers).await {
        Ok(f) => f,
        Err(e) => return fail(e, &ws, l),
    };
    f.title = f.site.clone();
    f.description = f.t("help.tagline").to_owned();
    f.alternates = others(&site, |x| format!("/help/{}/{x}", w.name));
    let categories = arrange(&cats, &articles, &lang, HOME_PER_SECTION);
    Ok(cacheable(html(&HomePage {
        f,
        categories,
        popular,
        recent,
    })?))
}

async fn section(
    State(app): State<AppState>,
    Path((ws, lang, key)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Page {
    let site = match open(&app, &ws, &lang).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let (w, l) = (&site.w, site.r.ui);
    let (cats, mut articles) = match tokio::try_join!(
        app.engine.help_sections(w.id),
        app.engine.help_articles(w.id, &lang)
    ) {
        Ok(v) => v,
        Err(e) => return fail(e, &ws, l),
    };
    let Some(c) = cats.iter().find(|c| c.key == key) else {
        return missing(&ws, l);
    };
    articles.retain(|a| a.category_id == Some(c.id));
    articles.sort_by(|a, b| a.title.cmp(&b.title));
    let name = top_name(c, &lang);
    let path = format!("/help/{}/{lang}/sections/{key}", w.name);
    let mut f = match framed(&app, &site, path, &headers).await {
        Ok(f) => f,
        Err(e) => return fail(e, &ws, l),
    };
    f.title = format!("{name} · {}", f.site);
    f.description = name.clone();
    f.alternates = others(&site, |x| format!("/help/{}/{x}/sections/{key}", w.name));
    Ok(cacheable(html(&SectionPage {
        f,
        section: SectionView {
            key: c.key.clone(),
            name,
            total: articles.len(),
            articles,
        },
    })?))
}

/// The first sentence-sized piece of an article, for meta descriptions.
fn summary(md: &str) -> String {
    let text = engine::markdown::to_text(md);
    let mut out: String = text
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .flat_map(|l| l.chars().chain(std::iter::once(' ')))
        .take(160)
        .collect();
    out = out.trim().to_owned();
    out
}

#[derive(serde::Deserialize)]
struct ArticleQuery {
    voted: Option<String>,
}

/// Puts a reading or a search on the journey of the chat visitor the
/// browser is (the help center's own widget's cookie), in the background:
/// the page does not wait for it, and only identified visitors of a
/// workspace that tracks are recorded (`Engine::help_visit`).
fn note_visit(
    app: &AppState,
    f: &Frame,
    headers: &HeaderMap,
    ws: domain::ids::WorkspaceId,
    visit: engine::tracking::HelpVisit,
) {
    let Some(key) = &f.chat else { return };
    let Some(visitor) = crate::widget::visitor_cookies(headers)
        .into_iter()
        .find(|(k, _)| k == key)
    else {
        return;
    };
    // Past the bound, visits are not recorded rather than queued.
    let Some(permit) = app.engine.tracking.visit_permit() else {
        return;
    };
    let engine = app.engine.clone();
    tokio::spawn(async move {
        let _permit = permit;
        if let Err(e) = engine.help_visit(ws, visitor, visit).await {
            tracing::warn!(error = %e, "recording a help-center visit failed");
        }
    });
}

/// Crawlers and link previews are not readers.
pub(crate) fn is_robot(headers: &HeaderMap) -> bool {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    ua.is_empty()
        || ["bot", "crawl", "spider", "slurp", "preview", "curl", "wget"]
            .iter()
            .any(|w| ua.contains(w))
}

async fn article(
    State(app): State<AppState>,
    Path((ws, lang, slugged)): Path<(String, String, String)>,
    headers: HeaderMap,
    Query(aq): Query<ArticleQuery>,
) -> Page {
    let l = ui_lang(&lang);
    let id = slugged
        .get(..36)
        .and_then(|s| s.parse::<uuid::Uuid>().ok())
        .map(ArticleId);
    let Some(id) = id else {
        return missing(&ws, l);
    };
    let site = match open(&app, &ws, &lang).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let w = &site.w;
    let (a, translations) = match app.engine.help_article(w.id, id).await {
        Ok(v) => v,
        Err(e) => return fail(e, &ws, l),
    };
    let canonical = article_path(&w.name, &a.lang, a.id, &a.slug);
    let here = format!("/help/{ws}/{lang}/articles/{slugged}");
    if canonical != here {
        return Ok(Redirect::permanent(&percent_encode(&canonical)).into_response());
    }
    let (cats, siblings) = match tokio::try_join!(
        app.engine.help_sections(w.id),
        app.engine.help_articles(w.id, &a.lang)
    ) {
        Ok(v) => v,
        Err(e) => return fail(e, &ws, l),
    };
    let mut trail = Vec::new();
    let mut at = a
        .category_id
        .and_then(|id| cats.iter().find(|c| c.id == id));
    let mut depth = 0;
    while let Some(c) = at {
        trail.insert(
            0,
            (
                top_name(c, &lang),
                format!("/help/{}/{lang}/sections/{}", w.name, c.key),
            ),
        );
        depth += 1;
        at = c
            .parent_id
            .filter(|_| depth < 3)
            .and_then(|p| cats.iter().find(|c| c.id == p));
    }
    let mut related: Vec<HelpArticle> = siblings
        .into_iter()
        .filter(|s| s.id != a.id && s.category_id.is_some() && s.category_id == a.category_id)
        .collect();
    related.sort_by(|x, y| x.title.cmp(&y.title));
    related.truncate(5);
    let mut f = match framed(&app, &site, canonical, &headers).await {
        Ok(f) => f,
        Err(e) => return fail(e, &ws, l),
    };
    f.title = format!("{} · {}", a.title, f.site);
    f.description = summary(&a.body);
    f.alternates = translations
        .iter()
        .filter(|t| t.lang != a.lang && site.look.languages.contains(&t.lang))
        .map(|t| Alternate::new(&t.lang, article_path(&w.name, &t.lang, t.id, &t.slug)))
        .collect();
    let voted = aq.voted.is_some();
    if !voted && !is_robot(&headers) {
        app.engine.record_view(w.id, a.id);
        note_visit(
            &app,
            &f,
            &headers,
            w.id,
            engine::tracking::HelpVisit::Article {
                id: a.id,
                title: a.title.clone(),
                url: format!("{}{}", f.origin, f.path),
            },
        );
    }
    let body_html = engine::markdown::to_html(&a.body, &a.title);
    let updated = a
        .updated_at
        .to_rfc3339()
        .get(..10)
        .unwrap_or_default()
        .to_owned();
    let page = html(&ArticlePage {
        f,
        body_html,
        updated,
        trail,
        related,
        voted,
        article: a,
    })?;
    // A counted view must reach the server; the thanks is for this reader only.
    let mut res = page;
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(res)
}

#[derive(serde::Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn search(
    State(app): State<AppState>,
    Path((ws, lang)): Path<(String, String)>,
    headers: HeaderMap,
    Query(sq): Query<SearchQuery>,
) -> Page {
    let site = match open(&app, &ws, &lang).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let (w, l) = (&site.w, site.r.ui);
    let q: String = sq.q.chars().take(200).collect();
    let hits = if q.trim().is_empty() {
        Vec::new()
    } else {
        match app
            .engine
            .help_search(w.id, &q, Some(lang.clone()), RESULTS)
            .await
        {
            Ok(h) => h,
            Err(e) => return fail(e, &ws, l),
        }
    };
    let path = format!("/help/{}/{lang}/search", w.name);
    let mut f = match framed(&app, &site, path, &headers).await {
        Ok(f) => f,
        Err(e) => return fail(e, &ws, l),
    };
    if !q.trim().is_empty() && !is_robot(&headers) {
        app.engine.record_search(w.id, &lang, &q, hits.len());
        note_visit(
            &app,
            &f,
            &headers,
            w.id,
            engine::tracking::HelpVisit::Search {
                query: q.clone(),
                url: format!("{}{}", f.origin, f.path),
            },
        );
    }
    f.title = format!("{} · {}", f.t("help.search_title"), f.site);
    f.q = q;
    let mut res = html(&SearchPage { f, hits })?;
    // Results are not worth indexing or keeping.
    res.headers_mut()
        .insert("x-robots-tag", HeaderValue::from_static("noindex"));
    Ok(res)
}

struct VoteForm {
    helpful: String,
    comment: String,
}

/// "Was this helpful?": a plain form, so it works without script. A form from
/// another site is refused by its Origin; votes are limited per client address.
async fn feedback(
    State(app): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((ws, lang, slugged)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Page {
    let l = ui_lang(&lang);
    let tr = Tr::new(l);
    if !same_origin(&headers) {
        return Err(UiError::Status(StatusCode::FORBIDDEN, tr, "error.csrf"));
    }
    let Some(id) = slugged
        .get(..36)
        .and_then(|s| s.parse::<uuid::Uuid>().ok())
        .map(ArticleId)
    else {
        return missing(&ws, l);
    };
    let mut form = VoteForm {
        helpful: String::new(),
        comment: String::new(),
    };
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "helpful" => form.helpful = v.into_owned(),
            "comment" => form.comment = v.into_owned(),
            _ => {}
        }
    }
    let helpful = match form.helpful.as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            return Err(UiError::Status(
                StatusCode::BAD_REQUEST,
                tr,
                "error.invalid",
            ));
        }
    };
    let site = match open(&app, &ws, &lang).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let w = &site.w;
    let client = crate::client_addr(addr.ip(), &headers, &app.config.trusted_proxies).to_string();
    let comment = Some(form.comment.as_str()).filter(|c| !c.trim().is_empty());
    match app
        .engine
        .vote_article(w.id, id, helpful, comment, &client)
        .await
    {
        Ok(_) => {}
        Err(e) => return fail(e, &ws, l),
    }
    let (a, _) = match app.engine.help_article(w.id, id).await {
        Ok(v) => v,
        Err(e) => return fail(e, &ws, l),
    };
    let to = format!(
        "{}?voted=1#feedback",
        article_path(&w.name, &a.lang, a.id, &a.slug)
    );
    Ok(Redirect::to(&percent_encode(&to)).into_response())
}

/// A form posted from this site: its Origin (or, without one, its Referer)
/// names the host the request was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let from = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|h| h.to_str().ok());
    match (host, from) {
        (Some(host), Some(from)) => {
            let rest = from
                .strip_prefix("https://")
                .or_else(|| from.strip_prefix("http://"))
                .unwrap_or("");
            rest.split('/').next() == Some(host)
        }
        // Browsers send an Origin with every form post; no header, no vote.
        _ => false,
    }
}

/// The workspace's accent colour as a stylesheet (the pages' CSP allows no
/// inline style).
async fn theme(State(app): State<AppState>, Path(ws): Path<String>) -> Page {
    let w = match workspace(&app, &ws).await {
        Ok(w) => w,
        Err(e) => return fail(e, &ws, Lang::En),
    };
    let look = match app.engine.help_settings(w.id).await {
        Ok(l) => l,
        Err(e) => return fail(e, &ws, Lang::En),
    };
    // Validated as #rrggbb when saved; anything else is not written out.
    let css = match look.color {
        Some(c) if c.len() == 7 && c[1..].bytes().all(|b| b.is_ascii_hexdigit()) => {
            format!(":root{{--accent:{c}}}\n")
        }
        _ => String::new(),
    };
    let mut res = css.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(res)
}

/// An article's image or file. Images are shown; anything else is a download.
async fn media(
    State(app): State<AppState>,
    Path((ws, id, _name)): Path<(String, String, String)>,
) -> Page {
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return missing(&ws, Lang::En);
    };
    let w = match workspace(&app, &ws).await {
        Ok(w) => w,
        Err(e) => return fail(e, &ws, Lang::En),
    };
    let (m, bytes) = match app.engine.help_media(w.id, id).await {
        Ok(v) => v,
        Err(e) => return fail(e, &ws, Lang::En),
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&m.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if !m.content_type.starts_with("image/") {
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    Ok(res)
}

/// Every public article in every language, with its translations as
/// alternates, for search engines.
async fn sitemap(State(app): State<AppState>, Path(ws): Path<String>, headers: HeaderMap) -> Page {
    let w = match workspace(&app, &ws).await {
        Ok(w) => w,
        Err(e) => return fail(e, &ws, Lang::En),
    };
    let look = match app.engine.help_settings(w.id).await {
        Ok(l) => l,
        Err(e) => return fail(e, &ws, Lang::En),
    };
    let origin = origin(&headers);
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for l in &look.languages {
        xml.push_str(&format!(
            "<url><loc>{origin}/help/{}/{}</loc></url>\n",
            w.name,
            xml_escape(l)
        ));
        let articles = match app.engine.help_articles(w.id, l).await {
            Ok(a) => a,
            Err(e) => return fail(e, &ws, Lang::En),
        };
        for a in articles {
            xml.push_str(&format!(
                "<url><loc>{origin}{}</loc><lastmod>{}</lastmod></url>\n",
                xml_escape(&percent_encode(&article_path(
                    &w.name, &a.lang, a.id, &a.slug
                ))),
                a.updated_at
                    .to_rfc3339()
                    .get(..10)
                    .unwrap_or_default()
                    .to_owned()
            ));
        }
    }
    xml.push_str("</urlset>\n");
    let mut res = xml.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    Ok(cacheable(res))
}

/// A path with every byte outside ASCII percent-encoded, as sitemaps want.
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len() * 2);
    for b in path.bytes() {
        if b.is_ascii() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The site's origin as the request names it (sitemaps need absolute URLs).
/// A forged Host only changes the answer its own sender gets.
pub(crate) fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}
