//! The knowledge base's API: articles (versions, translations), FAQ entries, and
//! search over both.

use crate::AppState;
use crate::dto::double_option;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, Json, PathPair, PathParam, Query, id};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::ids::*;
use domain::kb::{ArticleStatus, Visibility};
use engine::kb::{ArticleFilter, ArticlePatch, KbArticle, KbFaq, KbVersion, NewArticle, NewFaq};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

/// The request body limit of the article routes: the longest article, each
/// character JSON-escaped as a surrogate pair (12 bytes), and room to spare.
pub const BODY_LIMIT: usize = engine::kb::MAX_BODY_CHARS * 12 + 64 * 1024;

#[derive(Serialize, ToSchema)]
pub struct ArticleOut {
    pub id: Uuid,
    /// Shared by the article's translations.
    pub group_id: Uuid,
    pub lang: String,
    pub title: String,
    /// Markdown.
    pub body: String,
    pub category: Option<String>,
    pub slug: String,
    /// `draft` or `published`.
    pub status: String,
    /// `public` (the help center) or `internal` (agents only).
    pub visibility: String,
    /// The newest version.
    pub version: i64,
    /// The version readers see; null until published.
    pub published_version: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

/// The workspace's category keys by id, read once per request.
async fn category_keys(
    app: &AppState,
    p: &engine::Principal,
) -> ApiResult<std::collections::HashMap<CategoryId, String>> {
    Ok(app
        .engine
        .kb_categories(p)
        .await?
        .into_iter()
        .map(|k| (k.id, k.key))
        .collect())
}

async fn article_out(app: &AppState, p: &engine::Principal, a: KbArticle) -> ApiResult<ArticleOut> {
    let keys = category_keys(app, p).await?;
    Ok(article_with(&keys, a))
}

fn article_with(keys: &std::collections::HashMap<CategoryId, String>, a: KbArticle) -> ArticleOut {
    let category = a.category_id.and_then(|c| keys.get(&c).cloned());
    ArticleOut {
        id: a.id.0,
        group_id: a.group_id.0,
        lang: a.lang,
        title: a.title,
        body: a.body,
        category,
        slug: a.slug,
        status: a.status.as_str().to_owned(),
        visibility: a.visibility.as_str().to_owned(),
        version: a.version,
        published_version: a.published_version,
        created_at: a.created_at.to_rfc3339(),
        updated_at: a.updated_at.to_rfc3339(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateArticleIn {
    /// The article's language: `ru`, `en`, `th` or another language code.
    pub lang: String,
    pub title: String,
    /// Markdown, at most 50,000 characters.
    #[serde(default)]
    pub body: String,
    /// A category key (made on first use).
    pub category: Option<String>,
    /// `draft` (the default) or `published`.
    pub status: Option<String>,
    /// `public` (the default) or `internal`.
    pub visibility: Option<String>,
    /// Another language of an existing article: that article's `group_id`.
    pub group_id: Option<Uuid>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchArticleIn {
    pub title: Option<String>,
    pub body: Option<String>,
    /// A category key; null files the article under none.
    #[serde(default, deserialize_with = "double_option")]
    pub category: Option<Option<String>>,
    pub status: Option<String>,
    pub visibility: Option<String>,
}

fn status(s: Option<&str>) -> ApiResult<Option<ArticleStatus>> {
    s.map(|s| ArticleStatus::parse(s).map_err(|e| ApiError::field("status", e.to_string())))
        .transpose()
}

fn visibility(s: Option<&str>) -> ApiResult<Option<Visibility>> {
    s.map(|s| Visibility::parse(s).map_err(|e| ApiError::field("visibility", e.to_string())))
        .transpose()
}

#[utoipa::path(post, path = "/api/v1/kb/articles", tag = "knowledge base", request_body = CreateArticleIn,
    responses((status = 201, body = ArticleOut), (status = 403, body = Problem, description = "Owners, admins and supervisors edit the knowledge base"),
        (status = 409, body = Problem, description = "The group already has this language")))]
pub async fn create_article(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<CreateArticleIn>,
) -> ApiResult<Response> {
    let a = app
        .engine
        .create_article(
            &p,
            NewArticle {
                lang: b.lang,
                title: b.title,
                body: b.body,
                category: b.category,
                status: status(b.status.as_deref())?.unwrap_or(ArticleStatus::Draft),
                visibility: visibility(b.visibility.as_deref())?.unwrap_or(Visibility::Public),
                group_id: b.group_id.map(GroupId),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(article_out(&app, &p, a).await?),
    )
        .into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ArticleQuery {
    /// Items per page: 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    #[param(value_type = Option<uuid::Uuid>)]
    pub cursor: Option<String>,
    /// Only this language.
    pub lang: Option<String>,
    /// Only `draft` or `published` articles.
    pub status: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ArticlePage {
    pub items: Vec<ArticleOut>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/kb/articles", tag = "knowledge base", params(ArticleQuery),
    responses((status = 200, body = ArticlePage)))]
pub async fn list_articles(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<ArticleQuery>,
) -> ApiResult<Json<ArticlePage>> {
    let limit = crate::api::api_limit(q.limit)?;
    let before = q
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<ArticleId>()
                .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "cursor", "invalid cursor"))
        })
        .transpose()?;
    let f = ArticleFilter {
        lang: q.lang.filter(|l| !l.is_empty()),
        status: status(q.status.as_deref().filter(|s| !s.is_empty()))?,
        category: None,
    };
    let items = app.engine.articles(&p, &f, before, limit).await?;
    let next = (items.len() as i64 >= limit)
        .then(|| items.last().map(|a| a.id.to_string()))
        .flatten();
    let keys = category_keys(&app, &p).await?;
    Ok(Json(ArticlePage {
        items: items.into_iter().map(|a| article_with(&keys, a)).collect(),
        next_cursor: next,
    }))
}

#[utoipa::path(get, path = "/api/v1/kb/articles/{id}", tag = "knowledge base", params(("id" = Uuid, Path)),
    responses((status = 200, body = ArticleOut), (status = 404, body = Problem)))]
pub async fn get_article(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(aid): PathParam,
) -> ApiResult<Json<ArticleOut>> {
    let a = app.engine.article(&p, id(&aid)?).await?;
    Ok(Json(article_out(&app, &p, a).await?))
}

#[utoipa::path(patch, path = "/api/v1/kb/articles/{id}", tag = "knowledge base", params(("id" = Uuid, Path)), request_body = PatchArticleIn,
    responses((status = 200, body = ArticleOut, description = "A change to the title or body is a new version; `published` makes the newest version the one readers see"),
        (status = 404, body = Problem)))]
pub async fn patch_article(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(aid): PathParam,
    Json(b): Json<PatchArticleIn>,
) -> ApiResult<Json<ArticleOut>> {
    let patch = ArticlePatch {
        title: b.title,
        body: b.body,
        category: b.category,
        status: status(b.status.as_deref())?,
        visibility: visibility(b.visibility.as_deref())?,
    };
    let a = app.engine.update_article(&p, id(&aid)?, patch).await?;
    Ok(Json(article_out(&app, &p, a).await?))
}

#[derive(Serialize, ToSchema)]
pub struct VersionOut {
    pub version: i64,
    pub title: String,
    pub body: String,
    pub author_id: Option<Uuid>,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct VersionList {
    /// Newest first.
    pub items: Vec<VersionOut>,
}

fn version_out(v: KbVersion) -> VersionOut {
    VersionOut {
        version: v.version,
        title: v.title,
        body: v.body,
        author_id: v.author_id.map(|u| u.0),
        created_at: v.created_at.to_rfc3339(),
    }
}

#[utoipa::path(get, path = "/api/v1/kb/articles/{id}/versions", tag = "knowledge base", params(("id" = Uuid, Path)),
    responses((status = 200, body = VersionList), (status = 404, body = Problem)))]
pub async fn article_versions(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(aid): PathParam,
) -> ApiResult<Json<VersionList>> {
    let items = app.engine.article_versions(&p, id(&aid)?).await?;
    Ok(Json(VersionList {
        items: items.into_iter().map(version_out).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/kb/articles/{id}/versions/{version}/restore", tag = "knowledge base",
    params(("id" = Uuid, Path), ("version" = i64, Path, description = "The version to bring back")),
    responses((status = 200, body = ArticleOut, description = "The article with the old text as its newest version"),
        (status = 404, body = Problem)))]
pub async fn restore_version(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathPair(aid, v): PathPair,
) -> ApiResult<Json<ArticleOut>> {
    let a = app
        .engine
        .restore_article_version(&p, id(&aid)?, id(&v)?)
        .await?;
    Ok(Json(article_out(&app, &p, a).await?))
}

#[derive(Serialize, ToSchema)]
pub struct FaqOut {
    pub id: Uuid,
    pub group_id: Uuid,
    pub lang: String,
    pub question: String,
    pub phrasings: Vec<String>,
    pub answer: String,
    pub article_id: Option<Uuid>,
    pub created_at: String,
    pub updated_at: String,
}

fn faq_out(f: KbFaq) -> FaqOut {
    FaqOut {
        id: f.id.0,
        group_id: f.group_id.0,
        lang: f.lang,
        question: f.question,
        phrasings: f.phrasings,
        answer: f.answer,
        article_id: f.article_id.map(|a| a.0),
        created_at: f.created_at.to_rfc3339(),
        updated_at: f.updated_at.to_rfc3339(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFaqIn {
    pub lang: String,
    pub question: String,
    /// Other ways customers ask it (at most 50).
    #[serde(default)]
    pub phrasings: Vec<String>,
    pub answer: String,
    pub category: Option<String>,
    pub article_id: Option<Uuid>,
    /// Another language of an existing entry: that entry's `group_id`.
    pub group_id: Option<Uuid>,
}

#[utoipa::path(post, path = "/api/v1/kb/faq", tag = "knowledge base", request_body = CreateFaqIn,
    responses((status = 201, body = FaqOut), (status = 403, body = Problem), (status = 409, body = Problem, description = "The group already has this language")))]
pub async fn create_faq(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<CreateFaqIn>,
) -> ApiResult<Response> {
    let f = app
        .engine
        .create_faq(
            &p,
            NewFaq {
                lang: b.lang,
                question: b.question,
                phrasings: b.phrasings,
                answer: b.answer,
                category: b.category,
                article_id: b.article_id.map(ArticleId),
                group_id: b.group_id.map(GroupId),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(faq_out(f))).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FaqQuery {
    /// Items per page: 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    #[param(value_type = Option<uuid::Uuid>)]
    pub cursor: Option<String>,
    pub lang: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FaqPage {
    pub items: Vec<FaqOut>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/kb/faq", tag = "knowledge base", params(FaqQuery), responses((status = 200, body = FaqPage)))]
pub async fn list_faq(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<FaqQuery>,
) -> ApiResult<Json<FaqPage>> {
    let limit = crate::api::api_limit(q.limit)?;
    let before = q
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<FaqId>()
                .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "cursor", "invalid cursor"))
        })
        .transpose()?;
    let lang = q.lang.filter(|l| !l.is_empty());
    let items = app.engine.faqs(&p, lang.as_deref(), before, limit).await?;
    let next = (items.len() as i64 >= limit)
        .then(|| items.last().map(|f| f.id.to_string()))
        .flatten();
    Ok(Json(FaqPage {
        items: items.into_iter().map(faq_out).collect(),
        next_cursor: next,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// What to look for, in any language (at most 200 characters).
    #[param(max_length = 200)]
    pub q: String,
    /// The reader's language: results in it rank first among equals.
    pub lang: Option<String>,
    /// Results: 1–50, default 10.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct KbHitOut {
    /// `article` or `faq`.
    pub kind: String,
    pub id: Uuid,
    pub group_id: Uuid,
    pub lang: String,
    pub title: String,
    /// HTML: the best passage with the matched words in `<mark>`.
    pub snippet: String,
    pub score: f32,
    /// The article's page in the help center; null for FAQ entries.
    pub url: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct KbHits {
    pub items: Vec<KbHitOut>,
}

/// Search hits as the API gives them, articles with their help-center address.
fn hits_out(ws: &str, hits: Vec<engine::search::KbHit>) -> Vec<KbHitOut> {
    hits.into_iter()
        .filter_map(|h| {
            let id: Uuid = h.id.parse().ok()?;
            let url = (h.kind == "article")
                .then(|| crate::help::article_path(ws, &h.lang, ArticleId(id), &h.slug));
            Some(KbHitOut {
                kind: h.kind,
                id,
                group_id: h.group_id.parse().ok()?,
                lang: h.lang,
                title: h.title,
                snippet: h.snippet,
                score: h.score,
                url,
            })
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/kb/search", tag = "knowledge base", params(SearchQuery),
    responses((status = 200, body = KbHits, description = "Articles (published versions, internal ones included) and FAQ entries, best first")))]
pub async fn search(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<KbHits>> {
    let limit = match q.limit {
        None => 10,
        Some(l) if (1..=50).contains(&l) => l as usize,
        Some(_) => return Err(ApiError::field("limit", "1 to 50")),
    };
    let ws = app.engine.workspace(&p).await?.name;
    let lang = q.lang.filter(|l| !l.is_empty());
    let hits = app.engine.kb_search(&p, &q.q, lang, limit).await?;
    let items = hits_out(&ws, hits);
    Ok(Json(KbHits { items }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsQuery {
    /// The period: the last N days, today included (1–366, default 30).
    #[param(minimum = 1, maximum = 366)]
    pub days: Option<i64>,
    /// Only articles and searches in this language.
    pub lang: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ArticleStatsOut {
    pub id: Uuid,
    pub title: String,
    pub lang: String,
    /// Views in the help center (crawlers not counted).
    pub views: i64,
    /// Answers "yes" to "was this helpful?".
    pub helpful: i64,
    /// Answers "no".
    pub unhelpful: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SearchStatsOut {
    pub lang: String,
    /// The search as typed, lower-cased, spaces collapsed.
    pub query: String,
    pub searches: i64,
    /// Of them, how many found nothing.
    pub empty: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CommentOut {
    pub article_id: Uuid,
    pub title: String,
    pub helpful: bool,
    pub comment: String,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct KbAnalytics {
    /// First day of the period (UTC, `YYYY-MM-DD`).
    pub from: String,
    /// Last day of the period, today (UTC).
    pub to: String,
    /// Articles that were read or voted on, most viewed first (at most 100).
    pub articles: Vec<ArticleStatsOut>,
    /// The most frequent searches (at most 50).
    pub searches: Vec<SearchStatsOut>,
    /// Searches that found nothing at least once, most often empty first: the
    /// content the knowledge base is missing (at most 50).
    pub no_results: Vec<SearchStatsOut>,
    /// The newest comments left with a vote (at most 50).
    pub comments: Vec<CommentOut>,
}

fn day_string(day: i64) -> String {
    domain::Timestamp::from_millis(day * 24 * 3600 * 1000)
        .to_rfc3339()
        .get(..10)
        .unwrap_or_default()
        .to_owned()
}

#[utoipa::path(get, path = "/api/v1/kb/analytics", tag = "knowledge base", params(AnalyticsQuery),
    responses((status = 200, body = KbAnalytics, description = "Help-center views, helpfulness and searches over the period; owners, admins and supervisors")))]
pub async fn analytics(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<AnalyticsQuery>,
) -> ApiResult<Json<KbAnalytics>> {
    let lang = match q.lang {
        Some(l) => Some(
            domain::identity::normalize_language(&l)
                .map_err(|_| ApiError::field("lang", "a language tag such as ru or en"))?,
        ),
        None => None,
    };
    let r = app
        .engine
        .kb_report(&p, q.days.unwrap_or(30), lang.as_deref())
        .await?;
    let stats = |v: Vec<engine::kb_activity::SearchStats>| {
        v.into_iter()
            .map(|s| SearchStatsOut {
                lang: s.lang,
                query: s.query,
                searches: s.searches,
                empty: s.empty,
            })
            .collect()
    };
    Ok(Json(KbAnalytics {
        from: day_string(r.from_day),
        to: day_string(r.to_day),
        articles: r
            .articles
            .into_iter()
            .map(|a| ArticleStatsOut {
                id: a.article_id.0,
                title: a.title,
                lang: a.lang,
                views: a.views,
                helpful: a.helpful,
                unhelpful: a.unhelpful,
            })
            .collect(),
        searches: stats(r.searches),
        no_results: stats(r.no_results),
        comments: r
            .comments
            .into_iter()
            .map(|c| CommentOut {
                article_id: c.article_id.0,
                title: c.title,
                helpful: c.helpful,
                comment: c.comment,
                created_at: c.at.to_rfc3339(),
            })
            .collect(),
    }))
}

/// Searches one client address may make in a minute through the public API.
pub const PUBLIC_SEARCHES_PER_MINUTE: usize = 60;

#[utoipa::path(get, path = "/api/v1/help/{workspace}/search", tag = "knowledge base",
    params(("workspace" = String, Path, description = "The workspace's short name, as in its help center's address", max_length = 100), SearchQuery),
    responses(
        (status = 200, body = KbHits, description = "Public, published articles and FAQ entries, best first, for the help center, the chat widget and the bot. No sign-in; at most 60 searches a minute per client address"),
        (status = 404, body = Problem, description = "No such workspace"),
        (status = 429, body = Problem, description = "Too many searches from this address; see Retry-After")))]
pub async fn public_search(
    State(app): State<AppState>,
    axum::extract::ConnectInfo(addr): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    PathParam(workspace): PathParam,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Response> {
    let client = crate::client_addr(addr.ip(), &headers, &app.config.trusted_proxies);
    if let Err(wait) = app.help_search.check(&client.to_string()) {
        return Err(engine::EngineError::RateLimited {
            retry_after_secs: wait,
        }
        .into());
    }
    let limit = match q.limit {
        None => 10,
        Some(l) if (1..=50).contains(&l) => l as usize,
        Some(_) => return Err(ApiError::field("limit", "1 to 50")),
    };
    if workspace.len() > 100 {
        return Err(engine::EngineError::NotFound.into());
    }
    let ws = app.engine.workspace_by_name(&workspace).await?;
    let lang = q.lang.filter(|l| !l.is_empty());
    let hits = app.engine.help_search(ws.id, &q.q, lang, limit).await?;
    let items = hits_out(&ws.name, hits);
    let mut res = Json(KbHits { items }).into_response();
    // Any site may show these answers (the chat widget runs on the shop's pages).
    res.headers_mut().insert(
        axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        axum::http::HeaderValue::from_static("*"),
    );
    Ok(res)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchFaqIn {
    pub question: Option<String>,
    /// Replaces every other phrasing (at most 50).
    pub phrasings: Option<Vec<String>>,
    pub answer: Option<String>,
    /// A category key; null files the entry under none.
    #[serde(default, deserialize_with = "double_option")]
    pub category: Option<Option<String>>,
    /// The article it summarises; null for none.
    #[serde(default, deserialize_with = "double_option")]
    pub article_id: Option<Option<Uuid>>,
}

#[utoipa::path(get, path = "/api/v1/kb/faq/{id}", tag = "knowledge base", params(("id" = Uuid, Path)),
    responses((status = 200, body = FaqOut), (status = 404, body = Problem)))]
pub async fn get_faq(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(fid): PathParam,
) -> ApiResult<Json<FaqOut>> {
    Ok(Json(faq_out(app.engine.faq(&p, id(&fid)?).await?)))
}

#[utoipa::path(patch, path = "/api/v1/kb/faq/{id}", tag = "knowledge base", params(("id" = Uuid, Path)), request_body = PatchFaqIn,
    responses((status = 200, body = FaqOut, description = "The entry as changed; the search index follows"), (status = 404, body = Problem)))]
pub async fn patch_faq(
    State(app): State<AppState>,
    Auth(p): Auth,
    PathParam(fid): PathParam,
    Json(b): Json<PatchFaqIn>,
) -> ApiResult<Json<FaqOut>> {
    let patch = engine::kb::FaqPatch {
        question: b.question,
        phrasings: b.phrasings,
        answer: b.answer,
        category: b.category,
        article_id: b.article_id.map(|a| a.map(ArticleId)),
    };
    let f = app.engine.update_faq(&p, id(&fid)?, patch).await?;
    Ok(Json(faq_out(f)))
}

/// The help center's look and languages.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelpSettingsIo {
    /// The accent colour, `#rrggbb`; null for the default.
    pub color: Option<String>,
    /// The logo: an image uploaded to the knowledge base; null for none.
    pub logo_id: Option<Uuid>,
    /// The languages the help center is published in (1–20 codes such as `ru`,
    /// `en`, `th`, `de`, `pt-br`); the first is the fallback. Pages in a language
    /// the interface has no catalog for are framed in English.
    pub languages: Vec<String>,
}

impl From<engine::help::HelpSettings> for HelpSettingsIo {
    fn from(s: engine::help::HelpSettings) -> Self {
        HelpSettingsIo {
            color: s.color,
            logo_id: s.logo_id,
            languages: s.languages,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/kb/settings", tag = "knowledge base",
    responses((status = 200, body = HelpSettingsIo)))]
pub async fn get_settings(
    State(app): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<HelpSettingsIo>> {
    Ok(Json(app.engine.help_settings(p.workspace_id).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/kb/settings", tag = "knowledge base", request_body = HelpSettingsIo,
    responses((status = 200, body = HelpSettingsIo, description = "The settings as stored (language codes normalised)"),
        (status = 403, body = Problem, description = "Only owners, admins and supervisors edit the knowledge base"),
        (status = 422, body = Problem, description = "A colour that is not #rrggbb, no or too many languages, a logo that is not an uploaded image")))]
pub async fn put_settings(
    State(app): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<HelpSettingsIo>,
) -> ApiResult<Json<HelpSettingsIo>> {
    let s = engine::help::HelpSettings {
        color: b.color,
        logo_id: b.logo_id,
        languages: b.languages,
    };
    Ok(Json(app.engine.save_help_settings(&p, s).await?.into()))
}
